//! Tests of `guardrails::format`.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use serde_json::json;

fn schema_format(schema: Value) -> OutputFormat {
    OutputFormat::from_response_format(&json!({
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": true}
    }))
    .unwrap()
}

fn person() -> OutputFormat {
    schema_format(json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 10},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "email": {"type": ["string", "null"], "pattern": "^[^@]+@[^@]+$"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "uniqueItems": true},
            "role": {"enum": ["admin", "user"]},
            "kind": {"const": "person"}
        },
        "required": ["name", "age"],
        "additionalProperties": false
    }))
}

#[test]
fn response_format_variants() {
    assert_eq!(
        OutputFormat::from_response_format(&json!({"type": "text"})),
        Ok(OutputFormat::Text)
    );
    assert_eq!(
        OutputFormat::from_response_format(&json!({"type": "json_object"})),
        Ok(OutputFormat::Json)
    );
    let OutputFormat::JsonSchema { name, schema } = person() else {
        panic!("not a schema format");
    };
    assert_eq!(name, "answer");
    assert_eq!(schema.source()["required"], json!(["name", "age"]));
}

#[test]
fn bad_response_formats_name_the_field() {
    let cases = [
        (json!("json"), "response_format must be an object"),
        (json!({}), "response_format.type"),
        (json!({"type": "xml"}), "response_format.type \"xml\""),
        (
            json!({"type": "json_schema"}),
            "response_format.json_schema must",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"schema": {}}}),
            "json_schema.name",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a"}}),
            "json_schema.schema is missing",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "strict": "yes"}}),
            "json_schema.strict",
        ),
    ];
    for (value, expected) in cases {
        let err = OutputFormat::from_response_format(&value).unwrap_err();
        assert!(err.contains(expected), "{value}: {err}");
    }
}

#[test]
fn invalid_schemas_are_rejected_up_front() {
    let cases = [
        (
            json!({"type": "strin"}),
            "schema /type: unknown type \"strin\"",
        ),
        (json!({"type": 3}), "schema /type"),
        (
            json!({"properties": {"a": {"minLength": -1}}}),
            "schema /properties/a/minLength",
        ),
        (
            json!({"required": "a"}),
            "schema /required: must be an array",
        ),
        (
            json!({"pattern": "("}),
            "schema /pattern: not a valid regular expression",
        ),
        (json!({"anyOf": []}), "schema /anyOf"),
        (json!({"$ref": "#/$defs/missing"}), "points nowhere"),
        (
            json!({"$ref": "http://example.com/s.json"}),
            "only local references",
        ),
        (json!({"items": 5}), "schema /items: a schema must be"),
        (json!(7), "schema root"),
    ];
    for (schema, expected) in cases {
        let err = OutputFormat::from_response_format(&json!({
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": schema}
        }))
        .unwrap_err();
        assert!(err.contains("json_schema.schema is not valid"), "{err}");
        assert!(err.contains(expected), "{schema}: {err}");
    }
}

#[test]
fn text_and_json() {
    assert_eq!(OutputFormat::Text.validate("anything {"), Ok(()));
    assert_eq!(OutputFormat::Json.validate(" {\"a\": 1}\n"), Ok(()));
    let err = OutputFormat::Json.validate("{\"a\": 1,}").unwrap_err();
    assert!(err.contains("not valid JSON"), "{err}");
    let err = OutputFormat::Json.validate("[1, 2]").unwrap_err();
    assert!(err.contains("not an object"), "{err}");
    assert!(OutputFormat::Json.validate("Sure! {\"a\": 1}").is_err());
}

#[test]
fn fenced_json_is_accepted() {
    let fenced = "```json\n{\"name\": \"Ada\", \"age\": 36}\n```";
    assert_eq!(person().validate(fenced), Ok(()));
    assert_eq!(
        person().validate("\n```\n{\"name\": \"Ada\", \"age\": 36}\n```\n"),
        Ok(())
    );
    assert_eq!(OutputFormat::Json.validate("```{\"a\": 1}```"), Ok(()));
    assert!(OutputFormat::Json.validate("```json\n{\"a\": 1}").is_err());
}

#[test]
fn schema_success() {
    let ok = json!({
        "name": "Ada", "age": 36, "email": null, "tags": ["x", "y"],
        "role": "admin", "kind": "person"
    });
    assert_eq!(person().validate(&ok.to_string()), Ok(()));
    assert_eq!(
        person().validate(r#"{"name": "Bo", "age": 3.0, "email": "b@c"}"#),
        Ok(())
    );
}

#[test]
fn schema_failures_list_paths() {
    let bad = json!({
        "name": "", "age": -1, "email": 5, "tags": ["x", 2, "x", "z"],
        "role": "root", "kind": "robot", "extra": true
    });
    let err = person().validate(&bad.to_string()).unwrap_err();
    assert!(
        err.starts_with("the answer does not match schema \"answer\" (9 errors)"),
        "{err}"
    );
    // Errors come in property order; the first five are listed.
    for part in [
        "at /age: -1 is less than the minimum 0",
        "at /email: expected string or null, got number",
        "at /extra: property \"extra\" is not allowed",
        "at /kind: expected \"person\", got \"robot\"",
        "at /name: string of length 0 is shorter than 1",
        "and 4 more",
    ] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
    let OutputFormat::JsonSchema { schema, .. } = person() else {
        panic!("not a schema format");
    };
    let paths: Vec<String> = schema
        .check(&bad)
        .unwrap_err()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/age", "/email", "/extra", "/kind", "/name", "/role", "/tags", "/tags/1", "/tags"
        ]
    );
    let err = person().validate(r#"{"age": 1.5}"#).unwrap_err();
    assert!(
        err.contains("at (root): missing required property \"name\""),
        "{err}"
    );
    assert!(
        err.contains("at /age: expected integer, got number"),
        "{err}"
    );
    let err = person()
        .validate(r#"{"name": "x", "age": 1, "extra": 1}"#)
        .unwrap_err();
    assert!(
        err.contains("at /extra: property \"extra\" is not allowed"),
        "{err}"
    );
}

#[test]
fn combinators_refs_and_escaping() {
    let format = schema_format(json!({
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                },
                "required": ["value"]
            }
        },
        "type": "object",
        "properties": {
            "root": {"$ref": "#/$defs/node"},
            "a/b": {"anyOf": [{"type": "boolean"}, {"const": 1}]},
            "n": {"allOf": [{"minimum": 0}, {"exclusiveMaximum": 10}, {"multipleOf": 0.5}]},
            "s": {"not": {"const": "no"}}
        }
    }));
    let ok = json!({"root": {"value": 1, "children": [{"value": "ab"}]}, "a/b": 1.0, "n": 9.5, "s": "ok"});
    assert_eq!(format.validate(&ok.to_string()), Ok(()));
    let bad = json!({
        "root": {"value": 1, "children": [{"value": "abc"}, {}]},
        "a/b": "x", "n": 10, "s": "no"
    });
    let err = format.validate(&bad.to_string()).unwrap_err();
    for part in [
        "at /root/children/0/value: matches 0 of the 2 oneOf alternatives",
        "at /root/children/1: missing required property \"value\"",
        "at /a~1b: matches none of the 2 anyOf alternatives",
        "at /n: 10 is not less than 10",
        "at /s: matches a schema it must not match",
    ] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
}

#[test]
fn recursive_ref_without_progress_is_bounded() {
    let format = schema_format(json!({"$ref": "#"}));
    let err = format.validate("{}").unwrap_err();
    assert!(err.contains("nests too deeply"), "{err}");
    let format = schema_format(json!({"type": "string", "nullable": true}));
    assert_eq!(format.validate("null"), Ok(()));
    assert_eq!(
        format,
        schema_format(json!({"type": "string", "nullable": true}))
    );
}
