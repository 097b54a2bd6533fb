//! Cache keys: the namespace a cached answer may be served in, and the exact key inside it.
//!
//! The namespace holds everything that changes an answer except the question itself: scope (one
//! shared space, or one per virtual key), template and version, model or route, every earlier
//! message (system prompt and history), tools and sampling parameters. The question is the last
//! user message (or a template's `query`); its normalised text gives the exact key and its
//! embedding the semantic lookup.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    providers::UpstreamRequest,
    wire::{ChatMessage, Role},
};

/// The keys of one cacheable request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKeys {
    /// Hash of the namespace.
    pub namespace: String,
    /// Readable name of the namespace, for the stats (`scope/template@version/model#hash`).
    pub label: String,
    /// Hash of the namespace and the normalised question.
    pub exact: String,
    /// The question as asked (compared by the semantic layer).
    pub question: String,
}

/// What besides the upstream request identifies the namespace.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// `shared`, or the virtual key's name when the scope is per key.
    pub tenant: &'a str,
    /// Template name (`none` for raw chat completions).
    pub template: &'a str,
    /// Template version.
    pub version: &'a str,
    /// The model or route the client asked for.
    pub model: &'a str,
}

/// The keys of `req`, or `None` when it has no question to key on. `question` overrides the
/// last user message (templates pass their `query`; `context` then holds the rest).
pub fn cache_keys(
    scope: Scope<'_>,
    req: &UpstreamRequest,
    question: Option<&str>,
    context: &Value,
) -> Option<CacheKeys> {
    let (question, history): (String, &[ChatMessage]) = match question {
        Some(q) => (q.to_string(), &req.messages[..]),
        None => {
            let (last, rest) = req.messages.split_last()?;
            if last.role != Role::User {
                return None;
            }
            (last.content_text(), rest)
        }
    };
    let normalised = normalise(&question);
    if normalised.is_empty() {
        return None;
    }
    let ns = json!({
        "tenant": scope.tenant,
        "template": scope.template,
        "version": scope.version,
        "model": scope.model,
        "history": history,
        "context": context,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "stop": req.stop,
        "extra": req.extra,
    });
    let namespace = digest(ns.to_string().as_bytes());
    let exact = digest(format!("{namespace}\n{normalised}").as_bytes());
    let label = format!(
        "{}/{}@{}/{}#{}",
        scope.tenant,
        scope.template,
        scope.version,
        scope.model,
        namespace.get(..8).unwrap_or(&namespace)
    );
    Some(CacheKeys {
        namespace,
        label,
        exact,
        question,
    })
}

/// Lower case, whitespace collapsed, trailing `?!.` and spaces dropped.
pub fn normalise(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    for word in q.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out.trim_end_matches(['?', '!', '.', ' ']).to_string()
}

fn digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn req(msgs: &[(Role, &str)], temperature: Option<f64>) -> UpstreamRequest {
        UpstreamRequest {
            messages: msgs
                .iter()
                .map(|(r, t)| ChatMessage::text(*r, (*t).to_string()))
                .collect(),
            temperature,
            ..UpstreamRequest::default()
        }
    }

    const SCOPE: Scope<'static> = Scope {
        tenant: "shared",
        template: "none",
        version: "none",
        model: "default",
    };

    fn keys(r: &UpstreamRequest) -> CacheKeys {
        cache_keys(SCOPE, r, None, &Value::Null).unwrap()
    }

    #[test]
    fn exact_key_ignores_case_spacing_and_final_punctuation() {
        let a = keys(&req(&[(Role::User, "What is  Rust?")], None));
        let b = keys(&req(&[(Role::User, "what is rust")], None));
        assert_eq!(a.exact, b.exact);
        assert_eq!(a.namespace, b.namespace);
        assert_eq!(a.question, "What is  Rust?");
    }

    #[test]
    fn namespace_covers_system_prompt_history_params_and_scope() {
        let base = keys(&req(&[(Role::User, "hi")], None));
        let sys = keys(&req(
            &[(Role::System, "be terse"), (Role::User, "hi")],
            None,
        ));
        let hist = keys(&req(
            &[
                (Role::User, "a"),
                (Role::Assistant, "b"),
                (Role::User, "hi"),
            ],
            None,
        ));
        let temp = keys(&req(&[(Role::User, "hi")], Some(0.7)));
        let tenant = cache_keys(
            Scope {
                tenant: "key-a",
                ..SCOPE
            },
            &req(&[(Role::User, "hi")], None),
            None,
            &Value::Null,
        )
        .unwrap();
        let all = [&base, &sys, &hist, &temp, &tenant];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.namespace, b.namespace);
            }
        }
    }

    #[test]
    fn no_question_no_key() {
        assert!(
            cache_keys(
                SCOPE,
                &req(&[(Role::Assistant, "x")], None),
                None,
                &Value::Null
            )
            .is_none()
        );
        assert!(cache_keys(SCOPE, &req(&[(Role::User, "  ")], None), None, &Value::Null).is_none());
        let t = cache_keys(
            SCOPE,
            &req(&[(Role::User, "rendered")], None),
            Some("q"),
            &Value::Null,
        )
        .unwrap();
        assert_eq!(t.question, "q");
    }
}
