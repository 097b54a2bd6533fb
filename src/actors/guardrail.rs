//! `GuardrailActor`: input checks (prompt injection, PII redaction) and output checks, run on a
//! `SyncArbiter` pool so regex scans never occupy an async worker.

use std::sync::Arc;

use actix::prelude::*;

use super::{
    messages::{CheckInput, CheckOutput, InputVerdict, OutputVerdict},
    stats::ActorStats,
};
use crate::{error::GatewayError, guardrails::Rules, wire::Role};

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
        let mut messages = msg.messages;
        for m in &messages {
            // Instructions from the application are trusted; everything a user or tool wrote is not.
            if matches!(m.role, Role::System | Role::Developer) {
                continue;
            }
            if let Some(content) = &m.content
                && let Err(b) = self.rules.check_injection(&content.text())
            {
                self.stats.error();
                return Err(GatewayError::Blocked(format!(
                    "potential prompt injection ({})",
                    b.category
                )));
            }
        }
        let mut pii = Vec::new();
        for m in &mut messages {
            if let Some(content) = &mut m.content {
                content.map_text(|t| self.rules.redact(t, &mut pii));
            }
        }
        Ok(InputVerdict {
            messages,
            pii_detected: pii,
        })
    }
}

impl Handler<CheckOutput> for GuardrailActor {
    type Result = MessageResult<CheckOutput>;

    fn handle(&mut self, msg: CheckOutput, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let reason = self.rules.check_output(&msg.text);
        MessageResult(OutputVerdict {
            passed: reason.is_none(),
            reason: reason.map(|r| format!("unsafe content ({r})")),
        })
    }
}
