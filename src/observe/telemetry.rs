//! Logging and (optional) OpenTelemetry tracing.
//!
//! `init` installs the process-wide `tracing` subscriber: the JSON log layer we always had,
//! plus an OpenTelemetry layer that ships spans to an OTLP/HTTP collector, but only when
//! `telemetry.otlp_endpoint` is set. Without an endpoint the OTel slot in the layer stack is
//! `None`, no tracer provider, export thread or HTTP client is created, and span handling
//! costs exactly what it did before.
//!
//! How export works without a tokio runtime: `init` runs from plain `main`, before actix
//! starts any runtime. The SDK's `BatchSpanProcessor` queues finished spans and exports them
//! from its own OS thread, driving the exporter future with a simple blocking executor. Our
//! reqwest client needs a tokio reactor, which that thread does not have, so we give the
//! exporter a tiny HTTP client (`RuntimeClient`) that hands each request to a dedicated
//! current-thread tokio runtime living on its own `otel-export` thread, and waits for the
//! answer. Both threads are owned by `Telemetry` and stopped by `Telemetry::shutdown`.
//! Nothing here touches the actix/tokio runtimes of the server, so exporting never competes
//! with request handling and shutting down from any thread cannot deadlock.
//!
//! Levels: each layer has its own filter. The logs take `RUST_LOG` (default `info`) and
//! events only; the traces take this crate's spans at info and above, so quieting the logs
//! never empties the traces. With no exporter, no layer wants any span: span call sites are
//! disabled and a span costs one cached check.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterExt as _, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Per-request limit for one export (connect + send + response).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `shutdown` may block flushing spans still queued.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// OTLP responses are tiny; refuse to buffer anything silly.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Path appended to the configured base endpoint, as the OTLP/HTTP spec does for traces.
const TRACES_PATH: &str = "/v1/traces";

/// `[telemetry]`, validated by the config module.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// Base URL of an OTLP/HTTP collector, e.g. `http://127.0.0.1:4318`; `/v1/traces` is
    /// appended unless already present. Unset (or blank) turns tracing export off.
    pub otlp_endpoint: Option<String>,
    /// `service.name` resource attribute on every exported span.
    pub service_name: String,
    /// Fraction of new traces to record, 0.0..=1.0. Child spans follow their parent's decision.
    pub sample_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "sluice".to_owned(),
            sample_ratio: 1.0,
        }
    }
}

impl TelemetryConfig {
    /// The full traces URL, or `None` when export is off.
    fn traces_url(&self) -> Option<String> {
        let base = self.otlp_endpoint.as_deref()?.trim();
        if base.is_empty() {
            return None;
        }
        let base = base.trim_end_matches('/');
        if base.ends_with(TRACES_PATH) {
            Some(base.to_owned())
        } else {
            Some(format!("{base}{TRACES_PATH}"))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.sample_ratio must be between 0.0 and 1.0, got {0}")]
    InvalidSampleRatio(f64),
    #[error("telemetry.otlp_endpoint {endpoint:?} is not a valid http(s) URL")]
    InvalidEndpoint { endpoint: String },
    #[error("could not build the OTLP HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("could not start the OTLP export runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("a global tracing subscriber is already installed: {0}")]
    SubscriberAlreadySet(#[from] tracing_subscriber::util::TryInitError),
}

/// Handle on the telemetry pipeline. Keep it alive for the life of the process and call
/// [`Telemetry::shutdown`] on the way out so queued spans are flushed; dropping it does
/// the same.
#[derive(Debug)]
pub struct Telemetry {
    export: Option<Export>,
}

#[derive(Debug)]
struct Export {
    provider: SdkTracerProvider,
    runtime: ExportRuntime,
}

impl Telemetry {
    /// Whether spans are being exported (an OTLP endpoint was configured).
    pub fn is_exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Flush queued spans (waiting at most a few seconds) and stop the export threads.
    /// Spans that end after this are dropped.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(export) = self.export.take() else {
            return;
        };
        // Flush first, while the runtime that carries the HTTP requests is still running.
        if let Err(err) = export.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(error = %err, "could not flush all trace spans on shutdown");
        }
        export.runtime.stop();
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Build the logging + tracing pipeline and install it as the global subscriber.
/// Call once, from `main`, before starting any runtime (it works either way).
pub fn init<W>(
    cfg: &TelemetryConfig,
    filter: EnvFilter,
    writer: W,
) -> Result<Telemetry, TelemetryError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let (telemetry, subscriber) = build(cfg, filter, writer)?;
    // On error `telemetry` is dropped here, which shuts the export pipeline down again.
    subscriber.try_init()?;
    Ok(telemetry)
}

/// Same as [`init`] without installing anything globally: for tests and benchmarks that
/// scope the subscriber with `tracing::subscriber::with_default`.
pub fn build<W>(
    cfg: &TelemetryConfig,
    filter: EnvFilter,
    writer: W,
) -> Result<
    (
        Telemetry,
        Box<dyn tracing::Subscriber + Send + Sync + 'static>,
    ),
    TelemetryError,
>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let export = match cfg.traces_url() {
        Some(url) => Some(start_export(cfg, url)?),
        None => None,
    };
    // Without an exporter there is no trace layer at all (an empty one would still declare an
    // interest in every call site of every crate): no layer wants spans, their call sites are
    // switched off, and disabled events are decided once per call site.
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match &export {
        None => Box::new(tracing_subscriber::registry().with(log_layer(filter, writer))),
        Some(export) => {
            // Traces: our own spans at info and above, whatever RUST_LOG says of the logs.
            let otel_layer = tracing_opentelemetry::layer()
                .with_tracer(export.provider.tracer("sluice"))
                .with_filter(Targets::new().with_target("sluice", Level::INFO));
            Box::new(
                tracing_subscriber::registry()
                    .with(otel_layer)
                    .with(log_layer(filter, writer)),
            )
        }
    };
    Ok((Telemetry { export }, subscriber))
}

/// The JSON log lines as ever: `RUST_LOG`'s events, never spans.
pub fn log_layer<S, W>(filter: EnvFilter, writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .event_format(super::jsonlog::JsonLine)
        .with_writer(writer)
        .with_filter(filter.and(EventsOnly))
}

/// Passes events, never spans; decided once per call site, so a disabled one costs nothing
/// (a filter consulted on every call would be asked about each debug event of the HTTP stack).
struct EventsOnly;

impl<S> tracing_subscriber::layer::Filter<S> for EventsOnly {
    fn enabled(
        &self,
        meta: &tracing::Metadata<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        meta.is_event()
    }

    /// No limit of its own, so the stack's hint is `RUST_LOG`'s: `try_init` hands it to the
    /// `log` crate, whose disabled records (actix-cors logs one per response at debug) then
    /// stop at one comparison instead of reaching the `log`-to-`tracing` bridge.
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn callsite_enabled(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if meta.is_span() {
            tracing::subscriber::Interest::never()
        } else {
            tracing::subscriber::Interest::always()
        }
    }
}

fn start_export(cfg: &TelemetryConfig, url: String) -> Result<Export, TelemetryError> {
    if !(0.0..=1.0).contains(&cfg.sample_ratio) {
        return Err(TelemetryError::InvalidSampleRatio(cfg.sample_ratio));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(TelemetryError::InvalidEndpoint { endpoint: url });
    }
    let runtime = ExportRuntime::start()?;
    let client = RuntimeClient {
        client: reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build()?,
        runtime: runtime.handle.clone(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(client)
        .build()?;
    let provider = SdkTracerProvider::builder()
        // Batches are sent from the processor's own thread (through `runtime`).
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(cfg.service_name.clone())
                .build(),
        )
        .build();
    Ok(Export { provider, runtime })
}

/// A current-thread tokio runtime on a dedicated thread, used only to run OTLP requests.
#[derive(Debug)]
struct ExportRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ExportRuntime {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Its blocking pool (DNS lookups) is quiet too, see below.
            .on_thread_start(|| std::mem::forget(silence_tracing()))
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("otel-export".to_owned())
            .spawn(move || {
                let _quiet = silence_tracing();
                // Drives every task spawned on `handle` until asked to stop (or the
                // sender is dropped).
                let _ = runtime.block_on(stopped);
                runtime.shutdown_timeout(Duration::from_millis(500));
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Route this thread's `tracing` output nowhere, for as long as the guard lives. The
/// export runtime's HTTP stack (hyper, h2, reqwest) would otherwise, under a verbose
/// filter, open spans that get exported in the next batch, whose export opens more spans,
/// and so on. Export failures are still reported: the SDK logs them from the batch
/// processor's thread, which keeps the normal subscriber.
fn silence_tracing() -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default())
}

/// OTLP HTTP client that runs each request on the export runtime, so it can be called
/// from the batch processor's plain thread. Written out by hand (this is what
/// `#[async_trait]` would generate) to avoid one more direct dependency.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl HttpClient for RuntimeClient {
    fn send_bytes<'a, 'f>(
        &'a self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'f>>
    where
        'a: 'f,
        Self: 'f,
    {
        let task = self.runtime.spawn(send(self.client.clone(), request));
        // If the runtime is already gone the task is cancelled and we report that.
        Box::pin(async move { task.await? })
    }
}

async fn send(
    client: reqwest::Client,
    request: Request<Bytes>,
) -> Result<Response<Bytes>, HttpError> {
    let mut response = client.execute(request.try_into()?).await?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err("OTLP response body too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    let mut out = Response::builder().status(status).body(Bytes::from(body))?;
    *out.headers_mut() = headers;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn cfg(endpoint: Option<&str>) -> TelemetryConfig {
        TelemetryConfig {
            otlp_endpoint: endpoint.map(str::to_owned),
            ..TelemetryConfig::default()
        }
    }

    #[test]
    fn no_endpoint_means_no_exporter() {
        let (telemetry, subscriber) = build(&cfg(None), EnvFilter::new("info"), std::io::sink)
            .expect("build without endpoint");
        assert!(!telemetry.is_exporting());
        // Spans still work (for the log layer), they just go nowhere else.
        tracing::subscriber::with_default(subscriber, || {
            let _g = tracing::info_span!("request").entered();
            tracing::info!("hello");
        });
        let (telemetry, _) = build(&cfg(Some("  ")), EnvFilter::new("info"), std::io::sink)
            .expect("build with blank endpoint");
        assert!(!telemetry.is_exporting());
    }

    #[test]
    fn the_stack_reports_rust_logs_level_so_log_records_below_it_stop_early() {
        use tracing::level_filters::LevelFilter;
        for (directive, level) in [("info", LevelFilter::INFO), ("debug", LevelFilter::DEBUG)] {
            let (_, subscriber) = build(&cfg(None), EnvFilter::new(directive), std::io::sink)
                .expect("build without endpoint");
            assert_eq!(subscriber.max_level_hint(), Some(level), "{directive}");
        }
    }

    #[test]
    fn endpoint_means_exporter() {
        let (telemetry, _) = build(
            &cfg(Some("http://127.0.0.1:9")),
            EnvFilter::new("info"),
            std::io::sink,
        )
        .expect("build with endpoint");
        assert!(telemetry.is_exporting());
        telemetry.shutdown();
    }

    #[test]
    fn traces_url() {
        let url = |e: &str| cfg(Some(e)).traces_url();
        assert_eq!(
            url("http://h:4318").as_deref(),
            Some("http://h:4318/v1/traces")
        );
        assert_eq!(
            url("http://h:4318/").as_deref(),
            Some("http://h:4318/v1/traces")
        );
        assert_eq!(
            url("http://h:4318/v1/traces").as_deref(),
            Some("http://h:4318/v1/traces")
        );
        assert_eq!(cfg(None).traces_url(), None);
    }

    #[test]
    fn rejects_bad_config() {
        let mut c = cfg(Some("http://127.0.0.1:4318"));
        c.sample_ratio = 1.5;
        assert!(matches!(
            build(&c, EnvFilter::new("info"), std::io::sink),
            Err(TelemetryError::InvalidSampleRatio(_))
        ));
        assert!(matches!(
            build(
                &cfg(Some("127.0.0.1:4318")),
                EnvFilter::new("info"),
                std::io::sink
            ),
            Err(TelemetryError::InvalidEndpoint { .. })
        ));
    }
}
