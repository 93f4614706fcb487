//! `StoreHandler`: the store stage's `BatchHandler` for `bus::stage::drive`.
//!
//! Per batch: decode every record with the enriched-event codec, dead-letter the records that
//! do not decode or cannot be stored (`rows::check`), insert all the others in **one**
//! `EventStore::insert` call, and return only after it succeeded. A failed insert fails the
//! whole batch — retryable errors as `HandlerError::transient` (drive backs off and retries
//! the same batch, acknowledging nothing), the others as `HandlerError::fatal` (the stage
//! stops and the message names the fix). Since inserts are idempotent on `event_id`, the retry
//! of a batch that was partly written completes it without duplicates.
//!
//! The shared stage counters (`stage="store"`) are bumped once per successful batch:
//! `received` by the batch size, `sent` by the newly stored events, `skipped` (discarded,
//! intentional) by the events that were already stored. Dead letters are counted by drive.

use async_trait::async_trait;
use bus::metrics::StageCounters;
use bus::stage::{BatchHandler, DriveOptions, HandlerError, Verdict};
use bus::Record;
use schemas::{AvroCodec, EnrichedEvent};

use crate::config::ClickHouseConfig;
use crate::event_store::EventStore;
use crate::rows;

/// The stage name in metrics, logs and dead-letter headers.
pub const STAGE: &str = "store";

/// Decodes enriched events and stores them; see the module docs.
pub struct StoreHandler {
    store: Box<dyn EventStore>,
    counters: StageCounters,
}

impl StoreHandler {
    /// A handler inserting into `store`, which must be migrated already.
    pub fn new(store: Box<dyn EventStore>) -> Self {
        StoreHandler {
            store,
            counters: StageCounters::new(STAGE),
        }
    }
}

#[async_trait]
impl BatchHandler for StoreHandler {
    async fn handle(&mut self, batch: &[Record]) -> Result<Vec<Verdict>, HandlerError> {
        let started = std::time::Instant::now();
        let mut verdicts = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        for decoded in decode_all(batch) {
            match decoded {
                Ok(event) => {
                    events.push(event);
                    verdicts.push(Verdict::Done);
                }
                Err(reason) => verdicts.push(Verdict::DeadLetter(reason)),
            }
        }
        tracing::debug!(
            stage = STAGE,
            records = batch.len(),
            decode_ms = started.elapsed().as_secs_f64() * 1e3,
            "batch decoded"
        );
        let stored = if events.is_empty() {
            0
        } else {
            self.store.insert(&events).await.map_err(|error| {
                if error.is_retryable() {
                    HandlerError::transient(error.code(), error)
                } else {
                    HandlerError::fatal(error.code(), error)
                }
            })?
        };
        self.counters.sent.inc_by(stored as u64);
        self.counters
            .skipped
            .inc_by(events.len().saturating_sub(stored) as u64);
        Ok(verdicts)
    }
}

/// Decodes and checks every record of `batch`, in order: the event, or why it has to be
/// dead-lettered.
fn decode_all(batch: &[Record]) -> Vec<Result<EnrichedEvent, String>> {
    batch.iter().map(decode_one).collect()
}

fn decode_one(record: &Record) -> Result<EnrichedEvent, String> {
    let event = AvroCodec::enriched_event()
        .decode::<EnrichedEvent>(&record.payload)
        .map_err(|error| format!("undecodable enriched event: {error}"))?;
    rows::check(&event).map_err(|error| error.to_string())?;
    Ok(event)
}

/// The batching of the store stage: `max_rows` records, `max_bytes` of encoded events or
/// `period_ms` after the first record, whichever comes first.
pub fn drive_options(config: &ClickHouseConfig) -> DriveOptions {
    DriveOptions {
        max_records: config.max_rows,
        max_bytes: config.max_bytes,
        max_wait: std::time::Duration::from_millis(config.period_ms),
        ..DriveOptions::immediate(STAGE, config.max_rows)
    }
}

#[cfg(test)]
mod tests;
