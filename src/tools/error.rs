//! Errors raised while registering, validating or running tools.
//!
//! Every message is written for two readers: the operator reading logs and
//! the model that gets it back as a tool result and should fix its call.

use std::time::Duration;

/// Most violations listed in one error message; the rest are counted.
const MAX_LISTED_VIOLATIONS: usize = 8;

/// One way in which tool arguments break the tool's JSON Schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value; empty for the arguments object itself.
    pub path: String,
    /// What is wrong there, in the validator's words.
    pub message: String,
}

/// Everything that can go wrong with a tool, from registration to its result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The model asked for a tool this gateway does not have.
    #[error("unknown tool `{name}`; available tools: {}", list_or_none(.available))]
    UnknownTool {
        /// Name the model used.
        name: String,
        /// Names of the registered tools, in registration order.
        available: Vec<String>,
    },

    /// The arguments string is not a JSON object.
    #[error(
        "arguments for tool `{tool}` are not valid JSON: {reason}; send a single JSON object that matches the tool's parameters schema"
    )]
    MalformedArguments {
        /// Tool the arguments were meant for.
        tool: String,
        /// Parser message.
        reason: String,
    },

    /// The arguments are JSON but break the tool's schema.
    #[error(
        "invalid arguments for tool `{tool}`: {}; fix these and call the tool again",
        describe_violations(.violations)
    )]
    InvalidArguments {
        /// Tool the arguments were meant for.
        tool: String,
        /// Each schema violation found.
        violations: Vec<Violation>,
    },

    /// The tool ran and reported a failure of its own (bad input it could
    /// not express in its schema, a backend error, and so on).
    #[error("{0}")]
    Failed(String),

    /// The tool did not finish within the allowed time.
    #[error("tool `{tool}` timed out after {} ms", .after.as_millis())]
    Timeout {
        /// Tool that was running.
        tool: String,
        /// Time limit it ran into.
        after: Duration,
    },

    /// The tool's task ended abnormally (it panicked or was cancelled).
    #[error("tool `{tool}` crashed before returning a result")]
    Crashed {
        /// Tool that was running.
        tool: String,
    },

    /// A tool with this name is already registered.
    #[error("a tool named `{0}` is already registered")]
    DuplicateName(String),

    /// The tool's name is not usable in function-calling requests.
    #[error("tool name `{name}` is invalid: {reason}")]
    InvalidName {
        /// Name that was refused.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// The tool's parameters are not a usable JSON Schema.
    #[error("parameters schema of tool `{tool}` is invalid: {reason}")]
    InvalidSchema {
        /// Tool whose schema was refused.
        tool: String,
        /// Why it was refused.
        reason: String,
    },
}

impl ToolError {
    /// Shorthand for a failure reported by a tool itself.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn describe_violations(violations: &[Violation]) -> String {
    let mut parts: Vec<String> = violations
        .iter()
        .take(MAX_LISTED_VIOLATIONS)
        .map(|v| {
            let at = if v.path.is_empty() {
                "(root)"
            } else {
                v.path.as_str()
            };
            format!("at {at}: {}", v.message)
        })
        .collect();
    if violations.len() > MAX_LISTED_VIOLATIONS {
        parts.push(format!(
            "and {} more",
            violations.len() - MAX_LISTED_VIOLATIONS
        ));
    }
    let count = violations.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    format!("{count} {noun}: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(path: &str, message: &str) -> Violation {
        Violation {
            path: path.to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn lists_each_violation_with_its_path() {
        let err = ToolError::InvalidArguments {
            tool: "calculator".to_owned(),
            violations: vec![
                violation("", "\"expression\" is a required property"),
                violation("/k", "0 is less than the minimum of 1"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "invalid arguments for tool `calculator`: 2 problems: \
             at (root): \"expression\" is a required property; \
             at /k: 0 is less than the minimum of 1; \
             fix these and call the tool again"
        );
    }

    #[test]
    fn long_violation_lists_are_cut() {
        let violations = (0..12)
            .map(|i| violation(&format!("/{i}"), "bad"))
            .collect();
        let err = ToolError::InvalidArguments {
            tool: "t".to_owned(),
            violations,
        };
        let text = err.to_string();
        assert!(text.contains("12 problems"), "{text}");
        assert!(text.contains("at /7: bad"), "{text}");
        assert!(!text.contains("at /8: bad"), "{text}");
        assert!(text.contains("and 4 more"), "{text}");
    }

    #[test]
    fn unknown_tool_names_the_alternatives() {
        let err = ToolError::UnknownTool {
            name: "calc".to_owned(),
            available: vec!["calculator".to_owned(), "current_time".to_owned()],
        };
        assert_eq!(
            err.to_string(),
            "unknown tool `calc`; available tools: calculator, current_time"
        );
        let none = ToolError::UnknownTool {
            name: "x".to_owned(),
            available: vec![],
        };
        assert!(none.to_string().ends_with("available tools: none"));
    }

    #[test]
    fn timeout_reports_milliseconds() {
        let err = ToolError::Timeout {
            tool: "slow".to_owned(),
            after: Duration::from_millis(1500),
        };
        assert_eq!(err.to_string(), "tool `slow` timed out after 1500 ms");
    }
}
