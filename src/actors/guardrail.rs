//! `GuardrailActor`: input checks (prompt injection, PII redaction) and output checks, run on a
//! `SyncArbiter` pool so large regex scans never occupy an async worker. Small texts (the common
//! case, a few microseconds of scanning) are checked inline by [`Guardrails`], which is cheaper
//! than the two thread hops of a trip to the pool.

use std::sync::Arc;

use actix::prelude::*;

use super::{
    messages::{CheckInput, CheckOutput, InputVerdict, OutputVerdict},
    stats::ActorStats,
};
use crate::{
    error::GatewayError,
    guardrails::{Rules, pii::Redactions},
    wire::{ChatMessage, Role},
};

/// Texts up to this size are scanned inline; larger ones go to the sync pool.
pub const INLINE_SCAN_BYTES: usize = 4096;

/// The front of the guardrails: inline for small texts, the actor pool for large ones.
#[derive(Clone)]
pub struct Guardrails {
    /// The pool.
    pub addr: Addr<GuardrailActor>,
    /// The compiled rules (also used to scan streams chunk by chunk).
    pub rules: Arc<Rules>,
    stats: Arc<ActorStats>,
}

impl Guardrails {
    /// Starts the pool with `threads` workers.
    pub fn start(threads: usize, rules: Arc<Rules>, stats: Arc<ActorStats>) -> Self {
        let addr = GuardrailActor::start(threads, rules.clone(), stats.clone());
        Guardrails { addr, rules, stats }
    }

    /// Checks and redacts the input.
    pub async fn check_input(
        &self,
        messages: Vec<ChatMessage>,
    ) -> Result<InputVerdict, GatewayError> {
        let size: usize = messages
            .iter()
            .map(|m| m.content.as_ref().map_or(0, |c| c.text().len()))
            .sum();
        if size <= INLINE_SCAN_BYTES {
            self.stats.handled();
            return check_input(&self.rules, &self.stats, messages);
        }
        self.addr
            .send(CheckInput { messages })
            .await
            .map_err(|e| GatewayError::Internal(format!("guardrail pool unavailable: {e}")))?
    }

    /// Checks a whole answer.
    pub async fn check_output(&self, text: &str) -> Result<OutputVerdict, GatewayError> {
        if text.len() <= INLINE_SCAN_BYTES {
            self.stats.handled();
            return Ok(check_output(&self.rules, text));
        }
        self.addr
            .send(CheckOutput {
                text: text.to_string(),
            })
            .await
            .map_err(|e| GatewayError::Internal(format!("guardrail pool unavailable: {e}")))
    }
}

fn check_input(
    rules: &Rules,
    stats: &ActorStats,
    mut messages: Vec<ChatMessage>,
) -> Result<InputVerdict, GatewayError> {
    for m in &messages {
        // Instructions from the application are trusted; everything a user or tool wrote is not.
        if matches!(m.role, Role::System | Role::Developer) {
            continue;
        }
        if let Some(content) = &m.content
            && let Err(b) = rules.check_injection(&content.text())
        {
            stats.error();
            return Err(GatewayError::Blocked(format!(
                "potential prompt injection ({})",
                b.category
            )));
        }
    }
    let mut found = Redactions::default();
    for m in &mut messages {
        if let Some(content) = &mut m.content {
            content.map_text(|t| rules.pii.redact(t, &mut found));
        }
    }
    Ok(InputVerdict {
        messages,
        pii_detected: found.kinds(),
    })
}

fn check_output(rules: &Rules, text: &str) -> OutputVerdict {
    let reason = rules.check_output(text);
    OutputVerdict {
        passed: reason.is_none(),
        reason: reason.map(|r| format!("unsafe content ({r})")),
    }
}

/// One worker of the guardrail pool.
pub struct GuardrailActor {
    rules: Arc<Rules>,
    stats: Arc<ActorStats>,
}

impl GuardrailActor {
    /// Starts `threads` workers sharing `rules`.
    pub fn start(threads: usize, rules: Arc<Rules>, stats: Arc<ActorStats>) -> Addr<Self> {
        SyncArbiter::start(threads.max(1), move || GuardrailActor {
            rules: rules.clone(),
            stats: stats.clone(),
        })
    }
}

impl Actor for GuardrailActor {
    type Context = SyncContext<Self>;
}

impl Handler<CheckInput> for GuardrailActor {
    type Result = Result<InputVerdict, GatewayError>;

    fn handle(&mut self, msg: CheckInput, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        check_input(&self.rules, &self.stats, msg.messages)
    }
}

impl Handler<CheckOutput> for GuardrailActor {
    type Result = MessageResult<CheckOutput>;

    fn handle(&mut self, msg: CheckOutput, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        MessageResult(check_output(&self.rules, &msg.text))
    }
}
