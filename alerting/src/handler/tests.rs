use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use bus::memory::{MemoryTopic, SinkAcks};
use bus::record::headers;
use schemas::model::event_types;
use schemas::{samples, KeywordHit, Rating, TextAnalysis};

use super::*;
use crate::config::WebhookConfig;
use crate::webhook::WebhookMessage;

/// A webhook receiver on 127.0.0.1 answering with scripted statuses (then 200).
struct Receiver {
    addr: SocketAddr,
    state: ReceiverState,
}

#[derive(Clone, Default)]
struct ReceiverState {
    script: Arc<Mutex<VecDeque<u16>>>,
    requests: Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, String) {
    state.requests.lock().unwrap().push((headers, body));
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    (
        StatusCode::from_u16(status).unwrap(),
        format!("scripted {status}"),
    )
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let state = ReceiverState::default();
        state.script.lock().unwrap().extend(script);
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn bodies(&self) -> Vec<serde_json::Value> {
        let requests = self.state.requests.lock().unwrap();
        requests.iter().map(|(_, body)| body.clone()).collect()
    }

    fn header(&self, index: usize, name: &str) -> Option<String> {
        let requests = self.state.requests.lock().unwrap();
        requests[index]
            .0
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    }
}

/// A URL nothing listens on.
async fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/hook")
}

fn config(urls: &[String]) -> AlertingConfig {
    AlertingConfig {
        webhooks: urls
            .iter()
            .enumerate()
            .map(|(index, url)| WebhookConfig {
                name: Some(format!("hook{index}")),
                ..WebhookConfig::new(url.clone())
            })
            .collect(),
        max_attempts_per_batch: 3,
        initial_backoff_ms: 5,
        max_backoff_ms: 20,
        external_url: "http://shopwatch.local:8080".into(),
        ..AlertingConfig::default()
    }
}

fn review_event(rating: Rating, entity_id: &str) -> EnrichedEvent {
    let mut raw = samples::raw_records()[0].clone();
    raw.entity_id = entity_id.into();
    raw.event_id = format!("raw-{entity_id}");
    raw.review.as_mut().unwrap().rating = rating;
    EnrichedEvent::from_raw(
        &raw,
        event_types::REVIEW_RECEIVED,
        1_767_240_002_000,
        Some(TextAnalysis {
            lang: "zh".into(),
            tokens: vec!["快递".into(), "太慢".into()],
            keywords: vec![KeywordHit {
                word: "破损".into(),
                category: "default".into(),
            }],
            sentiment: None,
            polarity: None,
            aspects: Vec::new(),
        }),
    )
}

fn record(event: &EnrichedEvent) -> Record {
    Record::new(
        event.entity_key().to_string(),
        AvroCodec::enriched_event().encode(event).unwrap(),
    )
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl AlertObserver for Recorder {
    fn alert_sent(&self, alert: &Alert) {
        self.0.lock().unwrap().push(alert.event_id.clone());
    }
}

fn rejected_count() -> u64 {
    metrics()
        .alert_sends
        .with_label_values(&["webhook", "rejected"])
        .get()
}

#[tokio::test]
async fn payload_has_the_alertmanager_v4_shape() {
    let receiver = Receiver::start(&[]).await;
    let mut handler = AlertHandler::new(
        &config(&[receiver.url()]),
        NotificationLog::in_memory().unwrap(),
        None,
    )
    .unwrap();
    let event = review_event(Rating::Bad, "r1");
    let verdicts = handler.handle(&[record(&event)]).await.unwrap();
    assert_eq!(verdicts, [Verdict::Done]);

    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "hook0");
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(body["externalURL"], "http://shopwatch.local:8080");
    assert_eq!(
        body["groupKey"],
        r#"{}:{alertname="NegativeReview", platform="taobao", shop_id="123"}"#
    );
    assert_eq!(
        body["groupLabels"],
        serde_json::json!({"alertname": "NegativeReview", "platform": "taobao", "shop_id": "123"})
    );
    let alert = &body["alerts"][0];
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(
        alert["labels"],
        serde_json::json!({
            "alertname": "NegativeReview",
            "platform": "taobao",
            "shop_id": "123",
            "severity": "critical",
            "item_id": "556677",
            "rating": "bad",
        })
    );
    assert_eq!(body["commonLabels"], alert["labels"]);
    assert_eq!(alert["annotations"]["summary"], "快递太慢了，包装破损");
    assert_eq!(alert["annotations"]["keywords"], "破损");
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["startsAt"], "2026-01-01T04:00:00Z");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["generatorURL"], "http://shopwatch.local:8080");
    let fingerprint = alert["fingerprint"].as_str().unwrap();
    let expected = NegativeReviewRule::new(Default::default())
        .evaluate(&event)
        .unwrap()
        .fingerprint;
    assert_eq!(fingerprint, expected);
    assert_eq!(
        receiver.header(0, "idempotency-key").as_deref(),
        Some(fingerprint)
    );

    // The payload parses back into our own type, field for field.
    let parsed: WebhookMessage = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.alerts[0].fingerprint, expected);
    assert_eq!(
        handler
            .notification_log()
            .state(&event.event_id, "hook0")
            .unwrap(),
        Some(NotificationState::Sent)
    );
}

#[tokio::test]
async fn non_firing_events_are_done_and_garbage_is_dead_lettered() {
    let receiver = Receiver::start(&[]).await;
    let mut handler = AlertHandler::new(
        &config(&[receiver.url()]),
        NotificationLog::in_memory().unwrap(),
        None,
    )
    .unwrap();
    let good = review_event(Rating::Good, "r-good");
    let mut good_no_keywords = good.clone();
    good_no_keywords.text = None;
    let shipment = EnrichedEvent::from_raw(
        &samples::raw_records()[1],
        event_types::SHIPMENT_OBSERVED,
        5,
        None,
    );
    let batch = [
        record(&good_no_keywords),
        Record::new("junk", b"{\"not\":\"avro\"}".to_vec()),
        record(&shipment),
    ];
    let verdicts = handler.handle(&batch).await.unwrap();
    assert_eq!(verdicts[0], Verdict::Done);
    assert!(
        matches!(&verdicts[1], Verdict::DeadLetter(reason) if reason.starts_with("undecodable enriched event: not an avro single-object message")),
        "{:?}",
        verdicts[1]
    );
    assert_eq!(verdicts[2], Verdict::Done);
    assert!(receiver.bodies().is_empty());
}

#[tokio::test]
async fn the_same_event_is_sent_once_even_after_reopening_the_log() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nflog.sqlite");
    let observer = Arc::new(Recorder::default());
    let config = config(&[receiver.url()]);
    let event = review_event(Rating::Neutral, "r-dup");
    {
        let log = NotificationLog::open(&path).unwrap();
        let mut handler = AlertHandler::new(
            &config,
            log,
            Some(observer.clone() as Arc<dyn AlertObserver>),
        )
        .unwrap();
        handler.handle(&[record(&event)]).await.unwrap();
        handler
            .handle(&[record(&event), record(&event)])
            .await
            .unwrap();
    }
    let log = NotificationLog::open(&path).unwrap();
    let mut handler = AlertHandler::new(
        &config,
        log,
        Some(observer.clone() as Arc<dyn AlertObserver>),
    )
    .unwrap();
    assert_eq!(handler.resend_pending().await.unwrap(), 0);
    handler.handle(&[record(&event)]).await.unwrap();

    assert_eq!(receiver.bodies().len(), 1);
    assert_eq!(*observer.0.lock().unwrap(), vec![event.event_id.clone()]);
    let entry = handler
        .notification_log()
        .entry(&event.event_id, "hook0")
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, NotificationState::Sent);
    assert_eq!(entry.attempts, 1);
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let receiver = Receiver::start(&[500, 503]).await;
    let mut handler = AlertHandler::new(
        &config(&[receiver.url()]),
        NotificationLog::in_memory().unwrap(),
        None,
    )
    .unwrap();
    let event = review_event(Rating::Bad, "r-retry");
    let verdicts = handler.handle(&[record(&event)]).await.unwrap();
    assert_eq!(verdicts, [Verdict::Done]);

    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 3);
    // Every attempt carries the same alert, so the receiver can deduplicate.
    assert_eq!(bodies[0], bodies[2]);
    let entry = handler
        .notification_log()
        .entry(&event.event_id, "hook0")
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, NotificationState::Sent);
    assert_eq!(entry.attempts, 1);
}

#[tokio::test]
async fn a_receiver_that_is_down_fails_the_batch_and_nothing_is_marked_sent() {
    let url = dead_url().await;
    let mut handler =
        AlertHandler::new(&config(&[url]), NotificationLog::in_memory().unwrap(), None).unwrap();
    let event = review_event(Rating::Bad, "r-down");
    let error = handler.handle(&[record(&event)]).await.unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert_eq!(error.code, "send");
    assert!(
        error.reason.starts_with("receiver hook0 unavailable: "),
        "{}",
        error.reason
    );

    let log = handler.notification_log();
    assert_eq!(log.count(NotificationState::Sent).unwrap(), 0);
    let entry = log.entry(&event.event_id, "hook0").unwrap().unwrap();
    assert_eq!(entry.state, NotificationState::Sending);
    assert!(entry.last_error.is_some());
}

#[tokio::test]
async fn alerts_left_sending_are_resent_at_startup() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nflog.sqlite");
    let event = review_event(Rating::Bad, "r-crash");
    let config = config(&[receiver.url()]);
    {
        // A first run dies after writing `sending`, before the POST.
        let log = NotificationLog::open(&path).unwrap();
        let alert = NegativeReviewRule::new(config.rule.clone())
            .evaluate(&event)
            .unwrap();
        log.begin_send(&alert, "hook0", 1).unwrap();
    }
    let observer = Arc::new(Recorder::default());
    let mut handler = AlertHandler::new(
        &config,
        NotificationLog::open(&path).unwrap(),
        Some(observer.clone() as Arc<dyn AlertObserver>),
    )
    .unwrap();
    assert_eq!(handler.resend_pending().await.unwrap(), 1);
    assert_eq!(receiver.bodies().len(), 1);
    assert_eq!(observer.0.lock().unwrap().len(), 1);
    // The replayed record finds it sent.
    handler.handle(&[record(&event)]).await.unwrap();
    assert_eq!(receiver.bodies().len(), 1);
    assert_eq!(observer.0.lock().unwrap().len(), 1);
    let entry = handler
        .notification_log()
        .entry(&event.event_id, "hook0")
        .unwrap()
        .unwrap();
    assert_eq!((entry.state, entry.attempts), (NotificationState::Sent, 2));
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_is_counted() {
    let receiver = Receiver::start(&[400]).await;
    let mut handler = AlertHandler::new(
        &config(&[receiver.url()]),
        NotificationLog::in_memory().unwrap(),
        None,
    )
    .unwrap();
    let rejected_before = rejected_count();
    let event = review_event(Rating::Bad, "r-400");
    let verdicts = handler.handle(&[record(&event)]).await.unwrap();
    assert_eq!(verdicts, [Verdict::Done]);
    assert_eq!(receiver.bodies().len(), 1);
    // The only test that makes a receiver answer 4xx.
    assert_eq!(rejected_count() - rejected_before, 1);
    let entry = handler
        .notification_log()
        .entry(&event.event_id, "hook0")
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, NotificationState::Failed);
    assert_eq!(
        entry.last_error.as_deref(),
        Some("http status 400: scripted 400")
    );

    // Failed is final: a replay does not send again.
    handler.handle(&[record(&event)]).await.unwrap();
    assert_eq!(receiver.bodies().len(), 1);
}

#[tokio::test]
async fn without_webhooks_the_observer_hears_each_alert_once() {
    let observer = Arc::new(Recorder::default());
    let mut handler = AlertHandler::new(
        &AlertingConfig::default(),
        NotificationLog::in_memory().unwrap(),
        Some(observer.clone() as Arc<dyn AlertObserver>),
    )
    .unwrap();
    let first = review_event(Rating::Bad, "r-a");
    let second = review_event(Rating::Neutral, "r-b");
    handler
        .handle(&[record(&first), record(&second), record(&first)])
        .await
        .unwrap();
    assert_eq!(
        *observer.0.lock().unwrap(),
        [first.event_id.clone(), second.event_id.clone()]
    );
}

#[tokio::test]
async fn run_alerts_from_a_topic_and_dead_letters_garbage() {
    let receiver = Receiver::start(&[503]).await;
    let events = MemoryTopic::new("shopwatch.events", 16);
    let mut source = events.subscribe("alerting", StageCounters::new("alerting_test"));
    let dlq = MemoryTopic::new("shopwatch.events.dlq", 16);
    let mut dlq_reader = dlq.subscribe("check", StageCounters::new("alerting_test"));
    let input = events.sink(SinkAcks::WhenAppended, StageCounters::new("alerting_test"));
    input
        .send_batch(vec![
            record(&review_event(Rating::Bad, "r-run-1")),
            Record::new("junk", vec![1, 2, 3]),
            record(&review_event(Rating::Good, "r-run-2")),
            record(&review_event(Rating::Neutral, "r-run-3")),
        ])
        .await
        .unwrap();
    drop(input);
    let dead_letters = dlq.sink(SinkAcks::WhenAppended, StageCounters::new("alerting_test"));
    let observer = Arc::new(Recorder::default());
    run(
        &config(&[receiver.url()]),
        NotificationLog::in_memory().unwrap(),
        Some(observer.clone() as Arc<dyn AlertObserver>),
        &mut source,
        &dead_letters,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(events.is_empty(), "every record acknowledged");
    // r-run-2 is a good review, but its text hits a keyword: it fires too.
    assert_eq!(receiver.bodies().len(), 4, "one 503 retried, three alerts");
    assert_eq!(observer.0.lock().unwrap().len(), 3);
    let dead = dlq_reader.next_batch(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].header(headers::DLQ_STAGE), Some("alerting"));
}

#[test]
fn invalid_config_is_rejected_with_every_problem() {
    let mut config = config(&["ftp://example.com/x".into(), "not a url".into()]);
    config.webhooks[1].name = Some("hook0".into());
    config.webhooks[1].timeout_secs = 0;
    config.max_attempts_per_batch = 0;
    let error =
        AlertHandler::new(&config, NotificationLog::in_memory().unwrap(), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid alerting configuration: alerting.max_attempts_per_batch must be at least 1; \
         alerting.webhooks[0].url must be an http or https URL; \
         alerting.webhooks[1].url is not a valid URL (relative URL without a base); \
         alerting.webhooks[1].timeout_secs must be at least 1; \
         alerting.webhooks[1] repeats receiver name \"hook0\""
    );
    assert!(!error.is_retryable());
}

#[test]
fn config_parses_from_toml_with_defaults() {
    let config: AlertingConfig = toml::from_str(
        r#"
        external_url = "http://shopwatch:8080"
        [rule]
        ratings = ["bad"]
        [[webhooks]]
        url = "https://hooks.example/alert?token=s3cret"
        "#,
    )
    .unwrap();
    assert_eq!(config.rule.ratings, [Rating::Bad]);
    assert_eq!(config.rule.max_score, 2);
    assert_eq!(config.rule.critical_ratings, [Rating::Bad]);
    assert_eq!(config.webhooks[0].timeout_secs, 10);
    assert_eq!(config.max_attempts_per_batch, 5);
    assert_eq!(
        (config.initial_backoff_ms, config.max_backoff_ms),
        (500, 30_000)
    );
    let name = config.webhooks[0].receiver_name();
    assert!(name.starts_with("webhook-") && name.len() == 16, "{name}");
    assert_eq!(name, config.webhooks[0].clone().receiver_name());
    // The URL (and its token) never shows in Debug output.
    assert!(!format!("{config:?}").contains("s3cret"));

    let error = toml::from_str::<AlertingConfig>("[rule]\nrating = [\"bad\"]").unwrap_err();
    assert!(
        error.to_string().contains("unknown field `rating`"),
        "{error}"
    );
}

#[test]
fn status_classes_follow_the_webhook_contract() {
    use crate::webhook::{classify_status, StatusClass};
    for (status, class) in [
        (200, StatusClass::Delivered),
        (204, StatusClass::Delivered),
        (400, StatusClass::Permanent),
        (401, StatusClass::Permanent),
        (404, StatusClass::Permanent),
        (408, StatusClass::Retryable),
        (429, StatusClass::Retryable),
        (500, StatusClass::Retryable),
        (503, StatusClass::Retryable),
        (302, StatusClass::Permanent),
    ] {
        assert_eq!(classify_status(status), class, "status {status}");
    }
}
