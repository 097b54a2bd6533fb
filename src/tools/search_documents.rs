//! The `search_documents` tool: top passages from the retrieval store.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::error::ToolError;
use super::spec::{Tool, ToolSpec, required_str};

/// Passages returned when the model does not say how many.
pub const DEFAULT_HITS: usize = 5;

/// Most passages one call may ask for.
pub const MAX_HITS: usize = 10;

/// One passage found by a document search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentHit {
    /// Document the passage belongs to.
    pub document_id: String,
    /// Index of the chunk within its document.
    pub chunk_index: usize,
    /// Start offset of the chunk in the document.
    pub start: usize,
    /// End offset of the chunk in the document.
    pub end: usize,
    /// The passage itself.
    pub text: String,
    /// Relevance score; higher is better.
    pub score: f32,
}

/// A searchable document store, implemented by the gateway's retrieval layer.
pub trait DocumentSearch: Send + Sync {
    /// Up to `k` passages relevant to `query`, best first.
    fn search(&self, query: &str, k: usize) -> Result<Vec<DocumentHit>, String>;
}

/// The `search_documents` tool over a [`DocumentSearch`] backend.
#[derive(Clone)]
pub struct SearchDocuments {
    spec: ToolSpec,
    store: Arc<dyn DocumentSearch>,
}

impl std::fmt::Debug for SearchDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchDocuments").finish_non_exhaustive()
    }
}

impl SearchDocuments {
    /// The tool over the given store.
    pub fn new(store: Arc<dyn DocumentSearch>) -> Self {
        let spec = ToolSpec::new(
            "search_documents",
            "Searches the documents available to this assistant and returns the most \
             relevant passages with their document ids and scores. Use it to ground \
             answers in those documents; cite the document_id of passages you rely on.",
            json!({
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 2000,
                        "description": "What to look for, in natural language or keywords"
                    },
                    "k": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_HITS,
                        "description": "How many passages to return (default 5)"
                    }
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        );
        Self { spec, store }
    }
}

impl Tool for SearchDocuments {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call(&self, args: &Value) -> Result<Value, ToolError> {
        let query = required_str(args, "query")?.trim();
        if query.is_empty() {
            return Err(ToolError::failed("`query` must contain some text"));
        }
        let k = match args.get("k") {
            None | Some(Value::Null) => DEFAULT_HITS,
            Some(k) => k
                .as_u64()
                // JSON Schema counts 3.0 as an integer too.
                .or_else(|| {
                    k.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                        .map(|f| f as u64)
                })
                .and_then(|k| usize::try_from(k).ok())
                .filter(|k| (1..=MAX_HITS).contains(k))
                .ok_or_else(|| {
                    ToolError::failed(format!("`k` must be a whole number from 1 to {MAX_HITS}"))
                })?,
        };
        let mut hits = self
            .store
            .search(query, k)
            .map_err(|err| ToolError::failed(format!("document search failed: {err}")))?;
        hits.truncate(k);
        Ok(json!({ "query": query, "hits": hits }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::Mutex;

    /// Returns canned hits and records what it was asked.
    #[derive(Default)]
    struct FakeStore {
        asked: Mutex<Vec<(String, usize)>>,
        broken: bool,
    }

    impl DocumentSearch for FakeStore {
        fn search(&self, query: &str, k: usize) -> Result<Vec<DocumentHit>, String> {
            self.asked.lock().unwrap().push((query.to_owned(), k));
            if self.broken {
                return Err("index unavailable".to_owned());
            }
            // Deliberately returns more than asked for.
            Ok((0..k + 2)
                .map(|i| DocumentHit {
                    document_id: format!("doc-{i}"),
                    chunk_index: i,
                    start: i * 100,
                    end: i * 100 + 100,
                    text: format!("passage {i} about {query}"),
                    score: 1.0 / (i as f32 + 1.0),
                })
                .collect())
        }
    }

    #[test]
    fn returns_hits_with_all_fields() {
        let store = Arc::new(FakeStore::default());
        let tool = SearchDocuments::new(store.clone());
        let out = tool.call(&json!({"query": "  tides ", "k": 2})).unwrap();
        assert_eq!(
            out,
            json!({
                "query": "tides",
                "hits": [
                    {"document_id": "doc-0", "chunk_index": 0, "start": 0, "end": 100,
                     "text": "passage 0 about tides", "score": 1.0},
                    {"document_id": "doc-1", "chunk_index": 1, "start": 100, "end": 200,
                     "text": "passage 1 about tides", "score": 0.5},
                ]
            })
        );
        assert_eq!(*store.asked.lock().unwrap(), [("tides".to_owned(), 2)]);
    }

    #[test]
    fn whole_float_k_is_accepted() {
        let tool = SearchDocuments::new(Arc::new(FakeStore::default()));
        let out = tool.call(&json!({"query": "x", "k": 3.0})).unwrap();
        assert_eq!(out["hits"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn k_defaults_to_five() {
        let store = Arc::new(FakeStore::default());
        let tool = SearchDocuments::new(store.clone());
        let out = tool.call(&json!({"query": "x"})).unwrap();
        assert_eq!(out["hits"].as_array().unwrap().len(), DEFAULT_HITS);
        assert_eq!(store.asked.lock().unwrap()[0].1, DEFAULT_HITS);
    }

    #[test]
    fn bad_k_and_empty_query_are_refused() {
        let tool = SearchDocuments::new(Arc::new(FakeStore::default()));
        for args in [
            json!({"query": "x", "k": 0}),
            json!({"query": "x", "k": 11}),
            json!({"query": "x", "k": -1}),
            json!({"query": "x", "k": 2.5}),
            json!({"query": "x", "k": "3"}),
            json!({"query": "   "}),
            json!({"k": 3}),
        ] {
            assert!(tool.call(&args).is_err(), "{args}");
        }
    }

    #[test]
    fn backend_errors_are_passed_on() {
        let store = FakeStore {
            broken: true,
            ..FakeStore::default()
        };
        let tool = SearchDocuments::new(Arc::new(store));
        assert_eq!(
            tool.call(&json!({"query": "x"})),
            Err(ToolError::failed(
                "document search failed: index unavailable"
            ))
        );
    }

    #[test]
    fn schema_bounds_k_before_the_call() {
        let mut registry = crate::tools::ToolRegistry::new();
        registry
            .register(SearchDocuments::new(Arc::new(FakeStore::default())))
            .unwrap();
        let err = registry
            .validate("search_documents", r#"{"query": "x", "k": 50}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at /k: 50 is greater than the maximum of 10"),
            "{err}"
        );
        let err = registry
            .validate("search_documents", r#"{"query": "x", "top_k": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'top_k' was unexpected"), "{err}");
    }
}
