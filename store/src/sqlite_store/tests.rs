use std::path::PathBuf;

use crate::rows;
use crate::test_support::{many_reviews, sample_events};

use super::*;

fn memory() -> SqliteStore {
    SqliteStore::open(Path::new(":memory:")).unwrap()
}

fn file_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("shopwatch.db")
}

#[tokio::test]
async fn migrate_twice_applies_version_one_once() {
    let mut store = memory();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.count("schema_migrations").unwrap(), 1);
    assert_eq!(store.count("events").unwrap(), 0);
    assert_eq!(store.count("reviews").unwrap(), 0);
    let version: i64 = lock(&store.connection)
        .query_row("SELECT version FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(version, 1);
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let mut store = memory();
    store.migrate().await.unwrap();
    lock(&store.connection)
        .execute(
            "INSERT INTO schema_migrations VALUES (2, 'from the future', 0)",
            [],
        )
        .unwrap();
    let error = store.migrate().await.unwrap_err();
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "sqlite rejected the request: database schema version 2 is newer than this build's 1; \
         run a newer shopwatch"
    );
}

#[tokio::test]
async fn file_database_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&file_in(&dir)).unwrap();
    let mode: String = lock(&store.connection)
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let synchronous: i64 = lock(&store.connection)
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .unwrap();
    assert_eq!(synchronous, 2, "FULL");
}

#[tokio::test]
async fn insert_is_idempotent_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample_events();
    {
        let mut store = SqliteStore::open(&file_in(&dir)).unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.insert(&events).await.unwrap(), 4);
        assert_eq!(store.insert(&events).await.unwrap(), 0);
    }
    let mut store = SqliteStore::open(&file_in(&dir)).unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.count("schema_migrations").unwrap(), 1);
    // The same batch again after a "restart", plus one new event.
    let mut replay = events.clone();
    replay.extend(many_reviews(1));
    assert_eq!(store.insert(&replay).await.unwrap(), 1);
    assert_eq!(store.count("events").unwrap(), 5);
    assert_eq!(store.count("reviews").unwrap(), 2);
}

/// The value of `family{table="<table>"}` in the default registry.
fn counter(family: &str, table: &str) -> f64 {
    prometheus::gather()
        .iter()
        .filter(|metrics| metrics.name() == family)
        .flat_map(|metrics| metrics.get_metric())
        .filter(|metric| {
            metric
                .get_label()
                .iter()
                .any(|label| label.name() == "table" && label.value() == table)
        })
        .map(|metric| metric.get_counter().get_value())
        .sum()
}

#[tokio::test]
async fn inserted_and_duplicate_rows_are_counted() {
    let mut store = memory();
    store.migrate().await.unwrap();
    // Other tests run in parallel and count too: compare with at-least deltas.
    let inserted_before = counter("shopwatch_store_inserted_rows_total", "reviews");
    let duplicates_before = counter("shopwatch_store_duplicate_rows_total", "events");
    let events = many_reviews(7);
    store.insert(&events).await.unwrap();
    store.insert(&events).await.unwrap();
    assert!(counter("shopwatch_store_inserted_rows_total", "reviews") >= inserted_before + 7.0);
    assert!(counter("shopwatch_store_duplicate_rows_total", "events") >= duplicates_before + 7.0);
    let histogram = prometheus::gather()
        .into_iter()
        .find(|metrics| metrics.name() == "shopwatch_store_insert_duration_seconds")
        .expect("histogram registered");
    assert!(histogram.get_metric()[0].get_histogram().get_sample_count() >= 2);
}

#[tokio::test]
async fn every_kind_is_stored_with_its_columns() {
    let mut store = memory();
    store.migrate().await.unwrap();
    let events = sample_events();
    store.insert(&events).await.unwrap();

    let mut expected: Vec<EventRow> = events
        .iter()
        .map(|event| rows::event_row(event).unwrap())
        .collect();
    expected.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let stored = store.events().unwrap();
    assert_eq!(stored, expected);
    let mut kinds: Vec<String> = stored.into_iter().map(|row| row.kind).collect();
    kinds.sort();
    assert_eq!(kinds, ["listing", "review", "shipment", "source_health"]);
}

#[tokio::test]
async fn review_columns_round_trip() {
    let mut store = memory();
    store.migrate().await.unwrap();
    let mut events = sample_events();
    if let Some(text) = events[0].text.as_mut() {
        text.sentiment = Some(0.03125);
        text.polarity = Some(schemas::Polarity::Negative);
    }
    store.insert(&events).await.unwrap();
    let stored = store.reviews().unwrap();
    assert_eq!(stored, vec![rows::review_row(&events[0]).unwrap()]);
    assert_eq!(stored[0].tokens, ["快递", "太慢", "包装", "破损"]);
    assert_eq!(stored[0].sentiment, Some(0.03125));
    assert_eq!(stored[0].polarity.as_deref(), Some("neg"));

    // NULLs stay NULL, and the arrays are JSON text in the file.
    let (price, tokens): (Option<i64>, String) = lock(&store.connection)
        .query_row("SELECT item_price_fen, tokens FROM reviews", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(price, Some(12_850));
    assert_eq!(tokens, r#"["快递","太慢","包装","破损"]"#);
}

#[tokio::test]
async fn duplicates_inside_one_batch_are_stored_once() {
    let mut store = memory();
    store.migrate().await.unwrap();
    let mut batch = many_reviews(3);
    batch.push(batch[1].clone());
    assert_eq!(store.insert(&batch).await.unwrap(), 3);
    assert_eq!(store.count("reviews").unwrap(), 3);
}

#[tokio::test]
async fn a_bad_event_fails_the_batch_before_anything_is_written() {
    let mut store = memory();
    store.migrate().await.unwrap();
    let mut batch = many_reviews(2);
    batch[1].review = None;
    let error = store.insert(&batch).await.unwrap_err();
    assert!(error.is_bad_data(), "{error}");
    assert_eq!(store.count("events").unwrap(), 0);
}

#[tokio::test]
async fn insert_before_migrate_is_a_rejection_not_a_retry() {
    let mut store = memory();
    let error = store.insert(&sample_events()).await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(
        error.to_string().contains("no such table: events"),
        "{error}"
    );
}

#[test]
fn count_knows_only_its_tables() {
    let store = memory();
    let error = store.count("sqlite_master; DROP TABLE events").unwrap_err();
    assert!(matches!(error, StoreError::UnknownTable { .. }), "{error}");
}

#[test]
fn busy_and_io_errors_are_retryable() {
    let busy =
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
    assert!(sqlite_error(busy).is_retryable());
    let constraint = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
        None,
    );
    assert!(!sqlite_error(constraint).is_retryable());
}
