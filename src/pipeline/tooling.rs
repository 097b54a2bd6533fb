//! The gateway's own tool loop. A request may offer the model the gateway's registered tools
//! (`sluice_tools` in a chat completion); when the model calls only those, the gateway runs
//! them (validated, on the blocking pool, with a timeout), feeds the results back and asks
//! again, up to `tools.max_steps` model calls. A call to any other tool is the client's: the
//! answer goes back to it untouched.

use std::{sync::Arc, time::Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Gateway, Prepared, call};
use crate::{
    actors::messages::ProviderHandle,
    error::{GatewayError, ProviderError},
    providers::{Completion, UpstreamRequest},
    wire::{ChatMessage, Content, Role, Usage},
};

/// One tool call the gateway ran.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ToolUse {
    /// Tool name.
    pub name: String,
    /// Whether it returned a value (false: bad arguments, failure or timeout).
    pub ok: bool,
    /// Milliseconds it ran.
    pub ms: f64,
}

/// The tools a request offers, from its `sluice_tools` field: a list of names or `"all"`.
/// The definitions are added to the request's `tools`; a name the gateway does not have is a 400.
pub fn offer(
    registry: &crate::tools::ToolRegistry,
    extra: &mut Map<String, Value>,
) -> Result<Vec<String>, GatewayError> {
    let Some(asked) = extra.remove("sluice_tools") else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = match &asked {
        Value::String(s) if s == "all" => registry.names().iter().map(|s| s.to_string()).collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                GatewayError::invalid(
                    "`sluice_tools` must be \"all\" or a list of tool names",
                    Some("sluice_tools"),
                )
            })?,
        _ => {
            return Err(GatewayError::invalid(
                "`sluice_tools` must be \"all\" or a list of tool names",
                Some("sluice_tools"),
            ));
        }
    };
    let mut defs = Vec::new();
    for n in &names {
        let spec = registry.spec(n).ok_or_else(|| {
            GatewayError::invalid(
                format!(
                    "`sluice_tools` names {n:?}; the gateway's tools are {}",
                    registry.names().join(", ")
                ),
                Some("sluice_tools"),
            )
        })?;
        defs.push(spec.openai_definition());
    }
    let tools = extra
        .entry("tools")
        .or_insert_with(|| Value::Array(Vec::new()));
    match tools.as_array_mut() {
        Some(list) => {
            let taken: Vec<String> = list
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                .collect();
            if let Some(clash) = names.iter().find(|n| taken.contains(n)) {
                return Err(GatewayError::invalid(
                    format!("the request's own `tools` already has one named {clash:?}"),
                    Some("tools"),
                ));
            }
            list.extend(defs);
        }
        None => {
            return Err(GatewayError::invalid(
                "`tools` must be an array",
                Some("tools"),
            ));
        }
    }
    Ok(names)
}

/// The tool calls of `c`, when every one of them is to a gateway tool in `offered`.
fn gateway_calls<'a>(c: &'a Completion, offered: &[String]) -> Option<&'a Vec<Value>> {
    let calls = c.tool_calls.as_ref()?.as_array()?;
    let ours = |call: &Value| {
        call["function"]["name"]
            .as_str()
            .is_some_and(|n| offered.iter().any(|o| o == n))
    };
    (!calls.is_empty() && calls.iter().all(ours)).then_some(calls)
}

fn add_usage(total: &mut Option<Usage>, step: Option<Usage>) {
    *total = match (*total, step) {
        (Some(a), Some(b)) => Some(Usage::new(
            a.prompt_tokens + b.prompt_tokens,
            a.completion_tokens + b.completion_tokens,
        )),
        _ => None,
    };
}

impl Gateway {
    /// One model's answer, running the gateway's tools it asks for. The usage returned is the
    /// sum over every step (`None` if a step reported none).
    pub(super) async fn call_with_tools(
        &self,
        p: &Prepared,
        handle: &ProviderHandle,
        used: &mut Vec<ToolUse>,
    ) -> Result<Completion, ProviderError> {
        if p.gateway_tools.is_empty() {
            return call::complete_with_retries(handle, &p.upstream).await;
        }
        let max_steps = self.config.tools.max_steps;
        let mut req: Arc<UpstreamRequest> = p.upstream.clone();
        let mut usage = Some(Usage::default());
        for step in 1..=max_steps {
            let mut c = call::complete_with_retries(handle, &req).await?;
            add_usage(&mut usage, c.usage);
            let Some(calls) = gateway_calls(&c, &p.gateway_tools) else {
                c.usage = usage;
                return Ok(c);
            };
            let mut next = (*req).clone();
            next.messages.push(ChatMessage {
                role: Role::Assistant,
                content: (!c.text.is_empty()).then(|| Content::Text(c.text.clone())),
                extra: Map::from_iter([("tool_calls".to_string(), Value::Array(calls.clone()))]),
            });
            for call in calls {
                let name = call["function"]["name"].as_str().unwrap_or_default();
                let args = call["function"]["arguments"].as_str().unwrap_or("{}");
                let id = call["id"].as_str().unwrap_or_default();
                let started = Instant::now();
                let outcome = self.tools.run(name, args, self.config.tools.timeout).await;
                let ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
                tracing::info!(request_id = %p.request_id, tool = name, ok = outcome.is_success(), ms, step, "gateway tool ran");
                used.push(ToolUse {
                    name: name.to_string(),
                    ok: outcome.is_success(),
                    ms,
                });
                let message: ChatMessage = serde_json::from_value(outcome.message(id))
                    .map_err(|e| ProviderError::Protocol(format!("tool message: {e}")))?;
                next.messages.push(message);
            }
            if step + 1 == max_steps {
                // The last call may not ask for more tools: it must answer.
                next.extra.insert("tool_choice".into(), json!("none"));
            }
            req = Arc::new(next);
        }
        // max_steps reached with tool calls still asked for: the last step's calls are the
        // gateway's own, so the client gets a clear refusal rather than calls it cannot run.
        Err(ProviderError::Protocol(format!(
            "the model still called tools after {max_steps} steps (tools.max_steps)"
        )))
    }
}
