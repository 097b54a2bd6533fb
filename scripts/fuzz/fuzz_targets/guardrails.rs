//! The guardrail engine on arbitrary text: injection scoring, PII redaction and the streaming
//! output scanner must never panic, and the scanner must agree with the whole-text check: on a
//! clean text it releases exactly the input, and it reports a violation exactly when the whole
//! text has one.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice::guardrails::{Rules, pii::Redactions};

static RULES: OnceLock<Option<Rules>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(rules) = RULES.get_or_init(|| Rules::builtin().ok()) else {
        return;
    };
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let _ = rules.injection.scan(&text);

    let mut found = Redactions::default();
    if let Some(redacted) = rules.pii.redact(&text, &mut found) {
        assert!(!found.is_empty(), "text changed but nothing was reported");
        // Placeholders are not PII themselves: redacting again finds nothing new.
        let mut again = Redactions::default();
        let twice = rules.pii.redact(&redacted, &mut again);
        assert!(twice.is_none(), "redacted text still had PII: {redacted:?}");
    }

    // Chunk sizes from the first byte: 1 to 8 characters.
    let step = usize::from(split % 8) + 1;
    let chars: Vec<char> = text.chars().collect();
    let mut scanner = rules.output.scanner();
    let mut released = String::new();
    let mut violated = false;
    for chunk in chars.chunks(step) {
        let chunk: String = chunk.iter().collect();
        match scanner.push(&chunk) {
            Ok(r) => released.push_str(&r),
            Err(_) => {
                violated = true;
                break;
            }
        }
    }
    if !violated {
        match scanner.finish() {
            Ok(r) => released.push_str(&r),
            Err(_) => violated = true,
        }
    }
    let whole = rules.output.check(&text);
    assert_eq!(violated, whole.is_some(), "stream and whole-text checks disagree");
    if !violated {
        assert_eq!(released, text, "a clean stream must be released unchanged");
    }
});
