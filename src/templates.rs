//! Prompt templates (the prompt router's catalogue), rendered with minijinja and strict
//! undefined variables. Versions, experiments and rollback grow here.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::error::GatewayError;

/// One version of a template.
#[derive(Debug, Clone)]
pub struct TemplateVersion {
    /// Template name.
    pub name: &'static str,
    /// Version label (`v1` ...).
    pub version: &'static str,
    /// Jinja source.
    pub source: &'static str,
    /// Preferred model, tried first in the default chain.
    pub model: &'static str,
    /// Output cap.
    pub max_output_tokens: u32,
}

const BUILTIN: &[TemplateVersion] = &[
    TemplateVersion {
        name: "general_chat",
        version: "v1",
        source: "You are a helpful assistant. Give a clear, brief answer to the question below.\n\n\
                 Question: {{ query }}",
        model: "gpt-4o",
        max_output_tokens: 1024,
    },
    TemplateVersion {
        name: "general_chat",
        version: "v2",
        source: "You are an assistant whose answers are exact and practical. When you do not know, \
                 say that you do not know; do not invent facts.\n\nQuestion: {{ query }}\n\nAnswer:",
        model: "gpt-4o",
        max_output_tokens: 1024,
    },
    TemplateVersion {
        name: "rag_answer",
        version: "v1",
        source: "Answer from the context below and from nothing else. If the context does not hold \
                 the answer, reply: \"The context does not contain the answer.\"\n\n\
                 Context:\n{{ context }}\n\nQuestion: {{ query }}\n\nAnswer:",
        model: "gpt-4o",
        max_output_tokens: 512,
    },
    TemplateVersion {
        name: "code_review",
        version: "v1",
        source: "Review the code below as an experienced engineer. List bugs, security problems and \
                 performance issues, each with the line it concerns and a concrete fix.\n\n\
                 Code:\n```\n{{ code }}\n```\n\nReview:",
        model: "claude-sonnet-4-20250514",
        max_output_tokens: 2048,
    },
];

/// The template catalogue.
pub struct Templates {
    env: Environment<'static>,
    versions: BTreeMap<(&'static str, &'static str), TemplateVersion>,
}

impl Templates {
    /// The built-in templates, compiled.
    pub fn builtin() -> Result<Templates, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut versions = BTreeMap::new();
        for t in BUILTIN {
            env.add_template_owned(format!("{}@{}", t.name, t.version), t.source)?;
            versions.insert((t.name, t.version), t.clone());
        }
        Ok(Templates { env, versions })
    }

    /// Template names and their versions.
    pub fn list(&self) -> Vec<(&'static str, &'static str)> {
        self.versions.keys().copied().collect()
    }

    /// Finds `name` at `version` (v1 when not given).
    pub fn get(&self, name: &str, version: Option<&str>) -> Result<&TemplateVersion, GatewayError> {
        let version = version.unwrap_or("v1");
        self.versions
            .iter()
            .find(|((n, v), _)| *n == name && *v == version)
            .map(|(_, t)| t)
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .list()
                    .iter()
                    .map(|(n, v)| format!("{n}@{v}"))
                    .collect();
                GatewayError::Template(format!(
                    "Unknown template `{name}` version `{version}`; known: {}",
                    known.join(", ")
                ))
            })
    }

    /// Renders a template with `vars`; a missing variable is an error that names it.
    pub fn render(
        &self,
        t: &TemplateVersion,
        vars: &BTreeMap<String, Value>,
    ) -> Result<String, GatewayError> {
        let tmpl = self
            .env
            .get_template(&format!("{}@{}", t.name, t.version))
            .map_err(|e| GatewayError::Template(e.to_string()))?;
        tmpl.render(minijinja::value::Serde(vars)).map_err(|e| {
            let missing = undefined_name(t.source, vars);
            match missing {
                Some(name) => GatewayError::Template(format!(
                    "Template `{}` {} needs the variable `{name}`; pass it in `variables`",
                    t.name, t.version
                )),
                None => {
                    GatewayError::Template(format!("Template `{}` failed to render: {e}", t.name))
                }
            }
        })
    }
}

/// The first `{{ name }}` of `source` that `vars` lacks.
fn undefined_name(source: &str, vars: &BTreeMap<String, Value>) -> Option<String> {
    source
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split("}}").next())
        .map(|expr| {
            expr.trim()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
                .to_string()
        })
        .find(|name| !name.is_empty() && !vars.contains_key(name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_and_names_missing_variables() {
        let t = Templates::builtin().unwrap();
        let rag = t.get("rag_answer", None).unwrap();
        let mut vars = BTreeMap::new();
        vars.insert("query".to_string(), Value::from("What is RAG?"));
        let err = t.render(rag, &vars).unwrap_err().to_string();
        assert!(err.contains("`context`"), "{err}");
        vars.insert(
            "context".to_string(),
            Value::from("RAG retrieves documents."),
        );
        let out = t.render(rag, &vars).unwrap();
        assert!(out.contains("RAG retrieves documents.") && out.contains("What is RAG?"));
        assert_eq!(t.get("general_chat", Some("v2")).unwrap().version, "v2");
        assert!(t.get("nope", None).is_err());
        assert_eq!(t.list().len(), 4);
    }
}
