//! The TOP listing and trace clients, and the snapshot pollers' health and backoff, against
//! a real `simulator::Simulator` on 127.0.0.1:0.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bus::memory::{MemoryTopic, SinkAcks};
use bus::metrics::StageCounters;
use bus::RecordSource;
use schemas::{AvroCodec, HealthCondition, ListingStatus, Platform, RawRecord, Secret};
use simulator::{
    Endpoint, Fault, Simulator, SimulatorConfig, DEFAULT_TOP_APP_KEY, DEFAULT_TOP_APP_SECRET,
    DEFAULT_TOP_SESSION, DEFAULT_TOP_SHOP_ID,
};
use tokio_util::sync::CancellationToken;

use super::top::TopClient;
use super::HttpTransport;
use crate::clock::{Clock, SystemClock};
use crate::config::{IngestConfig, SignMethod, TopConfig, WaybillConfig};
use crate::health::HealthTracker;
use crate::listings::{ListingApi, ListingPoller};
use crate::poller::PollSettings;
use crate::shipments::ShipmentApi;
use crate::snapshot_loop::SnapshotLoop;

async fn serve() -> (Simulator, String, CancellationToken) {
    let simulator = Simulator::new(SimulatorConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let router = simulator.router();
    let token = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(token.cancelled_owned())
            .await
    });
    (simulator, base, stop)
}

fn top_config(base: &str, simplify: bool) -> TopConfig {
    TopConfig {
        endpoint: format!("{base}/router/rest"),
        app_key: DEFAULT_TOP_APP_KEY.to_owned(),
        app_secret: Secret::new(DEFAULT_TOP_APP_SECRET),
        session: Secret::new(DEFAULT_TOP_SESSION),
        sign_method: SignMethod::Md5,
        simplify,
        listings: true,
        waybills: Vec::new(),
        calls_per_sec: None,
    }
}

fn client(config: TopConfig) -> TopClient {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    TopClient::new(
        config,
        HttpTransport {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            platform: "taobao",
        },
        clock,
    )
}

/// The TOP shop's items, all statuses, by id.
fn top_items(simulator: &Simulator) -> BTreeMap<String, simulator::SimItem> {
    simulator
        .items()
        .into_iter()
        .filter(|item| item.shop_id == DEFAULT_TOP_SHOP_ID)
        .map(|item| (item.item_id.to_string(), item))
        .collect()
}

fn expected_status(item: &simulator::SimItem) -> ListingStatus {
    match item.status {
        simulator::ListingStatus::OnSale if item.stock() == 0 => ListingStatus::SoldOut,
        simulator::ListingStatus::OnSale => ListingStatus::OnSale,
        simulator::ListingStatus::SoldOut => ListingStatus::SoldOut,
        simulator::ListingStatus::Delisted => ListingStatus::Delisted,
        simulator::ListingStatus::Deleted => ListingStatus::Deleted,
    }
}

#[tokio::test]
async fn top_listings_match_the_catalogue_and_skus_are_fetched_once() {
    for simplify in [false, true] {
        let (simulator, base, stop) = serve().await;
        let client = client(top_config(&base, simplify));
        let truth: BTreeMap<_, _> = top_items(&simulator)
            .into_iter()
            .filter(|(_, item)| item.status != simulator::ListingStatus::Deleted)
            .collect();
        assert!(truth.len() > 2, "the TOP shop has items");
        let requests_before = simulator.stats().top.requests;
        let snapshots = client.fetch_listings().await.unwrap();
        let first_requests = simulator.stats().top.requests - requests_before;
        assert_eq!(snapshots.len(), truth.len());
        for snapshot in &snapshots {
            let listing = &snapshot.listing;
            let item = &truth[&listing.item_id];
            assert_eq!(listing.status, expected_status(item), "{listing:?}");
            assert_eq!(
                listing.price_fen,
                Some(i64::try_from(item.price_fen()).unwrap())
            );
            assert_eq!(listing.stock, Some(i64::try_from(item.stock()).unwrap()));
            assert_eq!(listing.title.as_deref(), Some(item.title.as_str()));
            assert_eq!(listing.modified_at_ms, Some(item.modified_ms / 1000 * 1000));
            assert_eq!(listing.skus.len(), item.skus.len(), "{listing:?}");
            for (sku, sim_sku) in listing.skus.iter().zip(&item.skus) {
                assert_eq!(sku.sku_id, sim_sku.sku_id.to_string());
                assert_eq!(
                    sku.price_fen,
                    Some(i64::try_from(sim_sku.price_fen).unwrap())
                );
                assert_eq!(sku.stock, Some(i64::try_from(sim_sku.stock).unwrap()));
            }
            assert!(snapshot.payload.contains("\"approve_status\""));
        }
        // Three list pages (on sale, sold out, for shelved) plus one seller.get per item.
        assert_eq!(first_requests, 3 + truth.len() as u64);
        let again = client.fetch_listings().await.unwrap();
        assert_eq!(
            simulator.stats().top.requests - requests_before - first_requests,
            3,
            "an unchanged catalogue costs the list pages only"
        );
        assert_eq!(again, snapshots);
        stop.cancel();
    }
}

#[tokio::test]
async fn a_deleted_top_item_becomes_a_deleted_listing() {
    let (simulator, base, stop) = serve().await;
    let client = client(top_config(&base, false));
    let first = client.fetch_listings().await.unwrap();
    let listed: Vec<String> = first.iter().map(|s| s.listing.item_id.clone()).collect();
    let mut deleted = None;
    for _ in 0..50 {
        simulator.advance_commerce(200);
        let items = top_items(&simulator);
        deleted = listed
            .iter()
            .find(|id| items[*id].status == simulator::ListingStatus::Deleted)
            .cloned();
        if deleted.is_some() {
            break;
        }
    }
    let deleted = deleted.expect("the simulated world deletes an item");
    let truth = top_items(&simulator);
    let requests_before = simulator.stats().top.requests;
    let second = client.fetch_listings().await.unwrap();
    let gone: Vec<_> = second
        .iter()
        .filter(|s| s.listing.item_id == deleted)
        .collect();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].listing.status, ListingStatus::Deleted);
    assert_eq!(
        gone[0].listing.raw_status.as_deref(),
        Some("isv.item-is-delete")
    );
    assert!(gone[0].payload.contains("isv.item-is-delete"));
    assert!(simulator.stats().top.requests > requests_before);
    for snapshot in &second {
        let item = &truth[&snapshot.listing.item_id];
        assert_eq!(snapshot.listing.status, expected_status(item));
    }
    let third = client.fetch_listings().await.unwrap();
    let again: Vec<_> = third
        .iter()
        .filter(|s| s.listing.item_id == deleted)
        .collect();
    assert_eq!(again.len(), 1, "the deleted item is repeated, not dropped");
    assert_eq!(again[0], gone[0]);
    stop.cancel();
}

#[tokio::test]
async fn top_traces_match_the_simulated_parcels() {
    let (simulator, base, stop) = serve().await;
    simulator.advance_commerce(300);
    let parcels: Vec<_> = simulator
        .parcels()
        .into_iter()
        .filter(|parcel| parcel.shop_id == DEFAULT_TOP_SHOP_ID && !parcel.steps.is_empty())
        .take(4)
        .collect();
    assert!(!parcels.is_empty(), "the TOP shop ships parcels");
    let mut waybills: Vec<WaybillConfig> = parcels
        .iter()
        .map(|parcel| WaybillConfig {
            carrier_code: parcel.company_code.clone(),
            waybill_no: parcel.waybill.clone(),
            phone: None,
            order_id: Some(parcel.tid.to_string()),
        })
        .collect();
    waybills.push(WaybillConfig {
        carrier_code: "yuantong".to_owned(),
        waybill_no: "YT0000000000".to_owned(),
        phone: None,
        order_id: Some("1".to_owned()),
    });
    for simplify in [false, true] {
        let client = client(TopConfig {
            waybills: waybills.clone(),
            ..top_config(&base, simplify)
        });
        let snapshots = client.fetch_shipments().await.unwrap();
        assert_eq!(
            snapshots.len(),
            parcels.len(),
            "the unknown order has no trace"
        );
        for (snapshot, parcel) in snapshots.iter().zip(&parcels) {
            let shipment = &snapshot.shipment;
            let last = parcel.steps.last().unwrap();
            assert_eq!(shipment.waybill_no, parcel.waybill);
            assert_eq!(shipment.order_id, Some(parcel.tid.to_string()));
            assert_eq!(shipment.checkpoints.len(), parcel.steps.len());
            assert_eq!(shipment.last_event_at_ms, last.time_ms);
            assert_eq!(shipment.raw_status.as_deref(), Some(last.action.as_str()));
            assert_eq!(
                shipment.status,
                crate::shipment_status::from_node_action(&last.action)
            );
        }
    }
    stop.cancel();
}

#[tokio::test]
async fn the_listing_poller_reports_health_changes_and_backs_off() {
    let (simulator, base, stop) = serve().await;
    let api = Arc::new(client(top_config(&base, false)));
    let listings = MemoryTopic::new("shopwatch.raw.listings", 100_000);
    let health_topic = MemoryTopic::new("shopwatch.raw.health", 100);
    let mut health_reader = health_topic.subscribe("test", StageCounters::new("test-reader"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut poller = ListingPoller {
        api: api.clone(),
        platform: Platform::Taobao,
        shop_id: DEFAULT_TOP_SHOP_ID.to_owned(),
        sink: Arc::new(listings.sink(SinkAcks::WhenAppended, StageCounters::new("ingest"))),
        clock: clock.clone(),
        published: HashMap::new(),
    };
    let config = IngestConfig {
        retry_initial_backoff_ms: 1_000,
        retry_max_backoff_secs: 300,
        ..IngestConfig::default()
    };
    let interval = Duration::from_secs(3_600);
    let mut retry = SnapshotLoop {
        settings: PollSettings::from_config(&config),
        health: HealthTracker::new(
            ListingApi::api(api.as_ref()),
            api.listing_source(),
            Platform::Taobao,
            DEFAULT_TOP_SHOP_ID.to_owned(),
            2,
        )
        .for_subject("listings"),
        health_sink: Arc::new(
            health_topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest")),
        ),
        clock,
        interval,
        attempt: 0,
    };
    simulator.inject_at(Endpoint::Top, Fault::Http500, 2);
    let mut delays = Vec::new();
    for _ in 0..2 {
        let outcome = poller.poll_once().await;
        assert!(outcome.is_err());
        delays.push(retry.after_poll(outcome, "top", DEFAULT_TOP_SHOP_ID).await);
    }
    // Backoff with ±25 % jitter: ~1 s, then ~2 s; never the hour-long interval.
    assert!((750..=1_250).contains(&delays[0].as_millis()), "{delays:?}");
    assert!(
        (1_500..=2_500).contains(&delays[1].as_millis()),
        "{delays:?}"
    );
    let outcome = poller.poll_once().await;
    assert!(outcome.is_ok());
    assert_eq!(
        retry.after_poll(outcome, "top", DEFAULT_TOP_SHOP_ID).await,
        interval
    );
    assert_eq!(retry.attempt, 0);

    let records = health_reader.next_batch(10).await.unwrap();
    let codec = AvroCodec::raw_record();
    let decoded: Vec<RawRecord> = records
        .iter()
        .map(|record| codec.decode(&record.payload).unwrap())
        .collect();
    let conditions: Vec<HealthCondition> = decoded
        .iter()
        .map(|raw| raw.health.as_ref().unwrap().condition)
        .collect();
    assert_eq!(
        conditions,
        vec![HealthCondition::ApiFailing, HealthCondition::Ok],
        "one record per change, after the second failure"
    );
    for raw in &decoded {
        assert_eq!(raw.entity_id, "top:listings");
        assert_eq!(raw.health.as_ref().unwrap().source, "top:listings");
        assert_eq!(raw.shop_id, DEFAULT_TOP_SHOP_ID);
    }
    stop.cancel();
}

#[tokio::test]
async fn run_publishes_top_listings_and_shipments_when_enabled() {
    let (simulator, base, stop) = serve().await;
    simulator.advance_commerce(300);
    let parcels: Vec<_> = simulator
        .parcels()
        .into_iter()
        .filter(|parcel| parcel.shop_id == DEFAULT_TOP_SHOP_ID && !parcel.steps.is_empty())
        .take(2)
        .collect();
    assert!(!parcels.is_empty());
    let items: Vec<String> = top_items(&simulator)
        .into_iter()
        .filter(|(_, item)| item.status != simulator::ListingStatus::Deleted)
        .map(|(id, _)| id)
        .collect();
    let config = IngestConfig {
        shops: vec![crate::config::ShopConfig {
            platform: Platform::Taobao,
            shop_id: DEFAULT_TOP_SHOP_ID.to_owned(),
            api: crate::config::ApiConfig::Top(TopConfig {
                waybills: parcels
                    .iter()
                    .map(|parcel| WaybillConfig {
                        carrier_code: parcel.company_code.clone(),
                        waybill_no: parcel.waybill.clone(),
                        phone: None,
                        order_id: Some(parcel.tid.to_string()),
                    })
                    .collect(),
                calls_per_sec: Some(10),
                ..top_config(&base, false)
            }),
        }],
        ..IngestConfig::default()
    };
    let memory = |name: &'static str| MemoryTopic::new(name, 10_000);
    let (listings, shipments, health) = (
        memory("shopwatch.raw.listings"),
        memory("shopwatch.raw.shipments"),
        memory("shopwatch.raw.health"),
    );
    let mut listing_reader = listings.subscribe("test", StageCounters::new("reader"));
    let mut shipment_reader = shipments.subscribe("test", StageCounters::new("reader"));
    let sink = |topic: &MemoryTopic| {
        Arc::new(topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest")))
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(crate::run(
        config,
        crate::IngestSinks {
            reviews: sink(&memory("shopwatch.raw.reviews")),
            health: sink(&health),
            shipments: sink(&shipments),
            listings: sink(&listings),
        },
        Arc::new(crate::cursor::MemoryCursorStore::new()),
        shutdown.clone(),
    ));
    let listed = read_ids(
        &mut listing_reader,
        items.len(),
        "top:taobao.items.onsale.get",
    )
    .await;
    assert_eq!(listed.into_iter().collect::<Vec<_>>(), items);
    let traced = read_ids(
        &mut shipment_reader,
        parcels.len(),
        "top:taobao.logistics.trace.search",
    )
    .await;
    let expected: std::collections::BTreeSet<String> = parcels
        .iter()
        .map(|parcel| parcel.waybill.clone())
        .collect();
    assert_eq!(traced, expected);
    shutdown.cancel();
    running.await.unwrap().unwrap();
    stop.cancel();
}

/// Reads records until `want` distinct entity ids of `source` arrived; returns the ids.
async fn read_ids(
    reader: &mut bus::memory::MemorySource,
    want: usize,
    source: &str,
) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < want {
        let batch = tokio::time::timeout(Duration::from_secs(30), reader.next_batch(100))
            .await
            .expect("records arrive")
            .unwrap();
        for record in batch {
            let raw: RawRecord = AvroCodec::raw_record().decode(&record.payload).unwrap();
            assert_eq!(raw.source, source);
            seen.insert(raw.entity_id);
        }
    }
    seen
}
