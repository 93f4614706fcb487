//! The store stage: enriched events into ClickHouse (distributed mode) or SQLite (embedded mode).
//!
//! # Layout
//! - [`event_store`] — the `EventStore` trait and its contract (`migrate`, idempotent `insert`).
//! - [`rows`] — how an `EnrichedEvent` becomes rows of the `events` and `reviews` tables; the
//!   one place both backends take their column values from.
//! - [`clickhouse_store`] — `ClickHouseStore`, DDL that runs on ClickHouse 18.16 and current
//!   releases, deduplication by looking up the batch's event ids before inserting (one
//!   external-data request per table and batch, in `clickhouse_store::lookup`).
//! - [`sqlite_store`] — `SqliteStore`, the same tables in one SQLite file (`INSERT OR IGNORE`).
//! - [`handler`] — `StoreHandler`, the `bus::stage::BatchHandler` that decodes a batch and
//!   inserts it in one call, and [`drive_options`] from the ClickHouse batching settings.
//! - [`config`] — `ClickHouseConfig`.
//! - [`error`] — `StoreError`, classified as retryable, bad data or fatal.
//! - [`metrics`] — `shopwatch_store_*` metrics.
//!
//! **Invariant:** storing is idempotent on `event_id`: every insert first drops the batch's own
//! duplicates and the ids already stored, so a replayed batch (at-least-once delivery) leaves
//! the tables unchanged. In ClickHouse this holds for one writer per event (one consumer
//! group); should two writers race, `ReplacingMergeTree` merges the copies away later.

pub mod clickhouse_store;
pub mod config;
pub mod error;
pub mod event_store;
pub mod handler;
pub mod metrics;
pub mod rows;
pub mod sqlite_store;

pub use clickhouse_store::ClickHouseStore;
pub use config::ClickHouseConfig;
pub use error::StoreError;
pub use event_store::EventStore;
pub use handler::{drive_options, StoreHandler, STAGE};
pub use sqlite_store::SqliteStore;

/// Tables this crate writes, in the order `insert` writes them.
pub mod tables {
    /// Every enriched event, one row per `event_id`.
    pub const EVENTS: &str = "events";
    /// One row per `review.received` event, with the review and its text analysis as columns.
    pub const REVIEWS: &str = "reviews";
    /// Applied schema versions.
    pub const SCHEMA_MIGRATIONS: &str = "schema_migrations";
    /// The tables `count` accepts.
    pub const ALL: &[&str] = &[EVENTS, REVIEWS, SCHEMA_MIGRATIONS];

    /// Returns the table named `table` if this crate owns it.
    pub(crate) fn known(table: &str) -> Result<&'static str, crate::StoreError> {
        ALL.iter()
            .find(|known| **known == table)
            .copied()
            .ok_or_else(|| crate::StoreError::UnknownTable {
                table: table.to_owned(),
            })
    }
}

#[cfg(test)]
mod test_support;
