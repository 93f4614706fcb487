//! The PDD and JD clients against a real `simulator::Simulator` on 127.0.0.1:0 (its router
//! only: no live review generator, so the ground truth is fixed).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bus::memory::{MemoryTopic, SinkAcks};
use bus::metrics::StageCounters;
use bus::RecordSource;
use schemas::{AvroCodec, ListingStatus, Platform, Secret};
use simulator::{
    Simulator, SimulatorConfig, DEFAULT_AGGREGATOR_PDD_SHOP_ID, DEFAULT_JD_ACCESS_TOKEN,
    DEFAULT_JD_APP_KEY, DEFAULT_JD_APP_SECRET, DEFAULT_JD_SHOP_ID, DEFAULT_KUAIDI100_CUSTOMER,
    DEFAULT_KUAIDI100_KEY, DEFAULT_PDD_ACCESS_TOKEN, DEFAULT_PDD_CLIENT_ID,
    DEFAULT_PDD_CLIENT_SECRET,
};

use tokio_util::sync::CancellationToken;

use super::jd::JdClient;
use super::kuaidi100::Kuaidi100Client;
use super::pdd::PddClient;
use super::{HttpTransport, PageQuery, ReviewApi};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    ApiConfig, IngestConfig, JdConfig, Kuaidi100Config, PddConfig, ShopConfig, WaybillConfig,
};
use crate::cursor::MemoryCursorStore;
use crate::error::IngestError;
use crate::listings::{ListingApi, ListingPoller};
use crate::shipments::ShipmentApi;
use crate::window::Window;
use crate::IngestSinks;

/// Serves the simulator's router; returns the simulator, its base URL and the stop token.
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

fn transport(platform: &'static str) -> HttpTransport {
    HttpTransport {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        platform,
    }
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn jd_config(base: &str, secret: &str, token: &str) -> JdConfig {
    JdConfig {
        endpoint: format!("{base}/routerjson"),
        app_key: DEFAULT_JD_APP_KEY.to_owned(),
        app_secret: Secret::new(secret),
        access_token: Secret::new(token),
        listings: true,
        waybills: Vec::new(),
        customer_code: None,
    }
}

fn pdd_config(base: &str, secret: &str, token: &str) -> PddConfig {
    PddConfig {
        endpoint: format!("{base}/api/router"),
        client_id: DEFAULT_PDD_CLIENT_ID.to_owned(),
        client_secret: Secret::new(secret),
        access_token: Secret::new(token),
        refresh_token: None,
        listings: true,
        waybills: Vec::new(),
    }
}

/// The JD shop's ground-truth review ids (`oid`) and the window covering them all.
fn jd_truth(simulator: &Simulator) -> (BTreeSet<String>, Window) {
    let reviews: Vec<_> = simulator
        .router_reviews()
        .into_iter()
        .filter(|review| review.shop_id == DEFAULT_JD_SHOP_ID)
        .collect();
    assert!(reviews.len() > 5, "the default JD shop has reviews");
    let start = reviews.iter().map(|r| r.created_ms).min().unwrap() / 1000;
    let end = reviews.iter().map(|r| r.created_ms).max().unwrap() / 1000;
    let oids = reviews.into_iter().map(|review| review.oid).collect();
    (
        oids,
        Window {
            start_secs: start,
            end_secs: end,
        },
    )
}

#[tokio::test]
async fn jd_client_reads_every_comment_of_the_shop() {
    let (simulator, base, stop) = serve().await;
    let (truth, window) = jd_truth(&simulator);
    let client = JdClient::new(
        jd_config(&base, DEFAULT_JD_APP_SECRET, DEFAULT_JD_ACCESS_TOKEN),
        transport("jd"),
        clock(),
    );
    let mut seen = BTreeSet::new();
    for page_no in 1..=100 {
        let page = client
            .fetch_page(&PageQuery {
                window,
                page_no,
                page_size: 100,
            })
            .await
            .unwrap();
        assert_eq!(page.total_results, Some(truth.len() as u64));
        let received = page.rates.len();
        for rate in &page.rates {
            assert!(seen.insert(rate.text("oid").unwrap()), "no duplicates");
            assert!(rate.text("result").is_some());
        }
        if received < 100 {
            break;
        }
    }
    assert_eq!(seen, truth);
    stop.cancel();
}

#[tokio::test]
async fn jd_errors_are_classified_from_the_simulator() {
    let (_simulator, base, stop) = serve().await;
    let query = PageQuery {
        window: Window {
            start_secs: 0,
            end_secs: 1,
        },
        page_no: 1,
        page_size: 10,
    };
    let bad_secret = JdClient::new(
        jd_config(&base, "wrong", DEFAULT_JD_ACCESS_TOKEN),
        transport("jd"),
        clock(),
    );
    match bad_secret.fetch_page(&query).await.unwrap_err() {
        IngestError::Rejected { code, .. } => assert_eq!(code, "12"),
        other => panic!("{other:?}"),
    }
    let bad_token = JdClient::new(
        jd_config(&base, DEFAULT_JD_APP_SECRET, "not-a-token"),
        transport("jd"),
        clock(),
    );
    let error = bad_token.fetch_page(&query).await.unwrap_err();
    match &error {
        IngestError::TokenDead { code, .. } => assert_eq!(code, "19"),
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("not-a-token"), "{error}");
    stop.cancel();
}

#[tokio::test]
async fn pdd_probe_accepts_good_and_classifies_bad_credentials() {
    let (_simulator, base, stop) = serve().await;
    let query = PageQuery {
        window: Window {
            start_secs: 0,
            end_secs: 1,
        },
        page_no: 1,
        page_size: 10,
    };
    let good = PddClient::new(
        pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, DEFAULT_PDD_ACCESS_TOKEN),
        transport("pinduoduo"),
        clock(),
    );
    let page = good.fetch_page(&query).await.unwrap();
    assert!(page.rates.is_empty());
    assert_eq!(page.has_next, Some(false));
    let bad_secret = PddClient::new(
        pdd_config(&base, "wrong", DEFAULT_PDD_ACCESS_TOKEN),
        transport("pinduoduo"),
        clock(),
    );
    match bad_secret.fetch_page(&query).await.unwrap_err() {
        IngestError::Rejected { code, .. } => assert_eq!(code, "20004"),
        other => panic!("{other:?}"),
    }
    let bad_token = PddClient::new(
        pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, "not-a-token"),
        transport("pinduoduo"),
        clock(),
    );
    match bad_token.fetch_page(&query).await.unwrap_err() {
        IngestError::TokenDead { code, .. } => assert_eq!(code, "10019"),
        other => panic!("{other:?}"),
    }
    stop.cancel();
}

#[tokio::test]
async fn run_publishes_jd_reviews_from_the_simulator() {
    let (simulator, base, stop) = serve().await;
    let (truth, window) = jd_truth(&simulator);
    let now_secs = chrono::Utc::now().timestamp();
    let config = IngestConfig {
        shops: vec![ShopConfig {
            platform: Platform::Jd,
            shop_id: DEFAULT_JD_SHOP_ID.to_owned(),
            api: ApiConfig::Jd(jd_config(
                &base,
                DEFAULT_JD_APP_SECRET,
                DEFAULT_JD_ACCESS_TOKEN,
            )),
        }],
        initial_lookback_secs: u64::try_from(now_secs - window.start_secs + 60).unwrap(),
        poll_interval_secs: 60,
        listings_interval_secs: 3600,
        ..IngestConfig::default()
    };
    let topic = MemoryTopic::new("shopwatch.raw.reviews", 10_000);
    let mut source = topic.subscribe("test", StageCounters::new("test-reader"));
    let reviews = Arc::new(topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest")));
    let other = |name: &'static str| {
        Arc::new(
            MemoryTopic::new(name, 10_000)
                .sink(SinkAcks::WhenAppended, StageCounters::new("ingest")),
        )
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(crate::run(
        config,
        IngestSinks {
            reviews,
            health: other("shopwatch.raw.health"),
            shipments: other("shopwatch.raw.shipments"),
            listings: other("shopwatch.raw.listings"),
        },
        Arc::new(MemoryCursorStore::new()),
        shutdown.clone(),
    ));
    let codec = AvroCodec::raw_record();
    let mut seen = BTreeSet::new();
    while seen.len() < truth.len() {
        let batch = tokio::time::timeout(Duration::from_secs(30), source.next_batch(100))
            .await
            .expect("jd reviews arrive")
            .unwrap();
        for record in batch {
            let raw: schemas::RawRecord = codec.decode(&record.payload).unwrap();
            assert_eq!(raw.platform, Platform::Jd);
            assert_eq!(raw.shop_id, DEFAULT_JD_SHOP_ID);
            assert_eq!(raw.source, "jd:getVenderCommentsForJos");
            seen.insert(raw.entity_id);
        }
    }
    assert_eq!(seen, truth);
    shutdown.cancel();
    running.await.unwrap().unwrap();
    stop.cancel();
}

/// The simulator's current items of `shop_id`, deleted ones left out, by item id.
fn sim_items(simulator: &Simulator, shop_id: &str) -> BTreeMap<String, simulator::SimItem> {
    simulator
        .items()
        .into_iter()
        .filter(|item| item.shop_id == shop_id && item.status != simulator::ListingStatus::Deleted)
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
async fn jd_listings_match_the_simulated_catalogue() {
    let (simulator, base, stop) = serve().await;
    let client = JdClient::new(
        jd_config(&base, DEFAULT_JD_APP_SECRET, DEFAULT_JD_ACCESS_TOKEN),
        transport("jd"),
        clock(),
    );
    let snapshots = client.fetch_listings().await.unwrap();
    let truth = sim_items(&simulator, DEFAULT_JD_SHOP_ID);
    assert!(!truth.is_empty());
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
        assert_eq!(listing.modified_at_ms, Some(item.modified_ms));
        assert!(snapshot.payload.contains("\"wareStatus\""));
    }
    stop.cancel();
}

#[tokio::test]
async fn pdd_listings_match_the_simulated_catalogue() {
    let (simulator, base, stop) = serve().await;
    let client = PddClient::new(
        pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, DEFAULT_PDD_ACCESS_TOKEN),
        transport("pinduoduo"),
        clock(),
    );
    let snapshots = client.fetch_listings().await.unwrap();
    let truth = sim_items(&simulator, DEFAULT_AGGREGATOR_PDD_SHOP_ID);
    assert!(!truth.is_empty());
    assert_eq!(snapshots.len(), truth.len());
    for snapshot in &snapshots {
        let listing = &snapshot.listing;
        let item = &truth[&listing.item_id];
        let status = match item.status {
            simulator::ListingStatus::OnSale => ListingStatus::OnSale,
            simulator::ListingStatus::Delisted => ListingStatus::Delisted,
            simulator::ListingStatus::SoldOut => ListingStatus::SoldOut,
            simulator::ListingStatus::Deleted => ListingStatus::Deleted,
        };
        assert_eq!(listing.status, status, "{listing:?}");
        assert_eq!(
            listing.price_fen,
            Some(i64::try_from(item.price_fen()).unwrap())
        );
        assert_eq!(listing.stock, Some(i64::try_from(item.stock()).unwrap()));
        assert_eq!(listing.skus.len(), item.skus.len());
    }
    stop.cancel();
}

#[tokio::test]
async fn listing_poller_publishes_only_changes() {
    let (simulator, base, stop) = serve().await;
    let api = Arc::new(JdClient::new(
        jd_config(&base, DEFAULT_JD_APP_SECRET, DEFAULT_JD_ACCESS_TOKEN),
        transport("jd"),
        clock(),
    ));
    let topic = MemoryTopic::new("shopwatch.raw.listings", 100_000);
    let mut source = topic.subscribe("test", StageCounters::new("test-reader"));
    let mut poller = ListingPoller {
        api,
        platform: Platform::Jd,
        shop_id: DEFAULT_JD_SHOP_ID.to_owned(),
        sink: Arc::new(topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest"))),
        clock: clock(),
        published: HashMap::new(),
    };
    let items = sim_items(&simulator, DEFAULT_JD_SHOP_ID).len();
    assert_eq!(poller.poll_once().await.unwrap(), items);
    assert_eq!(
        poller.poll_once().await.unwrap(),
        0,
        "unchanged items are not republished"
    );
    let first = source.next_batch(100_000).await.unwrap();
    assert_eq!(first.len(), items);
    let codec = AvroCodec::raw_record();
    let before: HashMap<String, schemas::RawRecord> = first
        .iter()
        .map(|record| {
            let raw: schemas::RawRecord = codec.decode(&record.payload).unwrap();
            (raw.entity_id.clone(), raw)
        })
        .collect();
    for raw in before.values() {
        assert_eq!(raw.kind, schemas::EntityKind::Listing);
        assert_eq!(raw.source, "jd:jingdong.ware.read.searchWare4Valid");
    }
    simulator.advance_commerce(200);
    let changed = poller.poll_once().await.unwrap();
    assert!(changed > 0, "200 commerce events change some listing");
    let second = source.next_batch(100_000).await.unwrap();
    assert_eq!(second.len(), changed);
    for record in &second {
        let raw: schemas::RawRecord = codec.decode(&record.payload).unwrap();
        if let Some(old) = before.get(&raw.entity_id) {
            assert_ne!(old.event_id, raw.event_id, "a republished item changed");
            assert_ne!(old.listing, raw.listing);
        }
    }
    stop.cancel();
}

#[tokio::test]
async fn kuaidi100_traces_match_the_simulated_parcels() {
    let (simulator, base, stop) = serve().await;
    simulator.advance_commerce(300);
    let parcels: Vec<_> = simulator
        .parcels()
        .into_iter()
        .filter(|parcel| !parcel.steps.is_empty())
        .take(6)
        .collect();
    assert!(!parcels.is_empty(), "300 commerce events ship parcels");
    let mut waybills: Vec<WaybillConfig> = parcels
        .iter()
        .map(|parcel| WaybillConfig {
            carrier_code: parcel.company_code.clone(),
            waybill_no: parcel.waybill.clone(),
            phone: Some(Secret::new("1234")),
            order_id: Some(parcel.tid.to_string()),
        })
        .collect();
    waybills.push(WaybillConfig {
        carrier_code: "yuantong".to_owned(),
        waybill_no: "YT0000000000".to_owned(),
        phone: None,
        order_id: None,
    });
    let config = Kuaidi100Config {
        endpoint: format!("{base}/poll/query.do"),
        customer: DEFAULT_KUAIDI100_CUSTOMER.to_owned(),
        key: Secret::new(DEFAULT_KUAIDI100_KEY),
        waybills,
    };
    let client = Kuaidi100Client::new(config.clone(), transport("kuaidi100"));
    let snapshots = client.fetch_shipments().await.unwrap();
    assert_eq!(
        snapshots.len(),
        parcels.len(),
        "the unknown waybill is skipped"
    );
    for (snapshot, parcel) in snapshots.iter().zip(&parcels) {
        let shipment = &snapshot.shipment;
        let last = parcel.steps.last().unwrap();
        assert_eq!(shipment.waybill_no, parcel.waybill);
        assert_eq!(shipment.carrier_code, parcel.company_code);
        assert_eq!(shipment.order_id, Some(parcel.tid.to_string()));
        assert_eq!(shipment.checkpoints.len(), parcel.steps.len());
        assert_eq!(shipment.last_event_at_ms, last.time_ms);
        assert_eq!(
            shipment.checkpoints.last().unwrap().raw_status,
            Some(last.status_code.to_string())
        );
        assert_ne!(shipment.status, schemas::ShipmentStatus::Unknown);
    }

    let wrong_key = Kuaidi100Client::new(
        Kuaidi100Config {
            key: Secret::new("wrong"),
            ..config
        },
        transport("kuaidi100"),
    );
    match wrong_key.fetch_shipments().await.unwrap_err() {
        IngestError::Rejected { code, .. } => assert_eq!(code, "503"),
        other => panic!("{other:?}"),
    }
    stop.cancel();
}

#[tokio::test]
async fn run_publishes_kuaidi100_shipments_and_no_reviews() {
    let (simulator, base, stop) = serve().await;
    simulator.advance_commerce(300);
    let parcels: Vec<_> = simulator
        .parcels()
        .into_iter()
        .filter(|parcel| !parcel.steps.is_empty() && parcel.company_code != "shunfeng")
        .take(3)
        .collect();
    assert!(!parcels.is_empty());
    let config = IngestConfig {
        shops: vec![ShopConfig {
            platform: Platform::Taobao,
            shop_id: "tb-10001".to_owned(),
            api: ApiConfig::Kuaidi100(Kuaidi100Config {
                endpoint: format!("{base}/poll/query.do"),
                customer: DEFAULT_KUAIDI100_CUSTOMER.to_owned(),
                key: Secret::new(DEFAULT_KUAIDI100_KEY),
                waybills: parcels
                    .iter()
                    .map(|parcel| WaybillConfig {
                        carrier_code: parcel.company_code.clone(),
                        waybill_no: parcel.waybill.clone(),
                        phone: None,
                        order_id: None,
                    })
                    .collect(),
            }),
        }],
        ..IngestConfig::default()
    };
    let memory = |name: &'static str| MemoryTopic::new(name, 1_000);
    let shipments = memory("shopwatch.raw.shipments");
    let reviews = memory("shopwatch.raw.reviews");
    let mut shipment_source = shipments.subscribe("test", StageCounters::new("reader"));
    let sink = |topic: &MemoryTopic| {
        Arc::new(topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest")))
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(crate::run(
        config,
        IngestSinks {
            reviews: sink(&reviews),
            health: sink(&memory("shopwatch.raw.health")),
            shipments: sink(&shipments),
            listings: sink(&memory("shopwatch.raw.listings")),
        },
        Arc::new(MemoryCursorStore::new()),
        shutdown.clone(),
    ));
    let codec = AvroCodec::raw_record();
    let mut seen = BTreeSet::new();
    while seen.len() < parcels.len() {
        let batch = tokio::time::timeout(Duration::from_secs(30), shipment_source.next_batch(10))
            .await
            .expect("shipments arrive")
            .unwrap();
        for record in batch {
            let raw: schemas::RawRecord = codec.decode(&record.payload).unwrap();
            assert_eq!(raw.kind, schemas::EntityKind::Shipment);
            assert_eq!(raw.source, "kuaidi100:poll/query.do");
            seen.insert(raw.entity_id);
        }
    }
    let expected: BTreeSet<String> = parcels
        .iter()
        .map(|parcel| parcel.waybill.clone())
        .collect();
    assert_eq!(seen, expected);
    shutdown.cancel();
    running.await.unwrap().unwrap();
    assert!(reviews.is_empty(), "a kuaidi100 shop polls no reviews");
    stop.cancel();
}

#[tokio::test]
async fn pdd_and_jd_traces_match_the_simulated_parcels() {
    let (simulator, base, stop) = serve().await;
    simulator.advance_commerce(300);
    let parcels: Vec<_> = simulator
        .parcels()
        .into_iter()
        .filter(|parcel| !parcel.steps.is_empty())
        .take(4)
        .collect();
    assert!(!parcels.is_empty());
    let mut waybills: Vec<WaybillConfig> = parcels
        .iter()
        .map(|parcel| WaybillConfig {
            carrier_code: parcel.company_code.clone(),
            waybill_no: parcel.waybill.clone(),
            phone: None,
            order_id: None,
        })
        .collect();
    waybills.push(WaybillConfig {
        carrier_code: "yuantong".to_owned(),
        waybill_no: "YT0000000000".to_owned(),
        phone: None,
        order_id: None,
    });
    let pdd = PddClient::new(
        PddConfig {
            waybills: waybills.clone(),
            ..pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, DEFAULT_PDD_ACCESS_TOKEN)
        },
        transport("pinduoduo"),
        clock(),
    );
    let jd = JdClient::new(
        JdConfig {
            waybills,
            customer_code: Some("010K123".to_owned()),
            ..jd_config(&base, DEFAULT_JD_APP_SECRET, DEFAULT_JD_ACCESS_TOKEN)
        },
        transport("jd"),
        clock(),
    );
    for snapshots in [
        pdd.fetch_shipments().await.unwrap(),
        jd.fetch_shipments().await.unwrap(),
    ] {
        assert_eq!(
            snapshots.len(),
            parcels.len(),
            "the unknown waybill has no trace"
        );
        for (snapshot, parcel) in snapshots.iter().zip(&parcels) {
            let shipment = &snapshot.shipment;
            let last = parcel.steps.last().unwrap();
            assert_eq!(shipment.waybill_no, parcel.waybill);
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
async fn pdd_refreshes_an_expired_token_and_keeps_the_request() {
    let (simulator, base, stop) = serve().await;
    let code = simulator
        .oauth_code(
            simulator::OAuthPlatform::Pdd,
            DEFAULT_PDD_CLIENT_ID,
            DEFAULT_AGGREGATOR_PDD_SHOP_ID,
        )
        .unwrap();
    let bootstrap = PddClient::new(
        pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, "unused"),
        transport("pinduoduo"),
        clock(),
    );
    let form = bootstrap.signed(super::pdd::TOKEN_CREATE, None, &[("code", code)]);
    let response = transport("pinduoduo")
        .post_form("pdd", &format!("{base}/api/router"), &form, None)
        .await
        .unwrap();
    let grant = super::pdd::parse_response(
        "pop_auth_token_create_response",
        response.status,
        &response.body,
    )
    .unwrap();
    let access = grant.text("access_token").unwrap();
    let refresh = grant.text("refresh_token").unwrap();
    assert!(simulator.expire_token(&access));

    let query = PageQuery {
        window: Window {
            start_secs: 0,
            end_secs: 1,
        },
        page_no: 1,
        page_size: 10,
    };
    let client = PddClient::new(
        PddConfig {
            refresh_token: Some(Secret::new(refresh.clone())),
            ..pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, &access)
        },
        transport("pinduoduo"),
        clock(),
    );
    client.fetch_page(&query).await.unwrap();
    assert_ne!(
        client.access_token().expose(),
        access,
        "the token was refreshed"
    );
    let snapshots = client.fetch_listings().await.unwrap();
    assert!(!snapshots.is_empty(), "the refreshed token keeps working");

    let refused = PddClient::new(
        PddConfig {
            refresh_token: Some(Secret::new("not-a-refresh-token")),
            ..pdd_config(&base, DEFAULT_PDD_CLIENT_SECRET, &access)
        },
        transport("pinduoduo"),
        clock(),
    );
    match refused.fetch_page(&query).await.unwrap_err() {
        IngestError::TokenDead { message, .. } => {
            assert!(message.contains("refresh refused"), "{message}");
            assert!(!message.contains("not-a-refresh-token"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    stop.cancel();
}
