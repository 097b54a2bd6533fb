//! The edge sections of the configuration: `[auth]` (virtual keys, admin key, per-key limits),
//! `[cors]` and `[guardrails]`; raw serde shapes and their validation.

use std::net::SocketAddr;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Env, resolve_env};
use crate::guardrails::CustomRule;

// === raw (file) shape ===

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    enabled: Option<bool>,
    admin_key: Option<String>,
    admin_key_sha256: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    keys: Vec<RawKey>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    requests_per_minute: Option<u32>,
    request_burst: Option<u32>,
    tokens_per_minute: Option<u32>,
    token_burst: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    name: String,
    key: Option<String>,
    sha256: Option<String>,
    user: Option<String>,
    #[serde(flatten)]
    limits: RawLimits,
    daily_budget_usd: Option<f64>,
    models: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCors {
    #[serde(default)]
    allowed_origins: Vec<String>,
    allowed_methods: Option<Vec<String>>,
    allowed_headers: Option<Vec<String>>,
    max_age_secs: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGuardrails {
    injection_threshold: Option<f64>,
    pii_fail_open: Option<bool>,
    output_pii: Option<bool>,
    format_retry: Option<bool>,
    #[serde(default)]
    injection_phrases: Vec<RawRule>,
    #[serde(default)]
    injection_patterns: Vec<RawRule>,
    #[serde(default)]
    pii_patterns: Vec<RawRule>,
    #[serde(default)]
    output_patterns: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    pattern: String,
    weight: Option<f64>,
}

// === validated shape ===

/// A SHA-256 digest of a key; the clear key is never kept.
pub type KeyHash = [u8; 32];

/// SHA-256 of `key`.
pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// Lower-case hex of a digest.
pub fn hex(hash: &KeyHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(s: &str) -> Option<KeyHash> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Request and token budgets per minute, with their bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sustained requests per minute.
    pub requests_per_minute: u32,
    /// Requests allowed at once before the per-minute pace applies.
    pub request_burst: u32,
    /// Sustained tokens per minute (input, plus output once known).
    pub tokens_per_minute: u32,
    /// Tokens allowed at once.
    pub token_burst: u32,
}

/// One virtual API key.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// Label used in logs and stats (never the key).
    pub name: String,
    /// SHA-256 of the key.
    pub hash: KeyHash,
    /// The user id requests with this key are accounted to.
    pub user: String,
    /// Its rate limits.
    pub limits: Limits,
    /// Spending cap per UTC day.
    pub daily_budget_usd: Option<f64>,
    /// Models and routes it may use; `None` means all.
    pub models: Option<Vec<String>>,
}

/// `[auth]`.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// When false, requests need no key (allowed only on a loopback address).
    pub enabled: bool,
    /// SHA-256 of the admin key guarding `/admin/*`; `None` leaves the admin API closed.
    pub admin: Option<KeyHash>,
    /// Virtual keys.
    pub keys: Vec<KeyConfig>,
}

/// `[cors]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CorsConfig {
    /// Exact origins allowed (`https://app.example.com`); none by default.
    pub allowed_origins: Vec<String>,
    /// Methods allowed in preflight.
    pub allowed_methods: Vec<String>,
    /// Request headers allowed in preflight.
    pub allowed_headers: Vec<String>,
    /// How long browsers may cache a preflight answer.
    pub max_age_secs: usize,
}

/// `[guardrails]`: thresholds, failure policy and rules added without recompiling.
#[derive(Debug, Clone)]
pub struct GuardrailConfig {
    /// Injection score at which a request is blocked.
    pub injection_threshold: f64,
    /// When PII redaction itself fails: pass the text on (true) or refuse (false, the default).
    pub pii_fail_open: bool,
    /// Whether answers are also checked for PII (secrets are always checked).
    pub output_pii: bool,
    /// Retry once with the validation error when an answer breaks the requested JSON format.
    pub format_retry: bool,
    /// Extra literal injection phrases (matched on normalised text).
    pub injection_phrases: Vec<CustomRule>,
    /// Extra injection regexes.
    pub injection_patterns: Vec<CustomRule>,
    /// Extra PII regexes; the name is the kind.
    pub pii_patterns: Vec<CustomRule>,
    /// Extra unsafe-output regexes.
    pub output_patterns: Vec<CustomRule>,
}

impl Default for GuardrailConfig {
    fn default() -> Self {
        GuardrailConfig {
            injection_threshold: 1.0,
            pii_fail_open: false,
            output_pii: true,
            format_retry: true,
            injection_phrases: Vec::new(),
            injection_patterns: Vec::new(),
            pii_patterns: Vec::new(),
            output_patterns: Vec::new(),
        }
    }
}

/// The default per-key request pace: the seed's 10–50 per minute, in the middle.
pub const DEFAULT_RPM: u32 = 30;
/// The default per-key token pace.
pub const DEFAULT_TPM: u32 = 200_000;

/// A pace and its burst: each from the raw table, else inherited. A burst follows its own pace
/// when the pace is set here, and the base's burst when the pace is inherited.
fn pace_and_burst(
    pace: Option<u32>,
    burst: Option<u32>,
    base_pace: u32,
    base_burst: u32,
) -> (u32, u32) {
    match pace {
        Some(p) => (p, burst.unwrap_or(p)),
        None => (base_pace, burst.unwrap_or(base_burst)),
    }
}

fn limits(raw: &RawLimits, base: &Limits, key: &str, errs: &mut Vec<String>) -> Limits {
    let (requests_per_minute, request_burst) = pace_and_burst(
        raw.requests_per_minute,
        raw.request_burst,
        base.requests_per_minute,
        base.request_burst,
    );
    let (tokens_per_minute, token_burst) = pace_and_burst(
        raw.tokens_per_minute,
        raw.token_burst,
        base.tokens_per_minute,
        base.token_burst,
    );
    let l = Limits {
        requests_per_minute,
        request_burst,
        tokens_per_minute,
        token_burst,
    };
    for (field, v) in [
        ("requests_per_minute", l.requests_per_minute),
        ("request_burst", l.request_burst),
        ("tokens_per_minute", l.tokens_per_minute),
        ("token_burst", l.token_burst),
    ] {
        if v == 0 {
            errs.push(format!(
                "{key}.{field} must be at least 1 (remove the key to disable it instead)"
            ));
        }
    }
    l
}

pub(super) fn validate_auth(raw: RawAuth, env: &dyn Env, errs: &mut Vec<String>) -> AuthConfig {
    let defaults = Limits {
        requests_per_minute: DEFAULT_RPM,
        request_burst: DEFAULT_RPM,
        tokens_per_minute: DEFAULT_TPM,
        token_burst: DEFAULT_TPM,
    };
    let defaults = limits(&raw.limits, &defaults, "auth.limits", errs);
    let admin = secret_hash(
        "auth.admin_key",
        raw.admin_key.as_deref(),
        raw.admin_key_sha256.as_deref(),
        env,
        errs,
    )
    .flatten();
    let mut keys: Vec<KeyConfig> = Vec::new();
    for (i, k) in raw.keys.into_iter().enumerate() {
        let key = format!("auth.keys[{i}] ({})", k.name);
        let hash = match secret_hash(&key, k.key.as_deref(), k.sha256.as_deref(), env, errs) {
            Some(Some(h)) => h,
            // The environment variable is unset: this key is simply not usable.
            Some(None) => continue,
            None => {
                if k.key.is_none() && k.sha256.is_none() {
                    errs.push(format!(
                        "{key} needs `sha256 = \"…\"` (from `sluice hash-key`) or `key = \"${{ENV_VAR}}\"`"
                    ));
                }
                continue;
            }
        };
        if keys.iter().any(|o| o.hash == hash) || admin == Some(hash) {
            errs.push(format!("{key}: the same key is configured twice"));
        }
        if let Some(b) = k.daily_budget_usd
            && !(b.is_finite() && b >= 0.0)
        {
            errs.push(format!("{key}.daily_budget_usd = {b} must be zero or more"));
        }
        keys.push(KeyConfig {
            user: k.user.unwrap_or_else(|| k.name.clone()),
            limits: limits(&k.limits, &defaults, &key, errs),
            name: k.name,
            hash,
            daily_budget_usd: k.daily_budget_usd,
            models: k.models,
        });
    }
    AuthConfig {
        enabled: raw.enabled.unwrap_or(true),
        admin,
        keys,
    }
}

/// A key given either as `${ENV}` or as a SHA-256 hex digest. `None`: an error was reported (or
/// neither was given); `Some(None)`: the environment variable is unset.
fn secret_hash(
    key: &str,
    clear: Option<&str>,
    sha: Option<&str>,
    env: &dyn Env,
    errs: &mut Vec<String>,
) -> Option<Option<KeyHash>> {
    match (clear, sha) {
        (Some(_), Some(_)) => {
            errs.push(format!(
                "{key}: give either the key or its sha256, not both"
            ));
            None
        }
        (Some(v), None) => {
            if !v.starts_with("${") {
                errs.push(format!(
                    "{key} holds a key in clear; put it in an environment variable and write \"${{NAME}}\", or store its hash from `sluice hash-key`"
                ));
                return None;
            }
            match resolve_env(v, env) {
                Ok(value) => Some(value.map(|k| hash_key(&k))),
                Err(e) => {
                    errs.push(format!("{key}: {e}"));
                    None
                }
            }
        }
        (None, Some(h)) => match parse_hex(h) {
            Some(h) => Some(Some(h)),
            None => {
                errs.push(format!(
                    "{key}: sha256 must be 64 hex digits, as printed by `sluice hash-key`"
                ));
                None
            }
        },
        (None, None) => None,
    }
}

pub(super) fn validate_cors(raw: RawCors, errs: &mut Vec<String>) -> CorsConfig {
    for o in &raw.allowed_origins {
        let ok = (o.starts_with("https://") || o.starts_with("http://"))
            && !o.ends_with('/')
            && o != "*";
        if !ok {
            errs.push(format!(
                "cors.allowed_origins has {o:?}; write exact origins like \"https://app.example.com\" (no path, no wildcard)"
            ));
        }
    }
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    CorsConfig {
        allowed_origins: raw.allowed_origins,
        allowed_methods: raw
            .allowed_methods
            .unwrap_or_else(|| strings(&["GET", "POST", "OPTIONS"])),
        allowed_headers: raw.allowed_headers.unwrap_or_else(|| {
            strings(&[
                "authorization",
                "content-type",
                "x-api-key",
                "x-request-id",
                "cache-control",
            ])
        }),
        max_age_secs: raw.max_age_secs.unwrap_or(600),
    }
}

pub(super) fn validate_guardrails(raw: RawGuardrails, errs: &mut Vec<String>) -> GuardrailConfig {
    let d = GuardrailConfig::default();
    let threshold = raw.injection_threshold.unwrap_or(d.injection_threshold);
    if !(threshold.is_finite() && threshold > 0.0) {
        errs.push(format!(
            "guardrails.injection_threshold = {threshold} must be above 0 (1.0 blocks on one strong phrase)"
        ));
    }
    let rules = |list: Vec<RawRule>, field: &str, errs: &mut Vec<String>| -> Vec<CustomRule> {
        list.into_iter()
            .filter_map(|r| {
                if r.pattern.is_empty() || r.name.is_empty() {
                    errs.push(format!(
                        "guardrails.{field}: every rule needs a name and a non-empty pattern"
                    ));
                    return None;
                }
                if field != "injection_phrases"
                    && let Err(e) = regex::Regex::new(&r.pattern)
                {
                    errs.push(format!(
                        "guardrails.{field}: rule {:?} has an invalid regex: {e}",
                        r.name
                    ));
                    return None;
                }
                Some(CustomRule {
                    name: r.name,
                    pattern: r.pattern,
                    weight: r.weight.unwrap_or(1.0),
                })
            })
            .collect()
    };
    GuardrailConfig {
        injection_threshold: threshold,
        pii_fail_open: raw.pii_fail_open.unwrap_or(d.pii_fail_open),
        output_pii: raw.output_pii.unwrap_or(d.output_pii),
        format_retry: raw.format_retry.unwrap_or(d.format_retry),
        injection_phrases: rules(raw.injection_phrases, "injection_phrases", errs),
        injection_patterns: rules(raw.injection_patterns, "injection_patterns", errs),
        pii_patterns: rules(raw.pii_patterns, "pii_patterns", errs),
        output_patterns: rules(raw.output_patterns, "output_patterns", errs),
    }
}

/// Refuses to expose an unauthenticated gateway beyond this machine.
pub fn check_exposure(listen: SocketAddr, auth: &AuthConfig) -> Result<(), String> {
    if !auth.enabled && !listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {listen} with auth.enabled = false: anyone who can reach it could spend your provider budget. Enable [auth] with keys, or listen on 127.0.0.1"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Config;

    const BASE: &str = "[providers.m]\nkind = \"mock\"\n[models.x]\nprovider = \"m\"\ninput_per_mtok = 1.0\noutput_per_mtok = 1.0\n[routes.default]\nfallback = [\"x\"]\n";

    #[test]
    fn keys_inherit_limits_and_bursts_follow_their_pace() {
        let toml = format!(
            "{BASE}[auth.limits]\nrequests_per_minute = 40\nrequest_burst = 5\n\
             [[auth.keys]]\nname = \"a\"\nkey = \"${{KEY_A}}\"\n\
             [[auth.keys]]\nname = \"b\"\nkey = \"${{KEY_B}}\"\nrequests_per_minute = 12\n\
             [[auth.keys]]\nname = \"c\"\nkey = \"${{KEY_C}}\"\n"
        );
        let cfg = Config::from_toml(&toml, &[("KEY_A", "sk-a"), ("KEY_B", "sk-b")]).unwrap();
        // KEY_C is unset: that key is simply not usable
        assert_eq!(cfg.auth.keys.len(), 2);
        let a = &cfg.auth.keys[0];
        assert_eq!(
            (a.limits.requests_per_minute, a.limits.request_burst),
            (40, 5)
        );
        assert_eq!(a.limits.tokens_per_minute, DEFAULT_TPM);
        assert_eq!(a.hash, hash_key("sk-a"));
        let b = &cfg.auth.keys[1];
        assert_eq!(
            (b.limits.requests_per_minute, b.limits.request_burst),
            (12, 12)
        );
        assert!(cfg.auth.enabled);
    }

    #[test]
    fn clear_keys_bad_digests_and_open_exposure_are_refused() {
        let toml = format!(
            "{BASE}[auth]\nadmin_key = \"sk-in-clear\"\n[[auth.keys]]\nname = \"a\"\nsha256 = \"abc\"\n"
        );
        let err = Config::from_toml(&toml, &[("X", "y")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.admin_key holds a key in clear"), "{err}");
        assert!(err.contains("64 hex digits"), "{err}");
        let open = AuthConfig {
            enabled: false,
            admin: None,
            keys: Vec::new(),
        };
        assert!(check_exposure("127.0.0.1:8080".parse().unwrap(), &open).is_ok());
        assert!(check_exposure("[::1]:8080".parse().unwrap(), &open).is_ok());
        assert!(check_exposure("0.0.0.0:8080".parse().unwrap(), &open).is_err());
    }
}
