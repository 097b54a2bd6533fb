//! An OpenAI-compatible `/v1/embeddings` upstream as the embedding backend.

use serde_json::{Value, json};

use super::EmbedError;

/// A client for `POST {base_url}/embeddings`.
pub struct RemoteEmbedder {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
    model: String,
}

impl RemoteEmbedder {
    /// A client for `base_url` (e.g. `https://api.openai.com/v1`) and `model`.
    pub fn new(base_url: &str, api_key: Option<String>, model: String) -> RemoteEmbedder {
        RemoteEmbedder {
            client: reqwest::Client::new(),
            url: format!("{base_url}/embeddings"),
            api_key,
            model,
        }
    }

    /// The upstream model name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Embeds `texts` in one call; vectors come back L2-normalised, in input order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_counted(texts).await.map(|(v, _)| v)
    }

    /// As [`RemoteEmbedder::embed`], with the upstream's `usage.prompt_tokens`.
    pub async fn embed_counted(
        &self,
        texts: &[String],
    ) -> Result<(Vec<Vec<f32>>, u64), EmbedError> {
        let mut req = self
            .client
            .post(&self.url)
            .json(&json!({"model": self.model, "input": texts}));
        if let Some(k) = &self.api_key {
            req = req.bearer_auth(k);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| EmbedError::Remote(format!("{}: {e}", self.url)))?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| EmbedError::Remote(format!("unreadable answer from {}: {e}", self.url)))?;
        if !status.is_success() {
            let msg = body["error"]["message"].as_str().unwrap_or("no message");
            return Err(EmbedError::Remote(format!(
                "{} answered {status}: {msg}",
                self.url
            )));
        }
        let tokens = body["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
        Ok((parse(&body, texts.len())?, tokens))
    }
}

/// The vectors of an OpenAI embeddings answer, ordered by `index` and normalised.
fn parse(body: &Value, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let data = body["data"]
        .as_array()
        .ok_or_else(|| EmbedError::Remote("answer has no `data` array".into()))?;
    let mut out: Vec<(u64, Vec<f32>)> = Vec::with_capacity(data.len());
    for (i, item) in data.iter().enumerate() {
        let index = item["index"].as_u64().unwrap_or(i as u64);
        let vector: Vec<f32> = item["embedding"]
            .as_array()
            .ok_or_else(|| EmbedError::Remote("an item has no `embedding` array".into()))?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect::<Option<_>>()
            .ok_or_else(|| EmbedError::Remote("an embedding holds a non-number".into()))?;
        out.push((index, normalise(vector)));
    }
    if out.len() != expected {
        return Err(EmbedError::Remote(format!(
            "asked for {expected} embeddings, got {}",
            out.len()
        )));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// `v / |v|` (unchanged when zero).
pub fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn orders_by_index_and_normalises() {
        let body = json!({"data": [
            {"index": 1, "embedding": [0.0, 2.0]},
            {"index": 0, "embedding": [3.0, 4.0]},
        ]});
        let v = parse(&body, 2).unwrap();
        assert_eq!(v, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
        assert!(parse(&body, 3).is_err());
        assert!(parse(&json!({"data": [{"embedding": ["x"]}]}), 1).is_err());
    }
}
