//! The vectors of one cache namespace: a flat list searched exhaustively while small, an HNSW
//! graph once it grows past [`FLAT_LIMIT`].

use super::index::{IndexParams, VectorIndex};

/// Entries searched exhaustively; past this many, the namespace moves to an HNSW graph.
pub const FLAT_LIMIT: usize = 1024;

/// The nearest-neighbour structure of one namespace.
pub enum SpaceIndex {
    /// Exhaustive dot products (exact).
    Flat(Vec<(u64, Vec<f32>)>),
    /// Approximate (HNSW).
    Graph(Box<VectorIndex>),
}

impl Default for SpaceIndex {
    fn default() -> Self {
        SpaceIndex::Flat(Vec::new())
    }
}

impl SpaceIndex {
    /// Adds a vector under `id`.
    pub fn insert(&mut self, id: u64, vector: &[f32]) {
        match self {
            SpaceIndex::Flat(items) => {
                items.push((id, vector.to_vec()));
                if items.len() > FLAT_LIMIT {
                    let mut graph =
                        VectorIndex::new(vector.len(), items.len() * 2, IndexParams::default());
                    let mut ok = true;
                    for (i, v) in items.iter() {
                        if let Err(e) = graph.insert(*i, v) {
                            tracing::warn!(error = %e, "cache vector index: building the graph failed; staying flat");
                            ok = false;
                            break;
                        }
                    }
                    if ok {
                        *self = SpaceIndex::Graph(Box::new(graph));
                    }
                }
            }
            SpaceIndex::Graph(g) => {
                if let Err(e) = g.insert(id, vector) {
                    tracing::warn!(error = %e, "cache vector index: insert failed; entry is exact-match only");
                }
            }
        }
    }

    /// Forgets `id`.
    pub fn remove(&mut self, id: u64) {
        match self {
            SpaceIndex::Flat(items) => {
                if let Some(pos) = items.iter().position(|(i, _)| *i == id) {
                    items.swap_remove(pos);
                }
            }
            SpaceIndex::Graph(g) => g.remove(id),
        }
    }

    /// The `k` most similar ids, best first, with their cosine similarity.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(u64, f32)> {
        match self {
            SpaceIndex::Flat(items) => {
                let mut scored: Vec<(u64, f32)> = items
                    .iter()
                    .filter(|(_, v)| v.len() == query.len())
                    .map(|(id, v)| (*id, dot(v, query)))
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1));
                scored.truncate(k);
                scored
            }
            SpaceIndex::Graph(g) => g.search(query, k),
        }
    }
}

/// Dot product (cosine for normalised vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
