//! Measures the protective edge in-process, with the gateway's own code and default rules:
//!
//! 1. the input guardrails (injection scoring + PII redaction) on a 50,000-token document;
//! 2. everything the edge does for a short request: key lookup, request pace, model access,
//!    budget, token count against the context window, token pace, input guardrails, and the
//!    streaming output scanner over a short answer.
//!
//! Prints medians and 90th percentiles; run in release mode (`scripts/bench.sh` does).

use std::time::{Duration, Instant};

use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use sluice::{
    actors::{guardrail::screen_input, stats::ActorStats},
    config::{AuthConfig, ContextOverflow, KeyConfig, Limits, hash_key},
    edge::{check_model_access, context::fit, keys::KeyStore},
    guardrails::{Rules, pii::Redactions},
    tokens,
    wire::{ChatMessage, Role},
};

const WORDS: &[&str] = &[
    "the",
    "gateway",
    "routes",
    "each",
    "request",
    "through",
    "a",
    "chain",
    "of",
    "models",
    "and",
    "records",
    "what",
    "it",
    "cost",
    "while",
    "operators",
    "review",
    "latency",
    "figures",
    "quarterly",
    "report",
    "shows",
    "that",
    "customers",
    "in",
    "Europe",
    "asked",
    "about",
    "invoices",
    "shipping",
    "delays",
    "refund",
    "policy",
    "changes",
    "since",
    "March",
    "with",
    "support",
    "tickets",
    "growing",
    "by",
    "twelve",
    "percent",
    "compared",
    "to",
    "last",
    "year",
    "engineers",
    "measured",
    "throughput",
    "under",
    "load",
    "before",
    "release",
    "notes",
    "were",
    "published",
    "for",
    "version",
    "3.2",
    "on",
    "2024-05-14",
];

/// Ordinary business prose of at least `target` o200k tokens.
fn document(target: u64) -> String {
    let mut text = String::new();
    let mut i = 0usize;
    loop {
        for _ in 0..2000 {
            let w = WORDS[(i * 7 + i / 13) % WORDS.len()];
            text.push_str(w);
            i += 1;
            text.push_str(if i.is_multiple_of(17) { ". " } else { " " });
        }
        if tokens::count_text("gpt-4o", &text) >= target {
            return text;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: median {:.1} us, p90 {:.1} us ({} runs)",
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.9).as_secs_f64() * 1e6,
        samples.len()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = Rules::builtin()?;
    let stats = ActorStats::new("guardrail", "bench");

    // 1. A 50,000-token document through the input guardrails.
    let doc = document(50_000);
    let doc_tokens = tokens::count_text("gpt-4o", &doc);
    let mut scans = Vec::new();
    for _ in 0..30 {
        let msgs = vec![ChatMessage::text(Role::User, doc.clone())];
        let t = Instant::now();
        let verdict = screen_input(&rules, &stats, "bench", msgs)?;
        scans.push(t.elapsed());
        std::hint::black_box(verdict);
    }
    println!("document: {doc_tokens} tokens, {} bytes", doc.len());
    report("edge: 50k-token input scan (injection + PII)", scans);
    let mut injection = Vec::new();
    let mut pii = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        std::hint::black_box(rules.injection.scan(&doc));
        injection.push(t.elapsed());
        let t = Instant::now();
        let mut found = Redactions::default();
        std::hint::black_box(rules.pii.redact(&doc, &mut found));
        pii.push(t.elapsed());
    }
    report("edge:   of which injection alone", injection);
    report("edge:   of which PII alone", pii);
    let mut counts = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        std::hint::black_box(tokens::count_text("gpt-4o", &doc));
        counts.push(t.elapsed());
    }
    report(
        "edge: 50k-token count (o200k, on the blocking pool)",
        counts,
    );

    // 2. The whole edge on a short request.
    let key = "sk-bench-0123456789";
    let store = KeyStore::new(&AuthConfig {
        enabled: true,
        admin: None,
        keys: vec![KeyConfig {
            name: "bench".into(),
            hash: hash_key(key),
            user: "bench".into(),
            limits: Limits {
                requests_per_minute: 1_000_000_000,
                request_burst: 1_000_000_000,
                tokens_per_minute: 1_000_000_000,
                token_burst: 1_000_000_000,
            },
            daily_budget_usd: Some(1e9),
            models: Some(vec!["gpt-4o-mini".into()]),
        }],
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {key}"))?,
    );
    let question =
        "Hi! Could you summarise our refund policy for orders shipped to Germany in two sentences?";
    let answer = "Orders shipped to Germany can be returned within thirty days for a full refund. \
                  Refunds reach the original payment method within five business days of the return arriving.";
    let chunks: Vec<String> = answer.split_inclusive(' ').map(str::to_string).collect();
    let mut edge = Vec::new();
    for _ in 0..20_000 {
        let t = Instant::now();
        let caller = store.authenticate(&headers)?.ok_or("no key")?;
        caller.take_request()?;
        check_model_access(&caller, "gpt-4o-mini")?;
        caller.check_budget()?;
        let mut msgs = vec![
            ChatMessage::text(Role::System, "You are a helpful support assistant."),
            ChatMessage::text(Role::User, question),
        ];
        let f = fit(
            "gpt-4o-mini",
            1.0,
            123_904,
            ContextOverflow::Reject,
            &mut msgs,
        )?;
        caller.take_tokens(u32::try_from(f.tokens)?)?;
        let verdict = screen_input(&rules, &stats, "bench", msgs)?;
        let mut scanner = rules.output.scanner();
        let mut out = 0;
        for c in &chunks {
            out += scanner.push(c).map_err(|v| v.rule)?.len();
        }
        out += scanner.finish().map_err(|v| v.rule)?.len();
        caller.charge_tokens(40);
        edge.push(t.elapsed());
        std::hint::black_box((verdict, out));
    }
    report("edge: whole edge on a short request", edge);
    Ok(())
}
