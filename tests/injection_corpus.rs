//! Runs the labelled prompt corpus through the injection detector and checks recall and the
//! false-positive rate.
//!
//! Corpus format (`tests/data/injection_corpus.tsv`): one prompt per line, `label<TAB>text`,
//! label `attack` or `benign`. Text is written literally except invisible characters, which are
//! written as `\u{XXXX}` escapes and unescaped here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sluice::guardrails::injection::{DEFAULT_THRESHOLD, InjectionDetector};

const CORPUS: &str = include_str!("data/injection_corpus.tsv");

/// Replaces `\u{XXXX}` escapes with the characters they name.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\\u{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find('}').expect("unterminated \\u{ escape");
        let code = u32::from_str_radix(&after[..end], 16).expect("bad hex in escape");
        out.push(char::from_u32(code).expect("escape is not a char"));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn corpus_precision_and_recall() {
    let detector = InjectionDetector::new(DEFAULT_THRESHOLD, &[], &[]).unwrap();
    let (mut tp, mut fp, mut tn, mut fn_) = (0u32, 0u32, 0u32, 0u32);
    for (number, line) in CORPUS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (label, text) = line.split_once('\t').expect("line without a tab");
        let attack = match label {
            "attack" => true,
            "benign" => false,
            other => panic!("line {}: unknown label {other:?}", number + 1),
        };
        let scan = detector.scan(&unescape(text));
        match (attack, scan.blocked) {
            (true, true) => tp += 1,
            (false, false) => tn += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
        }
        if attack != scan.blocked {
            println!(
                "MISCLASSIFIED line {} ({label}, score {:.2}, {:?}): {text}",
                number + 1,
                scan.score,
                scan.categories
            );
        }
    }
    let total = tp + fp + tn + fn_;
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    let fp_rate = f64::from(fp) / f64::from((fp + tn).max(1));
    println!(
        "injection corpus: {total} prompts, precision {precision:.3}, recall {recall:.3}, false-positive rate {fp_rate:.3}"
    );
    assert!(total >= 200, "corpus too small: {total}");
    assert!(recall >= 0.95, "recall {recall:.3} < 0.95");
    assert!(fp_rate <= 0.02, "false-positive rate {fp_rate:.3} > 0.02");
}
