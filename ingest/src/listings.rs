//! Listing snapshots: per-shop polling of item status, price and stock into `Listing` records.
//!
//! Contract:
//! - a [`ListingApi`] returns the shop's complete current catalogue, one [`ListingSnapshot`]
//!   per item (normalized `schemas::Listing` plus the platform's JSON for `payload`);
//! - [`to_raw_record`] keys the record by item id; its event version is a hash of the
//!   normalized snapshot ([`snapshot_version`]), so an unchanged item yields the same event id
//!   (deduplicated downstream) and a change is a new fact;
//! - the [`ListingPoller`] publishes only items whose version changed since its previous
//!   poll (all of them on its first poll), plus a `deleted` snapshot (`raw_status`
//!   `absent`) for an item that vanished from a complete catalogue; it never stops on a
//!   platform error: it logs, counts, reports source health and retries with backoff (see `snapshot_loop`);
//! - the platform status codes map to `ListingStatus` in [`jd_ware_status`] and
//!   [`pdd_goods_status`].

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bus::RecordSink;
use schemas::{Entity, Listing, ListingStatus, Platform, Provenance, RawRecord};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::clock::Clock;
use crate::error::Result;
use crate::snapshot_loop::{self, SnapshotLoop};

/// One item's normalized state and the platform's JSON it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListingSnapshot {
    pub(crate) listing: Listing,
    pub(crate) payload: String,
}

/// A listing API of one shop.
#[async_trait]
pub(crate) trait ListingApi: Send + Sync {
    /// The API's short name (`pdd`, `jd`).
    fn api(&self) -> &'static str;
    /// The `source` of the records it yields (`jd:jingdong.ware.read.searchWare4Valid`).
    fn listing_source(&self) -> &'static str;
    /// Reads every item of the shop (all pages); see the module docs.
    async fn fetch_listings(&self) -> Result<Vec<ListingSnapshot>>;
}

/// Maps a JD `wareStatus` (and the stock, when known) to a listing status.
pub(crate) fn jd_ware_status(code: i64, stock: Option<i64>) -> ListingStatus {
    match code {
        8 if stock == Some(0) => ListingStatus::SoldOut,
        8 => ListingStatus::OnSale,
        1 | 2 | 4 | 1028 => ListingStatus::Delisted,
        513 | 514 | 516 | 520 => ListingStatus::PendingReview,
        _ => ListingStatus::Unknown,
    }
}

/// Maps a PDD goods `status` (1 on sale, 2 delisted, 3 sold out, 4 deleted).
pub(crate) fn pdd_goods_status(code: i64) -> ListingStatus {
    match code {
        1 => ListingStatus::OnSale,
        2 => ListingStatus::Delisted,
        3 => ListingStatus::SoldOut,
        4 => ListingStatus::Deleted,
        _ => ListingStatus::Unknown,
    }
}

/// Returns the event version of a snapshot: hex SHA-256 of its normalized JSON (the
/// platform's `payload` and modification time excluded, so only a real change counts).
pub(crate) fn snapshot_version(listing: &Listing) -> String {
    let normalized = Listing {
        modified_at_ms: None,
        ..listing.clone()
    };
    // Serializing a plain struct of strings and numbers cannot fail; an empty text would
    // still give a stable (if coarse) version.
    let text = serde_json::to_string(&normalized).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Builds the listing record of `snapshot`; see the module docs.
pub(crate) fn to_raw_record(
    snapshot: &ListingSnapshot,
    platform: Platform,
    shop_id: &str,
    source: &str,
    observed_at_ms: i64,
) -> RawRecord {
    RawRecord::new(
        Provenance {
            platform,
            shop_id: shop_id.to_owned(),
            entity_id: snapshot.listing.item_id.clone(),
            version: snapshot_version(&snapshot.listing),
            source: source.to_owned(),
            occurred_at_ms: snapshot.listing.modified_at_ms.unwrap_or(observed_at_ms),
            observed_at_ms,
            payload: snapshot.payload.clone(),
        },
        Entity::Listing(snapshot.listing.clone()),
    )
}

/// Polls one shop's listings until shutdown.
pub(crate) struct ListingPoller {
    pub(crate) api: Arc<dyn ListingApi>,
    pub(crate) platform: Platform,
    pub(crate) shop_id: String,
    pub(crate) sink: Arc<dyn RecordSink>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Item id → version last published.
    pub(crate) published: HashMap<String, String>,
}

impl ListingPoller {
    /// Polls and publishes changes until `shutdown` is cancelled (see `snapshot_loop`).
    pub(crate) async fn run(self, retry: SnapshotLoop, shutdown: CancellationToken) {
        snapshot_loop::run_polls(self, retry, shutdown).await;
    }

    /// One poll: fetch, diff against the last published versions, publish; returns how
    /// many records were published.
    pub(crate) async fn poll_once(&mut self) -> Result<usize> {
        let snapshots = self.api.fetch_listings().await?;
        let observed_at_ms = self.clock.now_ms();
        let source = self.api.listing_source();
        let mut current: HashMap<String, String> = HashMap::new();
        let mut fresh = Vec::new();
        for snapshot in &snapshots {
            let record = to_raw_record(
                snapshot,
                self.platform,
                &self.shop_id,
                source,
                observed_at_ms,
            );
            let version = snapshot_version(&snapshot.listing);
            if self.published.get(&snapshot.listing.item_id) != Some(&version) {
                fresh.push(record);
            }
            current.insert(snapshot.listing.item_id.clone(), version);
        }
        let vanished: Vec<String> = self
            .published
            .keys()
            .filter(|item_id| !current.contains_key(*item_id))
            .cloned()
            .collect();
        for item_id in &vanished {
            let gone = ListingSnapshot {
                listing: Listing {
                    item_id: item_id.clone(),
                    title: None,
                    status: ListingStatus::Deleted,
                    raw_status: Some("absent".to_owned()),
                    price_fen: None,
                    stock: None,
                    skus: Vec::new(),
                    modified_at_ms: None,
                },
                payload: "{}".to_owned(),
            };
            let version = snapshot_version(&gone.listing);
            if version != self.published[item_id] {
                fresh.push(to_raw_record(
                    &gone,
                    self.platform,
                    &self.shop_id,
                    source,
                    observed_at_ms,
                ));
            }
            current.insert(item_id.clone(), version);
        }
        snapshot_loop::publish(self.sink.as_ref(), &fresh).await?;
        self.published = current;
        debug!(
            api = self.api.api(),
            shop_id = %self.shop_id,
            items = snapshots.len(),
            published = fresh.len(),
            "listings polled"
        );
        Ok(fresh.len())
    }
}

#[async_trait]
impl snapshot_loop::SnapshotPoll for ListingPoller {
    async fn poll_once(&mut self) -> Result<usize> {
        ListingPoller::poll_once(self).await
    }

    fn api(&self) -> &'static str {
        self.api.api()
    }

    fn shop_id(&self) -> &str {
        &self.shop_id
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bus::memory::{MemoryTopic, SinkAcks};
    use bus::metrics::StageCounters;
    use bus::RecordSource;

    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn platform_status_codes_map_to_listing_status() {
        let jd = [
            (8, Some(5), ListingStatus::OnSale),
            (8, None, ListingStatus::OnSale),
            (8, Some(0), ListingStatus::SoldOut),
            (1, None, ListingStatus::Delisted),
            (2, Some(3), ListingStatus::Delisted),
            (4, None, ListingStatus::Delisted),
            (1028, None, ListingStatus::Delisted),
            (513, None, ListingStatus::PendingReview),
            (514, None, ListingStatus::PendingReview),
            (516, None, ListingStatus::PendingReview),
            (520, None, ListingStatus::PendingReview),
            (99, None, ListingStatus::Unknown),
        ];
        for (code, stock, status) in jd {
            assert_eq!(jd_ware_status(code, stock), status, "jd {code} {stock:?}");
        }
        let pdd = [
            (1, ListingStatus::OnSale),
            (2, ListingStatus::Delisted),
            (3, ListingStatus::SoldOut),
            (4, ListingStatus::Deleted),
            (0, ListingStatus::Unknown),
        ];
        for (code, status) in pdd {
            assert_eq!(pdd_goods_status(code), status, "pdd {code}");
        }
    }

    fn listing(item_id: &str, price_fen: i64) -> Listing {
        Listing {
            item_id: item_id.to_owned(),
            title: Some("杯子".to_owned()),
            status: ListingStatus::OnSale,
            raw_status: Some("8".to_owned()),
            price_fen: Some(price_fen),
            stock: Some(3),
            skus: Vec::new(),
            modified_at_ms: Some(1),
        }
    }

    #[test]
    fn the_version_follows_the_normalized_snapshot_only() {
        let base = listing("1", 990);
        let version = snapshot_version(&base);
        assert_eq!(version.len(), 64);
        let touched = Listing {
            modified_at_ms: Some(2),
            ..base.clone()
        };
        assert_eq!(snapshot_version(&touched), version);
        assert_ne!(snapshot_version(&listing("1", 991)), version);
        let snapshot = |payload: &str| ListingSnapshot {
            listing: base.clone(),
            payload: payload.to_owned(),
        };
        let one = to_raw_record(&snapshot("{\"a\":1}"), Platform::Jd, "s", "src", 5);
        let two = to_raw_record(&snapshot("{\"a\":2}"), Platform::Jd, "s", "src", 9);
        assert_eq!(one.event_id, two.event_id);
        assert_eq!(one.occurred_at_ms, 1);
        assert_eq!(one.entity_id, "1");
        assert_eq!(one.listing.as_ref(), Some(&base));
    }

    struct FakeApi(Mutex<Vec<ListingSnapshot>>);

    #[async_trait]
    impl ListingApi for FakeApi {
        fn api(&self) -> &'static str {
            "jd"
        }
        fn listing_source(&self) -> &'static str {
            "fake"
        }
        async fn fetch_listings(&self) -> Result<Vec<ListingSnapshot>> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    #[tokio::test]
    async fn a_vanished_item_is_published_once_as_deleted() {
        let snapshot = |id: &str| ListingSnapshot {
            listing: listing(id, 100),
            payload: "{}".to_owned(),
        };
        let api = Arc::new(FakeApi(Mutex::new(vec![snapshot("1"), snapshot("2")])));
        let topic = MemoryTopic::new("shopwatch.raw.listings", 100);
        let mut source = topic.subscribe("test", StageCounters::new("reader"));
        let mut poller = ListingPoller {
            api: api.clone(),
            platform: Platform::Jd,
            shop_id: "s".to_owned(),
            sink: Arc::new(topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest"))),
            clock: Arc::new(SystemClock),
            published: HashMap::new(),
        };
        assert_eq!(poller.poll_once().await.unwrap(), 2);
        api.0.lock().unwrap().truncate(1);
        assert_eq!(poller.poll_once().await.unwrap(), 1);
        assert_eq!(poller.poll_once().await.unwrap(), 0);
        let records = source.next_batch(10).await.unwrap();
        assert_eq!(records.len(), 3);
        let last: RawRecord = schemas::AvroCodec::raw_record()
            .decode(&records[2].payload)
            .unwrap();
        assert_eq!(last.entity_id, "2");
        let gone = last.listing.unwrap();
        assert_eq!(gone.status, ListingStatus::Deleted);
        assert_eq!(gone.raw_status.as_deref(), Some("absent"));
    }
}
