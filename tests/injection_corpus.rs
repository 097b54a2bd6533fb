//! Runs the labelled prompt corpus, and a held-out set the rules were never tuned on, through
//! the injection detector and checks recall and the false-positive rate.
//!
//! Corpus format (`tests/data/injection_corpus.tsv`): one prompt per line, `label<TAB>text`,
//! label `attack` or `benign`. Text is written literally except invisible characters, which are
//! written as `\u{XXXX}` escapes and unescaped here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sluice::guardrails::injection::{DEFAULT_THRESHOLD, InjectionDetector};

const CORPUS: &str = include_str!("data/injection_corpus.tsv");
const HOLDOUT: &str = include_str!("data/injection_holdout.tsv");

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

/// Precision, recall and false-positive rate of the detector on a labelled file.
struct Figures {
    total: u32,
    precision: f64,
    recall: f64,
    fp_rate: f64,
}

fn evaluate(name: &str, corpus: &str) -> Figures {
    let detector = InjectionDetector::new(DEFAULT_THRESHOLD, &[], &[]).unwrap();
    let (mut tp, mut fp, mut tn, mut fn_) = (0u32, 0u32, 0u32, 0u32);
    for (number, line) in corpus
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (label, text) = line.split_once('\t').expect("line without a tab");
        let attack = match label {
            "attack" => true,
            "benign" => false,
            other => panic!("{name} line {}: unknown label {other:?}", number + 1),
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
                "MISCLASSIFIED {name} line {} ({label}, score {:.2}, {:?}): {text}",
                number + 1,
                scan.score,
                scan.categories
            );
        }
    }
    let f = Figures {
        total: tp + fp + tn + fn_,
        precision: f64::from(tp) / f64::from((tp + fp).max(1)),
        recall: f64::from(tp) / f64::from((tp + fn_).max(1)),
        fp_rate: f64::from(fp) / f64::from((fp + tn).max(1)),
    };
    println!(
        "{name}: {} prompts ({} attacks), precision {:.3}, recall {:.3}, false-positive rate {:.3}",
        f.total,
        tp + fn_,
        f.precision,
        f.recall,
        f.fp_rate
    );
    f
}

#[test]
fn corpus_precision_and_recall() {
    let f = evaluate("injection corpus", CORPUS);
    assert!(f.total >= 200, "corpus too small: {}", f.total);
    assert!(f.recall >= 0.95, "recall {:.3} < 0.95", f.recall);
    assert!(
        f.fp_rate <= 0.02,
        "false-positive rate {:.3} > 0.02",
        f.fp_rate
    );
}

/// A set written independently of the rules and never used to tune them (each earlier holdout
/// was folded into the corpus once the rules had been tuned on it, and replaced by a new one):
/// the honest measure of how the detector generalises to new wording. The floors guard against
/// regressions; they are the figures measured when this set was added (recall 0.794, false
/// positives 0.046), with some room. The targets themselves are checked on the corpus.
#[test]
fn holdout_generalisation() {
    let f = evaluate("injection holdout", HOLDOUT);
    assert!(f.total >= 200, "holdout too small: {}", f.total);
    assert!(f.recall >= 0.75, "holdout recall {:.3} < 0.75", f.recall);
    assert!(
        f.fp_rate <= 0.06,
        "holdout false-positive rate {:.3} > 0.06",
        f.fp_rate
    );
}
