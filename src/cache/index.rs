//! TEMPORARY: replaced by the HNSW index.
#![allow(missing_docs, dead_code)]
#[derive(Default, Clone, Copy)]
pub struct IndexParams;
#[derive(Debug, thiserror::Error)]
#[error("index")]
pub struct IndexError;
pub struct VectorIndex(Vec<(u64, Vec<f32>)>);
impl VectorIndex {
    pub fn new(_d: usize, _c: usize, _p: IndexParams) -> Self {
        VectorIndex(Vec::new())
    }
    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<(), IndexError> {
        self.0.push((id, v.to_vec()));
        Ok(())
    }
    pub fn remove(&mut self, id: u64) {
        self.0.retain(|(i, _)| *i != id)
    }
    pub fn search(&self, q: &[f32], k: usize) -> Vec<(u64, f32)> {
        let mut s: Vec<(u64, f32)> = self
            .0
            .iter()
            .map(|(i, v)| (*i, super::space::dot(v, q)))
            .collect();
        s.sort_by(|a, b| b.1.total_cmp(&a.1));
        s.truncate(k);
        s
    }
}
