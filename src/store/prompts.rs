//! Prompt versions (append-only) and the admin's prompt decisions.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::{Store, StoreError};

/// Where a prompt version was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionOrigin {
    /// Shipped in the binary.
    Builtin,
    /// `[[prompts]]` in `config.toml`.
    Config,
    /// Created through the admin API.
    Admin,
}

impl VersionOrigin {
    fn as_str(self) -> &'static str {
        match self {
            VersionOrigin::Builtin => "builtin",
            VersionOrigin::Config => "config",
            VersionOrigin::Admin => "admin",
        }
    }

    fn parse(s: &str) -> VersionOrigin {
        match s {
            "builtin" => VersionOrigin::Builtin,
            "config" => VersionOrigin::Config,
            _ => VersionOrigin::Admin,
        }
    }
}

/// One stored prompt version.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    /// Template name.
    pub template: String,
    /// Version label.
    pub version: String,
    /// Jinja source.
    pub source: String,
    /// Model or route tried first.
    pub model: String,
    /// Output cap.
    pub max_output_tokens: u32,
    /// `{"type":"text"}` or `{"type":"json","schema":…}`.
    pub format: Value,
    /// Whether retrieved context is injected.
    pub retrieval: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Where it was defined.
    pub origin: VersionOrigin,
}

impl Store {
    /// Every stored version, oldest first.
    pub fn prompt_versions(&self) -> Result<Vec<StoredVersion>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT template, version, source, model, max_output_tokens, format, retrieval, \
             created_at, origin FROM prompt_versions ORDER BY created_at, template, version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (template, version, source, model, max_output_tokens, format, retrieval, at, o) =
                row?;
            let format = serde_json::from_str(&format)
                .map_err(|e| StoreError::Corrupt(format!("format of {template} {version}: {e}")))?;
            out.push(StoredVersion {
                template,
                version,
                source,
                model,
                max_output_tokens,
                format,
                retrieval,
                created_at: at,
                origin: VersionOrigin::parse(&o),
            });
        }
        Ok(out)
    }

    /// Adds a version; an existing (template, version) is never replaced: `Exists`.
    pub fn insert_prompt_version(&self, v: &StoredVersion) -> Result<(), StoreError> {
        let conn = self.conn.lock();
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM prompt_versions WHERE template = ?1 AND version = ?2",
                params![v.template, v.version],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::Exists(format!(
                "prompt `{}` version `{}`",
                v.template, v.version
            )));
        }
        conn.execute(
            "INSERT INTO prompt_versions (template, version, source, model, max_output_tokens, \
             format, retrieval, created_at, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                v.template,
                v.version,
                v.source,
                v.model,
                v.max_output_tokens,
                v.format.to_string(),
                v.retrieval,
                v.created_at,
                v.origin.as_str()
            ],
        )?;
        Ok(())
    }

    /// Every prompt decision (`active:<template>`, `experiment:<name>`), as stored.
    pub fn prompt_state(&self) -> Result<Vec<(String, Value)>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare("SELECT key, value FROM prompt_state ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (k, v) = row?;
            let v = serde_json::from_str(&v)
                .map_err(|e| StoreError::Corrupt(format!("prompt state {k}: {e}")))?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// Records a prompt decision, replacing the previous one of the same key.
    pub fn put_prompt_state(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        self.conn.lock().execute(
            "INSERT INTO prompt_state (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, value.to_string(), super::unix_now()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn version(v: &str) -> StoredVersion {
        StoredVersion {
            template: "t".into(),
            version: v.into(),
            source: "Q: {{ query }}".into(),
            model: "gpt-4o".into(),
            max_output_tokens: 100,
            format: json!({"type": "text"}),
            retrieval: false,
            created_at: 5,
            origin: VersionOrigin::Admin,
        }
    }

    #[test]
    fn versions_are_never_overwritten() {
        let s = Store::in_memory().unwrap();
        s.insert_prompt_version(&version("v1")).unwrap();
        let mut changed = version("v1");
        changed.source = "other".into();
        assert!(matches!(
            s.insert_prompt_version(&changed),
            Err(StoreError::Exists(_))
        ));
        s.insert_prompt_version(&version("v2")).unwrap();
        let all = s.prompt_versions().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], version("v1"));
    }

    #[test]
    fn state_keeps_the_latest_value() {
        let s = Store::in_memory().unwrap();
        s.put_prompt_state("active:t", &json!("v1")).unwrap();
        s.put_prompt_state("active:t", &json!("v2")).unwrap();
        assert_eq!(
            s.prompt_state().unwrap(),
            vec![("active:t".to_string(), json!("v2"))]
        );
    }
}
