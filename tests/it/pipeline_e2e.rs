//! End to end: the simulator → ingest → bus → enrich → store and alert, checked against the
//! simulator's ground truth — every review stored exactly once, every qualifying review
//! alerted exactly once — on the embedded default, under injected platform faults, and
//! distributed over real Kafka and ClickHouse with stages killed (SIGKILL) and restarted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use shopwatch::config::Config;
use simulator::{Api, Fault, SimReview, Simulator, SimulatorConfig};
use tokio_util::sync::CancellationToken;

use crate::common::{self, RecordingReceiver};

/// A finite simulated world: `history` reviews per shop at start, then `live` more per shop
/// at `per_minute`.
fn finite_world(history: u32, live: u32, per_minute: f64) -> SimulatorConfig {
    SimulatorConfig {
        seed: 7,
        history_reviews: history,
        history_minutes: 30,
        reviews_per_minute: per_minute,
        max_reviews_per_shop: Some(history + live),
        ..SimulatorConfig::default()
    }
}

async fn start_simulator(config: SimulatorConfig) -> (Simulator, String, CancellationToken) {
    let simulator = Simulator::new(config).expect("simulator config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let serving = simulator.clone();
    let token = shutdown.clone();
    tokio::spawn(async move { serving.serve(listener, token).await });
    (simulator, base_url, shutdown)
}

/// How many reviews the negative-review rule must alert on, computed from the ground truth
/// by the same enricher and rule the pipeline runs (with the default config), so the test
/// follows the rule instead of restating it.
fn qualifying(reviews: &[SimReview]) -> usize {
    let enricher = enrich::Enricher::new(&enrich::EnrichConfig::default()).unwrap();
    let rule = alerting::NegativeReviewRule::new(alerting::AlertingConfig::default().rule);
    reviews
        .iter()
        .filter(|review| {
            let raw = schemas::RawRecord::new(
                schemas::Provenance {
                    platform: review.platform,
                    shop_id: review.shop_id.clone(),
                    entity_id: review.oid.clone(),
                    version: review.created.clone(),
                    source: "ground-truth".into(),
                    occurred_at_ms: review.created_ms,
                    observed_at_ms: review.created_ms,
                    payload: String::new(),
                },
                schemas::Entity::Review(schemas::Review {
                    order_id: review.tid.clone(),
                    sub_order_id: Some(review.oid.clone()),
                    item_id: Some(review.num_iid.clone()),
                    item_title: Some(review.item_title.clone()),
                    item_price_fen: None,
                    buyer_nick_masked: schemas::privacy::mask_nick(&review.nick),
                    rater_role: "buyer".into(),
                    rating: review.result,
                    score: None,
                    content: schemas::privacy::mask_phone_numbers(&review.content),
                    reply: review.reply.clone(),
                    created_at_ms: review.created_ms,
                    follow_up: false,
                    valid_score: Some(review.valid_score),
                }),
            );
            let event = enricher.enrich(&raw, review.created_ms).unwrap();
            rule.evaluate(&event).is_some()
        })
        .count()
}

/// Asserts that alerts are one per review and none repeats.
fn assert_alerted_once(receiver: &RecordingReceiver, expected: usize) {
    let alerts = receiver.alerts();
    let fingerprints: BTreeSet<&str> = alerts
        .iter()
        .map(|alert| alert["fingerprint"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(fingerprints.len(), alerts.len(), "an alert was sent twice");
    assert_eq!(alerts.len(), expected, "alerts sent vs qualifying reviews");
    for alert in &alerts {
        assert_eq!(alert["labels"]["alertname"], "NegativeReview");
        assert!(alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
    }
}

fn embedded_config(
    simulator: &SimulatorConfig,
    base_url: &str,
    data_dir: &Path,
    webhook: &str,
) -> Config {
    let mut config = shopwatch::demo::config_for_simulator(simulator, base_url);
    config.data_dir = data_dir.to_path_buf();
    config.alerting.webhooks = vec![alerting::WebhookConfig::new(webhook)];
    config.alerting.initial_backoff_ms = 50;
    config.ingest.retry_initial_backoff_ms = 100;
    config.ingest.retry_max_backoff_secs = 1;
    config.validate().unwrap();
    config
}

fn stored_reviews(data_dir: &Path) -> u64 {
    store::SqliteStore::open(&data_dir.join("shopwatch.db"))
        .and_then(|stored| stored.count(store::tables::REVIEWS))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_pipeline_stores_each_review_once_and_alerts_each_qualifying_once() {
    let world = finite_world(25, 0, 0.0);
    let (simulator, base_url, simulator_shutdown) = start_simulator(world.clone()).await;
    let (receiver, webhook) = RecordingReceiver::start().await;
    let data = tempfile::tempdir().unwrap();
    let truth = simulator.reviews();
    assert_eq!(truth.len(), 75);
    let expected_alerts = qualifying(&truth);
    assert!(expected_alerts > 10, "the world has negative reviews");

    let config = embedded_config(&world, &base_url, data.path(), &webhook);
    let shutdown = CancellationToken::new();
    let pipeline = tokio::spawn({
        let (config, shutdown) = (config.clone(), shutdown.clone());
        async move { shopwatch::roles::run_embedded(&config, None, shutdown).await }
    });
    let done = common::eventually(Duration::from_secs(60), || async {
        stored_reviews(data.path()) == truth.len() as u64
            && receiver.alerts().len() >= expected_alerts
    })
    .await;
    assert!(
        done,
        "stored {} of {}, alerted {} of {}",
        stored_reviews(data.path()),
        truth.len(),
        receiver.alerts().len(),
        expected_alerts
    );
    // Let a few more polls replay the overlap window: nothing may be added.
    tokio::time::sleep(Duration::from_secs(3)).await;
    shutdown.cancel();
    pipeline.await.unwrap().unwrap();
    assert_eq!(stored_reviews(data.path()), truth.len() as u64);
    assert_alerted_once(&receiver, expected_alerts);

    // A restart on the same data directory replays its overlap window: no duplicate rows,
    // no second alert.
    let shutdown = CancellationToken::new();
    let pipeline = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { shopwatch::roles::run_embedded(&config, None, shutdown).await }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    shutdown.cancel();
    pipeline.await.unwrap().unwrap();
    assert_eq!(stored_reviews(data.path()), truth.len() as u64);
    assert_alerted_once(&receiver, expected_alerts);
    simulator_shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_faults_are_retried_without_losing_or_duplicating_reviews() {
    let world = finite_world(20, 0, 0.0);
    let (simulator, base_url, simulator_shutdown) = start_simulator(world.clone()).await;
    // Every transient fault both APIs document, queued before the first poll.
    for fault in [
        Fault::ErrorCode(7),
        Fault::ErrorCode(15),
        Fault::ErrorCode(10),
        Fault::MalformedJson,
        Fault::TruncatedJson,
        Fault::WrongEnvelope,
        Fault::Http500,
    ] {
        simulator.inject(Api::Top, fault, 1);
    }
    for fault in [
        Fault::ErrorCode(101),
        Fault::ErrorCode(200),
        Fault::ErrorCode(202),
        Fault::MalformedJson,
        Fault::TruncatedJson,
        Fault::WrongEnvelope,
        Fault::Http500,
    ] {
        simulator.inject(Api::Aggregator, fault, 1);
    }
    let (receiver, webhook) = RecordingReceiver::start().await;
    let data = tempfile::tempdir().unwrap();
    let truth = simulator.reviews();
    let expected_alerts = qualifying(&truth);
    let config = embedded_config(&world, &base_url, data.path(), &webhook);
    let shutdown = CancellationToken::new();
    let pipeline = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { shopwatch::roles::run_embedded(&config, None, shutdown).await }
    });
    let done = common::eventually(Duration::from_secs(90), || async {
        stored_reviews(data.path()) == truth.len() as u64
            && receiver.alerts().len() >= expected_alerts
    })
    .await;
    let stats = simulator.stats();
    assert!(
        done,
        "stored {} of {}; simulator stats {stats:?}",
        stored_reviews(data.path()),
        truth.len()
    );
    assert_eq!(stats.top.faults_pending, 0, "every TOP fault was served");
    assert_eq!(
        stats.aggregator.faults_pending, 0,
        "every aggregator fault was served"
    );
    assert!(
        stats.top.faults >= 7 && stats.aggregator.faults >= 7,
        "{stats:?}"
    );
    shutdown.cancel();
    pipeline.await.unwrap().unwrap();
    assert_eq!(stored_reviews(data.path()), truth.len() as u64);
    assert_alerted_once(&receiver, expected_alerts);
    simulator_shutdown.cancel();
}

/// The shopwatch binary next to this test binary (`target/<profile>/shopwatch`).
fn shopwatch_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = dir.join("shopwatch");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p shopwatch` (cargo test --workspace builds it)",
        binary.display()
    );
    binary
}

fn distributed_config(
    base_url: &str,
    prefix: &str,
    database: &str,
    data_dir: &Path,
    webhook: &str,
) -> String {
    use simulator::config::*;
    format!(
        r#"
data_dir = "{data_dir}"
topic_prefix = "{prefix}"
shutdown_grace_period_secs = 10

[metrics]
listen = "127.0.0.1:0"

[kafka]
brokers = "{brokers}"
session_timeout_ms = 6000

[clickhouse]
url = "{clickhouse}"
database = "{database}"
period_ms = 200

[ingest]
poll_interval_secs = 1
window_overlap_secs = 60
initial_lookback_secs = 7200
retry_initial_backoff_ms = 100
retry_max_backoff_secs = 1

[[ingest.shops]]
platform = "taobao"
shop_id = "{top_shop}"
api = "top"
endpoint = "{base_url}/router/rest"
app_key = "{app_key}"
app_secret = "{app_secret}"
session = "{session}"
sign_method = "hmac-sha256"

[[ingest.shops]]
platform = "pinduoduo"
shop_id = "{pdd_shop}"
api = "aggregator"
endpoint = "{base_url}/tool/erps/traderates"
token = "{token}"

[[ingest.shops]]
platform = "douyin"
shop_id = "{douyin_shop}"
api = "aggregator"
endpoint = "{base_url}/tool/erps/traderates"
token = "{token}"

[alerting]
initial_backoff_ms = 50

[[alerting.webhooks]]
url = "{webhook}"
"#,
        data_dir = data_dir.display(),
        brokers = common::kafka_brokers(),
        clickhouse = common::clickhouse_url(),
        top_shop = DEFAULT_TOP_SHOP_ID,
        app_key = DEFAULT_TOP_APP_KEY,
        app_secret = DEFAULT_TOP_APP_SECRET,
        session = DEFAULT_TOP_SESSION,
        pdd_shop = DEFAULT_AGGREGATOR_PDD_SHOP_ID,
        douyin_shop = DEFAULT_AGGREGATOR_DOUYIN_SHOP_ID,
        token = DEFAULT_AGGREGATOR_TOKEN,
    )
}

/// One role process; killed with SIGKILL when dropped, so a failing test leaves nothing behind.
struct RoleProcess {
    role: &'static str,
    child: Child,
}

impl RoleProcess {
    fn start(role: &'static str, config: &Path, log_dir: &Path) -> RoleProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join(format!("{role}.log")))
            .unwrap();
        let child = Command::new(shopwatch_binary())
            .arg(role)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        RoleProcess { role, child }
    }

    fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits; returns the exit code.
    async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..150 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} did not stop within 15 s of SIGTERM", self.role);
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_pipeline_survives_killed_stages_and_poison_messages() {
    common::require_services().await;
    let binary = shopwatch_binary();
    assert!(binary.exists());
    // 20 history + 40 live reviews per shop, two per second per shop: the stages are killed
    // while reviews are still arriving.
    let world = finite_world(20, 40, 120.0);
    let (simulator, base_url, simulator_shutdown) = start_simulator(world).await;
    let (receiver, webhook) = RecordingReceiver::start().await;
    let work = tempfile::tempdir().unwrap();
    let prefix = common::unique_name("e2e");
    let database = common::unique_name("e2e");
    let config_path = work.path().join("shopwatch.toml");
    std::fs::write(
        &config_path,
        distributed_config(&base_url, &prefix, &database, work.path(), &webhook),
    )
    .unwrap();
    let text = std::fs::read_to_string(&config_path).unwrap();
    let config = Config::parse(&text, &BTreeMap::new()).unwrap();
    config.validate().unwrap();
    let clickhouse = store::ClickHouseStore::connect(config.clickhouse.as_ref().unwrap())
        .await
        .unwrap();
    let reviews_in_clickhouse = || {
        let clickhouse = clickhouse.clone();
        async move {
            clickhouse
                .count(store::tables::REVIEWS)
                .await
                .unwrap_or_default()
        }
    };

    let logs = work.path();
    let ingest = RoleProcess::start("ingest", &config_path, logs);
    let mut enrich = RoleProcess::start("enrich", &config_path, logs);
    let mut store_role = RoleProcess::start("store", &config_path, logs);
    let alert = RoleProcess::start("alert", &config_path, logs);

    // A poison message on the raw topic: not Avro at all.
    let kafka = config.kafka.clone().unwrap();
    bus::kafka::ensure_topics(&kafka, &[config.topics().raw_reviews.as_str()])
        .await
        .unwrap();
    let poison = bus::kafka::KafkaSink::new(
        &kafka,
        config.topics().raw_reviews.clone(),
        bus::metrics::StageCounters::new("test"),
    )
    .unwrap();
    use bus::RecordSink as _;
    poison
        .send_batch(vec![bus::Record::new(
            "poison",
            b"{\"not\":\"avro\"}".to_vec(),
        )])
        .await
        .unwrap();

    // Kill enrich and store twice while reviews flow, restarting them each time.
    for round in 0..2 {
        let target = 20 + 40 * round;
        let progressed = common::eventually(Duration::from_secs(90), || async {
            reviews_in_clickhouse().await >= target
        })
        .await;
        assert!(
            progressed,
            "round {round}: only {} reviews stored; logs in {}",
            reviews_in_clickhouse().await,
            logs.display()
        );
        enrich.kill_hard();
        store_role.kill_hard();
        tokio::time::sleep(Duration::from_millis(500)).await;
        enrich = RoleProcess::start("enrich", &config_path, logs);
        store_role = RoleProcess::start("store", &config_path, logs);
    }

    let total = 3 * 60;
    let finished = common::eventually(Duration::from_secs(120), || async {
        simulator.reviews().len() == total && reviews_in_clickhouse().await >= total as u64
    })
    .await;
    let truth = simulator.reviews();
    assert!(
        finished,
        "stored {} of {} (simulated so far {}); logs in {}",
        reviews_in_clickhouse().await,
        total,
        truth.len(),
        logs.display()
    );
    let expected_alerts = qualifying(&truth);
    let alerted = common::eventually(Duration::from_secs(60), || async {
        receiver.alerts().len() >= expected_alerts
    })
    .await;
    assert!(
        alerted,
        "alerted {} of {}",
        receiver.alerts().len(),
        expected_alerts
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Exactly once in ClickHouse: as many rows as reviews, one per event id, and the
    // simulated reviews are the stored ones.
    assert_eq!(reviews_in_clickhouse().await, total as u64);
    let stored = clickhouse.reviews().await.unwrap();
    let stored_orders: BTreeSet<(String, String)> = stored
        .iter()
        .map(|row| (row.shop_id.clone(), row.order_id.clone()))
        .collect();
    let simulated_orders: BTreeSet<(String, String)> = truth
        .iter()
        .map(|review| (review.shop_id.clone(), review.tid.clone()))
        .collect();
    assert_eq!(stored_orders, simulated_orders);
    assert_alerted_once(&receiver, expected_alerts);

    // The poison message went to the dead-letter topic with its reason.
    let dlq_topic = bus::topics::dead_letter(&config.topics().raw_reviews);
    let mut dlq = bus::kafka::KafkaSource::new(
        &kafka,
        dlq_topic,
        &common::unique_name("dlq-check"),
        CancellationToken::new(),
        bus::metrics::StageCounters::new("test"),
    )
    .unwrap();
    use bus::RecordSource as _;
    let dead = tokio::time::timeout(Duration::from_secs(30), dlq.next_batch(10))
        .await
        .expect("a dead letter arrives")
        .unwrap();
    assert_eq!(dead[0].key, "poison");
    assert!(dead[0]
        .header(bus::record::headers::DLQ_REASON)
        .is_some_and(|reason| !reason.is_empty()));

    // Graceful shutdown: every role exits on SIGTERM with the signal's code.
    for role in [ingest, enrich, store_role, alert] {
        let name = role.role;
        assert_eq!(
            role.terminate().await,
            Some(143),
            "{name} exit code; logs in {}",
            logs.display()
        );
    }
    clickhouse.drop_database().await.unwrap();
    simulator_shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_credentials_become_source_health_events_and_metrics_show_every_stage() {
    let world = finite_world(5, 0, 0.0);
    let (simulator, base_url, simulator_shutdown) = start_simulator(world.clone()).await;
    let (receiver, webhook) = RecordingReceiver::start().await;
    let data = tempfile::tempdir().unwrap();
    let mut config = embedded_config(&world, &base_url, data.path(), &webhook);
    // The TOP shop's session was revoked (code 27) and the aggregator token is wrong (401):
    // two problems a person must act on, while nothing else stops.
    for shop in &mut config.ingest.shops {
        match &mut shop.api {
            ingest::ApiConfig::Top(top) => top.session = schemas::Secret::new("revoked-session"),
            ingest::ApiConfig::Aggregator(aggregator) if shop.shop_id == "dy-3001" => {
                aggregator.token = schemas::Secret::new("wrong-token")
            }
            _ => {}
        }
    }
    let shutdown = CancellationToken::new();
    let pipeline = tokio::spawn({
        let (config, shutdown) = (config.clone(), shutdown.clone());
        async move { shopwatch::roles::run_embedded(&config, None, shutdown).await }
    });
    let health_events = || {
        store::SqliteStore::open(&data.path().join("shopwatch.db"))
            .and_then(|stored| stored.events())
            .unwrap_or_default()
            .into_iter()
            .filter(|event| event.event_type == schemas::event_types::SOURCE_HEALTH_REPORTED)
            .collect::<Vec<_>>()
    };
    let pdd_reviews = simulator
        .reviews()
        .iter()
        .filter(|review| review.shop_id == "123")
        .count() as u64;
    let done = common::eventually(Duration::from_secs(60), || async {
        health_events().len() >= 2 && stored_reviews(data.path()) == pdd_reviews
    })
    .await;
    assert!(
        done,
        "health events {:?}, reviews {}",
        health_events(),
        stored_reviews(data.path())
    );
    let events = health_events();
    let top = events
        .iter()
        .find(|event| event.shop_id == "tb-10001")
        .expect("TOP health event");
    assert!(
        top.entity_json.contains("token_expired"),
        "{}",
        top.entity_json
    );
    assert!(top.entity_json.contains("\"27\""), "{}", top.entity_json);
    assert!(
        !top.entity_json.contains("revoked-session"),
        "a secret leaked: {}",
        top.entity_json
    );
    let douyin = events
        .iter()
        .find(|event| event.shop_id == "dy-3001")
        .expect("aggregator health event");
    assert!(
        douyin.entity_json.contains("token_expired"),
        "{}",
        douyin.entity_json
    );
    assert!(
        !douyin.entity_json.contains("wrong-token"),
        "a secret leaked: {}",
        douyin.entity_json
    );

    // Every stage shows up on /metrics, in a form promtool accepts.
    let metrics_shutdown = CancellationToken::new();
    let address = shopwatch::telemetry::serve_metrics(
        "127.0.0.1:0".parse().unwrap(),
        metrics_shutdown.clone(),
    )
    .await
    .unwrap();
    let exposition = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "shopwatch_records_received_total{stage=\"enrich\"}",
        "shopwatch_records_received_total{stage=\"store\"}",
        "shopwatch_records_received_total{stage=\"alerting\"}",
        "shopwatch_records_sent_total{stage=\"ingest\"}",
        "shopwatch_records_sent_total{stage=\"enrich\"}",
        "shopwatch_ingest_poll_errors_total",
        "shopwatch_alert_latency_seconds_bucket",
        "shopwatch_build_info",
    ] {
        assert!(exposition.contains(needle), "/metrics lacks {needle}");
    }
    assert!(!exposition.contains("revoked-session") && !exposition.contains("wrong-token"));
    let path = data.path().join("metrics.txt");
    std::fs::write(&path, &exposition).unwrap();
    let checked = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .expect("promtool is missing: apt-get install prometheus");
    assert!(
        checked.status.success(),
        "promtool check metrics: {} {}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    metrics_shutdown.cancel();
    shutdown.cancel();
    pipeline.await.unwrap().unwrap();
    assert!(receiver.alerts().len() <= pdd_reviews as usize);
    simulator_shutdown.cancel();
}
