//! The store's own metrics, registered in the process-wide default Prometheus registry.
//!
//! - `shopwatch_store_inserted_rows_total{table}`: rows newly written, per table.
//! - `shopwatch_store_duplicate_rows_total{table}`: rows skipped because their `event_id`
//!   was already stored or came twice in one batch (replays after a retry or a restart).
//! - `shopwatch_store_insert_duration_seconds`: wall time of one `EventStore::insert` call,
//!   lookups of existing ids included, successful or not.
//!
//! `table` is one of `events`, `reviews`. The shared per-stage counters
//! (`shopwatch_records_*{stage="store"}`) come from `bus::metrics`.

use std::sync::LazyLock;

use prometheus::{register_histogram, register_int_counter_vec, Histogram, IntCounterVec};

/// Handles of the store's metric families.
pub struct StoreMetrics {
    pub inserted_rows: IntCounterVec,
    pub duplicate_rows: IntCounterVec,
    pub insert_duration: Histogram,
}

/// Returns the store's metric families, registering them on first use.
pub fn metrics() -> &'static StoreMetrics {
    static METRICS: LazyLock<StoreMetrics> = LazyLock::new(|| StoreMetrics {
        inserted_rows: register_int_counter_vec!(
            "shopwatch_store_inserted_rows_total",
            "Rows the store newly wrote, by table.",
            &["table"]
        )
        .expect("metric registered once"),
        duplicate_rows: register_int_counter_vec!(
            "shopwatch_store_duplicate_rows_total",
            "Rows the store skipped because their event_id was already stored, by table.",
            &["table"]
        )
        .expect("metric registered once"),
        insert_duration: register_histogram!(
            "shopwatch_store_insert_duration_seconds",
            "Time of one store insert call, including the lookup of stored event ids.",
            vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
        )
        .expect("metric registered once"),
    });
    &METRICS
}

/// Counts the outcome of one insert into `table`.
pub(crate) fn record_rows(table: &'static str, inserted: usize, duplicates: usize) {
    let families = metrics();
    families
        .inserted_rows
        .with_label_values(&[table])
        .inc_by(inserted as u64);
    families
        .duplicate_rows
        .with_label_values(&[table])
        .inc_by(duplicates as u64);
}
