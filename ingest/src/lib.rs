//! Ingest: polls the review, listing and shipment APIs of every configured shop and
//! publishes raw records.
//!
//! # Layout
//! - [`config`]: `IngestConfig`, `ShopConfig`, `ApiConfig` (TOP, aggregator, PDD, JD,
//!   Kuaidi100), `WaybillConfig` and `validate`.
//! - [`error`]: `IngestError`, classified into retry / refresh token / stop and alert /
//!   fix config.
//! - [`cursor`]: `Cursor`, the `CursorStore` trait, `FileCursorStore` and `MemoryCursorStore`.
//! - `window`: window math (overlap, settle, lookback) and splitting at the 1,500-rating cap.
//! - `platforms`: the clients of each API (`top`: signing, envelopes, error codes;
//!   `top_commerce`: TOP listings and logistics traces; `aggregator`; `pdd` and `jd`: signing, envelopes, error codes, listings, traces, PDD
//!   token refresh; `kuaidi100`: waybill queries) and `trade_rate`, which turns one
//!   TradeRate into one `RawRecord`.
//! - `poller`: the per-shop loop (window → pages → records → sink → cursor).
//! - `listings`: listing snapshots (the `ListingApi` of PDD and JD, status mapping, the
//!   per-shop listing poller publishing changed items to the listings sink).
//! - `shipments`: shipment snapshots (the `ShipmentApi` of Kuaidi100, the per-shop poller
//!   publishing changed traces to the shipments sink; PDD and JD implement it too);
//!   `shipment_status`: the one mapping of
//!   Kuaidi100 states / fine codes and TMC node actions to `ShipmentStatus`.
//! - `rate_limit`: process-wide token buckets per app / method / shop (PDD's §6 quotas).
//! - `health`: source-health transitions, one `SourceHealth` record per change.
//! - `snapshot_loop`: the listing and shipment pollers' wait, backoff and health reporting.
//! - `clock`: the current time and the platforms' GMT+8 timestamps.
//! - `metrics`: `shopwatch_ingest_*` metrics.
//!
//! [`run`] polls every shop concurrently, one task per shop and kind of data (reviews,
//! listings, shipments), until the shutdown token is cancelled. Records are Avro single-object encoded `schemas::RawRecord`s keyed by entity
//! key; a shop's cursor advances only after the review sink acknowledged the records.
//!
//! **Invariants:** buyer nicks never leave this crate unmasked; a credential never appears in
//! a log line, an error or a record; one shop's failures never stop another shop's poller.

pub mod config;
pub mod cursor;
pub mod error;

mod clock;
mod health;
mod listings;
mod metrics;
mod platforms;
mod poller;
mod rate_limit;
mod shipment_status;
mod shipments;
mod snapshot_loop;
mod window;

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn, Instrument};

pub use config::{
    AggregatorConfig, ApiConfig, IngestConfig, JdConfig, Kuaidi100Config, PddConfig, ShopConfig,
    SignMethod, TopConfig, WaybillConfig,
};
pub use cursor::{Cursor, CursorStore, FileCursorStore, MemoryCursorStore};
pub use error::{CursorError, ErrorClass, IngestError, Result};

use crate::clock::{Clock, SystemClock};
use crate::poller::{PollSettings, ShopPoller};

/// Where ingest publishes: reviews (`shopwatch.raw.reviews`), source health
/// (`shopwatch.raw.health`), shipments (`shopwatch.raw.shipments`) and listings
/// (`shopwatch.raw.listings`).
#[derive(Clone)]
pub struct IngestSinks {
    /// Receives one record per new review.
    pub reviews: Arc<dyn bus::RecordSink>,
    /// Receives one `SourceHealth` record per change of a shop's API condition.
    pub health: Arc<dyn bus::RecordSink>,
    /// Receives `Shipment` snapshots (`shopwatch.raw.shipments`) of the configured waybills
    /// (Kuaidi100, PDD, JD, TOP shops).
    pub shipments: Arc<dyn bus::RecordSink>,
    /// Receives `Listing` snapshots (`shopwatch.raw.listings`) of the PDD, JD and TOP shops
    /// with `listings = true`.
    pub listings: Arc<dyn bus::RecordSink>,
}

impl std::fmt::Debug for IngestSinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestSinks")
            .field("reviews", &self.reviews.topic())
            .field("health", &self.health.topic())
            .field("shipments", &self.shipments.topic())
            .field("listings", &self.listings.topic())
            .finish()
    }
}

/// Registers the `shopwatch_ingest_*` metric families in the default Prometheus registry,
/// so `/metrics` lists them before the first request. Idempotent.
pub fn register_metrics() {
    let _ = metrics::metrics();
}

/// Polls every configured shop until `shutdown` is cancelled.
///
/// Returns `Err(IngestError::InvalidConfig)` before polling when the configuration is
/// invalid, and `Err(IngestError::TaskFailed)` after shutdown when a poller panicked.
/// Platform errors never end it: they are logged, counted, reported as source health and
/// retried per shop.
pub async fn run(
    config: IngestConfig,
    sinks: IngestSinks,
    cursors: Arc<dyn CursorStore>,
    shutdown: CancellationToken,
) -> Result<()> {
    run_with_clock(config, sinks, cursors, shutdown, Arc::new(SystemClock)).await
}

pub(crate) async fn run_with_clock(
    config: IngestConfig,
    sinks: IngestSinks,
    cursors: Arc<dyn CursorStore>,
    shutdown: CancellationToken,
    clock: Arc<dyn Clock>,
) -> Result<()> {
    config.validate().map_err(IngestError::InvalidConfig)?;
    register_metrics();
    let http = reqwest::Client::builder()
        .timeout(platforms::timeout(config.request_timeout_secs))
        .connect_timeout(platforms::timeout(config.request_timeout_secs))
        .build()
        .map_err(|error| {
            IngestError::InvalidConfig(vec![format!("http client: {}", error.without_url())])
        })?;
    if config.shops.is_empty() {
        warn!("no shops configured; ingest idles until shutdown");
    }
    let settings = PollSettings::from_config(&config);
    let mut tasks = JoinSet::new();
    for shop in &config.shops {
        let clients = platforms::build_clients(shop, http.clone(), Arc::clone(&clock));
        if let Some(shipment_api) = clients.shipments {
            let span = tracing::info_span!(
                "ingest_shipments",
                api = shipment_api.api(),
                platform = shop.platform.as_str(),
                shop_id = %shop.shop_id
            );
            let shipment_poller = shipments::ShipmentPoller {
                api: shipment_api,
                platform: shop.platform,
                shop_id: shop.shop_id.clone(),
                sink: Arc::clone(&sinks.shipments),
                clock: Arc::clone(&clock),
                published: std::collections::HashMap::new(),
            };
            let retry = snapshot_loop::SnapshotLoop {
                settings,
                health: health::HealthTracker::new(
                    shipment_poller.api.api(),
                    shipment_poller.api.shipment_source(),
                    shop.platform,
                    shop.shop_id.clone(),
                    config.api_failing_after_errors,
                )
                .for_subject("shipments"),
                health_sink: Arc::clone(&sinks.health),
                clock: Arc::clone(&clock),
                interval: std::time::Duration::from_secs(config.shipments_interval_secs),
                attempt: 0,
            };
            tasks.spawn(
                shipment_poller
                    .run(retry, shutdown.clone())
                    .instrument(span),
            );
        }
        if let Some(listing_api) = clients.listings {
            let span = tracing::info_span!(
                "ingest_listings",
                api = listing_api.api(),
                platform = shop.platform.as_str(),
                shop_id = %shop.shop_id
            );
            let listing_poller = listings::ListingPoller {
                api: listing_api,
                platform: shop.platform,
                shop_id: shop.shop_id.clone(),
                sink: Arc::clone(&sinks.listings),
                clock: Arc::clone(&clock),
                published: std::collections::HashMap::new(),
            };
            let retry = snapshot_loop::SnapshotLoop {
                settings,
                health: health::HealthTracker::new(
                    listing_poller.api.api(),
                    listing_poller.api.listing_source(),
                    shop.platform,
                    shop.shop_id.clone(),
                    config.api_failing_after_errors,
                )
                .for_subject("listings"),
                health_sink: Arc::clone(&sinks.health),
                clock: Arc::clone(&clock),
                interval: std::time::Duration::from_secs(config.listings_interval_secs),
                attempt: 0,
            };
            tasks.spawn(listing_poller.run(retry, shutdown.clone()).instrument(span));
        }
        let Some(api) = clients.reviews else {
            continue;
        };
        let span = tracing::info_span!(
            "ingest_poller",
            api = api.api(),
            platform = shop.platform.as_str(),
            shop_id = %shop.shop_id
        );
        let poller = ShopPoller::new(
            shop,
            api,
            settings,
            config.api_failing_after_errors,
            sinks.clone(),
            Arc::clone(&cursors),
            Arc::clone(&clock),
        );
        tasks.spawn(poller.run(shutdown.clone()).instrument(span));
    }
    if tasks.is_empty() {
        shutdown.cancelled().await;
        return Ok(());
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        if let Err(join_error) = joined {
            error!(error = %join_error, "poller task failed");
            failure.get_or_insert(IngestError::TaskFailed {
                reason: join_error.to_string(),
            });
        }
    }
    failure.map_or(Ok(()), Err)
}
