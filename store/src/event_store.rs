//! The `EventStore` trait: where the store stage puts enriched events.

use async_trait::async_trait;
use schemas::EnrichedEvent;

use crate::error::StoreError;

/// A database holding the `events` and `reviews` tables.
///
/// Contract:
/// - `migrate` creates the database objects or brings them to this version's schema. It is
///   idempotent and safe to call at every start, also from several processes.
/// - `insert` writes every event of `events` that is not stored yet and returns how many
///   rows it newly wrote to `events` (so 0 for a batch that was stored before). Each
///   `review.received` event also gets a row in `reviews`. It is idempotent on `event_id`:
///   duplicates inside the batch and ids already stored are skipped, so a batch retried after
///   an error, a timeout or a crash is stored exactly once.
/// - `insert` checks the whole batch before writing anything: an event that cannot be stored
///   fails the call with [`StoreError::BadData`] and nothing is written (callers filter such
///   events out first with [`crate::rows::check`]). On any other error some of the batch may
///   have been written; retrying the same batch completes it.
/// - `insert` returns only once the rows are durable in the database (ClickHouse: the HTTP
///   insert returned 200; SQLite: the transaction committed), so the caller may then
///   acknowledge the records.
/// - Dropping an `insert` future midway is safe: the next call with the same events completes
///   the work.
#[async_trait]
pub trait EventStore: Send {
    /// Creates or migrates the tables; idempotent.
    async fn migrate(&mut self) -> Result<(), StoreError>;

    /// Stores the events not stored yet; returns the number of new `events` rows.
    async fn insert(&mut self, events: &[EnrichedEvent]) -> Result<usize, StoreError>;
}
