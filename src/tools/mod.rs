//! Function calling: tools the gateway runs itself on a model's behalf.
//!
//! A [`ToolRegistry`] holds each tool with its JSON Schema compiled once.
//! When a model answers with tool calls, the gateway checks each call with
//! [`ToolRegistry::validate`] (or runs it with [`ToolRegistry::run`], which
//! validates, calls on the blocking pool and enforces a timeout) and feeds
//! [`ToolOutcome::message`] back to the model. Invalid arguments come back
//! as an error message the model can correct from.
//!
//! Built-in tools: [`Calculator`], [`CurrentTime`] and [`SearchDocuments`].

mod calculator;
mod clock;
mod current_time;
mod error;
mod outcome;
mod registry;
mod run;
mod search_documents;
mod spec;

use std::sync::Arc;

pub use calculator::{CalcError, Calculator, MAX_EXPRESSION_CHARS, evaluate as calculate};
pub use clock::{Clock, FixedClock, SystemClock};
pub use current_time::CurrentTime;
pub use error::{ToolError, Violation};
pub use outcome::ToolOutcome;
pub use registry::{MAX_ARGUMENT_BYTES, ToolRegistry};
pub use search_documents::{DEFAULT_HITS, DocumentHit, DocumentSearch, MAX_HITS, SearchDocuments};
pub use spec::{Tool, ToolSpec};

impl ToolRegistry {
    /// A registry with the built-in tools: `calculator`, `current_time`,
    /// and `search_documents` when a document store is given.
    pub fn with_builtins(documents: Option<Arc<dyn DocumentSearch>>) -> Result<Self, ToolError> {
        let mut registry = Self::new();
        registry.register(Calculator::new())?;
        registry.register(CurrentTime::new())?;
        if let Some(store) = documents {
            registry.register(SearchDocuments::new(store))?;
        }
        Ok(registry)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::{Value, json};
    use std::time::Duration;

    struct NoDocuments;

    impl DocumentSearch for NoDocuments {
        fn search(&self, _query: &str, _k: usize) -> Result<Vec<DocumentHit>, String> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn builtins_register_cleanly() {
        let without = ToolRegistry::with_builtins(None).unwrap();
        assert_eq!(without.names(), ["calculator", "current_time"]);
        let with = ToolRegistry::with_builtins(Some(Arc::new(NoDocuments))).unwrap();
        assert_eq!(
            with.names(),
            ["calculator", "current_time", "search_documents"]
        );
        for def in with.definitions() {
            assert_eq!(def["type"], "function");
            let function = &def["function"];
            assert!(function["name"].is_string());
            assert!(!function["description"].as_str().unwrap().is_empty());
            assert_eq!(function["parameters"]["type"], "object");
        }
    }

    /// One round of the loop the gateway runs: the model asks for several
    /// tools, one with bad arguments, and every call gets a `tool` message.
    #[tokio::test]
    async fn one_round_of_tool_calls() {
        let registry = ToolRegistry::with_builtins(Some(Arc::new(NoDocuments))).unwrap();
        let calls = [
            ("call_1", "calculator", r#"{"expression": "2^10 - 24"}"#),
            ("call_2", "calculator", r#"{"expresion": "1+1"}"#),
            (
                "call_3",
                "search_documents",
                r#"{"query": "refund policy"}"#,
            ),
            ("call_4", "weather", r#"{}"#),
        ];
        let mut messages = Vec::new();
        for (id, name, raw) in calls {
            let outcome = registry.run(name, raw, Duration::from_secs(5)).await;
            messages.push(outcome.message(id));
        }
        let content = |i: usize| -> Value {
            serde_json::from_str(messages[i]["content"].as_str().unwrap()).unwrap()
        };
        assert_eq!(messages[0]["tool_call_id"], "call_1");
        assert_eq!(
            content(0),
            json!({"result": {"expression": "2^10 - 24", "value": 1000}})
        );
        let err = content(1)["error"].as_str().unwrap().to_owned();
        assert!(
            err.contains("\"expression\" is a required property"),
            "{err}"
        );
        assert!(err.contains("'expresion' was unexpected"), "{err}");
        assert_eq!(
            content(2),
            json!({"result": {"query": "refund policy", "hits": []}})
        );
        assert_eq!(
            content(3),
            json!({"error": "unknown tool `weather`; available tools: calculator, current_time, search_documents"})
        );
    }
}
