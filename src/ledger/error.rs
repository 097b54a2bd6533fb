//! Ledger errors. Messages carry the database's own text but never a password.

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Could not reach or log in to the database. `target` is user@host:port/db, no password.
    #[error("ledger: cannot connect to {target}: {detail}")]
    Connect { target: String, detail: String },
    /// Connected, but applying the schema (or preparing statements) failed.
    #[error("ledger: schema setup failed: {0}")]
    Schema(String),
    /// A batch was not stored; its transaction was rolled back.
    #[error("ledger: write failed: {0}")]
    Write(String),
    /// A read failed.
    #[error("ledger: query failed: {0}")]
    Query(String),
    /// The overflow file cannot be used.
    #[error("ledger: overflow file {path}: {source}")]
    Overflow {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A connection URL (or key=value string) with any password replaced by '***'.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    // URL form: scheme://user:password@host...
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = rest_start..rest_start + at;
            if let Some(colon) = out[userinfo.clone()].find(':') {
                out.replace_range(userinfo.start + colon + 1..userinfo.end, "***");
            }
        }
    }
    // Query-string or key=value form: password=...
    let mut search_from = 0;
    while let Some(i) = out[search_from..].find("password=") {
        let start = search_from + i + "password=".len();
        let end = out[start..]
            .find(['&', ' '])
            .map_or(out.len(), |j| start + j);
        out.replace_range(start..end, "***");
        search_from = start + 3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:s3cr%40t@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=pw&sslmode=disable"),
            "postgres://h/db?user=u&password=***&sslmode=disable"
        );
        assert_eq!(
            redact_url("host=h password=pw user=u"),
            "host=h password=*** user=u"
        );
    }
}
