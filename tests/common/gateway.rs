//! Starts the real gateway in-process on an ephemeral port, with its own actix system thread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use actix_web::dev::ServerHandle;
use serde_json::Value;
use sluice::config::Config;

/// The environment the test configs read keys from.
pub const TEST_ENV: [(&str, &str); 1] = [("UPSTREAM_KEY", "sk-test-key")];

/// A running gateway.
pub struct TestGateway {
    /// e.g. `http://127.0.0.1:PORT`
    pub url: String,
    /// The data directory (a fresh temporary one unless the TOML names one).
    pub data_dir: std::path::PathBuf,
    handle: ServerHandle,
    owns_data: bool,
}

/// Environment variables for a test config.
struct PairsEnv(Vec<(String, String)>);

impl sluice::config::Env for PairsEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }
}

/// A fresh, empty temporary directory.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-{tag}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The embedding model folder (fetched by scripts/fetch_model.sh, which the test command runs).
pub fn model_dir() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2");
    assert!(
        std::path::Path::new(dir).join("model.safetensors").exists(),
        "the embedding model is missing: run scripts/fetch_model.sh (scripts/test.sh does)"
    );
    dir.to_string()
}

impl TestGateway {
    /// Starts a gateway from TOML (its `[server] listen` is ignored: port 0 is used).
    pub fn start(toml: &str) -> TestGateway {
        Self::start_with_env(toml, &TEST_ENV)
    }

    /// As [`TestGateway::start`], reading `${VARS}` from `env`.
    pub fn start_with_env(toml: &str, env: &[(&str, &str)]) -> TestGateway {
        // Tests of the edge write their own [auth]; the others run without keys on loopback.
        let mut toml = if toml.contains("[auth]") {
            toml.to_string()
        } else {
            format!("{toml}\n[auth]\nenabled = false\n")
        };
        // Tests that do not ask for embeddings run without the model (faster start).
        if !toml.contains("[embeddings]") {
            toml.push_str("\n[embeddings]\nbackend = \"off\"\n");
        }
        let owns_data = !toml.contains("[store]");
        let data_dir = if owns_data {
            let dir = temp_dir("data");
            toml.push_str(&format!(
                "\n[store]\ndata_dir = {:?}\n",
                dir.display().to_string()
            ));
            dir
        } else {
            std::path::PathBuf::new()
        };
        let env = PairsEnv(
            env.iter()
                .chain(TEST_ENV.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let config = Config::from_toml(&toml, &env)
            .unwrap_or_else(|e| panic!("test config invalid: {e}"))
            .shared();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("gateway".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                    let (server, addr) = sluice::server::start(config, listener).unwrap();
                    tx.send((addr, server.handle())).unwrap();
                    let _ = server.await;
                });
            })
            .unwrap();
        let (addr, handle) = rx.recv().expect("gateway failed to start");
        TestGateway {
            url: format!("http://{addr}"),
            data_dir,
            handle,
            owns_data,
        }
    }

    /// POSTs JSON, returns the response.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_as(path, None, body).await
    }

    /// POSTs JSON with a bearer key when given, returns the response.
    pub async fn post_as(&self, path: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = client().post(format!("{}{path}", self.url)).json(body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send().await.unwrap()
    }

    /// GETs a path, returns status and JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = client()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The snapshot of one actor from `/admin/actors`.
    pub async fn actor(&self, name: &str) -> Value {
        let (_, v) = self.get_json("/admin/actors").await;
        v["actors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no actor {name}"))
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if self.owns_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A plain HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A chat request body.
pub fn chat(model: &str, text: &str) -> Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// Reads an SSE body into its `data:` payloads.
pub async fn sse_data(resp: reqwest::Response) -> Vec<String> {
    parse_sse(&resp.text().await.unwrap())
}

/// The `data:` payloads of an SSE text.
pub fn parse_sse(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

/// The concatenated content deltas of OpenAI chunks.
pub fn joined_content(events: &[String]) -> String {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// A provider table for an OpenAI-format upstream, with fast retries.
pub fn openai_provider(name: &str, base_url: &str, max_retries: u32) -> String {
    format!(
        r#"
[providers.{name}]
kind = "openai"
base_url = "{base_url}"
api_key = "${{UPSTREAM_KEY}}"
[providers.{name}.retry]
max_retries = {max_retries}
base_ms = 10
factor = 2.0
jitter = 0.5
max_retry_after_secs = 5
[providers.{name}.timeouts]
connect_secs = 2
first_token_secs = 5
request_secs = 10
"#
    )
}

/// A provider table for an Anthropic-format upstream, with fast retries.
pub fn anthropic_provider(name: &str, base_url: &str, max_retries: u32) -> String {
    openai_provider(name, base_url, max_retries)
        .replace("kind = \"openai\"", "kind = \"anthropic\"")
}

/// A model entry.
pub fn model(name: &str, provider: &str) -> String {
    format!(
        r#"
[models."{name}"]
provider = "{provider}"
input_per_mtok = 1.0
output_per_mtok = 2.0
"#
    )
}
