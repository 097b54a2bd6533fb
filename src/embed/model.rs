//! The synchronous embedder: tokenizer + BERT encoder + mean pooling.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use super::EmbedError;

/// sha256 of the all-MiniLM-L6-v2 `model.safetensors` this module is tuned for.
pub const MODEL_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

/// Inputs longer than this many tokens (special tokens included) are truncated.
pub const MAX_TOKENS: usize = 256;

/// Largest number of texts run through the encoder in one forward pass.
///
/// Bigger inputs are split; this caps attention memory (~100 MB at 32 × 256 tokens).
const CHUNK: usize = 32;

const WEIGHTS_FILE: &str = "model.safetensors";
const TOKENIZER_FILE: &str = "tokenizer.json";
const CONFIG_FILE: &str = "config.json";

/// A loaded sentence-embedding model.
///
/// `embed_batch` takes `&self` and is safe to call from several threads at
/// once, though each call already uses every core for its matrix products.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pad_id: u32,
    dims: usize,
    device: Device,
}

// The pool shares one embedder between threads; fail the build if that breaks.
const _: fn() = || {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Embedder>();
};

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model from `dir`, which must hold `model.safetensors`,
    /// `tokenizer.json` and `config.json` (see `scripts/fetch_model.sh`).
    ///
    /// The weights are read into memory once and their sha256 is checked.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let weights_path = dir.join(WEIGHTS_FILE);
        let tokenizer_path = dir.join(TOKENIZER_FILE);
        let config_path = dir.join(CONFIG_FILE);

        let config_bytes = read_file(&config_path)?;
        let config: Config =
            serde_json::from_slice(&config_bytes).map_err(|e| bad_format(&config_path, e))?;
        let (tokenizer, pad_id) = load_tokenizer(&tokenizer_path, &config)?;

        let weights = read_file(&weights_path)?;
        let actual = hex(&Sha256::digest(&weights));
        if actual != MODEL_SHA256 {
            return Err(EmbedError::BadHash {
                path: weights_path,
                expected: MODEL_SHA256,
                actual,
            });
        }
        let device = Device::Cpu;
        // `load_buffer` copies the tensors out, so the raw file is freed after this block.
        let tensors = candle_core::safetensors::load_buffer(&weights, &device)
            .map_err(|e| bad_format(&weights_path, e))?;
        drop(weights);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(|e| bad_format(&weights_path, e))?;

        Ok(Self {
            model,
            tokenizer,
            pad_id,
            dims: config.hidden_size,
            device,
        })
    }

    /// Length of every vector this model returns (384 for all-MiniLM-L6-v2).
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Tokens the model reads of `texts` (special tokens included, each text capped at
    /// [`MAX_TOKENS`]): the usage reported by `/v1/embeddings`.
    pub fn count_tokens(&self, texts: &[&str]) -> Result<usize, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // Padding is done per batch by `forward`: the encodings hold only real tokens.
        Ok(encodings.iter().map(Encoding::len).sum())
    }

    /// Embeds one text; see [`Embedder::embed_batch`].
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.embed_batch(&[text])?
            .pop()
            .ok_or_else(|| EmbedError::Inference("model returned no vector".into()))
    }

    /// Embeds `texts`, returning one unit-length vector per text, in order.
    ///
    /// Texts are truncated to [`MAX_TOKENS`] tokens. They are grouped by
    /// length before batching so that one long text does not make a whole
    /// batch pay for its padding.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;

        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());

        let mut out = vec![Vec::new(); encodings.len()];
        for idx in order.chunks(CHUNK) {
            let chunk: Vec<&Encoding> = idx.iter().map(|&i| &encodings[i]).collect();
            for (&i, vector) in idx.iter().zip(self.forward(&chunk)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// Runs one padded batch through the encoder and pools it.
    fn forward(&self, batch: &[&Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let rows = batch.len();
        let width = batch.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![self.pad_id; rows * width];
        let mut mask = vec![0u32; rows * width];
        for (row, enc) in batch.iter().enumerate() {
            let start = row * width;
            ids[start..start + enc.len()].copy_from_slice(enc.get_ids());
            mask[start..start + enc.len()].copy_from_slice(enc.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device)?;
        let hidden = self.model.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
        Ok(mean_pool_normalised(&hidden, &mask)?.to_vec2::<f32>()?)
    }
}

/// Mean of the token vectors that the mask keeps, scaled to unit length.
fn mean_pool_normalised(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    mean.broadcast_div(&norms)
}

/// Cosine similarity of two vectors from [`Embedder`] (a dot product, since
/// they are unit length). Extra elements of the longer slice are ignored.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Loads `tokenizer.json` and replaces its shipped fixed-128 padding and
/// truncation: we pad each chunk ourselves and truncate at [`MAX_TOKENS`].
/// Returns the tokenizer and its padding token id.
fn load_tokenizer(path: &Path, config: &Config) -> Result<(Tokenizer, u32), EmbedError> {
    let bytes = read_file(path)?;
    let mut tokenizer = Tokenizer::from_bytes(&bytes).map_err(|e| bad_format(path, e))?;
    let pad_id = tokenizer.get_padding().map_or(0, |p| p.pad_id);
    tokenizer.with_padding(None);
    let truncation = TruncationParams {
        max_length: MAX_TOKENS.min(config.max_position_embeddings),
        ..TruncationParams::default()
    };
    tokenizer
        .with_truncation(Some(truncation))
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
    Ok((tokenizer, pad_id))
}

fn read_file(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EmbedError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => EmbedError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })
}

fn bad_format(path: &Path, err: impl std::fmt::Display) -> EmbedError {
    EmbedError::BadFormat {
        path: PathBuf::from(path),
        reason: err.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
