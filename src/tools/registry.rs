//! The set of tools the gateway runs itself, each with its schema compiled once.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::{ToolError, Violation};
use super::spec::{Tool, ToolSpec};

/// Longest raw arguments string accepted, in bytes.
pub const MAX_ARGUMENT_BYTES: usize = 64 * 1024;

/// Longest tool name accepted by the OpenAI function-calling API.
const MAX_NAME_CHARS: usize = 64;

/// Longest single violation message passed back to the model, in characters.
const MAX_VIOLATION_CHARS: usize = 300;

struct Entry {
    tool: Arc<dyn Tool>,
    validator: jsonschema::Validator,
}

/// Registered tools by name, in registration order.
#[derive(Default)]
pub struct ToolRegistry {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.names())
            .finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool after checking its name and compiling its schema.
    ///
    /// Fails on a duplicate or malformed name, and on a parameters schema
    /// that is not a valid JSON Schema for an object (external `$ref`s are
    /// never fetched, so they fail too).
    pub fn register(&mut self, tool: impl Tool + 'static) -> Result<(), ToolError> {
        self.register_shared(Arc::new(tool))
    }

    /// Adds a tool that is already behind an `Arc`.
    pub fn register_shared(&mut self, tool: Arc<dyn Tool>) -> Result<(), ToolError> {
        let spec = tool.spec();
        check_name(&spec.name)?;
        if self.by_name.contains_key(&spec.name) {
            return Err(ToolError::DuplicateName(spec.name.clone()));
        }
        let validator = compile_schema(spec)?;
        let name = spec.name.clone();
        self.by_name.insert(name, self.entries.len());
        self.entries.push(Entry { tool, validator });
        Ok(())
    }

    /// Whether a tool with this name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The tool registered under this name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.entry(name).map(|e| Arc::clone(&e.tool))
    }

    /// Spec of the tool registered under this name.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.entry(name).map(|e| e.tool.spec())
    }

    /// Names of all tools, in registration order.
    pub fn names(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|e| e.tool.spec().name.as_str())
            .collect()
    }

    /// Number of registered tools.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// OpenAI `tools` entries for every registered tool, in registration order.
    pub fn definitions(&self) -> Vec<Value> {
        self.entries
            .iter()
            .map(|e| e.tool.spec().openai_definition())
            .collect()
    }

    /// Parses a model's raw arguments string and checks it against the
    /// tool's schema, returning the parsed arguments.
    ///
    /// An empty or all-whitespace string counts as `{}`, since some models
    /// send that for tools without required arguments.
    pub fn validate(&self, name: &str, raw_arguments: &str) -> Result<Value, ToolError> {
        let entry = self.entry(name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_owned(),
            available: self.names().into_iter().map(str::to_owned).collect(),
        })?;
        let args = parse_arguments(name, raw_arguments)?;
        let violations: Vec<Violation> = entry
            .validator
            .iter_errors(&args)
            .map(|err| Violation {
                path: err.instance_path().as_str().to_owned(),
                message: truncate_chars(&err.to_string(), MAX_VIOLATION_CHARS),
            })
            .collect();
        if violations.is_empty() {
            Ok(args)
        } else {
            Err(ToolError::InvalidArguments {
                tool: name.to_owned(),
                violations,
            })
        }
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).and_then(|&i| self.entries.get(i))
    }
}

fn check_name(name: &str) -> Result<(), ToolError> {
    let refuse = |reason: &str| {
        Err(ToolError::InvalidName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse("it is longer than 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return refuse("only ASCII letters, digits, `_` and `-` are allowed");
    }
    Ok(())
}

fn compile_schema(spec: &ToolSpec) -> Result<jsonschema::Validator, ToolError> {
    let refuse = |reason: String| ToolError::InvalidSchema {
        tool: spec.name.clone(),
        reason,
    };
    let Some(schema) = spec.parameters.as_object() else {
        return Err(refuse("it must be a JSON object".to_owned()));
    };
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(refuse(
            "it must declare `\"type\": \"object\"` at the top level".to_owned(),
        ));
    }
    jsonschema::validator_for(&spec.parameters).map_err(|err| refuse(err.to_string()))
}

fn parse_arguments(tool: &str, raw: &str) -> Result<Value, ToolError> {
    let malformed = |reason: String| ToolError::MalformedArguments {
        tool: tool.to_owned(),
        reason,
    };
    if raw.len() > MAX_ARGUMENT_BYTES {
        return Err(malformed(format!(
            "the arguments are {} bytes long, more than the limit of {MAX_ARGUMENT_BYTES}",
            raw.len()
        )));
    }
    if raw.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(raw).map_err(|err| malformed(err.to_string()))
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed {
        spec: ToolSpec,
    }

    impl Tool for Fixed {
        fn spec(&self) -> &ToolSpec {
            &self.spec
        }
        fn call(&self, _args: &Value) -> Result<Value, ToolError> {
            Ok(json!("ok"))
        }
    }

    fn tool(name: &str, parameters: Value) -> Fixed {
        Fixed {
            spec: ToolSpec::new(name, "test tool", parameters),
        }
    }

    fn lookup_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "k": {"type": "integer", "minimum": 1, "maximum": 10},
                "filters": {
                    "type": "object",
                    "properties": {"lang": {"enum": ["en", "fr"]}}
                }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn registry() -> ToolRegistry {
        let mut reg = ToolRegistry::new();
        assert_eq!(reg.register(tool("lookup", lookup_schema())), Ok(()));
        assert_eq!(
            reg.register(tool("noop", json!({"type": "object"}))),
            Ok(())
        );
        reg
    }

    #[test]
    fn registry_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<ToolRegistry>();
        shareable::<Arc<ToolRegistry>>();
    }

    #[test]
    fn valid_arguments_come_back_parsed() {
        let reg = registry();
        assert_eq!(
            reg.validate("lookup", r#"{"query": "rust", "k": 3}"#),
            Ok(json!({"query": "rust", "k": 3}))
        );
    }

    #[test]
    fn empty_arguments_mean_an_empty_object() {
        let reg = registry();
        assert_eq!(reg.validate("noop", ""), Ok(json!({})));
        assert_eq!(reg.validate("noop", "  \n"), Ok(json!({})));
        let err = reg.validate("lookup", "").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "invalid arguments for tool `lookup`: 1 problem: \
                 at (root): \"query\" is a required property; \
                 fix these and call the tool again"
            )
        );
    }

    #[test]
    fn every_violation_is_listed_with_its_pointer() {
        let reg = registry();
        let raw = r#"{"query": "", "k": 11, "filters": {"lang": "de"}, "extra": 1}"#;
        let Err(ToolError::InvalidArguments { tool, violations }) = reg.validate("lookup", raw)
        else {
            unreachable!("expected invalid arguments");
        };
        assert_eq!(tool, "lookup");
        let mut paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["", "/filters/lang", "/k", "/query"]);
        let text = ToolError::InvalidArguments {
            tool,
            violations: violations.clone(),
        }
        .to_string();
        assert!(text.contains("4 problems"), "{text}");
        assert!(
            text.contains("at /k: 11 is greater than the maximum of 10"),
            "{text}"
        );
        assert!(text.contains("at /filters/lang: "), "{text}");
        assert!(text.contains("'extra' was unexpected"), "{text}");
    }

    #[test]
    fn wrong_type_names_the_expected_type() {
        let reg = registry();
        let err = reg
            .validate("lookup", r#"{"query": 42}"#)
            .err()
            .map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(
            text.contains(r#"at /query: 42 is not of type "string""#),
            "{text}"
        );
    }

    #[test]
    fn arguments_must_be_an_object() {
        let reg = registry();
        let text = reg
            .validate("lookup", r#"["query"]"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(text.contains("at (root):"), "{text}");
        assert!(text.contains(r#"not of type "object""#), "{text}");
    }

    #[test]
    fn malformed_json_is_reported_with_position() {
        let reg = registry();
        let err = reg.validate("lookup", r#"{"query": "rust""#);
        let Err(ToolError::MalformedArguments { tool, reason }) = &err else {
            unreachable!("expected malformed arguments, got {err:?}");
        };
        assert_eq!(tool, "lookup");
        assert!(reason.contains("line 1"), "{reason}");
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("arguments for tool `lookup` are not valid JSON"),
            "{text}"
        );
    }

    #[test]
    fn oversized_arguments_are_refused_before_parsing() {
        let reg = registry();
        let raw = format!(r#"{{"query": "{}"}}"#, "a".repeat(MAX_ARGUMENT_BYTES));
        let text = reg
            .validate("lookup", &raw)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(text.contains("more than the limit of 65536"), "{text}");
    }

    #[test]
    fn unknown_tool_lists_what_exists() {
        let reg = registry();
        assert_eq!(
            reg.validate("search", "{}"),
            Err(ToolError::UnknownTool {
                name: "search".to_owned(),
                available: vec!["lookup".to_owned(), "noop".to_owned()],
            })
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut reg = registry();
        assert_eq!(
            reg.register(tool("noop", json!({"type": "object"}))),
            Err(ToolError::DuplicateName("noop".to_owned()))
        );
        assert_eq!(reg.len(), 2);
    }

    #[test]
    fn bad_names_are_refused() {
        let mut reg = ToolRegistry::new();
        for name in ["", "has space", "ünïcode", &"x".repeat(65)] {
            let result = reg.register(tool(name, json!({"type": "object"})));
            assert!(
                matches!(result, Err(ToolError::InvalidName { .. })),
                "{name:?}: {result:?}"
            );
        }
        assert_eq!(
            reg.register(tool(&"x".repeat(64), json!({"type": "object"}))),
            Ok(())
        );
        assert_eq!(
            reg.register(tool("a-b_C9", json!({"type": "object"}))),
            Ok(())
        );
    }

    #[test]
    fn bad_schemas_are_refused() {
        let cases = [
            json!("object"),
            json!({"properties": {}}),
            json!({"type": "array"}),
            json!({"type": "object", "properties": {"a": {"type": "strnig"}}}),
            json!({"type": "object", "properties": {"a": {"minLength": -1}}}),
            json!({"type": "object", "properties": {"a": {"pattern": "(unclosed"}}}),
            json!({"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}),
        ];
        for schema in cases {
            let mut reg = ToolRegistry::new();
            let result = reg.register(tool("t", schema.clone()));
            assert!(
                matches!(result, Err(ToolError::InvalidSchema { .. })),
                "{schema}: {result:?}"
            );
            assert!(reg.is_empty());
        }
    }

    #[test]
    fn lookups_and_definitions_follow_registration_order() {
        let reg = registry();
        assert!(reg.contains("lookup"));
        assert!(!reg.contains("Lookup"));
        assert_eq!(reg.names(), ["lookup", "noop"]);
        assert_eq!(reg.spec("noop").map(|s| s.name.as_str()), Some("noop"));
        assert!(reg.get("lookup").is_some());
        let defs = reg.definitions();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0]["function"]["name"], "lookup");
        assert_eq!(defs[0]["function"]["parameters"], lookup_schema());
        assert_eq!(
            format!("{reg:?}"),
            r#"ToolRegistry { tools: ["lookup", "noop"] }"#
        );
    }

    #[test]
    fn long_violation_messages_are_shortened() {
        assert_eq!(truncate_chars("héllo", 3), "hél…");
        assert_eq!(truncate_chars("abc", 3), "abc");
        let mut reg = ToolRegistry::new();
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_eq!(reg.register(tool("t", schema)), Ok(()));
        let raw = format!(r#"{{"a": [{}]}}"#, vec!["1"; 500].join(","));
        let Err(ToolError::InvalidArguments { violations, .. }) = reg.validate("t", &raw) else {
            unreachable!("expected invalid arguments");
        };
        assert!(violations.iter().all(|v| v.message.chars().count() <= 301));
    }
}
