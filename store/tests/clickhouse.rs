//! `ClickHouseStore` against a real server: the one `scripts/services.sh start` runs
//! (ClickHouse 18.16 on this machine and in CI), at `CLICKHOUSE_URL`
//! (default `http://127.0.0.1:18123`). Every test works in a fresh database named after it
//! with a random suffix, and drops it at the end. A server that does not answer fails the
//! tests: start it with `scripts/services.sh start`.

use std::time::Duration;

use bus::memory::{MemoryTopic, SinkAcks};
use bus::metrics::StageCounters;
use bus::stage::{drive, DriveOptions};
use bus::{Record, RecordSink};
use schemas::{event_types, samples, AvroCodec, EnrichedEvent, Polarity};
use store::rows::{self, ReviewRow};
use store::{
    drive_options, ClickHouseConfig, ClickHouseStore, EventStore, StoreError, StoreHandler,
};
use tokio_util::sync::CancellationToken;

fn url() -> String {
    std::env::var("CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:18123".to_owned())
}

/// Connects to a fresh, migrated database `test_<name>_<random>`.
async fn fresh_store(name: &str) -> ClickHouseStore {
    let mut config = ClickHouseConfig::new(url());
    config.database = format!("test_{name}_{:08x}", rand::random::<u32>());
    let mut store = match ClickHouseStore::connect(&config).await {
        Ok(store) => store,
        Err(error) => panic!(
            "ClickHouse is not reachable at {} ({error}); start it with `scripts/services.sh start` \
             (CI does) or point CLICKHOUSE_URL at a server",
            config.url
        ),
    };
    store.migrate().await.unwrap();
    store
}

/// The four sample events, the review one as `review.received`.
fn sample_events() -> Vec<EnrichedEvent> {
    let raws = samples::raw_records();
    let mut events = samples::enriched_events();
    events[0] = EnrichedEvent::from_raw(
        &raws[0],
        event_types::REVIEW_RECEIVED,
        1_767_240_002_000,
        events[0].text.clone(),
    );
    events
}

/// `count` distinct `review.received` events, a minute apart.
fn many_reviews(count: usize) -> Vec<EnrichedEvent> {
    let template = sample_events().remove(0);
    (0..count)
        .map(|index| {
            let mut event = template.clone();
            event.event_id = format!("{}-{index}", template.event_id);
            event.entity_id = format!("{}-{index}", template.entity_id);
            if let Some(review) = event.review.as_mut() {
                review.created_at_ms += index as i64 * 60_000;
            }
            event
        })
        .collect()
}

#[tokio::test]
async fn migrate_on_a_fresh_database_and_again() {
    let mut store = fresh_store("migrate").await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.count("schema_migrations").await.unwrap(), 1);
    assert_eq!(store.count("events").await.unwrap(), 0);
    assert_eq!(store.count("reviews").await.unwrap(), 0);

    let columns: Vec<(String, String)> = store
        .client()
        .query("SELECT name, type FROM system.columns WHERE database = ? AND table = 'reviews'")
        .bind(store.database())
        .fetch_all()
        .await
        .unwrap();
    let type_of = |name: &str| {
        columns
            .iter()
            .find(|(column, _)| column == name)
            .map(|(_, kind)| kind.as_str())
    };
    assert_eq!(columns.len(), 25, "{columns:?}");
    assert_eq!(type_of("tokens"), Some("Array(String)"));
    assert_eq!(type_of("sentiment"), Some("Nullable(Float64)"));
    assert_eq!(type_of("polarity"), Some("Nullable(String)"));
    assert_eq!(type_of("created_at_ms"), Some("Int64"));
    assert_eq!(type_of("created_at"), Some("DateTime"));
    let engine: String = store
        .client()
        .query("SELECT engine FROM system.tables WHERE database = ? AND name = 'events'")
        .bind(store.database())
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(engine, "ReplacingMergeTree");
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn duplicate_inserts_leave_the_counts_unchanged() {
    let mut store = fresh_store("duplicates").await;
    let events = sample_events();
    assert_eq!(store.insert(&events).await.unwrap(), 4);
    assert_eq!(store.insert(&events).await.unwrap(), 0);
    assert_eq!(store.count("events").await.unwrap(), 4);
    assert_eq!(store.count("reviews").await.unwrap(), 1);

    // Half old, half new, with a duplicate inside the batch.
    let mut mixed = vec![events[0].clone(), events[2].clone()];
    mixed.extend(many_reviews(3));
    mixed.push(mixed[3].clone());
    assert_eq!(store.insert(&mixed).await.unwrap(), 3);
    assert_eq!(store.count("events").await.unwrap(), 7);
    assert_eq!(store.count("reviews").await.unwrap(), 4);

    // A second store (a restarted process) sees the same and adds nothing.
    let mut config = ClickHouseConfig::new(url());
    config.database = store.database().to_owned();
    let mut restarted = ClickHouseStore::connect(&config).await.unwrap();
    restarted.migrate().await.unwrap();
    assert_eq!(restarted.insert(&mixed).await.unwrap(), 0);
    assert_eq!(restarted.count("events").await.unwrap(), 7);
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn a_large_batch_is_looked_up_in_one_request_and_stored_once() {
    let mut store = fresh_store("large").await;
    let events = many_reviews(2_500);
    assert_eq!(store.insert(&events).await.unwrap(), 2_500);
    assert_eq!(store.insert(&events).await.unwrap(), 0);
    assert_eq!(store.count("events").await.unwrap(), 2_500);
    assert_eq!(store.count("reviews").await.unwrap(), 2_500);
    store.drop_database().await.unwrap();
}

/// Events whose keys hold TabSeparated separators and escapes, and their twins whose keys
/// differ only in how those would be written unescaped.
fn hostile_events() -> Vec<EnrichedEvent> {
    let keys = [
        ("shop\tone", "entity\nnew\rline"),
        ("shop\\tone", "entity\\nnew\\rline"),
        ("it's \"quoted\"", "back\\slash\\"),
        ("nul\0byte", "tab\tand\\tliteral"),
        ("end\\", "\t\n"),
    ];
    let template = sample_events().remove(0);
    keys.iter()
        .enumerate()
        .map(|(index, (shop_id, entity_id))| {
            let mut event = template.clone();
            event.event_id = format!("{}\t{index}\\n", template.event_id);
            event.shop_id = (*shop_id).to_owned();
            event.entity_id = (*entity_id).to_owned();
            if let Some(review) = event.review.as_mut() {
                review.created_at_ms += index as i64 * 1_000;
            }
            event
        })
        .collect()
}

#[tokio::test]
async fn keys_with_separators_and_escapes_are_deduplicated() {
    let mut store = fresh_store("hostile").await;
    let events = hostile_events();
    // Every second event first: its twin (same key but for escaping) must not count as stored.
    let first: Vec<EnrichedEvent> = events.iter().step_by(2).cloned().collect();
    assert_eq!(store.insert(&first).await.unwrap(), 3);
    assert_eq!(store.insert(&events).await.unwrap(), 2);
    assert_eq!(store.insert(&events).await.unwrap(), 0);
    assert_eq!(store.count("events").await.unwrap(), 5);
    assert_eq!(store.count("reviews").await.unwrap(), 5);

    let stored: Vec<(String, String)> = store
        .events()
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.shop_id, row.entity_id))
        .collect();
    for event in &events {
        assert!(
            stored.contains(&(event.shop_id.clone(), event.entity_id.clone())),
            "{:?} not stored verbatim in {stored:?}",
            event.shop_id
        );
    }
    let mut review_ids: Vec<String> = store
        .reviews()
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.event_id)
        .collect();
    review_ids.sort();
    let mut expected: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    expected.sort();
    assert_eq!(review_ids, expected);
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn every_column_of_a_review_round_trips() {
    let mut store = fresh_store("round_trip").await;
    let mut events = sample_events();
    {
        let review = events[0].review.as_mut().unwrap();
        review.content = "it's a \\ test, 包装破损\n第二行\t'引号'".into();
        review.score = Some(1);
        review.follow_up = true;
        let text = events[0].text.as_mut().unwrap();
        text.sentiment = Some(0.0625);
        text.polarity = Some(Polarity::Negative);
    }
    store.insert(&events).await.unwrap();

    let reviews = store.reviews().await.unwrap();
    let expected: ReviewRow = rows::review_row(&events[0]).unwrap();
    assert_eq!(reviews, vec![expected]);

    let mut expected_events: Vec<_> = events
        .iter()
        .map(|event| rows::event_row(event).unwrap())
        .collect();
    expected_events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert_eq!(store.events().await.unwrap(), expected_events);

    // The server-side DateTime columns are the epoch milliseconds in seconds.
    let created: u32 = store
        .client()
        .query("SELECT toUInt32(created_at) FROM reviews")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(i64::from(created), 1_767_240_000);
    let occurred: Vec<u32> = store
        .client()
        .query("SELECT DISTINCT toUInt32(occurred_at) FROM events")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(occurred, [1_767_240_000]);
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn the_handler_stores_a_replayed_stream_once() {
    let store = fresh_store("handler").await;
    let events = many_reviews(20);
    let codec = AvroCodec::enriched_event();
    let encode = |event: &EnrichedEvent| {
        Record::new(event.entity_key().to_string(), codec.encode(event).unwrap())
    };
    let mut records: Vec<Record> = events.iter().map(encode).collect();
    // The first five again, as after a consumer restart.
    records.extend(events[..5].iter().map(encode));

    let input = MemoryTopic::new("shopwatch.events", 64);
    let dlq_topic = MemoryTopic::new("shopwatch.events.dlq", 8);
    let dlq = dlq_topic.sink(SinkAcks::WhenAppended, StageCounters::new("test"));
    let mut source = input.subscribe("store", StageCounters::new("test"));
    let producer = input.sink(SinkAcks::WhenConsumed, StageCounters::new("test"));
    let send = tokio::spawn(async move {
        // Two sends: the replayed records arrive in a later batch.
        producer.send_batch(records[..20].to_vec()).await?;
        producer.send_batch(records[20..].to_vec()).await
    });

    let mut config = ClickHouseConfig::new(url());
    config.period_ms = 20;
    let options = DriveOptions {
        initial_backoff: Duration::from_millis(10),
        ..drive_options(&config)
    };
    let mut handler = StoreHandler::new(Box::new(store.clone()));
    drive(
        &mut source,
        &mut handler,
        &dlq,
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    send.await.unwrap().unwrap();
    assert_eq!(store.count("events").await.unwrap(), 20);
    assert_eq!(store.count("reviews").await.unwrap(), 20);
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn a_server_that_is_down_is_a_retryable_error() {
    let config = ClickHouseConfig::new("http://127.0.0.1:1");
    let error = ClickHouseStore::connect(&config).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(matches!(
        error,
        StoreError::Unavailable {
            backend: "clickhouse",
            ..
        }
    ));
    let message = error.to_string();
    assert!(
        message.starts_with(
            "clickhouse unavailable: version query at http://127.0.0.1:1 failed: network error"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn wrong_credentials_are_rejected_not_retried() {
    let mut config = ClickHouseConfig::new(url());
    config.user = "nobody_such_user".into();
    let error = ClickHouseStore::connect(&config).await.unwrap_err();
    assert!(matches!(error, StoreError::Rejected { .. }), "{error}");
    assert!(error.to_string().contains("Code: 192"), "{error}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_times_out_as_retryable() {
    // Accepts connections (the kernel's backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = ClickHouseConfig::new(format!("http://{}", silent.local_addr().unwrap()));
    config.request_timeout_secs = 1;
    let error = ClickHouseStore::connect(&config).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "clickhouse unavailable: version query at {} timed out after 1s",
            config.url
        )
    );
}
