//! Retrieval documents and their embedded chunks.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{Store, StoreError};

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    /// Document id.
    pub id: String,
    /// Caller's metadata (a JSON object).
    pub metadata: Value,
    /// Full text.
    pub text: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Number of chunks.
    pub chunks: usize,
}

/// One chunk of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    /// Owning document.
    pub document_id: String,
    /// Position among the document's chunks, from 0.
    pub idx: usize,
    /// First character (offset in chars).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The chunk's text.
    pub text: String,
    /// Its normalised embedding, when one was made.
    pub embedding: Option<Vec<f32>>,
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Stores a document and its chunks in one transaction; an existing id is `Exists`.
    pub fn insert_document(
        &self,
        doc: &StoredDocument,
        chunks: &[StoredChunk],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM documents WHERE id = ?1",
                params![doc.id],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::Exists(format!("document `{}`", doc.id)));
        }
        tx.execute(
            "INSERT INTO documents (id, metadata, text, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![doc.id, doc.metadata.to_string(), doc.text, doc.created_at],
        )?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO chunks (document_id, idx, start, end, text, embedding) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for c in chunks {
                stmt.execute(params![
                    c.document_id,
                    to_i64(c.idx),
                    to_i64(c.start),
                    to_i64(c.end),
                    c.text,
                    c.embedding.as_deref().map(to_blob)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Documents (without their text when `with_text` is false), oldest first.
    pub fn documents(&self, with_text: bool) -> Result<Vec<StoredDocument>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT d.id, d.metadata, CASE WHEN ?1 THEN d.text ELSE '' END, d.created_at, \
             (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id) \
             FROM documents d ORDER BY d.created_at, d.id",
        )?;
        let rows = stmt.query_map(params![with_text], row_to_document)?;
        rows.map(|r| r.map_err(StoreError::from).and_then(parse_document))
            .collect()
    }

    /// One document with its text.
    pub fn document(&self, id: &str) -> Result<Option<StoredDocument>, StoreError> {
        let conn = self.conn.lock();
        let row = conn
            .query_row(
                "SELECT d.id, d.metadata, d.text, d.created_at, \
                 (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id) \
                 FROM documents d WHERE d.id = ?1",
                params![id],
                row_to_document,
            )
            .optional()?;
        row.map(parse_document).transpose()
    }

    /// Deletes a document and its chunks; false when there was none.
    pub fn delete_document(&self, id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .lock()
            .execute("DELETE FROM documents WHERE id = ?1", params![id])?;
        Ok(n > 0)
    }

    /// Every chunk of every document (to rebuild the vector index at start-up).
    pub fn chunks(&self) -> Result<Vec<StoredChunk>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT document_id, idx, start, end, text, embedding FROM chunks \
             ORDER BY document_id, idx",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredChunk {
                document_id: r.get(0)?,
                idx: usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                start: usize::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                end: usize::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                text: r.get(4)?,
                embedding: r.get::<_, Option<Vec<u8>>>(5)?.map(|b| from_blob(&b)),
            })
        })?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }
}

type DocumentRow = (String, String, String, i64, i64);

fn row_to_document(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn parse_document(row: DocumentRow) -> Result<StoredDocument, StoreError> {
    let (id, metadata, text, created_at, chunks) = row;
    let metadata = serde_json::from_str(&metadata)
        .map_err(|e| StoreError::Corrupt(format!("metadata of document {id}: {e}")))?;
    Ok(StoredDocument {
        id,
        metadata,
        text,
        created_at,
        chunks: usize::try_from(chunks).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_round_trip_and_cascade() {
        let s = Store::in_memory().unwrap();
        let doc = StoredDocument {
            id: "d1".into(),
            metadata: json!({"source": "handbook"}),
            text: "hello world".into(),
            created_at: 1,
            chunks: 1,
        };
        let chunk = StoredChunk {
            document_id: "d1".into(),
            idx: 0,
            start: 0,
            end: 11,
            text: "hello world".into(),
            embedding: Some(vec![0.5, -0.25, 1.0]),
        };
        s.insert_document(&doc, std::slice::from_ref(&chunk))
            .unwrap();
        assert!(matches!(
            s.insert_document(&doc, &[]),
            Err(StoreError::Exists(_))
        ));
        assert_eq!(s.document("d1").unwrap().unwrap(), doc);
        assert_eq!(s.documents(false).unwrap()[0].text, "");
        assert_eq!(s.chunks().unwrap(), vec![chunk]);
        assert!(s.delete_document("d1").unwrap());
        assert!(!s.delete_document("d1").unwrap());
        assert!(s.chunks().unwrap().is_empty());
    }
}
