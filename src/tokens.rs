//! Token counting with real BPE tokenizers (tiktoken): o200k for the GPT-4o family and newer
//! OpenAI models, cl100k otherwise. No Claude tokenizer is available offline, so Claude counts
//! are cl100k estimates, reconciled with the provider's own usage whenever it reports one.

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

/// Builds the tokenizers `models` need now (each takes 0.1–1 s and tens of MB), so no request
/// pays for it. Models whose provider reports usage only need one for a cut stream: theirs load
/// on first use instead.
pub fn warm_up<'a>(models: impl IntoIterator<Item = &'a str>) {
    for m in models {
        let _ = bpe_for(m);
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
}
