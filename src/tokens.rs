//! Token counting with real BPE tokenizers (tiktoken): o200k for the GPT-4o family and newer
//! OpenAI models, cl100k otherwise. No Claude tokenizer is available offline, so Claude counts
//! are cl100k estimates, reconciled with the provider's own usage whenever it reports one.

use std::sync::atomic::{AtomicU32, Ordering};

use tiktoken_rs::{CoreBPE, cl100k_base_singleton, o200k_base_singleton};

use crate::wire::ChatMessage;

/// Tokens added per message by the chat format (role and separators).
const PER_MESSAGE: u64 = 3;
/// Tokens that prime the assistant's reply.
const REPLY_PRIMING: u64 = 3;

fn bpe_for(model: &str) -> &'static CoreBPE {
    let m = model.to_ascii_lowercase();
    let o200k = [
        "gpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "o1",
        "o3",
        "o4",
        "chatgpt-4o",
    ];
    if o200k.iter().any(|p| m.starts_with(p)) {
        o200k_base_singleton()
    } else {
        cl100k_base_singleton()
    }
}

/// Tokens in `text` for `model`.
pub fn count_text(model: &str, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    bpe_for(model).encode_ordinary(text).len() as u64
}

/// Input tokens of a conversation for `model`, in the chat format's accounting.
pub fn count_messages(model: &str, messages: &[ChatMessage]) -> u64 {
    let bpe = bpe_for(model);
    let mut total = REPLY_PRIMING;
    for m in messages {
        total += PER_MESSAGE + 1; // the role is one token
        let text = m.content_text();
        if !text.is_empty() {
            total += bpe.encode_ordinary(&text).len() as u64;
        }
    }
    total
}

/// Two counts of a conversation's input tokens that need no tokenizer, from one pass over its
/// bytes: an upper bound under any BPE tokenizer (a token is at least one byte), and a rough
/// count (four bytes a token, the usual average for English) for pacing inputs too short to
/// need an exact count; the provider's reported usage settles the difference afterwards.
pub fn byte_estimates(messages: &[ChatMessage]) -> (u64, u64) {
    let mut upper = REPLY_PRIMING;
    let mut rough = REPLY_PRIMING;
    for m in messages {
        let bytes = m.text_len() as u64;
        upper += PER_MESSAGE + 1 + bytes;
        rough += PER_MESSAGE + 1 + bytes.div_ceil(4);
    }
    (upper, rough)
}

/// Builds the tokenizers `models` need now (each takes 0.1–1 s and tens of MB), so no request
/// pays for it. Models whose provider reports usage only need one for a cut stream: theirs load
/// on first use instead.
pub fn warm_up<'a>(models: impl IntoIterator<Item = &'a str>) {
    for m in models {
        let _ = bpe_for(m);
    }
}

/// How far our count of a model's input is from the provider's, as a factor applied to our
/// count: 1.0 where our tokenizer is the model's own; an upper bound otherwise (Claude), which
/// the provider's reported usage then pulls toward the truth.
pub struct Calibration {
    /// The factor in thousandths.
    milli: AtomicU32,
    exact: bool,
}

/// Where an estimated factor starts: Claude's tokenizer yields up to ~20% more tokens than
/// cl100k on English and code.
const ESTIMATE_START: u32 = 1200;

impl Calibration {
    /// `exact` when our tokenizer is the model's own.
    pub fn new(exact: bool) -> Calibration {
        Calibration {
            milli: AtomicU32::new(if exact { 1000 } else { ESTIMATE_START }),
            exact,
        }
    }

    /// The factor to multiply our counts by.
    pub fn factor(&self) -> f64 {
        f64::from(self.milli.load(Ordering::Relaxed)) / 1000.0
    }

    /// Reconciles with a provider's reported input tokens for an input we counted as `counted`
    /// (before the factor): moves a tenth of the way toward the observed ratio plus a 5% margin,
    /// never below 1.0 nor above 2.0.
    pub fn observe(&self, counted: u64, reported: u64) {
        if self.exact || counted < 16 || reported == 0 {
            return;
        }
        let observed = reported as f64 / counted as f64 * 1.05;
        let current = self.factor();
        let next = (current * 0.9 + observed * 0.1).clamp(1.0, 2.0);
        self.milli
            .store((next * 1000.0).round() as u32, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Role;

    #[test]
    fn counts_match_known_encodings() {
        assert_eq!(count_text("gpt-4", "hello world"), 2);
        assert_eq!(count_text("gpt-4o", "hello world"), 2);
        assert_eq!(count_text("gpt-4o", ""), 0);
        // The OpenAI cookbook's figure for one user message "hello world" on gpt-4 is 9.
        let msgs = [ChatMessage::text(Role::User, "hello world")];
        assert_eq!(count_messages("gpt-4", &msgs), 9);
    }

    #[test]
    fn estimates_reconcile_toward_reported_usage() {
        let exact = Calibration::new(true);
        exact.observe(1000, 1500);
        assert_eq!(exact.factor(), 1.0);
        let c = Calibration::new(false);
        assert_eq!(c.factor(), 1.2);
        for _ in 0..100 {
            c.observe(1000, 1000);
        }
        // converges to the observed ratio plus the 5% margin
        assert!((c.factor() - 1.05).abs() < 0.01, "{}", c.factor());
    }
}
