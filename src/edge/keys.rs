//! Virtual API keys: lookup by SHA-256 (the clear key is hashed on arrival and never kept),
//! each key's request and token paces, model allow-list and daily spend.

use std::{borrow::Cow, collections::HashMap, sync::Arc, time::SystemTime};

use base64::Engine;

use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use parking_lot::Mutex;

use super::rate::{Denied, Pace, Window};
use crate::{
    config::{AuthConfig, KeyConfig, KeyHash, hash_key, hex},
    error::GatewayError,
};

/// One key's live state.
pub struct KeyState {
    /// Its configuration.
    pub config: KeyConfig,
    /// Short fingerprint for logs: the first 8 hex digits of the hash.
    pub fingerprint: String,
    requests: Pace,
    tokens: Pace,
    /// (UTC day number, USD spent that day).
    spent: Mutex<(u64, f64)>,
}

const DAY_SECS: u64 = 86_400;

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn utc_day() -> u64 {
    unix_secs() / DAY_SECS
}

impl KeyState {
    fn new(config: KeyConfig) -> KeyState {
        let l = config.limits;
        KeyState {
            fingerprint: hex(&config.hash)[..8].to_string(),
            requests: Pace::new(l.requests_per_minute, l.request_burst),
            tokens: Pace::new(l.tokens_per_minute, l.token_burst),
            spent: Mutex::new((utc_day(), 0.0)),
            config,
        }
    }

    /// Takes one request from the key's pace.
    pub fn take_request(&self) -> Result<Window, GatewayError> {
        self.requests
            .take(1)
            .map_err(|d| refusal(d, "requests", &self.config.name))
    }

    /// Takes `n` input tokens from the key's pace.
    pub fn take_tokens(&self, n: u32) -> Result<Window, GatewayError> {
        self.tokens
            .take(n)
            .map_err(|d| refusal(d, "tokens", &self.config.name))
    }

    /// The request window as it stands after a refusal.
    pub fn requests_exhausted(&self) -> Window {
        self.requests.exhausted()
    }

    /// The token window as it stands after a refusal.
    pub fn tokens_exhausted(&self) -> Window {
        self.tokens.exhausted()
    }

    /// Charges output tokens once the answer is known.
    pub fn charge_tokens(&self, n: u32) {
        self.tokens.charge(n);
    }

    /// Refuses when today's spend has reached the key's daily budget.
    pub fn check_budget(&self) -> Result<(), GatewayError> {
        let Some(budget) = self.config.daily_budget_usd else {
            return Ok(());
        };
        let spent = self.spent_today();
        if spent >= budget {
            return Err(GatewayError::RateLimited {
                message: format!(
                    "The daily budget of ${budget:.2} for key {} is spent (${spent:.4} today); it renews at 00:00 UTC",
                    self.config.name
                ),
                kind: "budget",
                retry_after: Some(std::time::Duration::from_secs(
                    DAY_SECS - unix_secs() % DAY_SECS,
                )),
            });
        }
        Ok(())
    }

    /// Adds a finished request's cost to today's spend.
    pub fn add_spend(&self, usd: f64) {
        let today = utc_day();
        let mut s = self.spent.lock();
        if s.0 != today {
            *s = (today, 0.0);
        }
        s.1 += usd;
    }

    /// USD spent today.
    pub fn spent_today(&self) -> f64 {
        let s = self.spent.lock();
        if s.0 == utc_day() { s.1 } else { 0.0 }
    }

    /// Whether the key may use `model` (a model or route name).
    pub fn may_use(&self, model: &str) -> bool {
        self.config
            .models
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|m| m == model))
    }
}

fn refusal(d: Denied, kind: &'static str, key: &str) -> GatewayError {
    match d {
        Denied::Wait {
            retry_after,
            window,
        } => GatewayError::RateLimited {
            message: format!(
                "Rate limit reached for key {key}: {} {kind} per minute. Retry in {:.1}s.",
                window.limit,
                retry_after.as_secs_f64()
            ),
            kind,
            retry_after: Some(retry_after),
        },
        Denied::TooLarge { asked, burst } => GatewayError::RateLimited {
            message: format!(
                "Request too large for key {key}: it needs {asked} {kind} but the key allows at most {burst} at once. Shorten the input or raise the key's limit."
            ),
            kind,
            retry_after: None,
        },
    }
}

/// Every key, by hash, and the admin key.
pub struct KeyStore {
    enabled: bool,
    admin: Option<KeyHash>,
    keys: HashMap<KeyHash, Arc<KeyState>>,
}

/// The key a request presented: `Authorization: Bearer …`, `x-api-key`, or HTTP Basic with
/// the key as the password (what a browser sends for the dashboard).
fn presented(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(b64) = v
            .strip_prefix("Basic ")
            .or_else(|| v.strip_prefix("basic "))
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())?;
            let (_, password) = decoded.split_once(':')?;
            return (!password.is_empty()).then(|| Cow::Owned(password.to_string()));
        }
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v)
            .trim();
        return (!token.is_empty()).then_some(Cow::Borrowed(token));
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(Cow::Borrowed)
}

impl KeyStore {
    /// Builds the store from `[auth]`.
    pub fn new(cfg: &AuthConfig) -> KeyStore {
        KeyStore {
            enabled: cfg.enabled,
            admin: cfg.admin,
            keys: cfg
                .keys
                .iter()
                .map(|k| (k.hash, Arc::new(KeyState::new(k.clone()))))
                .collect(),
        }
    }

    /// Whether requests need a key.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The key of a client request; `None` when auth is off.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Arc<KeyState>>, GatewayError> {
        if !self.enabled {
            return Ok(None);
        }
        let Some(key) = presented(headers) else {
            return Err(GatewayError::Unauthorized(
                "Missing API key: send `Authorization: Bearer <key>` (or `x-api-key: <key>`)"
                    .into(),
            ));
        };
        match self.keys.get(&hash_key(&key)) {
            Some(state) => Ok(Some(state.clone())),
            None => Err(GatewayError::Unauthorized(
                "Incorrect API key provided. Use a key issued for this gateway.".into(),
            )),
        }
    }

    /// Lets a request to `/admin/*` through only with the admin key (when auth is on).
    pub fn authorize_admin(&self, headers: &HeaderMap) -> Result<(), GatewayError> {
        if !self.enabled {
            return Ok(());
        }
        let Some(admin) = self.admin else {
            return Err(GatewayError::Unauthorized(
                "The admin API is closed: set auth.admin_key (or auth.admin_key_sha256) in the config"
                    .into(),
            ));
        };
        match presented(headers) {
            Some(k) if hash_key(&k) == admin => Ok(()),
            Some(_) => Err(GatewayError::Unauthorized(
                "Incorrect admin key for /admin".into(),
            )),
            None => Err(GatewayError::Unauthorized(
                "The admin API needs the admin key: `Authorization: Bearer <admin key>`".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Limits;
    use actix_web::http::header::HeaderValue;

    fn store() -> KeyStore {
        let limits = Limits {
            requests_per_minute: 2,
            request_burst: 2,
            tokens_per_minute: 100,
            token_burst: 100,
        };
        KeyStore::new(&AuthConfig {
            enabled: true,
            admin: Some(hash_key("sk-admin")),
            keys: vec![KeyConfig {
                name: "team".into(),
                hash: hash_key("sk-team"),
                user: "alice".into(),
                limits,
                daily_budget_usd: Some(0.01),
                models: Some(vec!["gpt-4o-mini".into()]),
            }],
        })
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            actix_web::http::header::HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn keys_by_bearer_or_x_api_key() {
        let s = store();
        let k = s
            .authenticate(&headers("authorization", "Bearer sk-team"))
            .unwrap()
            .unwrap();
        assert_eq!(k.config.user, "alice");
        assert!(s.authenticate(&headers("x-api-key", "sk-team")).is_ok());
        assert!(matches!(
            s.authenticate(&headers("authorization", "Bearer sk-nope")),
            Err(GatewayError::Unauthorized(_))
        ));
        assert!(s.authenticate(&HeaderMap::new()).is_err());
        assert!(
            s.authorize_admin(&headers("authorization", "Bearer sk-team"))
                .is_err()
        );
        assert!(
            s.authorize_admin(&headers("authorization", "Bearer sk-admin"))
                .is_ok()
        );
    }

    #[test]
    fn limits_models_and_budget() {
        let s = store();
        let k = s
            .authenticate(&headers("authorization", "Bearer sk-team"))
            .unwrap()
            .unwrap();
        assert!(k.may_use("gpt-4o-mini") && !k.may_use("gpt-4o"));
        assert!(k.take_request().is_ok() && k.take_request().is_ok());
        assert!(matches!(
            k.take_request(),
            Err(GatewayError::RateLimited {
                kind: "requests",
                retry_after: Some(_),
                ..
            })
        ));
        assert!(k.check_budget().is_ok());
        k.add_spend(0.02);
        assert!(k.check_budget().is_err());
    }
}
