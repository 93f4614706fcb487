use clickhouse::test::{self, handlers};

use crate::test_support::{many_reviews, sample_events};

use super::*;

async fn mocked_store(mock: &test::Mock) -> ClickHouseStore {
    mock.add(handlers::provide(["18.16.1".to_owned()]));
    let root = Client::default().with_mock(mock).with_validation(false);
    ClickHouseStore::with_client(root, &ClickHouseConfig::new(mock.url()))
        .await
        .unwrap()
}

#[tokio::test]
async fn connect_asks_the_server_version() {
    let mock = test::Mock::new();
    let store = mocked_store(&mock).await;
    assert_eq!(store.server_version(), "18.16.1");
    assert_eq!(store.database(), "shopwatch");
}

#[tokio::test]
async fn migrate_creates_database_tables_and_records_the_version() {
    let mock = test::Mock::new();
    let mut store = mocked_store(&mock).await;
    let create_database = mock.add(handlers::record_ddl());
    let create_migrations = mock.add(handlers::record_ddl());
    mock.add(handlers::provide([0u32]));
    let create_events = mock.add(handlers::record_ddl());
    let create_reviews = mock.add(handlers::record_ddl());
    let record_version = mock.add(handlers::record_ddl());
    store.migrate().await.unwrap();

    assert_eq!(
        create_database.query().await,
        "CREATE DATABASE IF NOT EXISTS shopwatch"
    );
    assert!(create_migrations
        .query()
        .await
        .contains("CREATE TABLE IF NOT EXISTS schema_migrations"));
    let events = create_events.query().await;
    assert!(
        events.contains("CREATE TABLE IF NOT EXISTS events"),
        "{events}"
    );
    assert!(events.contains("ReplacingMergeTree()"), "{events}");
    let reviews = create_reviews.query().await;
    assert!(
        reviews.contains("CREATE TABLE IF NOT EXISTS reviews"),
        "{reviews}"
    );
    assert_eq!(
        record_version.query().await,
        "INSERT INTO schema_migrations (version, description, applied_at) \
         VALUES (1, 'events and reviews', now())"
    );
}

#[tokio::test]
async fn migrate_skips_applied_versions_and_refuses_newer_ones() {
    let mock = test::Mock::new();
    let mut store = mocked_store(&mock).await;
    mock.add(handlers::record_ddl());
    mock.add(handlers::record_ddl());
    mock.add(handlers::provide([1u32]));
    store.migrate().await.unwrap();

    mock.add(handlers::record_ddl());
    mock.add(handlers::record_ddl());
    mock.add(handlers::provide([7u32]));
    let error = store.migrate().await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(
        error
            .to_string()
            .contains("schema version 7, newer than this build's 1"),
        "{error}"
    );
}

#[tokio::test]
async fn insert_writes_only_what_is_not_stored_yet() {
    let mock = test::Mock::new();
    let mut store = mocked_store(&mock).await;
    let events = sample_events();
    // `events` already holds the shipment; `reviews` holds nothing.
    mock.add(handlers::provide([events[1].event_id.clone()]));
    let review_lookup = mock.add(handlers::record_ddl());
    let inserted_events = mock.add(handlers::record::<EventRow>());
    let inserted_reviews = mock.add(handlers::record::<ReviewRow>());

    assert_eq!(store.insert(&events).await.unwrap(), 3);

    let lookup = review_lookup.query().await;
    assert_eq!(
        lookup,
        format!(
            "SELECT event_id FROM reviews WHERE (platform, shop_id, created_at, event_id) IN \
             (('taobao', '123', toDateTime(intDiv(1767240000000, 1000)), '{}'))",
            events[0].event_id
        )
    );
    let written: Vec<EventRow> = inserted_events.collect().await;
    let ids: Vec<&str> = written.iter().map(|row| row.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            &events[0].event_id,
            &events[2].event_id,
            &events[3].event_id
        ]
    );
    assert_eq!(written[0], rows::event_row(&events[0]).unwrap());
    let reviews: Vec<ReviewRow> = inserted_reviews.collect().await;
    assert_eq!(reviews, vec![rows::review_row(&events[0]).unwrap()]);
}

#[tokio::test]
async fn a_batch_stored_before_sends_no_insert() {
    let mock = test::Mock::new();
    let mut store = mocked_store(&mock).await;
    let events = sample_events();
    mock.add(handlers::provide(
        events
            .iter()
            .map(|event| event.event_id.clone())
            .collect::<Vec<_>>(),
    ));
    mock.add(handlers::provide([events[0].event_id.clone()]));
    // No handler for an insert: one would fail the call.
    assert_eq!(store.insert(&events).await.unwrap(), 0);
}

#[tokio::test]
async fn server_errors_are_classified() {
    let mock = test::Mock::new();
    let store = mocked_store(&mock).await;
    mock.add(handlers::failure(test::status::SERVICE_UNAVAILABLE));
    let error = store.count("events").await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        error
            .to_string()
            .contains("count at http://mocked.clickhouse.test"),
        "{error}"
    );

    let error = store.count("no_such_table").await.unwrap_err();
    assert!(matches!(error, StoreError::UnknownTable { .. }), "{error}");
}

#[test]
fn error_codes_of_both_server_generations() {
    assert_eq!(
        error_code("Code: 60, e.displayText() = DB::Exception: Table x.y doesn't exist., e.what() = DB::Exception"),
        Some(60)
    );
    assert_eq!(
        error_code(
            "Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)"
        ),
        Some(516)
    );
    assert_eq!(error_code("Service Unavailable"), None);
}

#[test]
fn classification_by_code() {
    use clickhouse::error::Error;
    let url = "http://127.0.0.1:18123";
    let fatal = classify(
        url,
        "insert",
        &Error::BadResponse("Code: 193, e.displayText() = DB::Exception: Wrong password".into()),
    );
    assert!(matches!(fatal, StoreError::Rejected { .. }), "{fatal}");
    let overloaded = classify(
        url,
        "insert",
        &Error::BadResponse("Code: 252. DB::Exception: Too many parts (300)".into()),
    );
    assert!(overloaded.is_retryable(), "{overloaded}");
    let down = classify(url, "insert", &Error::Network("connection refused".into()));
    assert!(down.is_retryable());
    assert_eq!(
        down.to_string(),
        "clickhouse unavailable: insert at http://127.0.0.1:18123 failed: \
         network error: connection refused"
    );
    let mismatch = classify(url, "select", &Error::NotEnoughData);
    assert!(matches!(mismatch, StoreError::Rejected { .. }));
}

#[test]
fn lookups_are_split_below_the_query_size_limit() {
    let events = many_reviews(5_000);
    let rows = rows::rows(&events).unwrap();
    let queries = lookup_queries(
        "events",
        "platform, shop_id, kind, entity_id, event_id",
        rows.events.iter().map(event_key),
    );
    assert!(queries.len() >= 3, "{}", queries.len());
    let mut mentioned = 0;
    for query in &queries {
        assert!(
            query.len() < MAX_LOOKUP_QUERY_BYTES + 200,
            "{}",
            query.len()
        );
        assert!(query.starts_with(
            "SELECT event_id FROM events WHERE (platform, shop_id, kind, entity_id, event_id) IN (("
        ));
        assert!(query.ends_with("'))"), "{}", &query[query.len() - 20..]);
        mentioned += query.matches("('taobao', ").count();
    }
    assert_eq!(mentioned, 5_000);
    assert!(lookup_queries("events", "event_id", std::iter::empty()).is_empty());
}

#[test]
fn literals_and_urls() {
    assert_eq!(string_literal(r"it's a \ test"), r"'it\'s a \\ test'");
    assert_eq!(string_literal("nul\0"), r"'nul\0'");
    assert_eq!(
        redacted_url("http://user:secret@db.example:8123"),
        "http://***@db.example:8123"
    );
    assert_eq!(
        redacted_url("http://127.0.0.1:8123"),
        "http://127.0.0.1:8123"
    );
}
