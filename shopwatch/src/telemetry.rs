//! `/metrics` (Prometheus text format) and `/healthz` over HTTP, build info, and logging.
//!
//! Every role serves the process-wide default registry, where each crate registered its
//! families; `shopwatch_build_info{version}` is set once at start.

use std::net::SocketAddr;

use anyhow::Context;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, TextEncoder};
use tokio_util::sync::CancellationToken;

/// Registers `shopwatch_build_info` and every crate's families, so `/metrics` shows them
/// from the first scrape on (not only after the first event).
pub fn register_metrics() {
    let build_info = prometheus::register_int_gauge_vec!(
        "shopwatch_build_info",
        "Always 1; labels name the build.",
        &["version"]
    );
    if let Ok(build_info) = build_info {
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
    }
    let _ = bus::metrics::metrics();
    ingest::register_metrics();
    let _ = enrich::metrics::metrics();
    let _ = store::metrics::metrics();
    let _ = alerting::metrics::metrics();
}

async fn metrics_handler() -> impl IntoResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if let Err(error) = encoder.encode(&prometheus::gather(), &mut body) {
        tracing::warn!(error = %error, "cannot encode metrics");
    }
    (
        [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
        body,
    )
}

/// Binds `listen` and serves `/metrics` and `/healthz` until `shutdown`; returns the bound
/// address (useful with port 0) once listening.
pub async fn serve_metrics(
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    register_metrics();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen for /metrics on {listen} (set metrics.listen)"))?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::warn!(error = %error, "metrics server stopped");
        }
    });
    Ok(address)
}

/// Installs the log subscriber: JSON lines by default (`SHOPWATCH_LOG_FORMAT=text` for
/// humans), filtered by `RUST_LOG` or else `default_filter`, always on standard error.
pub fn init_logging(default_filter: &str, default_json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let json = match std::env::var("SHOPWATCH_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => default_json,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
    // Already installed (tests call this more than once): keep the first.
    let _ = result;
}
