//! Builds and starts the HTTP server and the actor system around a bound listener.

use std::{net::SocketAddr, sync::Arc};

use actix_web::{App, HttpServer, dev::Server, middleware, web};

use crate::{
    actors::supervisor::Supervisor,
    budget::{Alerts, Budgets},
    cache::flight::Flights,
    config::{self, Config, ProviderKind},
    edge::{self, keys::KeyStore},
    embed::Embeddings,
    http::{self, AppState},
    ledger::{CostQuery, Dimension, Ledger, LedgerError},
    money,
    observe::{self, LiveStats},
    pipeline::Gateway,
    prompts::{PromptError, PromptRouter},
    retrieval::{Retriever, ToolSearch},
    store::{Store, StoreError},
    tokens,
    tools::ToolRegistry,
};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding or configuring the socket failed.
    #[error("cannot start the HTTP server: {0}")]
    Io(#[from] std::io::Error),
    /// A built-in guardrail rule failed to compile.
    #[error("cannot compile guardrail rules: {0}")]
    Rules(#[from] crate::guardrails::RuleError),
    /// The configuration is unsafe to serve as it is.
    #[error("{0}")]
    Unsafe(String),
    /// The data directory or its database cannot be used.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// A prompt version failed to load.
    #[error("cannot load prompt templates: {0}")]
    Prompts(#[from] PromptError),
    /// The ledger's database cannot be used.
    #[error("cannot open the ledger: {0}; check [ledger] in the config")]
    Ledger(#[from] LedgerError),
}

/// A started gateway: the server to await, its address, and the state to flush at shutdown.
pub struct Started {
    /// Await to serve until shutdown (SIGTERM or SIGINT stop it gracefully).
    pub server: Server,
    /// The bound address.
    pub addr: SocketAddr,
    /// The shared state.
    pub gateway: Gateway,
}

/// Opens the ledger and restores today's spending from it, on a thread of its own: database
/// clients may block or run their own runtime, which must not happen on an async worker.
fn open_ledger(config: &Config, store: &Store) -> Result<(Arc<Ledger>, Arc<Budgets>), StartError> {
    let alerts = Arc::new(Alerts::new(config.budgets.alert_webhook.clone()));
    let budgets = Budgets::new(config.budgets.clone(), alerts);
    let today = budgets.today();
    let ledger = std::thread::scope(|s| {
        s.spawn(|| -> Result<Ledger, LedgerError> {
            let db = config.store.data_dir.join("sluice.db");
            let ledger = Ledger::open(
                &config.ledger,
                store.path().unwrap_or(&db),
                &config.store.data_dir,
            )?;
            let spent = ledger.store().aggregate(&CostQuery {
                from_day: today.clone(),
                to_day: today.clone(),
                user: None,
                by: Dimension::User,
            })?;
            budgets.restore(
                spent
                    .into_iter()
                    .map(|g| (g.key, money::from_pico(g.cost_pico))),
            );
            Ok(ledger)
        })
        .join()
        .unwrap_or_else(|_| {
            Err(LedgerError::Schema(
                "the thread opening the ledger panicked".into(),
            ))
        })
    })?;
    tracing::info!(backend = ledger.store().kind(), "ledger open");
    Ok((Arc::new(ledger), budgets))
}

/// Starts the actors and the HTTP server on `listener`; must run inside an actix system.
/// Returns the server (await it to run until shutdown) and the bound address.
pub fn start(
    config: Arc<Config>,
    listener: std::net::TcpListener,
) -> Result<(Server, SocketAddr), StartError> {
    start_service(config, listener).map(|s| (s.server, s.addr))
}

/// Like [`start`], also returning the gateway's state, for [`Gateway::shutdown`].
pub fn start_service(
    config: Arc<Config>,
    listener: std::net::TcpListener,
) -> Result<Started, StartError> {
    let listen = listener.local_addr()?;
    config::check_exposure(listen, &config.auth).map_err(StartError::Unsafe)?;
    // The mock provider counts every answer: build its tokenizers off the request path, now.
    let counted: Vec<String> = config
        .models
        .values()
        .filter(|m| {
            config
                .providers
                .get(&m.provider)
                .is_some_and(|p| p.kind == ProviderKind::Mock)
        })
        .map(|m| m.name.clone())
        .collect();
    std::thread::spawn(move || tokens::warm_up(counted.iter().map(String::as_str)));
    log_providers(&config);
    let guard_threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let store = Arc::new(Store::open(&config.store.data_dir)?);
    let prompts = Arc::new(PromptRouter::load(&config, store.clone())?);
    let embeddings = Embeddings::start(&config.embeddings);
    let retriever = Arc::new(Retriever::load(
        store.clone(),
        embeddings.clone(),
        config.retrieval.clone(),
    )?);
    let search = ToolSearch::new(retriever.clone(), tokio::runtime::Handle::current());
    let tools = Arc::new(
        ToolRegistry::with_builtins(Some(Arc::new(search)))
            .map_err(|e| StartError::Unsafe(format!("cannot register the built-in tools: {e}")))?,
    );
    let (ledger, budgets) = open_ledger(&config, &store)?;
    observe::metrics::handle();
    let services = Supervisor::launch(config.clone(), guard_threads, ledger.clone())?;
    let gateway = Gateway {
        config: config.clone(),
        services,
        keys: Arc::new(KeyStore::new(&config.auth)),
        store,
        prompts,
        embeddings,
        flights: Arc::new(Flights::default()),
        retriever,
        tools,
        ledger,
        budgets,
        live: Arc::new(LiveStats::default()),
    };
    let state = web::Data::new(AppState {
        gateway: gateway.clone(),
    });
    let addr = listen;
    let cors = config.cors.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(middleware::from_fn(edge::guard))
            // Outside the guard, so preflights are answered without a key.
            .wrap(edge::cors(&cors))
            .wrap(middleware::from_fn(http::tag_request_id))
            .configure(http::configure)
            .default_service(web::to(http::not_found))
    })
    // A client that closes its side has gone: drop its stream and cancel the upstream call.
    .h1_allow_half_closed(false)
    // Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
    // delayed ACKs stall keep-alive clients by tens of milliseconds per request.
    .tcp_nodelay(true)
    .backlog(4096)
    .shutdown_timeout(config.server.shutdown_grace.as_secs());
    if config.server.workers > 0 {
        server = server.workers(config.server.workers);
    }
    let server = server.listen(listener)?.run();
    Ok(Started {
        server,
        addr,
        gateway,
    })
}

fn log_providers(config: &Config) {
    for p in config.providers.values() {
        match &p.disabled_reason {
            Some(reason) => {
                tracing::warn!(provider = %p.name, kind = %p.kind, %reason, "provider disabled")
            }
            None => tracing::info!(provider = %p.name, kind = %p.kind, "provider enabled"),
        }
    }
    for m in config.models.values() {
        if let Some(own) = &m.standing_in_for {
            tracing::warn!(model = %m.name, provider = %own, standby = %m.provider, "model served by its standby provider");
        } else if let Some(reason) = &m.disabled_reason {
            tracing::warn!(model = %m.name, %reason, "model unavailable");
        }
    }
}
