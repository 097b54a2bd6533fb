//! What happens around a request's money and records: the budget before the call, and after it
//! one ledger row, one eval record, one log line, the live figures and the metrics, whatever
//! the outcome.

use actix_web::ResponseError;

use super::{Answer, Budgeted, CacheStatus, Gateway, Origin, Prepared, ms_since};
use crate::{
    actors::{
        inbox::Drain,
        messages::{ProviderHandle, RecordEval, RecordUsage},
    },
    budget::{self, Mode, Refusal},
    edge::keys::KeyState,
    error::GatewayError,
    ledger::RequestRecord,
    money::{self, Usd},
    observe,
};

/// HTTP status logged for a client that left before its answer (nginx's convention).
pub const CLIENT_CLOSED: u16 = 499;

/// Seconds to the next UTC midnight, when daily budgets renew.
fn until_midnight() -> std::time::Duration {
    let now = crate::store::unix_now();
    std::time::Duration::from_secs(u64::try_from(86_400 - now.rem_euclid(86_400)).unwrap_or(1))
}

fn refused(r: Refusal) -> GatewayError {
    GatewayError::RateLimited {
        message: r.to_string(),
        kind: "budget",
        retry_after: Some(until_midnight()),
    }
}

/// The cheapest model of a chain by input plus output price (the first of equals).
fn cheapest(chain: &[ProviderHandle]) -> Option<ProviderHandle> {
    chain
        .iter()
        .min_by(|a, b| a.prices.weight().cmp(&b.prices.weight()))
        .cloned()
}

impl Gateway {
    /// The budget's part of screening: the user's mode (downgraded or emergency requests go to
    /// the cheapest model of the chain), emergency mode's input limit, and a reservation of the
    /// most the call can cost, refused past the user's hard limit.
    pub(super) fn budget(
        &self,
        user: &str,
        chain: &mut Vec<ProviderHandle>,
        input_tokens: u64,
        max_tokens: Option<u32>,
    ) -> Result<Budgeted, GatewayError> {
        let mode = self.budgets.mode(user);
        self.budgets
            .check_input(mode, input_tokens)
            .map_err(refused)?;
        let mut downgraded_from = None;
        if mode != Mode::Normal
            && let Some(low) = cheapest(chain)
        {
            if chain.first().is_some_and(|h| h.model != low.model) {
                downgraded_from = chain.first().map(|h| h.model.to_string());
            }
            *chain = vec![low];
        }
        let most = chain
            .iter()
            .map(|h| {
                let cap = self
                    .config
                    .model(&h.model)
                    .map_or(4096, |m| m.max_output_tokens);
                let out = max_tokens.map_or(cap, |t| t.min(cap));
                budget::estimate(&h.prices, input_tokens, u64::from(out))
            })
            .max()
            .unwrap_or(Usd::ZERO);
        let reservation = self.budgets.reserve(user, most).map_err(refused)?;
        Ok(Budgeted {
            mode: Some(mode),
            reservation: Some(reservation),
            downgraded_from,
        })
    }

    /// At shutdown, after the HTTP server has drained: the actors hand over what their inboxes
    /// hold, then the ledger writes everything queued.
    pub async fn shutdown(&self) {
        let _ = self.services.cost.send(Drain).await;
        let _ = self.services.eval.send(Drain).await;
        let ledger = self.ledger.clone();
        let _ = tokio::task::spawn_blocking(move || ledger.close()).await;
        let st = self.ledger.stats();
        tracing::info!(
            written = st.written,
            overflowed = st.overflowed,
            "ledger closed"
        );
    }

    fn push_usage(&self, r: RecordUsage) {
        if self.services.cost_inbox.push(r) {
            self.services.cost.do_send(Drain);
        }
    }

    pub(super) fn push_eval(&self, r: RecordEval) {
        if self.services.eval_inbox.push(r) {
            self.services.eval.do_send(Drain);
        }
    }

    /// Hands a finished row to everything that counts it: the live figures, the metrics, the
    /// eval log, the CostActor (which passes it to the ledger), and the log line.
    fn account(&self, row: RequestRecord, cost: Usd, tools: Vec<String>, flags: Vec<String>) {
        self.live.observe(&row, cost);
        observe::metrics::request(&row, cost);
        self.push_eval(RecordEval::of(&row, cost, flags, tools));
        observe::log_request(&row, cost);
        self.push_usage(RecordUsage {
            row: Box::new(row),
            cost_usd: cost,
        });
    }

    /// Cost, eval and the request log line for a finished request; the key's output tokens and
    /// spend; the budget's settlement; the model's token calibration.
    pub fn record(&self, p: &Prepared, a: &Answer, error: Option<String>) {
        let _span = tracing::info_span!(parent: &p.span, "cost").entered();
        let cache_hit = matches!(
            a.cache,
            CacheStatus::Hit | CacheStatus::Stale | CacheStatus::Shared
        );
        self.prompts
            .observe(&p.origin.template, &p.origin.version, error.is_some());
        if let Some(r) = p.reservation.lock().take() {
            r.settle(a.cost_usd);
        }
        // A shadow run is the gateway's own experiment: never charged to the caller's key.
        if let Some(key) = p.caller.as_ref().filter(|_| !p.shadow) {
            // Output tokens, and the input the admission estimate missed.
            let missed = if cache_hit {
                0
            } else {
                a.usage.prompt_tokens.saturating_sub(p.input_tokens)
            };
            let owed = missed + a.usage.completion_tokens;
            key.charge_tokens(u32::try_from(owed).unwrap_or(u32::MAX));
            key.add_spend(money::to_f64(a.cost_usd));
        }
        // Our count was made with the first model's tokenizer: only its answers calibrate it.
        if !cache_hit
            && !a.estimated
            && a.continued_from.is_none()
            && let Some(h) = p.chain.first()
            && *h.model == *a.model
        {
            h.calibration
                .observe(p.counted_input, a.usage.prompt_tokens);
        }
        let mut flags: Vec<String> = p.pii_detected.iter().map(|k| format!("pii:{k}")).collect();
        if !a.guardrail_output_pass {
            flags.push("output_blocked".into());
        }
        if a.format_valid == Some(false) {
            flags.push("format_invalid".into());
        }
        let tools: Vec<String> = a.tools_used.iter().map(|t| t.name.clone()).collect();
        let usage = if cache_hit {
            Default::default()
        } else {
            a.usage
        };
        let row = RequestRecord {
            request_id: p.request_id.clone(),
            ts_ms: now_ms(),
            day: self.budgets.today(),
            user_id: if p.shadow {
                "shadow".into()
            } else {
                p.user.clone()
            },
            key_name: key_name(p.caller.as_deref()),
            route: p.route.clone(),
            model: if cache_hit {
                "cache".into()
            } else {
                a.model.clone()
            },
            provider: a.provider.clone().unwrap_or_default(),
            template: p.origin.template.clone(),
            version: p.origin.version.clone(),
            status: 200,
            error,
            cache: a.cache.as_str().into(),
            input_tokens: tokens(usage.prompt_tokens),
            cached_input_tokens: tokens(usage.cached_tokens()),
            cache_write_tokens: tokens(usage.cache_write_tokens()),
            output_tokens: tokens(usage.completion_tokens),
            estimated: a.estimated,
            cost_pico: money::to_pico(a.cost_usd),
            latency_ms: a.latency_ms,
            ttft_ms: a.ttft_ms,
            output_chars: tokens(a.text.chars().count() as u64),
            guardrail_input_pass: true,
            guardrail_output_pass: a.guardrail_output_pass,
            guardrail_flags: flags.join(","),
            tools_used: tools.join(","),
            downgraded: p.downgraded_from.is_some(),
            row_key: String::new(),
        };
        self.account(row, a.cost_usd, tools, flags);
    }

    /// The records of a request that got no answer after it was prepared.
    pub fn record_failure(&self, p: &Prepared, err: &GatewayError) {
        self.record_unanswered(p, &err.to_string(), err.status_code().as_u16());
    }

    /// The records of a request whose client left before any answer.
    pub fn record_abandoned(&self, p: &Prepared, reason: &str) {
        self.record_unanswered(p, reason, CLIENT_CLOSED);
    }

    fn record_unanswered(&self, p: &Prepared, error: &str, status: u16) {
        let _span = tracing::info_span!(parent: &p.span, "cost").entered();
        self.prompts
            .observe(&p.origin.template, &p.origin.version, true);
        // Nothing was spent: the hold goes back.
        drop(p.reservation.lock().take());
        let flags: Vec<String> = p.pii_detected.iter().map(|k| format!("pii:{k}")).collect();
        let row = self.unanswered_row(
            &p.request_id,
            &p.user,
            p.caller.as_deref(),
            &p.route,
            &p.origin,
            ms_since(p.started),
            error,
            status,
            true,
            &flags,
            p.downgraded_from.is_some(),
        );
        self.account(row, Usd::ZERO, Vec::new(), flags);
    }

    /// The records of a request refused before any model: auth passed, then the budget, the
    /// context window, the key's pace or the input guardrails said no.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_refusal(
        &self,
        request_id: &str,
        user: &str,
        caller: Option<&KeyState>,
        route: &str,
        origin: &Origin,
        started: std::time::Instant,
        err: &GatewayError,
    ) {
        let blocked = matches!(err, GatewayError::Blocked(_));
        let flags = if blocked {
            vec!["input_blocked".to_string()]
        } else {
            Vec::new()
        };
        let row = self.unanswered_row(
            request_id,
            user,
            caller,
            route,
            origin,
            ms_since(started),
            &err.to_string(),
            err.status_code().as_u16(),
            !blocked,
            &flags,
            false,
        );
        self.account(row, Usd::ZERO, Vec::new(), flags);
    }

    #[allow(clippy::too_many_arguments)]
    fn unanswered_row(
        &self,
        request_id: &str,
        user: &str,
        caller: Option<&KeyState>,
        route: &str,
        origin: &Origin,
        latency_ms: f64,
        error: &str,
        status: u16,
        guardrail_input_pass: bool,
        flags: &[String],
        downgraded: bool,
    ) -> RequestRecord {
        RequestRecord {
            request_id: request_id.to_string(),
            ts_ms: now_ms(),
            day: self.budgets.today(),
            user_id: user.to_string(),
            key_name: key_name(caller),
            route: route.to_string(),
            model: "none".into(),
            provider: String::new(),
            template: origin.template.clone(),
            version: origin.version.clone(),
            status: i32::from(status),
            error: Some(error.to_string()),
            cache: "off".into(),
            input_tokens: 0,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 0,
            estimated: false,
            cost_pico: 0,
            latency_ms,
            ttft_ms: None,
            output_chars: 0,
            guardrail_input_pass,
            guardrail_output_pass: true,
            guardrail_flags: flags.join(","),
            tools_used: String::new(),
            downgraded,
            row_key: String::new(),
        }
    }
}

fn key_name(caller: Option<&KeyState>) -> String {
    caller.map(|k| k.config.name.clone()).unwrap_or_default()
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
