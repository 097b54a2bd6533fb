//! The built-in `mock` provider: a simulator that lets Sluice run with no API key and no network.
//!
//! It is named `mock` everywhere it shows (provider name, `x-sluice-provider`, `/admin/actors`),
//! and its answers say plainly that no model was called. Latency, per-token delay, failure rate
//! and a crash rate (a panicking call, for exercising supervision) come from config.

use parking_lot::Mutex;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use tokio::sync::mpsc;

use super::{Completion, ProviderEvent, StreamEnd, UpstreamRequest};
use crate::{
    config::MockSettings,
    error::ProviderError,
    tokens,
    wire::{Role, Usage},
};

/// Longest excerpt of the prompt echoed back.
const ECHO_CHARS: usize = 160;

/// Simulates one model.
pub struct Simulator {
    settings: MockSettings,
    model: String,
    cap: u32,
    rng: Mutex<StdRng>,
}

/// What one simulated call will do, drawn up front.
enum Fate {
    Answer,
    Fail,
    Crash,
}

impl Simulator {
    /// A simulator for `model`, seeded from config or at random.
    pub fn new(settings: MockSettings, model: &str, cap: u32) -> Self {
        let seed = settings.seed.unwrap_or_else(rand::random);
        Simulator {
            settings,
            model: model.to_string(),
            cap,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    fn draw(&self) -> Fate {
        let mut rng = self.rng.lock();
        if self.settings.crash_rate > 0.0 && rng.random_bool(self.settings.crash_rate) {
            Fate::Crash
        } else if self.settings.failure_rate > 0.0 && rng.random_bool(self.settings.failure_rate) {
            Fate::Fail
        } else {
            Fate::Answer
        }
    }

    fn answer(&self, req: &UpstreamRequest) -> String {
        let last_user = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content_text())
            .unwrap_or_default();
        let mut echo: String = last_user.chars().take(ECHO_CHARS).collect();
        if last_user.chars().count() > ECHO_CHARS {
            echo.push('…');
        }
        let echo = echo.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut text = format!(
            "This is Sluice's built-in mock provider standing in for {}; no language model was called. \
             Your message was: \"{}\". Set OPENAI_API_KEY or ANTHROPIC_API_KEY to reach a real model.",
            self.model, echo
        );
        if let Some(max) = req.max_tokens.map(|m| m.min(self.cap)) {
            let words: Vec<&str> = text.split(' ').collect();
            if words.len() > max as usize {
                text = words[..max as usize].join(" ");
            }
        }
        text
    }

    fn usage(&self, req: &UpstreamRequest, text: &str) -> Usage {
        Usage::new(
            tokens::count_messages(&self.model, &req.messages),
            tokens::count_text(&self.model, text),
        )
    }

    fn finish_reason(&self, req: &UpstreamRequest, text_words: usize) -> String {
        match req.max_tokens.map(|m| m.min(self.cap)) {
            Some(m) if text_words >= m as usize => "length".into(),
            _ => "stop".into(),
        }
    }

    /// Chaos testing: a simulated crash panics the task running the call, which the gateway
    /// must surface as an error and answer by restarting the provider actor.
    #[allow(clippy::panic)]
    fn crash(&self) -> ! {
        panic!(
            "mock provider {} simulated a crash (crash_rate)",
            self.model
        )
    }

    /// Draws this call's fate: a crash panics, a failure answers a simulated 500 after the
    /// latency, anything else goes on to answer.
    async fn play_fate(&self) -> Result<(), ProviderError> {
        match self.draw() {
            Fate::Crash => self.crash(),
            Fate::Fail => {
                tokio::time::sleep(self.settings.latency).await;
                Err(ProviderError::Simulated)
            }
            Fate::Answer => Ok(()),
        }
    }

    /// A whole answer after the simulated generation time.
    pub async fn complete(&self, req: &UpstreamRequest) -> Result<Completion, ProviderError> {
        self.play_fate().await?;
        let text = self.answer(req);
        let words = text.split(' ').count();
        let generation = self.settings.token_delay * words as u32;
        tokio::time::sleep(self.settings.latency + generation).await;
        Ok(Completion {
            tool_calls: None,
            usage: Some(self.usage(req, &text)),
            finish_reason: self.finish_reason(req, words),
            text,
        })
    }

    /// Streams the answer word by word.
    pub async fn stream(
        &self,
        req: &UpstreamRequest,
        tx: &mpsc::Sender<ProviderEvent>,
    ) -> Result<StreamEnd, ProviderError> {
        self.play_fate().await?;
        let text = self.answer(req);
        tokio::time::sleep(self.settings.latency).await;
        let words: Vec<&str> = text.split(' ').collect();
        for (i, word) in words.iter().enumerate() {
            let piece = if i == 0 {
                (*word).to_string()
            } else {
                format!(" {word}")
            };
            if tx.send(ProviderEvent::Delta(piece)).await.is_err() {
                return Ok(StreamEnd {
                    finish_reason: "cancelled".into(),
                    usage: None,
                    cancelled: true,
                });
            }
            if !self.settings.token_delay.is_zero() && i + 1 < words.len() {
                tokio::time::sleep(self.settings.token_delay).await;
            }
        }
        Ok(StreamEnd {
            finish_reason: self.finish_reason(req, words.len()),
            usage: Some(self.usage(req, &text)),
            cancelled: false,
        })
    }
}
