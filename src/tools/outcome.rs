//! The result of one tool call, shaped for the `tool` message fed back to the model.

use serde_json::{Value, json};

use super::error::ToolError;

/// What came of one tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolOutcome {
    /// The tool returned this value.
    Success(Value),
    /// The call was refused or failed; the message goes back to the model.
    Failure(ToolError),
}

impl ToolOutcome {
    /// Whether the tool returned a value.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success(_))
    }

    /// The `content` string of the tool message: `{"result": ...}` on
    /// success, `{"error": "..."}` otherwise.
    pub fn content(&self) -> String {
        match self {
            Self::Success(value) => json!({ "result": value }).to_string(),
            Self::Failure(err) => json!({ "error": err.to_string() }).to_string(),
        }
    }

    /// A complete OpenAI `{"role": "tool"}` message answering `tool_call_id`.
    pub fn message(&self, tool_call_id: &str) -> Value {
        json!({
            "role": "tool",
            "tool_call_id": tool_call_id,
            "content": self.content(),
        })
    }
}

impl From<Result<Value, ToolError>> for ToolOutcome {
    fn from(result: Result<Value, ToolError>) -> Self {
        match result {
            Ok(value) => Self::Success(value),
            Err(err) => Self::Failure(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_content_wraps_the_result() {
        let outcome = ToolOutcome::Success(json!({"value": 4}));
        assert!(outcome.is_success());
        assert_eq!(outcome.content(), r#"{"result":{"value":4}}"#);
    }

    #[test]
    fn failure_content_carries_the_message() {
        let outcome = ToolOutcome::from(Err(ToolError::failed("division by \"zero\"")));
        assert!(!outcome.is_success());
        assert_eq!(outcome.content(), r#"{"error":"division by \"zero\""}"#);
        let parsed: Value = serde_json::from_str(&outcome.content()).unwrap_or_default();
        assert_eq!(parsed, json!({"error": "division by \"zero\""}));
    }

    #[test]
    fn message_answers_the_call() {
        let outcome = ToolOutcome::from(Ok(json!(2)));
        assert_eq!(
            outcome.message("call_7"),
            json!({"role": "tool", "tool_call_id": "call_7", "content": "{\"result\":2}"})
        );
    }
}
