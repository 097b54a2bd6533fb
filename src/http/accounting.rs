//! Spending: sums from the ledger over date ranges (`/v1/costs`, `/admin/costs`), the monthly
//! projection, budgets, alerts and emergency mode.

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use crate::{
    edge::Caller,
    error::GatewayError,
    ledger::{CostQuery, Dimension, Group, Ledger, LedgerError},
    money::{self, Usd},
    pipeline::Gateway,
};

/// Longest range of days one query may cover.
const MAX_DAYS: i64 = 366;

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, inclusive; both default to today).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    from: Option<String>,
    to: Option<String>,
}

fn parse_day(v: &str, param: &'static str) -> Result<jiff::civil::Date, GatewayError> {
    v.parse::<jiff::civil::Date>().map_err(|_| {
        GatewayError::invalid(
            format!("`{param}` = {v:?} is not a date; write it as YYYY-MM-DD (UTC)"),
            Some(param),
        )
    })
}

impl Range {
    /// The validated (from, to) days.
    fn days(&self, today: &str) -> Result<(String, String), GatewayError> {
        let from = parse_day(self.from.as_deref().unwrap_or(today), "from")?;
        let to = parse_day(self.to.as_deref().unwrap_or(today), "to")?;
        if from > to {
            return Err(GatewayError::invalid(
                format!("`from` ({from}) is after `to` ({to})"),
                Some("from"),
            ));
        }
        let span = from.until(to).map(|s| i64::from(s.get_days())).unwrap_or(0);
        if span >= MAX_DAYS {
            return Err(GatewayError::invalid(
                format!(
                    "the range covers {} days; at most {MAX_DAYS} per query",
                    span + 1
                ),
                Some("to"),
            ));
        }
        Ok((from.to_string(), to.to_string()))
    }
}

fn ledger_err(e: LedgerError) -> GatewayError {
    GatewayError::Internal(e.to_string())
}

/// A group as JSON: token sums, requests, and its cost as a number and as an exact decimal.
fn group_json(g: &Group) -> Value {
    let cost = money::from_pico(g.cost_pico);
    json!({
        "key": g.key,
        "requests": g.requests,
        "input_tokens": g.input_tokens,
        "cached_input_tokens": g.cached_input_tokens,
        "cache_write_tokens": g.cache_write_tokens,
        "output_tokens": g.output_tokens,
        "cost_usd": cost,
        "cost_usd_exact": cost.to_string(),
        "cache_hits": g.cache_hits,
        "estimated_requests": g.estimated,
        "errors": g.errors,
    })
}

/// Waits until every request finished so far is in the ledger, then runs `f` on it; all on the
/// blocking pool.
async fn read_ledger<T: Send + 'static>(
    gw: &Gateway,
    f: impl FnOnce(&Ledger) -> Result<T, LedgerError> + Send + 'static,
) -> Result<T, GatewayError> {
    let _ = gw.services.cost.send(crate::actors::inbox::Drain).await;
    let ledger: Arc<Ledger> = gw.ledger.clone();
    web::block(move || {
        ledger.flush();
        f(&ledger)
    })
    .await
    .map_err(|e| GatewayError::Internal(format!("blocking pool unavailable: {e}")))?
    .map_err(ledger_err)
}

/// The sums over a range: total and per dimension.
async fn report(
    gw: &Gateway,
    from: String,
    to: String,
    user: Option<String>,
    dims: &'static [Dimension],
) -> Result<Value, GatewayError> {
    let (f, t, u) = (from.clone(), to.clone(), user.clone());
    let (backend, groups) = read_ledger(gw, move |l| {
        let q = |by| CostQuery {
            from_day: f.clone(),
            to_day: t.clone(),
            user: u.clone(),
            by,
        };
        let mut out = vec![(Dimension::Total, l.store().aggregate(&q(Dimension::Total))?)];
        for d in dims {
            out.push((*d, l.store().aggregate(&q(*d))?));
        }
        Ok((l.store().kind(), out))
    })
    .await?;
    let mut body = serde_json::Map::new();
    body.insert("from".into(), from.into());
    body.insert("to".into(), to.into());
    if let Some(u) = user {
        body.insert("user".into(), u.into());
    }
    body.insert("ledger".into(), backend.into());
    for (dim, gs) in groups {
        let v = if dim == Dimension::Total {
            gs.first().map(group_json).unwrap_or(Value::Null)
        } else {
            Value::Array(gs.iter().map(group_json).collect())
        };
        body.insert(dim.name().into(), v);
    }
    Ok(Value::Object(body))
}

fn caller_user(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<Caller>()
        .map(|c| c.0.config.user.clone())
}

/// Spending over a range of UTC days: total, and per user, key, model, template version,
/// route and day. With auth on, a key sees only its own user's spending.
#[utoipa::path(get, path = "/v1/costs", tag = "accounting",
    params(("from" = Option<String>, Query, description = "First UTC day, YYYY-MM-DD (default today)"),
           ("to" = Option<String>, Query, description = "Last UTC day, inclusive (default today)")),
    responses((status = 200, description = "Sums from the ledger"), (status = 400, description = "Bad date range")))]
pub async fn costs(
    req: HttpRequest,
    range: web::Query<Range>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let (from, to) = range.days(&gw.budgets.today())?;
    let user = caller_user(&req);
    let dims: &'static [Dimension] = if user.is_some() {
        &[
            Dimension::Model,
            Dimension::Template,
            Dimension::Route,
            Dimension::Day,
        ]
    } else {
        &Dimension::ALL
    };
    Ok(HttpResponse::Ok().json(report(gw, from, to, user, dims).await?))
}

/// The same sums for every user, whatever key asks (`/admin/costs`).
pub async fn admin_costs(
    range: web::Query<Range>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let (from, to) = range.days(&gw.budgets.today())?;
    Ok(HttpResponse::Ok().json(report(gw, from, to, None, &Dimension::ALL).await?))
}

/// One user's spending over a range: total, per model, template version, route and day.
#[utoipa::path(get, path = "/v1/costs/users/{id}", tag = "accounting",
    params(("id" = String, Path, description = "User id"),
           ("from" = Option<String>, Query, description = "First UTC day, YYYY-MM-DD (default today)"),
           ("to" = Option<String>, Query, description = "Last UTC day, inclusive (default today)")),
    responses((status = 200, description = "Sums from the ledger"), (status = 403, description = "Another user's spending")))]
pub async fn user_costs(
    req: HttpRequest,
    path: web::Path<String>,
    range: web::Query<Range>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let user = path.into_inner();
    if let Some(own) = caller_user(&req)
        && own != user
    {
        return Err(GatewayError::Forbidden(format!(
            "this key may read the spending of user {own:?} only"
        )));
    }
    let (from, to) = range.days(&gw.budgets.today())?;
    let dims: &'static [Dimension] = &[
        Dimension::Model,
        Dimension::Template,
        Dimension::Route,
        Dimension::Day,
    ];
    let body = report(gw, from, to, Some(user), dims).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `?dau=…&queries_per_user=…[&days=30][&window_days=7]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectionParams {
    dau: f64,
    queries_per_user: f64,
    days: Option<u32>,
    window_days: Option<u32>,
}

/// The seed's monthly cost projection from measured averages: tokens per request per model,
/// the model mix and the cache hit rate over the last `window_days`, with and without caching.
#[utoipa::path(get, path = "/admin/cost/projection", tag = "admin",
    params(("dau" = f64, Query, description = "Daily active users"),
           ("queries_per_user" = f64, Query, description = "Queries per user per day"),
           ("days" = Option<u32>, Query, description = "Days in the month (default 30)"),
           ("window_days" = Option<u32>, Query, description = "Days of traffic to measure (default 7)")),
    responses((status = 200, description = "Projection"), (status = 422, description = "Nothing measured yet")))]
pub async fn projection(
    params: web::Query<ProjectionParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let p = params.into_inner();
    for (name, v) in [("dau", p.dau), ("queries_per_user", p.queries_per_user)] {
        if !(v.is_finite() && v > 0.0 && v <= 1e9) {
            return Err(GatewayError::invalid(
                format!("`{name}` = {v} must be a positive number up to 10^9"),
                Some(name),
            ));
        }
    }
    let days = p.days.unwrap_or(30).clamp(1, 31);
    let window = p.window_days.unwrap_or(7).clamp(1, 90);
    let today = gw.budgets.today();
    let to = parse_day(&today, "to")?;
    let from = to
        .checked_sub(jiff::Span::new().days(i64::from(window - 1)))
        .unwrap_or(to);
    let q = CostQuery {
        from_day: from.to_string(),
        to_day: to.to_string(),
        user: None,
        by: Dimension::Model,
    };
    let groups = read_ledger(gw, move |l| l.store().aggregate(&q)).await?;
    let usd = |v: f64| money::from_config(v).unwrap_or(Usd::ZERO);
    let queries = usd(p.dau) * usd(p.queries_per_user) * Usd::from(days);
    let (mut cached, mut answered) = (0i64, 0i64);
    let mut mix = Vec::new();
    for g in &groups {
        match g.key.as_str() {
            "none" => {}
            "cache" => cached += g.requests,
            _ => {
                answered += g.requests;
                mix.push(g);
            }
        }
    }
    if answered == 0 {
        return Err(GatewayError::Unprocessable(format!(
            "no answered requests in the last {window} day(s) to measure; send traffic first"
        )));
    }
    let hit_rate = Usd::from(cached) / Usd::from(cached + answered);
    let mut per_query = Usd::ZERO;
    let (mut input_cost, mut output_cost) = (Usd::ZERO, Usd::ZERO);
    let (mut in_tok, mut out_tok) = (0i64, 0i64);
    let mut models = Vec::new();
    for g in mix {
        let share = Usd::from(g.requests) / Usd::from(answered);
        let n = Usd::from(g.requests);
        let avg_in = Usd::from(g.input_tokens) / n;
        let avg_out = Usd::from(g.output_tokens) / n;
        in_tok += g.input_tokens;
        out_tok += g.output_tokens;
        // Today's prices of the model; one no longer configured is priced at what it cost.
        let (cin, cout) = match gw.config.model(&g.key) {
            Some(m) => (
                avg_in * m.prices.input / Usd::from(1_000_000u32),
                avg_out * m.prices.output / Usd::from(1_000_000u32),
            ),
            None => (money::from_pico(g.cost_pico) / n, Usd::ZERO),
        };
        input_cost += share * cin;
        output_cost += share * cout;
        per_query += share * (cin + cout);
        models.push(json!({
            "model": g.key,
            "share_pct": (share * Usd::from(100)).round_dp(2),
            "avg_input_tokens": avg_in.round_dp(1),
            "avg_output_tokens": avg_out.round_dp(1),
            "cost_per_query_usd": (cin + cout).round_dp(8),
        }));
    }
    let without = (queries * per_query).round_dp(2);
    let with = (queries * (Usd::ONE - hit_rate) * per_query).round_dp(2);
    Ok(HttpResponse::Ok().json(json!({
        "inputs": {"dau": p.dau, "queries_per_user": p.queries_per_user, "days": days},
        "measured": {
            "from": from.to_string(),
            "to": today,
            "requests": cached + answered,
            "avg_input_tokens": (Usd::from(in_tok) / Usd::from(answered)).round_dp(1),
            "avg_output_tokens": (Usd::from(out_tok) / Usd::from(answered)).round_dp(1),
            "cache_hit_rate_pct": (hit_rate * Usd::from(100)).round_dp(2),
            "model_mix": models,
        },
        "monthly": {
            "queries": queries.round_dp(0),
            "queries_to_models": (queries * (Usd::ONE - hit_rate)).round_dp(0),
            "input_usd": (queries * (Usd::ONE - hit_rate) * input_cost).round_dp(2),
            "output_usd": (queries * (Usd::ONE - hit_rate) * output_cost).round_dp(2),
            "with_cache_usd": with,
            "without_cache_usd": without,
            "cache_savings_usd": without - with,
        },
        "formula": "queries = dau × queries_per_user × days; cost = queries × (1 − cache hit rate) × Σ over models of share × (avg input tokens × input price + avg output tokens × output price) / 1M",
    })))
}

/// Today's spending per user and for the gateway, the limits and emergency mode.
#[utoipa::path(get, path = "/admin/budgets", tag = "admin", responses((status = 200, description = "Budgets")))]
pub async fn budgets(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.gateway.budgets.report())
}

/// `?limit=…` (default 100).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    limit: Option<usize>,
}

/// Cost alerts, newest first.
#[utoipa::path(get, path = "/admin/alerts", tag = "admin", responses((status = 200, description = "Alerts")))]
pub async fn alerts(q: web::Query<AlertParams>, state: web::Data<AppState>) -> HttpResponse {
    let gw = &state.gateway;
    let limit = q.limit.unwrap_or(100).min(500);
    HttpResponse::Ok().json(json!({
        "emergency": gw.budgets.emergency(),
        "alerts": gw.budgets.alerts().list(limit),
    }))
}

/// `{"active": true|false}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencySwitch {
    active: bool,
}

/// Starts or lifts emergency mode by hand; lifted, it stays off until the day rolls over.
#[utoipa::path(post, path = "/admin/emergency", tag = "admin", responses((status = 200, description = "The new state")))]
pub async fn emergency(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let switch: EmergencySwitch =
        super::json_body(&req, payload, &state.gateway, "{\"active\": bool}").await?;
    let b = &state.gateway.budgets;
    b.set_emergency(switch.active, "an admin");
    Ok(HttpResponse::Ok().json(json!({"emergency": b.emergency()})))
}
