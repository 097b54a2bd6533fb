//! What a tool is: its advertised spec and the synchronous call behind it.

use serde::Serialize;
use serde_json::{Value, json};

use super::error::ToolError;

/// Name, description and argument schema of a tool, as advertised to models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    /// Function name the model calls; `[A-Za-z0-9_-]{1,64}`.
    pub name: String,
    /// What the tool does and when to use it, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

impl ToolSpec {
    /// Builds a spec from its three parts.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }

    /// The entry for an OpenAI `tools` array.
    pub fn openai_definition(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            }
        })
    }
}

/// A tool the gateway runs itself.
///
/// `call` is synchronous and may block; the registry runs it on the blocking
/// pool under a timeout. Arguments have already been checked against
/// [`ToolSpec::parameters`] when the registry calls it.
pub trait Tool: Send + Sync {
    /// The tool's advertised spec.
    fn spec(&self) -> &ToolSpec;

    /// Runs the tool on validated arguments.
    fn call(&self, args: &Value) -> Result<Value, ToolError>;
}

/// Reads a required string argument.
pub(crate) fn required_str<'a>(args: &'a Value, key: &str) -> Result<&'a str, ToolError> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::failed(format!("argument `{key}` must be a string")))
}

/// Reads an optional string argument; `null` counts as absent.
pub(crate) fn optional_str<'a>(args: &'a Value, key: &str) -> Result<Option<&'a str>, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ToolError::failed(format!(
            "argument `{key}` must be a string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_definition_has_the_function_shape() {
        let spec = ToolSpec::new(
            "echo",
            "Repeats its input.",
            json!({"type": "object", "properties": {"text": {"type": "string"}}}),
        );
        assert_eq!(
            spec.openai_definition(),
            json!({
                "type": "function",
                "function": {
                    "name": "echo",
                    "description": "Repeats its input.",
                    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}
                }
            })
        );
    }

    #[test]
    fn argument_readers() {
        let args = json!({"a": "x", "n": 3, "z": null});
        assert_eq!(required_str(&args, "a"), Ok("x"));
        assert!(required_str(&args, "n").is_err());
        assert!(required_str(&args, "missing").is_err());
        assert_eq!(optional_str(&args, "a"), Ok(Some("x")));
        assert_eq!(optional_str(&args, "z"), Ok(None));
        assert_eq!(optional_str(&args, "missing"), Ok(None));
        assert!(optional_str(&args, "n").is_err());
    }
}
