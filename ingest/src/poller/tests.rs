//! Poller tests against a tiny in-test HTTP server speaking both review APIs.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bus::memory::{MemoryTopic, SinkAcks};
use bus::{BusError, RecordSink, RecordSource};
use schemas::{AvroCodec, EntityKind, HealthCondition, Platform, RawRecord, Secret};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::{format_gmt8, parse_gmt8_ms, SystemClock};
use crate::config::{AggregatorConfig, ApiConfig, SignMethod, TopConfig};
use crate::cursor::{FileCursorStore, MemoryCursorStore};
use crate::platforms::{build_api, top};

const TOKEN: &str = "good-token";
const SECRET: &str = "helloworld";
/// 2026-01-01 12:00:00 GMT+8.
const NOW_SECS: i64 = 1_767_240_000;

// ---------------------------------------------------------------------------------------
// Fake platform

#[derive(Debug, Clone)]
struct FakeReview {
    created_secs: i64,
    tid: u64,
    nick: String,
}

impl FakeReview {
    fn to_json(&self) -> Value {
        json!({
            "tid": self.tid,
            "oid": format!("{}-1", self.tid),
            "role": "buyer",
            "nick": self.nick,
            "result": if self.tid % 3 == 0 { "bad" } else { "good" },
            "created": format_gmt8(self.created_secs),
            "rated_nick": "好店",
            "item_title": "保温杯",
            "item_price": "19.90",
            "content": format!("第{}条评价", self.tid),
            "num_iid": 42,
            "valid_score": true,
        })
    }
}

#[derive(Debug, Clone)]
enum Fault {
    /// Answer with this status and body instead of searching.
    Body(u16, String),
}

#[derive(Default)]
struct World {
    reviews: Vec<FakeReview>,
    faults: VecDeque<Fault>,
    requests: Vec<(Instant, HashMap<String, String>)>,
    /// Answer with `total_results` even when `use_has_next=true` was asked.
    report_totals: bool,
    next_tid: u64,
}

struct FakeServer {
    addr: SocketAddr,
    world: Arc<Mutex<World>>,
    shutdown: CancellationToken,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl FakeServer {
    async fn start() -> FakeServer {
        let world = Arc::new(Mutex::new(World {
            next_tid: 1000,
            ..World::default()
        }));
        let router = Router::new()
            .route("/tool/erps/traderates", post(aggregator_handler))
            .route("/router/rest", post(top_handler))
            .with_state(Arc::clone(&world));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .unwrap();
        });
        FakeServer {
            addr,
            world,
            shutdown,
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Adds `count` reviews created at `created_secs`, `created_secs + step`, …
    fn add_reviews(&self, count: usize, created_secs: i64, step: i64) {
        let mut world = self.world();
        for index in 0..count {
            world.next_tid += 1;
            let tid = world.next_tid;
            world.reviews.push(FakeReview {
                created_secs: created_secs + step * index as i64,
                tid,
                nick: format!("买家{tid}号"),
            });
        }
    }

    fn fault(&self, fault: Fault) {
        self.world().faults.push_back(fault);
    }

    fn requests(&self) -> Vec<HashMap<String, String>> {
        self.world()
            .requests
            .iter()
            .map(|(_, form)| form.clone())
            .collect()
    }

    fn request_times(&self) -> Vec<Instant> {
        self.world().requests.iter().map(|(at, _)| *at).collect()
    }

    fn aggregator_url(&self) -> String {
        format!("http://{}/tool/erps/traderates", self.addr)
    }

    fn top_url(&self) -> String {
        format!("http://{}/router/rest", self.addr)
    }
}

fn json_response(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body,
    )
        .into_response()
}

struct SearchResult {
    rates: Vec<Value>,
    total: usize,
    has_next: bool,
}

/// Searches like the platforms: window on `created` (both ends inclusive), newest first,
/// at most 1,500 per window, paged. `Err` for out-of-range paging.
fn search(world: &World, form: &HashMap<String, String>) -> Result<SearchResult, String> {
    let start = parse_gmt8_ms(&form["start_date"]).ok_or("start_date")? / 1000;
    let end = parse_gmt8_ms(&form["end_date"]).ok_or("end_date")? / 1000;
    let page_no: usize = form["page_no"].parse().map_err(|_| "page_no")?;
    let page_size: usize = form["page_size"].parse().map_err(|_| "page_size")?;
    if !(1..=200).contains(&page_no) || !(1..=150).contains(&page_size) {
        return Err(format!("paging out of range: {page_no} x {page_size}"));
    }
    let mut matching: Vec<&FakeReview> = world
        .reviews
        .iter()
        .filter(|review| review.created_secs >= start && review.created_secs <= end)
        .collect();
    matching.sort_by(|a, b| b.created_secs.cmp(&a.created_secs).then(b.tid.cmp(&a.tid)));
    let total = matching.len();
    matching.truncate(1_500);
    let from = (page_no - 1) * page_size;
    let rates = matching
        .iter()
        .skip(from)
        .take(page_size)
        .map(|review| review.to_json())
        .collect();
    Ok(SearchResult {
        rates,
        total,
        has_next: from + page_size < matching.len(),
    })
}

async fn aggregator_handler(
    State(world): State<Arc<Mutex<World>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut world = world.lock().unwrap();
    world.requests.push((Instant::now(), form.clone()));
    if let Some(Fault::Body(status, body)) = world.faults.pop_front() {
        return json_response(status, body);
    }
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return json_response(200, json!({"code": 401, "msg": "token 无效"}).to_string());
    }
    let result = match search(&world, &form) {
        Ok(result) => result,
        Err(reason) => return json_response(200, json!({"code": 100, "msg": reason}).to_string()),
    };
    let data = if form.get("use_has_next").map(String::as_str) == Some("true")
        && !world.report_totals
    {
        json!({"trade_rates": result.rates, "has_next": result.has_next, "withholding_money": 0.01})
    } else {
        json!({"trade_rates": result.rates, "total_results": result.total, "withholding_money": 0.01})
    };
    json_response(
        200,
        json!({"code": 0, "msg": "成功", "msec": 3, "time": NOW_SECS, "data": data}).to_string(),
    )
}

fn top_error(code: i64, msg: &str) -> Response {
    json_response(
        200,
        json!({"error_response": {"code": code, "msg": msg, "request_id": "r1"}}).to_string(),
    )
}

async fn top_handler(
    State(world): State<Arc<Mutex<World>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut world = world.lock().unwrap();
    world.requests.push((Instant::now(), form.clone()));
    if let Some(Fault::Body(status, body)) = world.faults.pop_front() {
        return json_response(status, body);
    }
    let method = match form.get("sign_method").map(String::as_str) {
        Some("md5") => SignMethod::Md5,
        Some("hmac") => SignMethod::Hmac,
        Some("hmac-sha256") => SignMethod::HmacSha256,
        _ => return top_error(25, "Invalid Signature"),
    };
    let params: Vec<(&str, String)> = form
        .iter()
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect();
    if form.get("sign") != Some(&top::sign(&params, SECRET, method)) {
        return top_error(25, "Invalid Signature");
    }
    if form.get("session").map(String::as_str) != Some("test") {
        return top_error(27, "Invalid Session");
    }
    let result = match search(&world, &form) {
        Ok(result) => result,
        Err(reason) => return top_error(41, &reason),
    };
    let use_has_next =
        form.get("use_has_next").map(String::as_str) == Some("true") && !world.report_totals;
    let simplify = form.get("simplify").map(String::as_str) == Some("true");
    let mut body = if simplify {
        json!({"trade_rates": result.rates, "request_id": "r1"})
    } else {
        json!({"trade_rates": {"trade_rate": result.rates}, "request_id": "r1"})
    };
    if use_has_next {
        body["has_next"] = json!(result.has_next);
    } else {
        body["total_results"] = json!(result.total);
    }
    let body = if simplify {
        body
    } else {
        json!({ "traderates_get_response": body })
    };
    json_response(200, body.to_string())
}

// ---------------------------------------------------------------------------------------
// Test doubles

struct TestClock(AtomicI64);

impl TestClock {
    fn at(secs: i64) -> Arc<TestClock> {
        Arc::new(TestClock(AtomicI64::new(secs * 1000)))
    }
    fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Collects decoded records; fails every send while `fail` is set.
struct TestSink {
    topic: &'static str,
    records: Mutex<Vec<RawRecord>>,
    fail: AtomicBool,
}

impl TestSink {
    fn new(topic: &'static str) -> Arc<TestSink> {
        Arc::new(TestSink {
            topic,
            records: Mutex::new(Vec::new()),
            fail: AtomicBool::new(false),
        })
    }
    fn records(&self) -> Vec<RawRecord> {
        self.records.lock().unwrap().clone()
    }
}

#[async_trait]
impl RecordSink for TestSink {
    async fn send_batch(&self, records: Vec<bus::Record>) -> Result<(), BusError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(BusError::Transient {
                reason: "test sink down".into(),
            });
        }
        let mut decoded = Vec::new();
        for record in records {
            let raw: RawRecord = AvroCodec::raw_record().decode(&record.payload).unwrap();
            assert_eq!(record.key, raw.entity_key().to_string());
            decoded.push(raw);
        }
        self.records.lock().unwrap().extend(decoded);
        Ok(())
    }

    fn topic(&self) -> &str {
        self.topic
    }
}

struct Harness {
    server: FakeServer,
    clock: Arc<TestClock>,
    reviews: Arc<TestSink>,
    health: Arc<TestSink>,
    config: IngestConfig,
}

enum Api {
    Aggregator {
        token: &'static str,
    },
    Top {
        simplify: bool,
        sign_method: SignMethod,
    },
}

impl Harness {
    async fn new() -> Harness {
        Harness {
            server: FakeServer::start().await,
            clock: TestClock::at(NOW_SECS),
            reviews: TestSink::new("reviews"),
            health: TestSink::new("health"),
            config: IngestConfig {
                page_size: 100,
                initial_lookback_secs: 3_600,
                window_overlap_secs: 300,
                retry_initial_backoff_ms: 10,
                ..IngestConfig::default()
            },
        }
    }

    fn shop(&self, api: Api) -> ShopConfig {
        match api {
            Api::Aggregator { token } => ShopConfig {
                platform: Platform::Pinduoduo,
                shop_id: "123".into(),
                api: ApiConfig::Aggregator(AggregatorConfig {
                    endpoint: self.server.aggregator_url(),
                    token: Secret::new(token),
                    vvtype: Some(1),
                }),
            },
            Api::Top {
                simplify,
                sign_method,
            } => ShopConfig {
                platform: Platform::Taobao,
                shop_id: "tb-10001".into(),
                api: ApiConfig::Top(TopConfig {
                    endpoint: self.server.top_url(),
                    app_key: "12345678".into(),
                    app_secret: Secret::new(SECRET),
                    session: Secret::new("test"),
                    sign_method,
                    simplify,
                    listings: false,
                    waybills: Vec::new(),
                    calls_per_sec: None,
                }),
            },
        }
    }

    fn poller(&self, api: Api, cursors: Arc<dyn CursorStore>) -> ShopPoller {
        let shop = self.shop(api);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let clock: Arc<dyn Clock> = self.clock.clone();
        let review_api = build_api(&shop, client, Arc::clone(&clock)).unwrap();
        ShopPoller::new(
            &shop,
            review_api,
            PollSettings::from_config(&self.config),
            self.config.api_failing_after_errors,
            IngestSinks {
                reviews: self.reviews.clone(),
                health: self.health.clone(),
                shipments: TestSink::new("shipments"),
                listings: TestSink::new("listings"),
            },
            cursors,
            clock,
        )
    }

    fn aggregator(&self, cursors: Arc<dyn CursorStore>) -> ShopPoller {
        self.poller(Api::Aggregator { token: TOKEN }, cursors)
    }
}

fn assert_unique(records: &[RawRecord]) {
    let mut ids: Vec<&str> = records
        .iter()
        .map(|record| record.event_id.as_str())
        .collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "duplicate event ids published");
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn pages_through_a_window_and_publishes_masked_reviews() {
    let harness = Harness::new().await;
    harness.server.add_reviews(250, NOW_SECS - 2_490, 10); // the last at NOW
    let cursors = Arc::new(MemoryCursorStore::new());
    let mut poller = harness.aggregator(cursors.clone());

    let outcome = poller.poll_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, PollOutcome::Done);

    let requests = harness.server.requests();
    let pages: Vec<&str> = requests
        .iter()
        .map(|form| form["page_no"].as_str())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
    let first = &requests[0];
    assert_eq!(first["shop_id"], "123");
    assert_eq!(first["rate_type"], "get");
    assert_eq!(first["role"], "buyer");
    assert_eq!(first["use_has_next"], "true");
    assert_eq!(first["page_size"], "100");
    assert_eq!(first["vvtype"], "1");
    assert_eq!(first["start_date"], "2026-01-01 11:00:00");
    assert_eq!(first["end_date"], "2026-01-01 12:00:00");
    assert!(first["fields"].contains("item_price") && first["fields"].contains("valid_score"));

    let records = harness.reviews.records();
    assert_eq!(records.len(), 250);
    assert_unique(&records);
    assert!(records
        .windows(2)
        .all(|pair| pair[0].occurred_at_ms <= pair[1].occurred_at_ms));
    let first = &records[0];
    assert_eq!(first.kind, EntityKind::Review);
    assert_eq!(first.platform, Platform::Pinduoduo);
    assert_eq!(first.source, "aggregator:traderates");
    assert_eq!(first.entity_id, "1001-1");
    assert_eq!(first.occurred_at_ms, (NOW_SECS - 2_490) * 1000);
    let review = first.review.as_ref().unwrap();
    assert_eq!(review.buyer_nick_masked, "买**");
    assert_eq!(review.item_price_fen, Some(1_990));
    assert!(
        first.payload.contains(r#""nick":"买**""#),
        "{}",
        first.payload
    );
    assert!(
        records.iter().all(|record| !record.payload.contains("号")),
        "nick leaked"
    );

    let cursor = cursors.get("aggregator-pinduoduo-123").unwrap();
    assert_eq!(cursor.watermark_ms, NOW_SECS * 1000);
    // Ids kept: exactly the records at or after watermark - overlap (the last 300 s: 31).
    assert_eq!(cursor.recent_event_ids.len(), 31);
    assert_eq!(poller.stats.published, 250);
    assert!(
        harness.health.records().is_empty(),
        "healthy start reports nothing"
    );
}

#[tokio::test]
async fn top_router_standard_and_simplified_json_with_every_sign_method() {
    let harness = Harness::new().await;
    harness.server.add_reviews(130, NOW_SECS - 2_000, 10);
    for (simplify, sign_method) in [
        (false, SignMethod::Md5),
        (true, SignMethod::Hmac),
        (false, SignMethod::HmacSha256),
    ] {
        let sink_before = harness.reviews.records().len();
        let cursors = Arc::new(MemoryCursorStore::new());
        let mut poller = harness.poller(
            Api::Top {
                simplify,
                sign_method,
            },
            cursors.clone(),
        );
        poller.poll_once(&CancellationToken::new()).await.unwrap();
        let records = harness.reviews.records();
        assert_eq!(
            records.len() - sink_before,
            130,
            "simplify={simplify} {sign_method:?}"
        );
        let record = records.last().unwrap();
        assert_eq!(record.source, "top:taobao.traderates.get");
        assert_eq!(record.platform, Platform::Taobao);
        assert!(cursors.get("top-taobao-tb-10001").is_some());
    }
    let requests = harness.server.requests();
    assert_eq!(requests.len(), 6, "two pages per poll");
    assert_eq!(requests[0]["method"], "taobao.traderates.get");
    assert_eq!(requests[0]["v"], "2.0");
    assert_eq!(requests[0]["format"], "json");
    assert_eq!(
        requests[2].get("simplify").map(String::as_str),
        Some("true")
    );
    assert_eq!(requests[0]["timestamp"], "2026-01-01 12:00:00");
}

#[tokio::test]
async fn overlap_replay_and_restart_publish_no_duplicates() {
    let harness = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    harness.server.add_reviews(40, NOW_SECS - 400, 10); // the last 30 fall in the overlap
    let store = Arc::new(FileCursorStore::new(dir.path()).unwrap());
    let mut poller = harness.aggregator(store);
    poller.poll_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(harness.reviews.records().len(), 40);

    // Next poll: the window reaches 300 s back, re-fetching 30 known reviews, plus one new.
    harness.clock.advance_secs(60);
    harness.server.add_reviews(1, NOW_SECS + 30, 0);
    poller.poll_once(&CancellationToken::new()).await.unwrap();
    let records = harness.reviews.records();
    assert_eq!(records.len(), 41);
    assert_eq!(poller.stats.duplicates, 30);
    let last_window = harness.server.requests().last().unwrap().clone();
    assert_eq!(last_window["start_date"], "2026-01-01 11:55:00");
    assert_eq!(last_window["end_date"], "2026-01-01 12:01:00");

    // "Restart": a fresh poller and store over the same directory replays nothing.
    drop(poller);
    harness.clock.advance_secs(10);
    let store = Arc::new(FileCursorStore::new(dir.path()).unwrap());
    let mut restarted = harness.aggregator(store);
    restarted
        .poll_once(&CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(harness.reviews.records().len(), 41);
    assert!(
        restarted.stats.duplicates > 0,
        "the replayed window was fetched"
    );

    // A follow-up review of a known order (new created time) is a new fact.
    {
        let mut world = harness.server.world();
        let mut follow_up = world.reviews[39].clone();
        follow_up.created_secs = NOW_SECS + 65;
        world.reviews.push(follow_up);
    }
    harness.clock.advance_secs(5);
    restarted
        .poll_once(&CancellationToken::new())
        .await
        .unwrap();
    let records = harness.reviews.records();
    assert_eq!(records.len(), 42);
    assert_eq!(records[41].entity_id, records[39].entity_id);
    assert_unique(&records);
}

#[tokio::test]
async fn cursor_is_not_advanced_when_the_sink_fails() {
    let harness = Harness::new().await;
    harness.server.add_reviews(5, NOW_SECS - 100, 1);
    let cursors = Arc::new(MemoryCursorStore::new());
    let mut poller = harness.aggregator(cursors.clone());

    harness.reviews.fail.store(true, Ordering::SeqCst);
    let error = poller
        .poll_once(&CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(error, IngestError::Sink { .. }), "{error}");
    assert!(error.is_retryable());
    assert_eq!(cursors.get("aggregator-pinduoduo-123"), None);
    let delay = poller.delay_after(&error, 0);
    assert!(
        delay <= Duration::from_millis(13),
        "backoff from 10 ms, got {delay:?}"
    );

    harness.reviews.fail.store(false, Ordering::SeqCst);
    harness.clock.advance_secs(5);
    poller.poll_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(harness.reviews.records().len(), 5);
    let cursor = cursors.get("aggregator-pinduoduo-123").unwrap();
    assert_eq!(cursor.watermark_ms, (NOW_SECS + 5) * 1000);
    assert_eq!(cursor.recent_event_ids.len(), 5);
}

#[tokio::test]
async fn throttle_ban_is_honoured_and_reported() {
    let harness = Harness::new().await;
    harness.server.add_reviews(3, NOW_SECS - 100, 1);
    harness.server.fault(Fault::Body(
        200,
        json!({"error_response": {"code": 7, "msg": "App Call Limited",
            "sub_code": "accesscontrol.limited-by-app-access-count",
            "sub_msg": "This ban will last for 7 more seconds", "request_id": "x"}})
        .to_string(),
    ));
    let cursors = Arc::new(MemoryCursorStore::new());
    let mut poller = harness.poller(
        Api::Top {
            simplify: false,
            sign_method: SignMethod::Md5,
        },
        cursors.clone(),
    );
    let error = poller
        .poll_once(&CancellationToken::new())
        .await
        .unwrap_err();
    let delay = poller.delay_after(&error, 0);
    assert!(
        delay >= Duration::from_secs(7) && delay <= Duration::from_millis(7_010),
        "{delay:?}"
    );
    poller.record_error(&error, delay);
    poller.report_health().await;
    let health = harness.health.records();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].kind, EntityKind::SourceHealth);
    assert_eq!(health[0].entity_id, "top");
    let reported = health[0].health.as_ref().unwrap();
    assert_eq!(reported.condition, HealthCondition::Throttled);
    assert_eq!(reported.retry_after_secs, Some(7));
    assert_eq!(reported.error_code.as_deref(), Some("7"));
    assert_eq!(cursors.get("top-taobao-tb-10001"), None);

    poller.poll_once(&CancellationToken::new()).await.unwrap();
    poller.report_health().await;
    assert_eq!(harness.reviews.records().len(), 3);
    let health = harness.health.records();
    assert_eq!(health.len(), 2);
    assert_eq!(
        health[1].health.as_ref().unwrap().condition,
        HealthCondition::Ok
    );
}

#[tokio::test]
async fn malformed_json_is_counted_and_retried() {
    let harness = Harness::new().await;
    harness.server.add_reviews(4, NOW_SECS - 100, 1);
    harness.server.fault(Fault::Body(
        200,
        r#"{"code":0,"msg":"成功","data":{"trade_rates":[{"tid":1"#.into(),
    ));
    harness
        .server
        .fault(Fault::Body(200, r#"{"unexpected":"envelope"}"#.into()));
    let counter = metrics()
        .poll_errors
        .with_label_values(&["aggregator", "bad_response"]);
    let before = counter.get();
    let cursors = Arc::new(MemoryCursorStore::new());
    let mut poller = harness.aggregator(cursors.clone());
    for _ in 0..2 {
        let error = poller
            .poll_once(&CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(error, IngestError::BadResponse { .. }), "{error}");
        let delay = poller.delay_after(&error, 0);
        poller.record_error(&error, delay);
        poller.report_health().await;
    }
    assert_eq!(poller.stats.errors, 2);
    assert!(counter.get() >= before + 2);
    assert_eq!(cursors.get("aggregator-pinduoduo-123"), None);
    assert!(
        harness.health.records().is_empty(),
        "2 < api_failing_after_errors (3)"
    );
    poller.poll_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(harness.reviews.records().len(), 4);
}

#[tokio::test]
async fn health_records_for_token_death_unauthorized_and_recovery() {
    let harness = Harness::new().await;
    harness.server.add_reviews(2, NOW_SECS - 100, 1);
    let cursors = Arc::new(MemoryCursorStore::new());
    let mut dead = harness.poller(Api::Aggregator { token: "expired" }, cursors.clone());
    let error = dead.poll_once(&CancellationToken::new()).await.unwrap_err();
    assert!(matches!(error, IngestError::TokenDead { .. }), "{error}");
    assert!(
        !error.to_string().contains("expired"),
        "no secret in errors: {error}"
    );
    let delay = dead.delay_after(&error, 0);
    assert_eq!(delay, Duration::from_secs(600), "slow retry");
    dead.record_error(&error, delay);
    dead.report_health().await;
    dead.record_error(&error, delay);
    dead.report_health().await;
    let health = harness.health.records();
    assert_eq!(health.len(), 1, "one record per change");
    let token = health[0].health.as_ref().unwrap();
    assert_eq!(token.condition, HealthCondition::TokenExpired);
    assert!(token.action_required);
    assert_eq!(token.error_code.as_deref(), Some("401"));

    let mut poller = harness.aggregator(cursors.clone());
    harness.server.fault(Fault::Body(
        200,
        json!({"code": 302, "msg": "店铺未授权", "data": {"url": "https://erp.example/auth?shop=123"}}).to_string(),
    ));
    let error = poller
        .poll_once(&CancellationToken::new())
        .await
        .unwrap_err();
    poller.record_error(&error, poller.delay_after(&error, 0));
    poller.report_health().await;
    poller.poll_once(&CancellationToken::new()).await.unwrap();
    poller.report_health().await;

    let health = harness.health.records();
    assert_eq!(health.len(), 3);
    let unauthorized = health[1].health.as_ref().unwrap();
    assert_eq!(unauthorized.condition, HealthCondition::Unauthorized);
    assert_eq!(
        unauthorized.authorize_url.as_deref(),
        Some("https://erp.example/auth?shop=123")
    );
    assert!(unauthorized
        .message
        .contains("https://erp.example/auth?shop=123"));
    assert_eq!(
        health[2].health.as_ref().unwrap().condition,
        HealthCondition::Ok
    );
    assert_eq!(health[2].entity_id, "aggregator");
    assert_eq!(harness.reviews.records().len(), 2);
}

#[tokio::test]
async fn a_health_sink_failure_is_retried_next_time() {
    let harness = Harness::new().await;
    let mut poller = harness.poller(
        Api::Aggregator { token: "bad" },
        Arc::new(MemoryCursorStore::new()),
    );
    let error = poller
        .poll_once(&CancellationToken::new())
        .await
        .unwrap_err();
    poller.record_error(&error, Duration::from_secs(1));
    harness.health.fail.store(true, Ordering::SeqCst);
    poller.report_health().await;
    assert!(harness.health.records().is_empty());
    harness.health.fail.store(false, Ordering::SeqCst);
    poller.report_health().await;
    assert_eq!(harness.health.records().len(), 1);
}

async fn assert_full_window_is_split(report_totals: bool) {
    let mut harness = Harness::new().await;
    harness.config.page_size = 150;
    harness.server.world().report_totals = report_totals;
    harness.server.add_reviews(1_600, NOW_SECS - 3_200, 2);
    let mut poller = harness.aggregator(Arc::new(MemoryCursorStore::new()));
    poller.poll_once(&CancellationToken::new()).await.unwrap();
    let records = harness.reviews.records();
    assert_eq!(records.len(), 1_600, "report_totals={report_totals}");
    assert_unique(&records);
    assert!(poller.stats.splits >= 1);
    for form in harness.server.requests() {
        let page_no: u64 = form["page_no"].parse().unwrap();
        assert!(page_no * 150 <= 1_500, "asked past the cap: {form:?}");
    }
}

#[tokio::test]
async fn a_full_window_is_split_when_total_results_reach_the_cap() {
    assert_full_window_is_split(true).await;
}

#[tokio::test]
async fn a_full_window_is_split_when_has_next_runs_past_the_cap() {
    assert_full_window_is_split(false).await;
}

#[tokio::test]
async fn shutdown_stops_between_requests_without_saving() {
    let harness = Harness::new().await;
    harness.server.add_reviews(10, NOW_SECS - 100, 1);
    let cursors = Arc::new(MemoryCursorStore::new());
    let mut poller = harness.aggregator(cursors.clone());
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    assert_eq!(
        poller.poll_once(&shutdown).await.unwrap(),
        PollOutcome::Stopped
    );
    assert!(harness.server.requests().is_empty());
    assert_eq!(cursors.get("aggregator-pinduoduo-123"), None);
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn run_polls_shops_concurrently_and_a_bad_shop_does_not_stop_the_others() {
    let server = FakeServer::start().await;
    let now_secs = SystemClock.now_ms() / 1000;
    server.add_reviews(5, now_secs - 120, 1);
    let harness = Harness::new().await;
    let mut config = IngestConfig {
        poll_interval_secs: 1,
        retry_initial_backoff_ms: 10,
        initial_lookback_secs: 3_600,
        ..IngestConfig::default()
    };
    let good = ShopConfig {
        api: ApiConfig::Aggregator(AggregatorConfig {
            endpoint: server.aggregator_url(),
            token: Secret::new(TOKEN),
            vvtype: None,
        }),
        ..harness.shop(Api::Aggregator { token: TOKEN })
    };
    let bad = ShopConfig {
        shop_id: "dy-3001".into(),
        platform: Platform::Douyin,
        api: ApiConfig::Aggregator(AggregatorConfig {
            endpoint: server.aggregator_url(),
            token: Secret::new("revoked"),
            vvtype: None,
        }),
    };
    config.shops = vec![bad, good];

    let topic = MemoryTopic::new("shopwatch.raw.reviews", 100);
    let mut source = topic.subscribe("test", StageCounters::new("test-reader"));
    let reviews = Arc::new(topic.sink(SinkAcks::WhenAppended, StageCounters::new("ingest")));
    let health = TestSink::new("health");
    let cursors = Arc::new(MemoryCursorStore::new());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(crate::run(
        config,
        IngestSinks {
            reviews,
            health: health.clone(),
            shipments: TestSink::new("shipments"),
            listings: TestSink::new("listings"),
        },
        cursors.clone(),
        shutdown.clone(),
    ));

    let mut received = Vec::new();
    while received.len() < 5 {
        let batch = tokio::time::timeout(Duration::from_secs(20), source.next_batch(10))
            .await
            .expect("reviews from the good shop")
            .unwrap();
        received.extend(batch);
    }
    wait_until("the bad shop's health record", || {
        !health.records().is_empty()
    })
    .await;
    let reported = health.records()[0].clone();
    assert_eq!(reported.shop_id, "dy-3001");
    assert_eq!(
        reported.health.unwrap().condition,
        HealthCondition::TokenExpired
    );
    wait_until("the good shop's cursor", || {
        cursors.get("aggregator-pinduoduo-123").is_some()
    })
    .await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("run stops on shutdown")
        .unwrap()
        .unwrap();
    assert_eq!(received.len(), 5);
    assert!(cursors.get("aggregator-douyin-dy-3001").is_none());
}

#[tokio::test]
async fn run_waits_out_an_announced_ban_before_the_next_request() {
    let server = FakeServer::start().await;
    let now_secs = SystemClock.now_ms() / 1000;
    server.add_reviews(2, now_secs - 60, 1);
    server.fault(Fault::Body(
        200,
        json!({"error_response": {"code": 7, "msg": "App Call Limited",
            "sub_code": "accesscontrol.limited-by-app-access-count",
            "sub_msg": "This ban will last for 1 more seconds"}})
        .to_string(),
    ));
    let harness = Harness::new().await;
    let shop = ShopConfig {
        api: ApiConfig::Top(TopConfig {
            endpoint: server.top_url(),
            app_key: "12345678".into(),
            app_secret: Secret::new(SECRET),
            session: Secret::new("test"),
            sign_method: SignMethod::Md5,
            simplify: false,
            listings: false,
            waybills: Vec::new(),
            calls_per_sec: None,
        }),
        ..harness.shop(Api::Top {
            simplify: false,
            sign_method: SignMethod::Md5,
        })
    };
    let config = IngestConfig {
        shops: vec![shop],
        poll_interval_secs: 60,
        retry_initial_backoff_ms: 10,
        ..IngestConfig::default()
    };
    let reviews = TestSink::new("reviews");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(crate::run(
        config,
        IngestSinks {
            reviews: reviews.clone(),
            health: TestSink::new("health"),
            shipments: TestSink::new("shipments"),
            listings: TestSink::new("listings"),
        },
        Arc::new(MemoryCursorStore::new()),
        shutdown.clone(),
    ));
    wait_until("the reviews after the ban", || reviews.records().len() == 2).await;
    let times = server.request_times();
    assert!(times.len() >= 2);
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_secs(1),
        "ban not honoured: {waited:?}"
    );
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn run_rejects_an_invalid_config_with_every_problem() {
    let config = IngestConfig {
        page_size: 0,
        poll_interval_secs: 0,
        ..IngestConfig::default()
    };
    let sink = TestSink::new("x");
    let error = crate::run(
        config,
        IngestSinks {
            reviews: sink.clone(),
            health: sink.clone(),
            shipments: sink.clone(),
            listings: sink,
        },
        Arc::new(MemoryCursorStore::new()),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    match error {
        IngestError::InvalidConfig(problems) => assert_eq!(problems.len(), 2, "{problems:?}"),
        other => panic!("{other:?}"),
    }
}
