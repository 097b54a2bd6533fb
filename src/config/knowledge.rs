//! The sections behind cheaper and better answers: `[store]`, `[embeddings]`, the semantic
//! part of `[cache]`, `[retrieval]`, `[tools]`, `[[prompts]]` and `[[experiments]]`.

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;
use serde_json::Value;

use super::{Env, resolve_env};
use crate::guardrails::format::OutputFormat;

// === raw (file) shape ===

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    data_dir: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmbeddings {
    backend: Option<String>,
    model_dir: Option<String>,
    threads: Option<usize>,
    max_batch: Option<usize>,
    queue: Option<usize>,
    timeout_ms: Option<u64>,
    base_url: Option<String>,
    api_key: Option<String>,
    model: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct RawSemantic {
    pub(super) semantic: Option<bool>,
    pub(super) similarity_threshold: Option<f32>,
    pub(super) scope: Option<String>,
    pub(super) cache_nonzero_temperature: Option<bool>,
    pub(super) cache_tool_calls: Option<bool>,
    pub(super) lookup_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetrieval {
    top_k: Option<usize>,
    chunk_chars: Option<usize>,
    chunk_overlap: Option<usize>,
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTools {
    max_steps: Option<usize>,
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrompt {
    template: String,
    version: String,
    text: String,
    model: Option<String>,
    max_output_tokens: Option<u32>,
    response_format: Option<Value>,
    retrieval: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExperiment {
    name: String,
    template: String,
    control: String,
    variant: String,
    rollout_pct: Option<u8>,
    shadow_pct: Option<u8>,
    rollback_error_ratio: Option<f64>,
    rollback_min_requests: Option<u64>,
}

// === validated shape ===

/// `[store]`: where the embedded database lives.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data directory (default `./data`).
    pub data_dir: PathBuf,
}

/// Which embedding backend serves the semantic cache, retrieval and `/v1/embeddings`.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingBackend {
    /// all-MiniLM-L6-v2 in-process on the CPU, from `model_dir`.
    Local {
        /// Folder with `model.safetensors`, `tokenizer.json`, `config.json`.
        model_dir: PathBuf,
        /// Threads running batches.
        threads: usize,
        /// Largest batch.
        max_batch: usize,
        /// Texts waiting at most; past it, callers are refused at once (and degrade).
        queue: usize,
    },
    /// An OpenAI-compatible `/v1/embeddings` upstream.
    OpenAi {
        /// Base URL, e.g. `https://api.openai.com/v1`.
        base_url: String,
        /// Bearer key, if any.
        api_key: Option<String>,
        /// Model name sent upstream.
        model: String,
    },
    /// No embeddings: exact cache only, no retrieval.
    Off,
}

/// `[embeddings]`.
#[derive(Debug, Clone)]
pub struct EmbeddingsConfig {
    /// The backend.
    pub backend: EmbeddingBackend,
    /// Longest wait for an embedding on the request path; past it the request goes on without.
    pub timeout: Duration,
}

/// Whose requests may share cached answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheScope {
    /// Every caller (answers depend only on the request).
    Shared,
    /// Each virtual key has its own namespace.
    PerKey,
}

/// The semantic part of `[cache]`.
#[derive(Debug, Clone)]
pub struct SemanticConfig {
    /// Whether near-duplicate questions are served (needs an embedding backend).
    pub enabled: bool,
    /// Cosine similarity a cached question needs (the second check applies on top).
    pub similarity_threshold: f32,
    /// Namespace scope.
    pub scope: CacheScope,
    /// Whether requests with temperature > 0 are cached.
    pub cache_nonzero_temperature: bool,
    /// Whether answers made of tool calls are cached.
    pub cache_tool_calls: bool,
    /// Longest wait for the cache actor.
    pub lookup_timeout: Duration,
}

/// `[retrieval]`.
#[derive(Debug, Clone)]
pub struct RetrievalConfig {
    /// Chunks injected per question.
    pub top_k: usize,
    /// Chunk length in characters.
    pub chunk_chars: usize,
    /// Characters shared by consecutive chunks.
    pub chunk_overlap: usize,
    /// Longest wait for retrieval; past it the answer comes without context.
    pub timeout: Duration,
}

/// `[tools]`.
#[derive(Debug, Clone)]
pub struct ToolsConfig {
    /// Model calls per request at most when the gateway runs tools.
    pub max_steps: usize,
    /// Longest run of one tool call.
    pub timeout: Duration,
}

/// One `[[prompts]]` version.
#[derive(Debug, Clone)]
pub struct PromptConfig {
    /// Template name.
    pub template: String,
    /// Version label.
    pub version: String,
    /// Jinja source.
    pub text: String,
    /// Model or route tried first (default: the default route).
    pub model: Option<String>,
    /// Output cap.
    pub max_output_tokens: u32,
    /// OpenAI `response_format` of the answers (`{"type":"text"}` by default).
    pub response_format: Value,
    /// Whether retrieved context is injected as `context`.
    pub retrieval: bool,
}

/// One `[[experiments]]`.
#[derive(Debug, Clone)]
pub struct ExperimentConfig {
    /// Experiment name.
    pub name: String,
    /// Template it splits.
    pub template: String,
    /// The version most users see.
    pub control: String,
    /// The version on trial.
    pub variant: String,
    /// Share of users (buckets of 100) given the variant.
    pub rollout_pct: u8,
    /// Share of control requests that also run the variant in the background, unseen.
    pub shadow_pct: u8,
    /// Variant error rate / control error rate that rolls the variant back.
    pub rollback_error_ratio: f64,
    /// Requests each side needs before the ratio counts.
    pub rollback_min_requests: u64,
}

impl ExperimentConfig {
    /// The first setting out of range, as (field, problem): shared by the config file and the
    /// admin API.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.rollout_pct > 100 || self.shadow_pct > 100 {
            return Err((
                "rollout_pct",
                "rollout_pct and shadow_pct must be 0..=100".into(),
            ));
        }
        let ratio = self.rollback_error_ratio;
        if !(ratio.is_finite() && ratio > 1.0) {
            return Err((
                "rollback_error_ratio",
                format!("rollback_error_ratio = {ratio} must be greater than 1"),
            ));
        }
        if self.control == self.variant {
            return Err((
                "variant",
                "control and variant must be different versions".into(),
            ));
        }
        Ok(())
    }
}

pub(super) fn validate_store(raw: RawStore) -> StoreConfig {
    StoreConfig {
        data_dir: PathBuf::from(raw.data_dir.unwrap_or_else(|| "./data".into())),
    }
}

pub(super) fn validate_embeddings(
    raw: RawEmbeddings,
    env: &dyn Env,
    errs: &mut Vec<String>,
) -> EmbeddingsConfig {
    let timeout = Duration::from_millis(raw.timeout_ms.unwrap_or(250));
    let backend = match raw.backend.as_deref().unwrap_or("local") {
        "local" => {
            let threads = raw.threads.unwrap_or(1);
            let max_batch = raw.max_batch.unwrap_or(32);
            let queue = raw.queue.unwrap_or(1024);
            for (k, v) in [
                ("threads", threads),
                ("max_batch", max_batch),
                ("queue", queue),
            ] {
                if v == 0 {
                    errs.push(format!("embeddings.{k} must be at least 1"));
                }
            }
            EmbeddingBackend::Local {
                model_dir: PathBuf::from(
                    raw.model_dir
                        .unwrap_or_else(|| "models/all-MiniLM-L6-v2".into()),
                ),
                threads,
                max_batch,
                queue,
            }
        }
        "openai" => {
            let api_key = match raw.api_key.as_deref().map(|v| resolve_env(v, env)) {
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    errs.push(format!("embeddings.api_key: {e}"));
                    None
                }
                None => None,
            };
            match (raw.base_url, raw.model) {
                (Some(base_url), Some(model)) => EmbeddingBackend::OpenAi {
                    base_url: base_url.trim_end_matches('/').to_string(),
                    api_key,
                    model,
                },
                _ => {
                    errs.push(
                        "embeddings.backend = \"openai\" needs embeddings.base_url and embeddings.model"
                            .into(),
                    );
                    EmbeddingBackend::Off
                }
            }
        }
        "off" => EmbeddingBackend::Off,
        other => {
            errs.push(format!(
                "embeddings.backend = {other:?}; use \"local\", \"openai\" or \"off\""
            ));
            EmbeddingBackend::Off
        }
    };
    EmbeddingsConfig { backend, timeout }
}

pub(super) fn validate_semantic(raw: RawSemantic, errs: &mut Vec<String>) -> SemanticConfig {
    let threshold = raw.similarity_threshold.unwrap_or(DEFAULT_SIMILARITY);
    if !(threshold > 0.0 && threshold <= 1.0) {
        errs.push(format!(
            "cache.similarity_threshold = {threshold} must be in (0, 1]"
        ));
    }
    let scope = match raw.scope.as_deref().unwrap_or("shared") {
        "shared" => CacheScope::Shared,
        "per_key" => CacheScope::PerKey,
        other => {
            errs.push(format!(
                "cache.scope = {other:?}; use \"shared\" or \"per_key\""
            ));
            CacheScope::Shared
        }
    };
    SemanticConfig {
        enabled: raw.semantic.unwrap_or(true),
        similarity_threshold: threshold,
        scope,
        cache_nonzero_temperature: raw.cache_nonzero_temperature.unwrap_or(true),
        cache_tool_calls: raw.cache_tool_calls.unwrap_or(false),
        lookup_timeout: Duration::from_millis(raw.lookup_timeout_ms.unwrap_or(100)),
    }
}

/// The similarity a cached question needs by default, tuned on `tests/data/paraphrase_pairs.tsv`.
pub const DEFAULT_SIMILARITY: f32 = crate::cache::near_miss::COSINE_THRESHOLD;

pub(super) fn validate_retrieval(raw: RawRetrieval, errs: &mut Vec<String>) -> RetrievalConfig {
    let top_k = raw.top_k.unwrap_or(3);
    let chunk_chars = raw.chunk_chars.unwrap_or(800);
    let chunk_overlap = raw.chunk_overlap.unwrap_or(160);
    if top_k == 0 || top_k > 50 {
        errs.push(format!("retrieval.top_k = {top_k} must be in 1..=50"));
    }
    if chunk_chars < 50 {
        errs.push(format!(
            "retrieval.chunk_chars = {chunk_chars} must be at least 50"
        ));
    }
    if chunk_overlap >= chunk_chars {
        errs.push(format!(
            "retrieval.chunk_overlap = {chunk_overlap} must be smaller than chunk_chars ({chunk_chars})"
        ));
    }
    RetrievalConfig {
        top_k,
        chunk_chars,
        chunk_overlap,
        timeout: Duration::from_millis(raw.timeout_ms.unwrap_or(500)),
    }
}

pub(super) fn validate_tools(raw: RawTools, errs: &mut Vec<String>) -> ToolsConfig {
    let max_steps = raw.max_steps.unwrap_or(4);
    if max_steps == 0 || max_steps > 16 {
        errs.push(format!("tools.max_steps = {max_steps} must be in 1..=16"));
    }
    ToolsConfig {
        max_steps,
        timeout: Duration::from_millis(raw.timeout_ms.unwrap_or(2000)),
    }
}

pub(super) fn validate_prompts(raw: Vec<RawPrompt>, errs: &mut Vec<String>) -> Vec<PromptConfig> {
    let mut out: Vec<PromptConfig> = Vec::new();
    for p in raw {
        let key = format!("prompts ({} {})", p.template, p.version);
        if p.template.trim().is_empty() || p.version.trim().is_empty() {
            errs.push(format!("{key}: template and version must not be empty"));
        }
        if out
            .iter()
            .any(|o| o.template == p.template && o.version == p.version)
        {
            errs.push(format!(
                "{key} is defined twice; give each version its own label"
            ));
        }
        let response_format = p
            .response_format
            .unwrap_or_else(|| serde_json::json!({"type": "text"}));
        if let Err(e) = OutputFormat::from_response_format(&response_format) {
            errs.push(format!("{key}.response_format: {e}"));
        }
        out.push(PromptConfig {
            template: p.template,
            version: p.version,
            text: p.text,
            model: p.model,
            max_output_tokens: p.max_output_tokens.unwrap_or(1024),
            response_format,
            retrieval: p.retrieval.unwrap_or(false),
        });
    }
    out
}

pub(super) fn validate_experiments(
    raw: Vec<RawExperiment>,
    errs: &mut Vec<String>,
) -> Vec<ExperimentConfig> {
    let mut out: Vec<ExperimentConfig> = Vec::new();
    for e in raw {
        let key = format!("experiments ({})", e.name);
        let cfg = ExperimentConfig {
            name: e.name,
            template: e.template,
            control: e.control,
            variant: e.variant,
            rollout_pct: e.rollout_pct.unwrap_or(10),
            shadow_pct: e.shadow_pct.unwrap_or(0),
            rollback_error_ratio: e.rollback_error_ratio.unwrap_or(2.0),
            rollback_min_requests: e.rollback_min_requests.unwrap_or(100),
        };
        if let Err((_, problem)) = cfg.check() {
            errs.push(format!("{key}: {problem}"));
        }
        if out.iter().any(|o| o.name == cfg.name) {
            errs.push(format!("{key} is defined twice"));
        }
        if out.iter().any(|o| o.template == cfg.template) {
            errs.push(format!(
                "{key}: template {} already has an experiment; run one at a time",
                cfg.template
            ));
        }
        out.push(cfg);
    }
    out
}
