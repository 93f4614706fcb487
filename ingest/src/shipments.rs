//! Shipment snapshots: per-shop polling of configured waybills into `Shipment` records.
//!
//! Contract:
//! - a [`ShipmentApi`] returns the current trace of every waybill it tracks that has one
//!   (a waybill without any scan yet is left out);
//! - [`to_raw_record`] keys the record by waybill number; its event version is a hash of the
//!   normalized `Shipment`, so an unchanged trace yields the same event id and a new scan
//!   is a new fact;
//! - the [`ShipmentPoller`] publishes only waybills whose version changed since its previous
//!   poll, and never stops on a platform error: it logs, counts, reports source health and
//!   retries with backoff (see `snapshot_loop`).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bus::RecordSink;
use schemas::{Entity, Platform, Provenance, RawRecord, Shipment};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::clock::Clock;
use crate::error::Result;
use crate::snapshot_loop::{self, SnapshotLoop};

/// One waybill's normalized trace and the platform's JSON it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShipmentSnapshot {
    pub(crate) shipment: Shipment,
    pub(crate) payload: String,
}

/// A shipment API of one shop.
#[async_trait]
pub(crate) trait ShipmentApi: Send + Sync {
    /// The API's short name (`kuaidi100`).
    fn api(&self) -> &'static str;
    /// The `source` of the records it yields (`kuaidi100:poll/query.do`).
    fn shipment_source(&self) -> &'static str;
    /// Reads every tracked waybill; see the module docs.
    async fn fetch_shipments(&self) -> Result<Vec<ShipmentSnapshot>>;
}

/// Returns the event version of a shipment: hex SHA-256 of its normalized JSON.
pub(crate) fn shipment_version(shipment: &Shipment) -> String {
    // Serializing a plain struct of strings and numbers cannot fail.
    let text = serde_json::to_string(shipment).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Builds the shipment record of `snapshot`; see the module docs.
pub(crate) fn to_raw_record(
    snapshot: &ShipmentSnapshot,
    platform: Platform,
    shop_id: &str,
    source: &str,
    observed_at_ms: i64,
) -> RawRecord {
    RawRecord::new(
        Provenance {
            platform,
            shop_id: shop_id.to_owned(),
            entity_id: snapshot.shipment.waybill_no.clone(),
            version: shipment_version(&snapshot.shipment),
            source: source.to_owned(),
            occurred_at_ms: snapshot.shipment.last_event_at_ms,
            observed_at_ms,
            payload: snapshot.payload.clone(),
        },
        Entity::Shipment(snapshot.shipment.clone()),
    )
}

/// Polls one shop's waybills until shutdown.
pub(crate) struct ShipmentPoller {
    pub(crate) api: Arc<dyn ShipmentApi>,
    pub(crate) platform: Platform,
    pub(crate) shop_id: String,
    pub(crate) sink: Arc<dyn RecordSink>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Waybill → version last published.
    pub(crate) published: HashMap<String, String>,
}

impl ShipmentPoller {
    /// Polls and publishes changes until `shutdown` is cancelled (see `snapshot_loop`).
    pub(crate) async fn run(self, retry: SnapshotLoop, shutdown: CancellationToken) {
        snapshot_loop::run_polls(self, retry, shutdown).await;
    }

    /// One poll: fetch, diff against the last published versions, publish; returns how
    /// many records were published.
    pub(crate) async fn poll_once(&mut self) -> Result<usize> {
        let snapshots = self.api.fetch_shipments().await?;
        let observed_at_ms = self.clock.now_ms();
        let source = self.api.shipment_source();
        let mut fresh = Vec::new();
        let mut versions = Vec::new();
        for snapshot in &snapshots {
            let version = shipment_version(&snapshot.shipment);
            if self.published.get(&snapshot.shipment.waybill_no) != Some(&version) {
                fresh.push(to_raw_record(
                    snapshot,
                    self.platform,
                    &self.shop_id,
                    source,
                    observed_at_ms,
                ));
                versions.push((snapshot.shipment.waybill_no.clone(), version));
            }
        }
        snapshot_loop::publish(self.sink.as_ref(), &fresh).await?;
        self.published.extend(versions);
        debug!(
            api = self.api.api(),
            shop_id = %self.shop_id,
            waybills = snapshots.len(),
            published = fresh.len(),
            "shipments polled"
        );
        Ok(fresh.len())
    }
}

#[async_trait]
impl snapshot_loop::SnapshotPoll for ShipmentPoller {
    async fn poll_once(&mut self) -> Result<usize> {
        ShipmentPoller::poll_once(self).await
    }

    fn api(&self) -> &'static str {
        self.api.api()
    }

    fn shop_id(&self) -> &str {
        &self.shop_id
    }
}

/// One scan of a platform trace (PDD `trace_list`, JD `querytrace_result.data`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TraceNode {
    pub(crate) at_ms: i64,
    pub(crate) description: String,
    pub(crate) location: Option<String>,
    /// The TMC-style node action (`GOT`, `SIGNED`, …).
    pub(crate) action: Option<String>,
}

/// Builds the shipment of a platform trace; `None` when it has no scan yet. The status is
/// `shipment_status::from_node_action` of the latest scan; mobile numbers are masked in the
/// descriptions and the payload.
pub(crate) fn trace_shipment(
    waybill: &crate::config::WaybillConfig,
    mut nodes: Vec<TraceNode>,
    payload: String,
) -> Option<ShipmentSnapshot> {
    nodes.sort_by_key(|node| node.at_ms);
    let last = nodes.last()?.clone();
    let action = last.action.clone().unwrap_or_default();
    Some(ShipmentSnapshot {
        shipment: Shipment {
            waybill_no: waybill.waybill_no.clone(),
            carrier_code: waybill.carrier_code.clone(),
            carrier_name: None,
            order_id: waybill.order_id.clone(),
            status: crate::shipment_status::from_node_action(&action),
            raw_status: last.action.clone(),
            origin: None,
            destination: None,
            checkpoints: nodes
                .into_iter()
                .map(|node| schemas::Checkpoint {
                    at_ms: node.at_ms,
                    description: schemas::privacy::mask_phone_numbers(&node.description),
                    location: node.location,
                    raw_status: node.action,
                })
                .collect(),
            last_event_at_ms: last.at_ms,
        },
        payload: schemas::privacy::mask_phone_numbers(&payload),
    })
}
