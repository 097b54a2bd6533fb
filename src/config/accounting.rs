//! `[ledger]`, `[budgets]` and `[telemetry]`: where records go, what may be spent, where traces go.

use serde::Deserialize;

use super::{Env, Secret, resolve_env};
use crate::{
    money::{self, Usd},
    observe::telemetry::TelemetryConfig,
};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLedger {
    backend: Option<String>,
    postgres_url: Option<String>,
    queue: Option<usize>,
    batch: Option<usize>,
}

/// Which database holds the request log, cost ledger, eval records and feedback.
#[derive(Debug, Clone)]
pub enum LedgerBackend {
    /// `ledger.sqlite` in the data directory (the default).
    Sqlite,
    /// A PostgreSQL database shared by several replicas.
    Postgres(Secret),
}

/// `[ledger]`.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Where the records go.
    pub backend: LedgerBackend,
    /// Records waiting for the writer; past this, they go to the overflow file.
    pub queue: usize,
    /// Most records per write transaction. The writer commits whatever has queued as soon
    /// as it is free (group commit), so a record waits for at most one batch before it.
    pub batch: usize,
}

pub(super) fn validate_ledger(
    raw: RawLedger,
    env: &dyn Env,
    errs: &mut Vec<String>,
) -> LedgerConfig {
    let backend = match raw.backend.as_deref().unwrap_or("sqlite") {
        "sqlite" => LedgerBackend::Sqlite,
        "postgres" => match raw.postgres_url.as_deref() {
            Some(v) => match resolve_env(v, env) {
                Ok(Some(url)) => LedgerBackend::Postgres(Secret(url)),
                Ok(None) => {
                    errs.push(format!(
                        "ledger.postgres_url = {v:?} refers to an unset environment variable; export it or set backend = \"sqlite\""
                    ));
                    LedgerBackend::Sqlite
                }
                Err(e) => {
                    errs.push(format!("ledger.postgres_url: {e}"));
                    LedgerBackend::Sqlite
                }
            },
            None => {
                errs.push(
                    "ledger.backend = \"postgres\" needs ledger.postgres_url (for example \"${SLUICE_POSTGRES_URL}\")"
                        .into(),
                );
                LedgerBackend::Sqlite
            }
        },
        other => {
            errs.push(format!(
                "ledger.backend = {other:?} is not known; use \"sqlite\" or \"postgres\""
            ));
            LedgerBackend::Sqlite
        }
    };
    let queue = raw.queue.unwrap_or(20_000);
    let batch = raw.batch.unwrap_or(1_000);
    if queue == 0 || batch == 0 {
        errs.push("ledger.queue and ledger.batch must be at least 1".into());
    }
    LedgerConfig {
        backend,
        queue: queue.max(1),
        batch: batch.max(1),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudgets {
    user_daily_usd: Option<f64>,
    user_daily_hard_usd: Option<f64>,
    global_daily_usd: Option<f64>,
    emergency_max_input_tokens: Option<u64>,
    alert_webhook: Option<String>,
}

/// `[budgets]`: the seed's cost alerting, per UTC day.
#[derive(Debug, Clone)]
pub struct BudgetConfig {
    /// Past this, a user's requests go to the cheapest model of their route.
    pub user_daily: Usd,
    /// Past this, a user's requests are refused (429); none when unset.
    pub user_daily_hard: Option<Usd>,
    /// Past this, the whole gateway enters emergency mode.
    pub global_daily: Usd,
    /// In emergency mode, longer inputs are refused.
    pub emergency_max_input_tokens: u64,
    /// Alerts are also POSTed here as JSON, when set.
    pub alert_webhook: Option<String>,
}

fn usd(key: &str, v: Option<f64>, default: &str, errs: &mut Vec<String>) -> Usd {
    let fallback = default.parse().unwrap_or(Usd::ZERO);
    match v {
        None => fallback,
        Some(v) => match money::from_config(v) {
            Some(d) if d > Usd::ZERO => d,
            _ => {
                errs.push(format!("{key} = {v} must be a positive amount of USD"));
                fallback
            }
        },
    }
}

pub(super) fn validate_budgets(raw: RawBudgets, errs: &mut Vec<String>) -> BudgetConfig {
    let user_daily = usd("budgets.user_daily_usd", raw.user_daily_usd, "0.50", errs);
    let user_daily_hard = raw
        .user_daily_hard_usd
        .map(|v| usd("budgets.user_daily_hard_usd", Some(v), "0", errs));
    if let Some(hard) = user_daily_hard
        && hard < user_daily
    {
        errs.push(format!(
            "budgets.user_daily_hard_usd ({hard}) must not be below budgets.user_daily_usd ({user_daily}): the downgrade comes first, then the refusal"
        ));
    }
    let alert_webhook = raw.alert_webhook.filter(|u| !u.is_empty());
    if let Some(u) = &alert_webhook
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        errs.push(format!(
            "budgets.alert_webhook = {u:?} must be an http:// or https:// URL"
        ));
    }
    BudgetConfig {
        user_daily,
        user_daily_hard,
        global_daily: usd(
            "budgets.global_daily_usd",
            raw.global_daily_usd,
            "100",
            errs,
        ),
        emergency_max_input_tokens: raw.emergency_max_input_tokens.unwrap_or(2_000),
        alert_webhook,
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelemetry {
    otlp_endpoint: Option<String>,
    service_name: Option<String>,
    sample_ratio: Option<f64>,
}

pub(super) fn validate_telemetry(raw: RawTelemetry, errs: &mut Vec<String>) -> TelemetryConfig {
    let otlp_endpoint = raw.otlp_endpoint.filter(|u| !u.is_empty());
    if let Some(u) = &otlp_endpoint
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        errs.push(format!(
            "telemetry.otlp_endpoint = {u:?} must be an http:// or https:// URL such as \"http://127.0.0.1:4318\""
        ));
    }
    let sample_ratio = raw.sample_ratio.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample_ratio) {
        errs.push(format!(
            "telemetry.sample_ratio = {sample_ratio} must be between 0 and 1"
        ));
    }
    TelemetryConfig {
        otlp_endpoint,
        service_name: raw.service_name.unwrap_or_else(|| "sluice".into()),
        sample_ratio: sample_ratio.clamp(0.0, 1.0),
    }
}
