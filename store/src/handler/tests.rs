use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::memory::{MemoryTopic, SinkAcks};
use bus::record::headers;
use bus::stage::drive;
use bus::{RecordSink, RecordSource};
use tokio_util::sync::CancellationToken;

use crate::error::StoreError;
use crate::test_support::{many_reviews, sample_events};
use crate::SqliteStore;

use super::*;

fn encoded(event: &EnrichedEvent) -> Record {
    let payload = AvroCodec::enriched_event().encode(event).unwrap();
    Record::new(event.entity_key().to_string(), payload)
}

async fn migrated_sqlite() -> SqliteStore {
    let mut store = SqliteStore::open(Path::new(":memory:")).unwrap();
    store.migrate().await.unwrap();
    store
}

/// Shares one SQLite store between the handler and the test.
struct Shared(Arc<tokio::sync::Mutex<SqliteStore>>);

#[async_trait]
impl EventStore for Shared {
    async fn migrate(&mut self) -> Result<(), StoreError> {
        self.0.lock().await.migrate().await
    }
    async fn insert(&mut self, events: &[EnrichedEvent]) -> Result<usize, StoreError> {
        self.0.lock().await.insert(events).await
    }
}

/// Fails the first `failures` inserts with `error`, then stores into SQLite.
struct Failing {
    failures: usize,
    error: fn() -> StoreError,
    calls: Arc<Mutex<Vec<usize>>>,
    inner: Shared,
}

#[async_trait]
impl EventStore for Failing {
    async fn migrate(&mut self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }
    async fn insert(&mut self, events: &[EnrichedEvent]) -> Result<usize, StoreError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(events.len());
            calls.len()
        };
        if call <= self.failures {
            return Err((self.error)());
        }
        self.inner.insert(events).await
    }
}

#[tokio::test]
async fn undecodable_and_unstorable_records_are_dead_lettered_the_rest_stored() {
    let store = Arc::new(tokio::sync::Mutex::new(migrated_sqlite().await));
    let mut handler = StoreHandler::new(Box::new(Shared(Arc::clone(&store))));
    let events = sample_events();
    let mut no_entity = events[1].clone();
    no_entity.shipment = None;
    let batch = vec![
        encoded(&events[0]),
        Record::new("garbage", b"not avro".to_vec()),
        encoded(&no_entity),
        encoded(&events[2]),
    ];
    let verdicts = handler.handle(&batch).await.unwrap();
    assert_eq!(verdicts.len(), 4);
    assert_eq!(verdicts[0], Verdict::Done);
    assert!(
        matches!(&verdicts[1], Verdict::DeadLetter(reason) if reason.starts_with("undecodable enriched event: not an avro single-object message")),
        "{:?}",
        verdicts[1]
    );
    assert_eq!(
        verdicts[2],
        Verdict::DeadLetter(format!(
            "bad event {}: kind shipment but no shipment entity",
            no_entity.event_id
        ))
    );
    assert_eq!(verdicts[3], Verdict::Done);
    let store = store.lock().await;
    assert_eq!(store.count("events").unwrap(), 2);
    assert_eq!(store.count("reviews").unwrap(), 1);
}

#[tokio::test]
async fn a_batch_of_only_bad_records_does_not_call_the_store() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut handler = StoreHandler::new(Box::new(Failing {
        failures: usize::MAX,
        error: || StoreError::Unavailable {
            backend: "test",
            reason: "down".into(),
        },
        calls: Arc::clone(&calls),
        inner: Shared(Arc::new(tokio::sync::Mutex::new(migrated_sqlite().await))),
    }));
    let verdicts = handler
        .handle(&[Record::new("k", b"junk".to_vec())])
        .await
        .unwrap();
    assert!(matches!(verdicts[0], Verdict::DeadLetter(_)));
    assert!(calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn store_errors_fail_the_batch_by_class() {
    for (error, retryable, code) in [
        (
            (|| StoreError::Unavailable {
                backend: "clickhouse",
                reason: "connection refused".into(),
            }) as fn() -> StoreError,
            true,
            "store_unavailable",
        ),
        (
            || StoreError::Rejected {
                backend: "clickhouse",
                reason: "Code: 516 authentication failed".into(),
            },
            false,
            "store_rejected",
        ),
    ] {
        let mut handler = StoreHandler::new(Box::new(Failing {
            failures: 1,
            error,
            calls: Arc::default(),
            inner: Shared(Arc::new(tokio::sync::Mutex::new(migrated_sqlite().await))),
        }));
        let failure = handler
            .handle(&[encoded(&sample_events()[0])])
            .await
            .unwrap_err();
        assert_eq!(failure.retryable, retryable);
        assert_eq!(failure.code, code);
        assert!(failure.reason.contains("clickhouse"), "{}", failure.reason);
    }
}

#[tokio::test]
async fn drive_retries_a_failed_insert_and_stores_each_event_once() {
    let store = Arc::new(tokio::sync::Mutex::new(migrated_sqlite().await));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut handler = StoreHandler::new(Box::new(Failing {
        failures: 2,
        error: || StoreError::Unavailable {
            backend: "clickhouse",
            reason: "connection refused".into(),
        },
        calls: Arc::clone(&calls),
        inner: Shared(Arc::clone(&store)),
    }));

    let input = MemoryTopic::new("shopwatch.events", 64);
    let dlq_topic = MemoryTopic::new("shopwatch.events.dlq", 16);
    let mut dlq_reader = dlq_topic.subscribe("check", StageCounters::new("test"));
    let dlq = dlq_topic.sink(SinkAcks::WhenAppended, StageCounters::new("test"));
    let mut source = input.subscribe(STAGE, StageCounters::new("test"));
    let producer = input.sink(SinkAcks::WhenConsumed, StageCounters::new("test"));

    // Ten reviews, one of them twice (a replay), plus one undecodable record.
    let events = many_reviews(10);
    let mut records: Vec<Record> = events.iter().map(encoded).collect();
    records.push(encoded(&events[3]));
    records.push(Record::new("bad", b"\x00\x01".to_vec()));
    let send = tokio::spawn(async move { producer.send_batch(records).await });

    let mut config = ClickHouseConfig::new("http://unused");
    config.max_rows = 100;
    config.period_ms = 50;
    let options = DriveOptions {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..drive_options(&config)
    };
    drive(
        &mut source,
        &mut handler,
        &dlq,
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    // The producer returns only once every record was acknowledged by the stage.
    send.await.unwrap().unwrap();

    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "two failures, then success: {calls:?}");
    assert!(
        calls.iter().all(|size| *size == calls[0]),
        "same batch each time: {calls:?}"
    );
    let store = store.lock().await;
    assert_eq!(store.count("events").unwrap(), 10);
    assert_eq!(store.count("reviews").unwrap(), 10);

    let dead = dlq_reader.next_batch(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, "bad");
    assert_eq!(dead[0].header(headers::DLQ_STAGE), Some("store"));
}

#[test]
fn drive_options_follow_the_clickhouse_batching_config() {
    let mut config = ClickHouseConfig::new("http://127.0.0.1:8123");
    config.max_rows = 500;
    config.max_bytes = 1_000_000;
    config.period_ms = 250;
    let options = drive_options(&config);
    assert_eq!(options.stage, "store");
    assert_eq!(options.max_records, 500);
    assert_eq!(options.max_bytes, 1_000_000);
    assert_eq!(options.max_wait, Duration::from_millis(250));

    let defaults = drive_options(&ClickHouseConfig::new("http://127.0.0.1:8123"));
    assert_eq!(defaults.max_records, 10_000);
    assert_eq!(defaults.max_bytes, 8 * 1024 * 1024);
    assert_eq!(defaults.max_wait, Duration::from_secs(1));
}

#[test]
fn decode_all_keeps_the_order_and_puts_dead_letters_in_place() {
    let events = many_reviews(50);
    let mut batch: Vec<Record> = events.iter().map(encoded).collect();
    let mut no_entity = events[7].clone();
    no_entity.review = None;
    batch[7] = encoded(&no_entity);
    batch[20] = Record::new("garbage", b"not avro".to_vec());
    let decoded = decode_all(&batch);
    assert_eq!(decoded.len(), 50);
    for (index, result) in decoded.iter().enumerate() {
        match (index, result) {
            (7, Err(reason)) => assert!(reason.contains("no review entity"), "{reason}"),
            (20, Err(reason)) => {
                assert!(reason.starts_with("undecodable enriched event"), "{reason}")
            }
            (_, Ok(event)) => assert_eq!(event, &events[index], "record {index}"),
            (_, Err(reason)) => panic!("record {index}: {reason}"),
        }
    }
}
