//! A real PostgreSQL for tests: `$SLUICE_TEST_POSTGRES_URL` (scripts/test.sh starts one), or a
//! throwaway server from scripts/postgres.sh that is stopped when the handle drops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// A running server.
pub struct PgServer {
    /// `postgres://…/sluice`
    pub url: String,
    /// Set when this test started the server and must stop it.
    dir: Option<String>,
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = Command::new("bash")
                .args(["scripts/postgres.sh", "stop", dir])
                .status();
        }
    }
}

impl PgServer {
    /// The server of the test run, or a new one.
    pub fn start() -> PgServer {
        if let Ok(url) = std::env::var("SLUICE_TEST_POSTGRES_URL") {
            return PgServer { url, dir: None };
        }
        let out = Command::new("bash")
            .args(["scripts/postgres.sh", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let dir = stdout
            .lines()
            .find_map(|l| l.strip_prefix("dir="))
            .map(str::to_string);
        let url = stdout.lines().last().unwrap().trim().to_string();
        PgServer { url, dir }
    }

    /// A new, empty database on the server; its URL. Tests sharing a server never see each
    /// other's rows.
    pub fn fresh_database(&self, tag: &str) -> String {
        let name = format!("{tag}_{:x}", rand::random::<u32>());
        let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = self
            .url
            .rsplit_once('/')
            .map_or(self.url.as_str(), |(b, _)| b);
        format!("{base}/{name}")
    }
}
