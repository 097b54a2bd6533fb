//! Input size against a model's context window: count with the model's tokenizer, then refuse
//! (`context_length_exceeded`) or cut the middle of the longest message, leaving a marker.

use crate::{config::ContextOverflow, error::GatewayError, tokens, wire::ChatMessage};

/// The marker left where text was cut; `{}` is the number of tokens removed.
fn marker(removed: u64) -> String {
    format!("\n[… {removed} tokens removed by Sluice to fit the context window …]\n")
}

/// How an input fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fit {
    /// Input tokens after any truncation, as estimated for the model (our count × factor).
    pub tokens: u64,
    /// Our own count, before the factor; 0 when the input was short enough to fit by its byte
    /// length alone and `tokens` is a rough estimate.
    pub counted: u64,
    /// Tokens removed by truncation.
    pub removed: u64,
}

/// Checks `messages` against `limit` input tokens of `model`, estimating with `factor` (above 1
/// for models whose tokenizer we only approximate). Inputs whose byte length already fits are
/// not counted. Over the limit: a 400 naming both counts, or with
/// [`ContextOverflow::TruncateMiddle`] the longest message loses its middle.
pub fn fit(
    model: &str,
    factor: f64,
    limit: u64,
    overflow: ContextOverflow,
    messages: &mut [ChatMessage],
) -> Result<Fit, GatewayError> {
    let estimate = |n: u64| (n as f64 * factor).ceil() as u64;
    // Most inputs fit by their byte length alone: no tokenizer needed (each one costs tens of MB
    // and microseconds per request); only longer ones are counted exactly.
    let (upper, rough) = tokens::byte_estimates(messages);
    if upper <= limit {
        return Ok(Fit {
            tokens: estimate(rough),
            counted: 0,
            removed: 0,
        });
    }
    let counted = tokens::count_messages(model, messages);
    let count = estimate(counted);
    if count <= limit {
        return Ok(Fit {
            tokens: count,
            counted,
            removed: 0,
        });
    }
    if overflow == ContextOverflow::Reject {
        return Err(too_long(model, count, limit));
    }
    let Some(longest) = (0..messages.len()).max_by_key(|&i| messages[i].text_len()) else {
        return Err(too_long(model, count, limit));
    };
    // Cut proportionally to the characters of the longest message, then re-count; a few rounds
    // converge because the tokenizer's chars-per-token ratio barely moves inside one text.
    let mut current = count;
    let mut removed_total = 0;
    for _ in 0..4 {
        let excess = current - limit;
        let text = messages[longest].content_text();
        let msg_tokens = estimate(tokens::count_text(model, &text)).max(1);
        if msg_tokens <= excess {
            break;
        }
        let marker_tokens = estimate(tokens::count_text(model, &marker(excess)));
        let cut_tokens = excess + marker_tokens + excess / 50 + 8;
        let chars: Vec<char> = text.chars().collect();
        let cut_chars =
            ((cut_tokens as f64 / msg_tokens as f64) * chars.len() as f64).ceil() as usize + 1;
        if cut_chars >= chars.len() {
            break;
        }
        let keep = chars.len() - cut_chars;
        let head: String = chars[..keep / 2].iter().collect();
        let tail: String = chars[chars.len() - (keep - keep / 2)..].iter().collect();
        let new_text = format!("{head}{}{tail}", marker(cut_tokens + removed_total));
        replace_longest_text(&mut messages[longest], &text, new_text);
        removed_total += cut_tokens;
        let counted = tokens::count_messages(model, messages);
        current = estimate(counted);
        if current <= limit {
            tracing::info!(
                model,
                before = count,
                after = current,
                limit,
                "input truncated to fit the context window"
            );
            return Ok(Fit {
                tokens: current,
                counted,
                removed: count - current,
            });
        }
    }
    Err(too_long(model, current, limit))
}

/// Replaces the text of a message (or its longest text part) that currently reads `old`.
fn replace_longest_text(m: &mut ChatMessage, old: &str, new: String) {
    let Some(content) = &mut m.content else {
        return;
    };
    let longest = {
        let mut best = 0;
        content.map_text(|t| {
            best = best.max(t.len());
            None
        });
        best
    };
    let mut new = Some(new);
    content.map_text(|t| {
        if (t == old || t.len() == longest) && new.is_some() {
            new.take()
        } else {
            None
        }
    });
}

fn too_long(model: &str, count: u64, limit: u64) -> GatewayError {
    GatewayError::ContextLengthExceeded(format!(
        "This model's maximum context length allows {limit} input tokens, but the messages have {count} tokens (model {model}). Shorten the messages, or use a route with context_overflow = \"truncate_middle\"."
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wire::Role;

    fn document(words: usize) -> String {
        (0..words)
            .map(|i| format!("word{} ", i % 97))
            .collect::<String>()
    }

    #[test]
    fn short_input_fits_and_long_input_is_refused_with_counts() {
        let mut msgs = vec![ChatMessage::text(Role::User, "hello world")];
        // fits by its bytes: a rough estimate, no count
        let f = fit("gpt-4", 1.0, 100, ContextOverflow::Reject, &mut msgs).unwrap();
        assert_eq!((f.tokens, f.counted), (10, 0));
        // a limit under the byte bound needs the exact count (9 for gpt-4, the cookbook's figure)
        let f = fit("gpt-4", 1.0, 12, ContextOverflow::Reject, &mut msgs).unwrap();
        assert_eq!((f.tokens, f.counted), (9, 9));
        let mut msgs = vec![ChatMessage::text(Role::User, document(20_000))];
        let err = fit("gpt-4", 1.0, 4096, ContextOverflow::Reject, &mut msgs).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("4096"), "{text}");
        assert!(matches!(err, GatewayError::ContextLengthExceeded(_)));
    }

    #[test]
    fn truncation_cuts_the_middle_of_the_longest_message() {
        let doc = format!("START {} END", document(20_000));
        let mut msgs = vec![
            ChatMessage::text(Role::System, "Summarise."),
            ChatMessage::text(Role::User, doc),
        ];
        let f = fit(
            "gpt-4",
            1.0,
            4096,
            ContextOverflow::TruncateMiddle,
            &mut msgs,
        )
        .unwrap();
        assert!(f.tokens <= 4096 && f.tokens > 3000, "{f:?}");
        let text = msgs[1].content_text();
        assert!(text.starts_with("START ") && text.ends_with(" END"));
        assert!(text.contains("tokens removed by Sluice"));
        assert_eq!(msgs[0].content_text(), "Summarise.");
    }
}
