//! The source and sink traits every stage is written against.

use async_trait::async_trait;

use crate::{BusError, Position, Record};

/// Where a stage reads records from.
///
/// Contract:
/// - `next_batch` waits for at least one record and returns what is available, up to `max`.
///   It returns an empty batch only when the source has ended (upstream closed or shutdown
///   requested); the stage then finishes its in-flight work, acks, and calls `close`.
///   It is cancel-safe: dropping the future loses no record.
/// - `ack` is called only after everything downstream of those records succeeded (stored,
///   sent, produced). Positions may be acked in any order and in any grouping; the source
///   releases a position only when every earlier position of its partition is acked too.
/// - `close` makes the last acknowledgements durable (Kafka: a synchronous commit).
#[async_trait]
pub trait RecordSource: Send {
    /// Returns the next records, or an empty batch when the source has ended.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Record>, BusError>;

    /// Acknowledges records whose downstream work is complete.
    async fn ack(&mut self, positions: &[Position]) -> Result<(), BusError>;

    /// Commits what was acknowledged; called once, at shutdown.
    async fn close(&mut self) -> Result<(), BusError>;

    /// The topic this source reads, for dead-letter headers and logs.
    fn topic(&self) -> &str;
}

/// Where a stage writes records to.
///
/// Contract: `send_batch` returns `Ok` only when every record of the batch is durable on the
/// bus (Kafka: acknowledged by the broker; memory: acknowledged by every consumer group), so
/// the caller may then ack its own input or advance its cursor. On `Err`, any subset may have
/// been delivered: the caller retries the whole batch, and sinks deduplicate by event id.
#[async_trait]
pub trait RecordSink: Send + Sync {
    /// Sends every record and waits until all are durable.
    async fn send_batch(&self, records: Vec<Record>) -> Result<(), BusError>;

    /// The topic this sink writes, for logs.
    fn topic(&self) -> &str;
}
