//! Tests for `model.rs`, run against the real model.
#![allow(clippy::unwrap_used)]

use super::super::test_support::embedder;
use super::*;

const RESET: &str = "How do I reset my password?";
const CHANGE: &str = "What is the procedure to change my password?";
const PARIS: &str = "The capital of France is Paris.";

#[test]
fn vectors_have_384_unit_length_dims() {
    let model = embedder();
    assert_eq!(model.dims(), 384);
    for v in model.embed_batch(&[RESET, "", "ok"]).unwrap() {
        assert_eq!(v.len(), 384);
        let norm = cosine(&v, &v).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
}

#[test]
fn paraphrases_are_close_and_unrelated_texts_are_not() {
    let v = embedder().embed_batch(&[RESET, CHANGE, PARIS]).unwrap();
    let para = cosine(&v[0], &v[1]);
    let unrelated = cosine(&v[0], &v[2]);
    assert!(para > 0.7, "paraphrase cosine {para}");
    assert!(unrelated < 0.2, "unrelated cosine {unrelated}");
    // Reference figures from an independent numpy forward pass.
    assert!((para - 0.8048).abs() < 2e-3, "paraphrase cosine {para}");
    assert!(
        (unrelated - 0.0243).abs() < 2e-3,
        "unrelated cosine {unrelated}"
    );
}

#[test]
fn batched_and_single_embeddings_agree() {
    let model = embedder();
    let long = "tell me about rust ownership ".repeat(12);
    let texts = [RESET, CHANGE, PARIS, long.as_str(), "hi"];
    let batch = model.embed_batch(&texts).unwrap();
    for (text, batched) in texts.iter().zip(&batch) {
        let single = model.embed(text).unwrap();
        let worst = single
            .iter()
            .zip(batched)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{text:?} differs by {worst}");
    }
}

#[test]
fn long_inputs_are_truncated_not_rejected() {
    let model = embedder();
    let huge = "word ".repeat(5_000);
    let longer = format!("{huge} and a different ending that is cut off");
    let v = model.embed_batch(&[&huge, &longer]).unwrap();
    assert!(
        cosine(&v[0], &v[1]) > 0.9999,
        "both truncated to the same prefix"
    );
    let enc = model.tokenizer.encode(huge.as_str(), true).unwrap();
    assert_eq!(enc.len(), MAX_TOKENS);
}

#[test]
fn more_texts_than_one_chunk_keep_their_order() {
    let model = embedder();
    let texts: Vec<String> = (0..CHUNK + 5).map(|i| format!("item number {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch = model.embed_batch(&refs).unwrap();
    assert_eq!(batch.len(), texts.len());
    let last = model.embed(&texts[CHUNK + 4]).unwrap();
    assert!(cosine(&last, &batch[CHUNK + 4]) > 0.9999);
    assert!(model.embed_batch(&[]).unwrap().is_empty());
}

#[test]
fn missing_model_names_the_file_and_the_fix() {
    let dir = std::env::temp_dir().join("sluice-no-such-model-dir");
    let err = Embedder::load(&dir).unwrap_err();
    assert!(matches!(err, EmbedError::MissingFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("sluice-no-such-model-dir") && msg.contains("scripts/fetch_model.sh"));
}

#[test]
fn wrong_weights_are_refused() {
    let dir = std::env::temp_dir().join(format!("sluice-bad-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let real = super::super::test_support::model_dir();
    for f in [CONFIG_FILE, TOKENIZER_FILE] {
        std::fs::copy(real.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join(WEIGHTS_FILE), b"not a model").unwrap();
    let err = Embedder::load(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(err, EmbedError::BadHash { .. }), "{err:?}");
}
