//! Output format validation: plain text, any JSON object, or JSON matching a JSON Schema.
//!
//! The format comes from an OpenAI-style `response_format`. A JSON answer may be wrapped in
//! surrounding whitespace or in a single Markdown code fence (```` ```json … ``` ````); the fence is
//! stripped before parsing.
//!
//! JSON Schema support is a focused, hand-written subset, compiled once when the format is read:
//! `type` (one name or an array, so `["string", "null"]` is nullable; OpenAPI's `nullable: true`
//! also works), `properties`, `required`, `additionalProperties` (boolean or schema), `items`
//! (schema, or an array for tuples), `prefixItems`, `enum`, `const`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minLength`, `maxLength`, `pattern`,
//! `minItems`, `maxItems`, `uniqueItems`, `minProperties`, `maxProperties`, `anyOf`, `oneOf`,
//! `allOf`, `not`, boolean schemas and local `$ref`s (`#`, `#/$defs/…`, `#/definitions/…`, any
//! JSON pointer into the same document). Other keywords (`format`, `description`, `title`,
//! `default`, …) are ignored, as JSON Schema prescribes for unknown keywords. Numbers compare by
//! value, so `1` equals `1.0`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use regex::Regex;
use serde_json::{Map, Value};

/// How many schema errors a failure message lists.
const MAX_REPORTED_ERRORS: usize = 5;
/// Deepest nesting of schema checks (guards recursive `$ref`s).
const MAX_DEPTH: usize = 128;

/// The format an answer must have.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    /// Anything goes.
    Text,
    /// A JSON object (`json_object`).
    Json,
    /// JSON matching a schema, compiled when the format was read.
    JsonSchema { name: String, schema: Arc<Schema> },
}

impl OutputFormat {
    /// From an OpenAI `response_format` value: {"type":"text"} | {"type":"json_object"} | {"type":"json_schema","json_schema":{"name":..,"schema":{..},"strict":..}}; an error message (naming the field) for anything else.
    pub fn from_response_format(v: &Value) -> Result<OutputFormat, String> {
        let obj = v.as_object().ok_or("response_format must be an object")?;
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or("response_format.type must be a string")?;
        match kind {
            "text" => Ok(OutputFormat::Text),
            "json_object" => Ok(OutputFormat::Json),
            "json_schema" => Self::from_json_schema(obj.get("json_schema")),
            other => Err(format!(
                "response_format.type {other:?} is not one of \"text\", \"json_object\", \"json_schema\""
            )),
        }
    }

    fn from_json_schema(spec: Option<&Value>) -> Result<OutputFormat, String> {
        let spec = spec
            .and_then(Value::as_object)
            .ok_or("response_format.json_schema must be an object")?;
        let name = spec
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or("response_format.json_schema.name must be a non-empty string")?;
        if spec.get("strict").is_some_and(|s| !s.is_boolean()) {
            return Err("response_format.json_schema.strict must be a boolean".into());
        }
        let schema = spec
            .get("schema")
            .ok_or("response_format.json_schema.schema is missing")?;
        let schema = Schema::compile(schema)
            .map_err(|e| format!("response_format.json_schema.schema is not valid: {e}"))?;
        Ok(OutputFormat::JsonSchema {
            name: name.to_owned(),
            schema: Arc::new(schema),
        })
    }

    /// Whether answers must be JSON.
    pub fn expects_json(&self) -> bool {
        !matches!(self, OutputFormat::Text)
    }

    /// Checks an answer; Err carries a human-readable reason listing the first few schema errors with their JSON pointer paths.
    pub fn validate(&self, text: &str) -> Result<(), String> {
        match self {
            OutputFormat::Text => Ok(()),
            OutputFormat::Json => match parse_answer(text)? {
                Value::Object(_) => Ok(()),
                other => Err(format!(
                    "the answer is JSON but not an object: {}",
                    type_name(&other)
                )),
            },
            OutputFormat::JsonSchema { name, schema } => {
                let value = parse_answer(text)?;
                schema
                    .check(&value)
                    .map_err(|errors| describe_errors(name, &errors))
            }
        }
    }
}

/// Parses the answer after trimming whitespace and one enclosing Markdown code fence.
fn parse_answer(text: &str) -> Result<Value, String> {
    serde_json::from_str(strip_fence(text))
        .map_err(|e| format!("the answer is not valid JSON: {e}"))
}

/// The text inside a single ```` ``` ```` fence that wraps the whole (trimmed) answer, else the
/// trimmed answer.
fn strip_fence(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return trimmed;
    };
    // Drop the info string (`json`, `JSON`, …) on the opening line.
    match body.split_once('\n') {
        Some((info, inner)) if !info.contains(['{', '[', '"']) => inner.trim(),
        _ => body.trim(),
    }
}

fn describe_errors(name: &str, errors: &[SchemaError]) -> String {
    let mut out = format!(
        "the answer does not match schema {name:?} ({} error{})",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors.iter().take(MAX_REPORTED_ERRORS) {
        let path = if e.path.is_empty() { "(root)" } else { &e.path };
        let _ = write!(out, "; at {path}: {}", e.message);
    }
    if errors.len() > MAX_REPORTED_ERRORS {
        let _ = write!(out, "; and {} more", errors.len() - MAX_REPORTED_ERRORS);
    }
    out
}

/// One failed check: where (a JSON pointer into the answer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

/// A compiled JSON Schema (the subset listed in the module docs).
#[derive(Debug)]
pub struct Schema {
    source: Value,
    root: usize,
    nodes: Vec<Node>,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Schema {
    /// Compiles a schema; the error names the offending keyword and its location in the schema.
    pub fn compile(source: &Value) -> Result<Schema, String> {
        let mut compiler = Compiler {
            root: source,
            nodes: Vec::new(),
            refs: HashMap::new(),
        };
        let root = compiler.compile_at(source, "")?;
        Ok(Schema {
            source: source.clone(),
            root,
            nodes: compiler.nodes,
        })
    }

    /// The schema as given.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Validates a value; on failure, all errors found (each with its JSON pointer).
    pub fn check(&self, value: &Value) -> Result<(), Vec<SchemaError>> {
        let mut errors = Vec::new();
        let mut path = String::new();
        self.check_node(self.root, value, &mut path, 0, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check_node(
        &self,
        index: usize,
        value: &Value,
        path: &mut String,
        depth: usize,
        errors: &mut Vec<SchemaError>,
    ) {
        let Some(node) = self.nodes.get(index) else {
            return;
        };
        if depth > MAX_DEPTH {
            push_error(
                errors,
                path,
                "the schema nests too deeply (recursive $ref?)".into(),
            );
            return;
        }
        let mut cx = Check {
            schema: self,
            path,
            depth,
            errors,
        };
        cx.node(node, value);
    }

    /// Whether `value` passes node `index` (errors discarded).
    fn passes(&self, index: usize, value: &Value, depth: usize) -> bool {
        let mut errors = Vec::new();
        let mut path = String::new();
        self.check_node(index, value, &mut path, depth, &mut errors);
        errors.is_empty()
    }
}

/// JSON types as named in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    fn parse(name: &str) -> Option<JsonType> {
        Some(match name {
            "null" => JsonType::Null,
            "boolean" => JsonType::Boolean,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "string" => JsonType::String,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (JsonType::Null, Value::Null)
            | (JsonType::Boolean, Value::Bool(_))
            | (JsonType::Number, Value::Number(_))
            | (JsonType::String, Value::String(_))
            | (JsonType::Array, Value::Array(_))
            | (JsonType::Object, Value::Object(_)) => true,
            (JsonType::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// What `additionalProperties` allows.
#[derive(Debug, Default)]
enum Additional {
    #[default]
    Any,
    Schema(usize),
}

/// One compiled schema object; subschemas are indexes into `Schema::nodes`.
#[derive(Debug, Default)]
struct Node {
    /// `false` schema: nothing is valid.
    never: bool,
    types: Option<Vec<JsonType>>,
    reference: Option<usize>,
    properties: Vec<(String, usize)>,
    required: Vec<String>,
    additional: Additional,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    items: Option<usize>,
    prefix_items: Vec<usize>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    enum_values: Option<Vec<Value>>,
    const_value: Option<Value>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    multiple_of: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Regex>,
    any_of: Vec<usize>,
    one_of: Vec<usize>,
    all_of: Vec<usize>,
    not: Option<usize>,
}

struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    /// `$ref` pointer → node index (inserted before compiling the target, so cycles terminate).
    refs: HashMap<String, usize>,
}

impl<'a> Compiler<'a> {
    /// Compiles the schema `value` found at schema pointer `at`; returns its node index.
    fn compile_at(&mut self, value: &'a Value, at: &str) -> Result<usize, String> {
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        let node = match value {
            Value::Bool(true) => Node::default(),
            Value::Bool(false) => Node {
                never: true,
                ..Node::default()
            },
            Value::Object(obj) => self.compile_object(obj, at)?,
            _ => {
                return Err(format!(
                    "{}: a schema must be an object or a boolean",
                    show(at)
                ));
            }
        };
        self.nodes[index] = node;
        Ok(index)
    }

    fn compile_object(&mut self, obj: &'a Map<String, Value>, at: &str) -> Result<Node, String> {
        let mut node = Node::default();
        for (key, value) in obj {
            let here = format!("{at}/{}", escape_pointer(key));
            self.keyword(&mut node, key, value, &here)?;
        }
        if obj.get("nullable") == Some(&Value::Bool(true))
            && let Some(types) = &mut node.types
        {
            types.push(JsonType::Null);
        }
        Ok(node)
    }

    fn keyword(
        &mut self,
        node: &mut Node,
        key: &str,
        value: &'a Value,
        at: &str,
    ) -> Result<(), String> {
        match key {
            "type" => node.types = Some(parse_types(value, at)?),
            "$ref" => node.reference = Some(self.reference(value, at)?),
            "properties" => {
                for (name, sub) in as_object(value, at)? {
                    let here = format!("{at}/{}", escape_pointer(name));
                    node.properties
                        .push((name.clone(), self.compile_at(sub, &here)?));
                }
            }
            "required" => node.required = string_list(value, at)?,
            "additionalProperties" => {
                node.additional = Additional::Schema(self.compile_at(value, at)?)
            }
            "minProperties" => node.min_properties = Some(count(value, at)?),
            "maxProperties" => node.max_properties = Some(count(value, at)?),
            "items" if value.is_array() => {
                node.prefix_items = self.schema_list(value, at, false)?
            }
            "items" => node.items = Some(self.compile_at(value, at)?),
            "prefixItems" => node.prefix_items = self.schema_list(value, at, false)?,
            "minItems" => node.min_items = Some(count(value, at)?),
            "maxItems" => node.max_items = Some(count(value, at)?),
            "uniqueItems" => node.unique_items = as_bool(value, at)?,
            "enum" => node.enum_values = Some(as_array(value, at)?.clone()),
            "const" => node.const_value = Some(value.clone()),
            "minimum" => node.minimum = Some(number(value, at)?),
            "maximum" => node.maximum = Some(number(value, at)?),
            "exclusiveMinimum" => node.exclusive_minimum = Some(number(value, at)?),
            "exclusiveMaximum" => node.exclusive_maximum = Some(number(value, at)?),
            "multipleOf" => node.multiple_of = Some(positive(value, at)?),
            "minLength" => node.min_length = Some(count(value, at)?),
            "maxLength" => node.max_length = Some(count(value, at)?),
            "pattern" => node.pattern = Some(pattern(value, at)?),
            "anyOf" => node.any_of = self.schema_list(value, at, true)?,
            "oneOf" => node.one_of = self.schema_list(value, at, true)?,
            "allOf" => node.all_of = self.schema_list(value, at, true)?,
            "not" => node.not = Some(self.compile_at(value, at)?),
            "nullable" => {
                as_bool(value, at)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn schema_list(
        &mut self,
        value: &'a Value,
        at: &str,
        non_empty: bool,
    ) -> Result<Vec<usize>, String> {
        let list = as_array(value, at)?;
        if non_empty && list.is_empty() {
            return Err(format!(
                "{}: must be a non-empty array of schemas",
                show(at)
            ));
        }
        list.iter()
            .enumerate()
            .map(|(i, sub)| self.compile_at(sub, &format!("{at}/{i}")))
            .collect()
    }

    /// Resolves a local `$ref` and compiles its target once.
    fn reference(&mut self, value: &Value, at: &str) -> Result<usize, String> {
        let target = value
            .as_str()
            .ok_or_else(|| format!("{}: must be a string", show(at)))?;
        let pointer = target.strip_prefix('#').ok_or_else(|| {
            format!(
                "{}: only local references (\"#…\") are supported, not {target:?}",
                show(at)
            )
        })?;
        if let Some(&index) = self.refs.get(pointer) {
            return Ok(index);
        }
        let resolved = self
            .root
            .pointer(pointer)
            .ok_or_else(|| format!("{}: reference {target:?} points nowhere", show(at)))?;
        self.refs.insert(pointer.to_owned(), self.nodes.len());
        self.compile_at(resolved, pointer)
    }
}

fn show(at: &str) -> String {
    if at.is_empty() {
        "schema root".into()
    } else {
        format!("schema {at}")
    }
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn as_object<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{}: must be an object", show(at)))
}

fn as_array<'v>(value: &'v Value, at: &str) -> Result<&'v Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{}: must be an array", show(at)))
}

fn as_bool(value: &Value, at: &str) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{}: must be a boolean", show(at)))
}

fn number(value: &Value, at: &str) -> Result<f64, String> {
    value
        .as_f64()
        .ok_or_else(|| format!("{}: must be a number", show(at)))
}

fn positive(value: &Value, at: &str) -> Result<f64, String> {
    number(value, at).and_then(|n| {
        if n > 0.0 {
            Ok(n)
        } else {
            Err(format!("{}: must be greater than 0", show(at)))
        }
    })
}

fn count(value: &Value, at: &str) -> Result<u64, String> {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        })
        .ok_or_else(|| format!("{}: must be a non-negative integer", show(at)))
}

fn string_list(value: &Value, at: &str) -> Result<Vec<String>, String> {
    as_array(value, at)?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("{}: must be an array of strings", show(at)))
}

fn parse_types(value: &Value, at: &str) -> Result<Vec<JsonType>, String> {
    let names: Vec<&str> = match value {
        Value::String(name) => vec![name.as_str()],
        Value::Array(list) => list
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{}: must be a type name or an array of them", show(at)))?,
        _ => {
            return Err(format!(
                "{}: must be a type name or an array of them",
                show(at)
            ));
        }
    };
    names
        .into_iter()
        .map(|name| {
            JsonType::parse(name).ok_or_else(|| format!("{}: unknown type {name:?}", show(at)))
        })
        .collect()
}

fn pattern(value: &Value, at: &str) -> Result<Regex, String> {
    let source = value
        .as_str()
        .ok_or_else(|| format!("{}: must be a string", show(at)))?;
    Regex::new(source).map_err(|e| format!("{}: not a valid regular expression: {e}", show(at)))
}

fn push_error(errors: &mut Vec<SchemaError>, path: &str, message: String) {
    errors.push(SchemaError {
        path: path.to_owned(),
        message,
    });
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A short rendering of a value for messages.
fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The state of one validation walk.
struct Check<'s, 'p> {
    schema: &'s Schema,
    path: &'p mut String,
    depth: usize,
    errors: &'p mut Vec<SchemaError>,
}

impl Check<'_, '_> {
    fn fail(&mut self, message: String) {
        push_error(self.errors, self.path, message);
    }

    fn fail_at(&mut self, token: &str, message: String) {
        let len = self.path.len();
        self.path.push('/');
        self.path.push_str(&escape_pointer(token));
        self.fail(message);
        self.path.truncate(len);
    }

    /// Checks `value` against `index` at the child path `path/token`.
    fn child(&mut self, index: usize, value: &Value, token: &str) {
        let len = self.path.len();
        self.path.push('/');
        self.path.push_str(&escape_pointer(token));
        self.schema
            .check_node(index, value, self.path, self.depth + 1, self.errors);
        self.path.truncate(len);
    }

    /// Checks `value` against `index` at the same path.
    fn same(&mut self, index: usize, value: &Value) {
        self.schema
            .check_node(index, value, self.path, self.depth + 1, self.errors);
    }

    fn node(&mut self, node: &Node, value: &Value) {
        if node.never {
            self.fail("no value is allowed here".into());
            return;
        }
        if let Some(target) = node.reference {
            self.same(target, value);
        }
        if let Some(types) = &node.types
            && !types.iter().any(|t| t.admits(value))
        {
            let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
            self.fail(format!(
                "expected {}, got {}",
                names.join(" or "),
                type_name(value)
            ));
            return;
        }
        self.values(node, value);
        match value {
            Value::Object(obj) => self.object(node, obj),
            Value::Array(items) => self.array(node, items),
            Value::String(s) => self.string(node, s),
            Value::Number(n) => self.number(node, n.as_f64().unwrap_or(f64::NAN)),
            _ => {}
        }
        self.combinators(node, value);
    }

    fn values(&mut self, node: &Node, value: &Value) {
        if let Some(allowed) = &node.enum_values
            && !allowed.iter().any(|a| json_eq(a, value))
        {
            let list: Vec<String> = allowed.iter().map(brief).collect();
            self.fail(format!(
                "{} is not one of {}",
                brief(value),
                list.join(", ")
            ));
        }
        if let Some(expected) = &node.const_value
            && !json_eq(expected, value)
        {
            self.fail(format!(
                "expected {}, got {}",
                brief(expected),
                brief(value)
            ));
        }
    }

    fn object(&mut self, node: &Node, obj: &Map<String, Value>) {
        for name in &node.required {
            if !obj.contains_key(name) {
                self.fail(format!("missing required property {name:?}"));
            }
        }
        let size = obj.len() as u64;
        if let Some(min) = node.min_properties.filter(|&min| size < min) {
            self.fail(format!("has {size} properties, fewer than {min}"));
        }
        if let Some(max) = node.max_properties.filter(|&max| size > max) {
            self.fail(format!("has {size} properties, more than {max}"));
        }
        for (key, value) in obj {
            match node.properties.iter().find(|(name, _)| name == key) {
                Some(&(_, index)) => self.child(index, value, key),
                None => {
                    if let Additional::Schema(index) = node.additional {
                        if self.schema.nodes.get(index).is_some_and(|n| n.never) {
                            self.fail_at(key, format!("property {key:?} is not allowed"));
                        } else {
                            self.child(index, value, key);
                        }
                    }
                }
            }
        }
    }

    fn array(&mut self, node: &Node, items: &[Value]) {
        let len = items.len() as u64;
        if let Some(min) = node.min_items.filter(|&min| len < min) {
            self.fail(format!("has {len} items, fewer than {min}"));
        }
        if let Some(max) = node.max_items.filter(|&max| len > max) {
            self.fail(format!("has {len} items, more than {max}"));
        }
        for (i, item) in items.iter().enumerate() {
            let index = node.prefix_items.get(i).copied().or(node.items);
            if let Some(index) = index {
                self.child(index, item, &i.to_string());
            }
        }
        if node.unique_items {
            let duplicate = items
                .iter()
                .enumerate()
                .any(|(i, a)| items[..i].iter().any(|b| json_eq(a, b)));
            if duplicate {
                self.fail("items are not unique".into());
            }
        }
    }

    fn string(&mut self, node: &Node, s: &str) {
        let len = s.chars().count() as u64;
        if let Some(min) = node.min_length.filter(|&min| len < min) {
            self.fail(format!("string of length {len} is shorter than {min}"));
        }
        if let Some(max) = node.max_length.filter(|&max| len > max) {
            self.fail(format!("string of length {len} is longer than {max}"));
        }
        if let Some(re) = node.pattern.as_ref().filter(|re| !re.is_match(s)) {
            self.fail(format!("string does not match pattern {:?}", re.as_str()));
        }
    }

    fn number(&mut self, node: &Node, n: f64) {
        if let Some(min) = node.minimum.filter(|&min| n < min) {
            self.fail(format!("{n} is less than the minimum {min}"));
        }
        if let Some(max) = node.maximum.filter(|&max| n > max) {
            self.fail(format!("{n} is greater than the maximum {max}"));
        }
        if let Some(min) = node.exclusive_minimum.filter(|&min| n <= min) {
            self.fail(format!("{n} is not greater than {min}"));
        }
        if let Some(max) = node.exclusive_maximum.filter(|&max| n >= max) {
            self.fail(format!("{n} is not less than {max}"));
        }
        if let Some(step) = node.multiple_of {
            let ratio = n / step;
            if (ratio - ratio.round()).abs() > 1e-9 {
                self.fail(format!("{n} is not a multiple of {step}"));
            }
        }
    }

    fn combinators(&mut self, node: &Node, value: &Value) {
        for &index in &node.all_of {
            self.same(index, value);
        }
        let depth = self.depth + 1;
        if !node.any_of.is_empty()
            && !node
                .any_of
                .iter()
                .any(|&i| self.schema.passes(i, value, depth))
        {
            self.fail(format!(
                "matches none of the {} anyOf alternatives",
                node.any_of.len()
            ));
        }
        if !node.one_of.is_empty() {
            let matching = node
                .one_of
                .iter()
                .filter(|&&i| self.schema.passes(i, value, depth))
                .count();
            if matching != 1 {
                self.fail(format!(
                    "matches {matching} of the {} oneOf alternatives, not exactly one",
                    node.one_of.len()
                ));
            }
        }
        if let Some(index) = node.not
            && self.schema.passes(index, value, depth)
        {
            self.fail("matches a schema it must not match (not)".into());
        }
    }
}

#[cfg(test)]
mod tests;
