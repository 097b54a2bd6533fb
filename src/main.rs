//! The `sluice` command: `serve` (the default), `check-config` and `hash-key`.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use sluice::{
    config::{Config, ProcessEnv, TelemetryConfig},
    logbuf::LogBuffer,
    observe::telemetry::{self, Telemetry},
};

const USAGE: &str = "usage: sluice [serve] [--config PATH] [--listen ADDR]
       sluice check-config [--config PATH]
       sluice hash-key [KEY]     (reads the key from stdin when not given)

Without --config, ./config.toml is read, or the embedded defaults when it is absent.
Log level from RUST_LOG (default: info).";

struct Args {
    command: String,
    config: Option<PathBuf>,
    listen: Option<SocketAddr>,
    key: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        command: "serve".into(),
        config: None,
        listen: None,
        key: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "serve" | "check-config" => args.command = a,
            "hash-key" => {
                args.command = a;
                args.key = it.next();
            }
            "--config" => args.config = Some(it.next().ok_or("--config needs a path")?.into()),
            "--listen" => {
                let v = it.next().ok_or("--listen needs an address")?;
                args.listen = Some(v.parse().map_err(|_| {
                    format!("--listen {v:?} is not an address like 127.0.0.1:8080")
                })?);
            }
            "-h" | "--help" | "help" => args.command = "help".into(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// JSON log lines to stdout through a batched buffer (see `sluice::logbuf`), and trace export
/// when `[telemetry] otlp_endpoint` is set.
fn init_logging(cfg: &TelemetryConfig) -> Result<(LogBuffer, Telemetry), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,hnsw_rs=warn"));
    let logs = LogBuffer::start();
    let telemetry = telemetry::init(cfg, filter, logs.clone()).map_err(|e| e.to_string())?;
    Ok((logs, telemetry))
}

/// Prints the SHA-256 of a key, for `[[auth.keys]] sha256 = "…"`.
fn hash_key(key: Option<String>) -> ExitCode {
    let key = match key {
        Some(k) => k,
        None => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                eprintln!("sluice: cannot read the key from stdin: {e}");
                return ExitCode::FAILURE;
            }
            line.trim().to_string()
        }
    };
    if key.is_empty() {
        eprintln!("sluice: the key is empty");
        return ExitCode::from(2);
    }
    println!("{}", sluice::config::hex(&sluice::config::hash_key(&key)));
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sluice: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.command == "help" {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.command == "hash-key" {
        return hash_key(args.key);
    }
    let mut config = match Config::load(args.config.as_deref(), &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.command == "check-config" {
        println!(
            "config ok: {} providers, {} models, {} routes",
            config.providers.len(),
            config.models.len(),
            config.routes.len()
        );
        for p in config.providers.values() {
            if let Some(r) = &p.disabled_reason {
                println!("  provider {} disabled: {r}", p.name);
            }
        }
        if config.auth.enabled {
            println!("  auth on: {} key(s)", config.auth.keys.len());
            for k in &config.auth.keys {
                let fp = sluice::config::hex(&k.hash);
                println!("    {} (user {}, sha256 {}…)", k.name, k.user, &fp[..8]);
            }
        } else {
            println!("  auth off: loopback addresses only");
        }
        if let Err(e) = sluice::config::check_exposure(
            args.listen.unwrap_or(config.server.listen),
            &config.auth,
        ) {
            eprintln!("sluice: {e}");
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let (logs, telemetry) = match init_logging(&config.telemetry) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sluice: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = config.shared();
    let result = actix_web::rt::System::new().block_on(async move {
        let listener = std::net::TcpListener::bind(config.server.listen)
            .map_err(|e| format!("cannot bind {}: {e}", config.server.listen))?;
        let started = sluice::server::start_service(config, listener).map_err(|e| e.to_string())?;
        println!("sluice listening on http://{}", started.addr);
        let served = started.server.await.map_err(|e| e.to_string());
        // Stopped (SIGTERM, SIGINT): every record accepted so far reaches the ledger.
        started.gateway.shutdown().await;
        served
    });
    // Spans still queued are sent before the log's last lines are written.
    telemetry.shutdown();
    logs.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::FAILURE
        }
    }
}
