//! Running a model's tool call: validate, call on the blocking pool, time out.

use std::sync::Arc;
use std::time::Duration;

use super::error::ToolError;
use super::outcome::ToolOutcome;
use super::registry::ToolRegistry;

impl ToolRegistry {
    /// Validates `raw_arguments` for the named tool, then calls it on
    /// tokio's blocking pool, giving up after `timeout`.
    ///
    /// Every failure (unknown tool, malformed or invalid arguments, tool
    /// error, timeout, crash) comes back as [`ToolOutcome::Failure`] whose
    /// message the model can act on. A call that times out cannot be
    /// interrupted: its thread runs on until the tool returns, and the
    /// result is dropped. Must be called from within a tokio runtime.
    pub async fn run(&self, name: &str, raw_arguments: &str, timeout: Duration) -> ToolOutcome {
        let args = match self.validate(name, raw_arguments) {
            Ok(args) => args,
            Err(err) => return ToolOutcome::Failure(err),
        };
        let Some(tool) = self.get(name) else {
            return ToolOutcome::Failure(ToolError::UnknownTool {
                name: name.to_owned(),
                available: self.names().into_iter().map(str::to_owned).collect(),
            });
        };
        let task = tokio::task::spawn_blocking(move || tool.call(&args));
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(result)) => ToolOutcome::from(result),
            Ok(Err(_join_error)) => ToolOutcome::Failure(ToolError::Crashed {
                tool: name.to_owned(),
            }),
            Err(_elapsed) => ToolOutcome::Failure(ToolError::Timeout {
                tool: name.to_owned(),
                after: timeout,
            }),
        }
    }

    /// Like [`ToolRegistry::run`] on a shared registry; convenient when the
    /// caller holds an `Arc` and wants to spawn the future.
    pub async fn run_shared(
        self: Arc<Self>,
        name: String,
        raw_arguments: String,
        timeout: Duration,
    ) -> ToolOutcome {
        self.run(&name, &raw_arguments, timeout).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::tools::spec::{Tool, ToolSpec};
    use serde_json::{Value, json};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{Receiver, channel};
    use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

    /// Echoes its `text` argument and counts its calls.
    struct Echo {
        spec: ToolSpec,
        calls: Arc<AtomicUsize>,
    }

    impl Tool for Echo {
        fn spec(&self) -> &ToolSpec {
            &self.spec
        }
        fn call(&self, args: &Value) -> Result<Value, ToolError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match args["text"].as_str() {
                Some("fail") => Err(ToolError::failed("asked to fail")),
                Some("panic") => panic!("asked to panic"),
                Some(text) => Ok(json!({ "echo": text })),
                None => Err(ToolError::failed("no text")),
            }
        }
    }

    /// Tells the test it started, then blocks until the test releases it.
    struct Gate {
        spec: ToolSpec,
        started: UnboundedSender<()>,
        release: Mutex<Receiver<()>>,
    }

    impl Tool for Gate {
        fn spec(&self) -> &ToolSpec {
            &self.spec
        }
        fn call(&self, _args: &Value) -> Result<Value, ToolError> {
            self.started.send(()).unwrap();
            // Bounded so a broken test cannot hang the thread forever.
            let released = self
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(30));
            Ok(json!({ "released": released.is_ok() }))
        }
    }

    fn echo_registry() -> (ToolRegistry, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let schema = json!({
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"]
        });
        let mut reg = ToolRegistry::new();
        reg.register(Echo {
            spec: ToolSpec::new("echo", "Echoes text.", schema),
            calls: Arc::clone(&calls),
        })
        .unwrap();
        (reg, calls)
    }

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn successful_call_returns_the_value() {
        let (reg, calls) = echo_registry();
        let outcome = reg.run("echo", r#"{"text": "hi"}"#, LONG).await;
        assert_eq!(outcome, ToolOutcome::Success(json!({"echo": "hi"})));
        assert_eq!(outcome.content(), r#"{"result":{"echo":"hi"}}"#);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalid_arguments_never_reach_the_tool() {
        let (reg, calls) = echo_registry();
        let outcome = reg.run("echo", r#"{"text": 5}"#, LONG).await;
        assert!(matches!(
            outcome,
            ToolOutcome::Failure(ToolError::InvalidArguments { .. })
        ));
        let malformed = reg.run("echo", "{text: hi}", LONG).await;
        assert!(matches!(
            malformed,
            ToolOutcome::Failure(ToolError::MalformedArguments { .. })
        ));
        let unknown = reg.run("ech0", "{}", LONG).await;
        assert!(unknown.content().contains("available tools: echo"));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn tool_errors_become_error_content() {
        let (reg, _) = echo_registry();
        let outcome = reg.run("echo", r#"{"text": "fail"}"#, LONG).await;
        assert_eq!(outcome.content(), r#"{"error":"asked to fail"}"#);
    }

    #[tokio::test]
    async fn a_panicking_tool_is_reported_as_crashed() {
        let (reg, _) = echo_registry();
        let outcome = reg.run("echo", r#"{"text": "panic"}"#, LONG).await;
        assert_eq!(
            outcome,
            ToolOutcome::Failure(ToolError::Crashed {
                tool: "echo".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn a_stuck_tool_times_out() {
        let (started_tx, mut started_rx) = unbounded_channel();
        let (release_tx, release_rx) = channel();
        let mut reg = ToolRegistry::new();
        reg.register(Gate {
            spec: ToolSpec::new("gate", "Waits.", json!({"type": "object"})),
            started: started_tx,
            release: Mutex::new(release_rx),
        })
        .unwrap();

        let timeout = Duration::from_millis(50);
        let outcome = reg.run("gate", "{}", timeout).await;
        assert_eq!(
            outcome,
            ToolOutcome::Failure(ToolError::Timeout {
                tool: "gate".to_owned(),
                after: timeout
            })
        );
        assert_eq!(
            outcome.content(),
            r#"{"error":"tool `gate` timed out after 50 ms"}"#
        );
        // The tool really was running when the timeout fired; let it finish.
        tokio::time::timeout(LONG, started_rx.recv())
            .await
            .unwrap()
            .unwrap();
        release_tx.send(()).unwrap();

        // Released promptly, the same tool completes within the limit.
        let done = tokio::spawn(Arc::new(reg).run_shared("gate".into(), "{}".into(), LONG));
        tokio::time::timeout(LONG, started_rx.recv())
            .await
            .unwrap()
            .unwrap();
        release_tx.send(()).unwrap();
        let outcome = done.await.unwrap();
        assert_eq!(outcome, ToolOutcome::Success(json!({"released": true})));
    }
}
