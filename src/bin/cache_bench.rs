//! Measures the semantic cache's own work in-process, with the gateway's code:
//!
//! 1. a semantic lookup in a namespace of 100,000 cached questions (HNSW search of the nearest
//!    candidates plus the near-miss check of the best one), embedding excluded; the bulk build
//!    of the index takes minutes on 2 cores (about 2.7 ms of CPU per insert);
//! 2. embedding one short query with the local model (when `models/` holds it), and the
//!    per-text cost of a batch of 32.
//!
//! Vectors are clustered like real questions (2,000 topics, small noise), seeded. Prints
//! p50/p99; run in release mode (`scripts/bench.sh` does).

use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use sluice::{
    cache::{
        index::{IndexParams, VectorIndex},
        near_miss,
    },
    embed::Embedder,
};

const DIMS: usize = 384;
const ENTRIES: usize = 100_000;
const TOPICS: usize = 2_000;
const QUERIES: usize = 2_000;

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn noisy(rng: &mut StdRng, centre: &[f32], scale: f32) -> Vec<f32> {
    normalised(
        centre
            .iter()
            .map(|x| x + scale * (rng.random::<f32>() - 0.5))
            .collect(),
    )
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let mut rng = StdRng::seed_from_u64(7);
    let centres: Vec<Vec<f32>> = (0..TOPICS)
        .map(|_| normalised((0..DIMS).map(|_| rng.random::<f32>() - 0.5).collect()))
        .collect();
    let vectors: Vec<Vec<f32>> = (0..ENTRIES)
        .map(|i| noisy(&mut rng, &centres[i % TOPICS], 0.08))
        .collect();
    let started = Instant::now();
    // The bulk build uses every core; the gateway inserts one entry at a time as answers come.
    let params = IndexParams {
        parallel_build: true,
        ..IndexParams::default()
    };
    let mut index = VectorIndex::new(DIMS, ENTRIES, params);
    let batch: Vec<(u64, &[f32])> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.as_slice()))
        .collect();
    if let Err(e) = index.insert_batch(&batch) {
        eprintln!("cache_bench: building the index failed: {e}");
        std::process::exit(1);
    }
    let build = started.elapsed();
    let questions = [
        (
            "What is the capital of France?",
            "what's the capital city of france",
        ),
        (
            "Convert 30 Celsius to Fahrenheit",
            "Convert 30 Fahrenheit to Celsius",
        ),
    ];
    let mut lookups = Vec::with_capacity(QUERIES);
    let mut found = 0usize;
    for q in 0..QUERIES {
        let target = rng.random_range(0..ENTRIES);
        let query = noisy(&mut rng, &vectors[target], 0.01);
        let (a, b) = questions[q % questions.len()];
        let t = Instant::now();
        let hits = index.search(&query, 5);
        let agreed = hits.first().map(|_| near_miss::check(a, b).is_ok());
        lookups.push(t.elapsed());
        if hits.first().is_some_and(|(id, _)| *id == target as u64) {
            found += 1;
        }
        std::hint::black_box(agreed);
    }
    lookups.sort();
    println!(
        "semantic lookup, {ENTRIES} entries in one namespace (HNSW, 5 candidates + near-miss check): \
         p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; recall@1 {:.3}; index built in {:.1} s",
        pct(&lookups, 0.50),
        pct(&lookups, 0.99),
        pct(&lookups, 1.0),
        found as f64 / QUERIES as f64,
        build.as_secs_f64()
    );

    let dir = std::path::Path::new("models/all-MiniLM-L6-v2");
    match Embedder::load(dir) {
        Err(e) => println!("embedding: skipped ({e})"),
        Ok(model) => {
            let query = "How do I reset my password?";
            for _ in 0..20 {
                std::hint::black_box(model.embed(query).ok());
            }
            let mut times: Vec<Duration> = (0..200)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(model.embed(query).ok());
                    t.elapsed()
                })
                .collect();
            times.sort();
            let batch: Vec<String> = (0..32)
                .map(|i| format!("How do I reset the password of account number {i}?"))
                .collect();
            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
            let t = Instant::now();
            let rounds = 5;
            for _ in 0..rounds {
                std::hint::black_box(model.embed_batch(&refs).ok());
            }
            let per_item = t.elapsed().as_secs_f64() * 1e3 / (rounds * 32) as f64;
            println!(
                "embedding one short query (all-MiniLM-L6-v2, CPU): p50 {:.2} ms, p99 {:.2} ms; \
                 in a batch of 32: {per_item:.2} ms per text",
                pct(&times, 0.50),
                pct(&times, 0.99)
            );
        }
    }
}
