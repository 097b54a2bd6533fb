//! Guardrail rules as pure code, compiled once from config and shared:
//!
//! - [`normalize`] + [`injection`]: prompt-injection scoring on normalised text (and decoded
//!   base64 runs), phrase families in English, French, Spanish and German.
//! - [`pii`]: PII and secret detection with numbered, per-request placeholders.
//! - [`output`]: unsafe-output rules (plus secrets and PII in answers) with a streaming scanner
//!   that holds back only what a match could still need.
//! - [`format`]: JSON and JSON Schema validation of answers.
//!
//! Matching is linear-time (`regex`, `regex-automata`, `aho-corasick`). The
//! [`GuardrailActor`](crate::actors::guardrail::GuardrailActor) runs large scans on a sync pool.

pub mod format;
pub mod injection;
pub mod normalize;
pub mod output;
pub mod pii;

use std::sync::Arc;

use crate::config::GuardrailConfig;
use injection::InjectionDetector;
use output::OutputRules;
use pii::PiiRedactor;

/// A rule added in config without recompiling: `name` is the category (injection, output) or the
/// kind (PII); `pattern` is a regex, or for injection phrases a literal phrase matched on the
/// normalised text; `weight` only matters for injection scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomRule {
    /// Category or kind.
    pub name: String,
    /// Regex, or literal phrase.
    pub pattern: String,
    /// Injection score contribution.
    pub weight: f64,
}

/// A named regex with an optional validity check on the matched text (Luhn, mod-97 …).
#[derive(Debug, Clone)]
pub struct NamedPattern {
    /// What a match is called in verdicts.
    pub name: String,
    /// The regex.
    pub regex: String,
    /// A check a match must also pass.
    pub valid: Option<fn(&str) -> bool>,
}

/// A rule that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("guardrail rule {name:?} is not valid: {reason}")]
pub struct RuleError {
    /// The rule's name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// PII kinds that stop an answer when `guardrails.output_pii` is on. IP addresses are left out:
/// technical answers quote them all the time (`127.0.0.1`, documentation ranges).
const OUTPUT_PII_KINDS: &[&str] = &["email", "phone", "ssn", "credit_card", "iban"];
/// Secret kinds that always stop an answer.
const OUTPUT_SECRET_KINDS: &[&str] = &["api_key", "secret"];

/// Compiled rule sets.
pub struct Rules {
    /// Prompt-injection scoring.
    pub injection: InjectionDetector,
    /// PII and secret redaction of inputs.
    pub pii: PiiRedactor,
    /// Unsafe content, secrets and PII in answers.
    pub output: Arc<OutputRules>,
    /// Pass input on unredacted if redaction itself fails.
    pub pii_fail_open: bool,
}

impl Rules {
    /// Compiles the built-in rules plus the config's own.
    pub fn new(cfg: &GuardrailConfig) -> Result<Rules, RuleError> {
        let injection = InjectionDetector::new(
            cfg.injection_threshold,
            &cfg.injection_phrases,
            &cfg.injection_patterns,
        )?;
        let pii = PiiRedactor::new(&cfg.pii_patterns)?;
        let mut kinds: Vec<&str> = OUTPUT_SECRET_KINDS.to_vec();
        if cfg.output_pii {
            kinds.extend_from_slice(OUTPUT_PII_KINDS);
        }
        let mut extra: Vec<NamedPattern> = pii::builtin_patterns()
            .into_iter()
            .filter(|p| kinds.contains(&p.name.as_str()))
            .collect();
        let custom_pii = cfg.pii_patterns.iter().filter(|_| cfg.output_pii);
        for r in cfg.output_patterns.iter().chain(custom_pii) {
            extra.push(NamedPattern {
                name: r.name.clone(),
                regex: r.pattern.clone(),
                valid: None,
            });
        }
        Ok(Rules {
            injection,
            pii,
            output: Arc::new(OutputRules::new(extra)?),
            pii_fail_open: cfg.pii_fail_open,
        })
    }

    /// The built-in rules with default settings.
    pub fn builtin() -> Result<Rules, RuleError> {
        Rules::new(&GuardrailConfig::default())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_rules_join_the_builtin_ones() {
        let cfg = GuardrailConfig {
            injection_phrases: vec![CustomRule {
                name: "house_rule".into(),
                pattern: "open the pod bay doors".into(),
                weight: 1.0,
            }],
            pii_patterns: vec![CustomRule {
                name: "employee_id".into(),
                pattern: r"\bEMP-\d{6}\b".into(),
                weight: 1.0,
            }],
            output_patterns: vec![CustomRule {
                name: "internal_host".into(),
                pattern: r"\b[a-z0-9-]+\.corp\.internal\b".into(),
                weight: 1.0,
            }],
            ..GuardrailConfig::default()
        };
        let r = Rules::new(&cfg).unwrap();
        let scan = r.injection.scan("Please open the pod bay doors, HAL");
        assert!(scan.blocked, "{scan:?}");
        assert_eq!(scan.category(), Some("house_rule"));
        let mut found = pii::Redactions::default();
        let out = r.pii.redact("badge EMP-123456", &mut found).unwrap();
        assert_eq!(out, "badge [REDACTED_EMPLOYEE_ID_1]");
        assert_eq!(
            r.output.check("see build01.corp.internal"),
            Some("internal_host".into())
        );
        assert_eq!(
            r.output
                .check("key sk-proj-abcdefghijklmnopqrstuvwx12345678")
                .as_deref(),
            Some("api_key")
        );
        assert_eq!(
            r.output.check("mail me: jo@example.org").as_deref(),
            Some("email")
        );
        assert_eq!(r.output.check("the loopback is 127.0.0.1"), None);
        // a broken custom rule is named
        let bad = GuardrailConfig {
            output_patterns: vec![CustomRule {
                name: "broken".into(),
                pattern: "(".into(),
                weight: 1.0,
            }],
            ..GuardrailConfig::default()
        };
        let err = Rules::new(&bad).err().unwrap();
        assert!(err.to_string().contains("broken"), "{err}");
    }

    #[test]
    fn output_pii_can_be_turned_off_but_secrets_cannot() {
        let cfg = GuardrailConfig {
            output_pii: false,
            ..GuardrailConfig::default()
        };
        let r = Rules::new(&cfg).unwrap();
        assert_eq!(r.output.check("mail me: jo@example.org"), None);
        assert_eq!(
            r.output.check("AWS key AKIAIOSFODNN7EXAMPLE").as_deref(),
            Some("api_key")
        );
    }
}
