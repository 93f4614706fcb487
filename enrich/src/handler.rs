//! The enrich stage on the bus: decode, enrich off the runtime, encode, send, acknowledge.
//!
//! Contract of [`EnrichHandler`] (a `bus::stage::BatchHandler`):
//! - a record that does not decode as a `RawRecord`, or that cannot be enriched (bad data),
//!   gets `Verdict::DeadLetter` with the reason; a record whose enrichment panics too, so one
//!   poisonous record cannot stop the stage;
//! - the CPU work of the whole batch runs in one `spawn_blocking` task, so at most one batch
//!   per stage occupies a blocking thread;
//! - the enriched events go to the sink in one `send_batch`, keyed by entity key; a bus error
//!   fails the batch (`drive` retries it, nothing is acknowledged), and since event ids are
//!   deterministic the sinks downstream deduplicate what a retry sends twice;
//! - verdicts are returned only after the sink confirmed delivery.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bus::metrics::StageCounters;
use bus::stage::{drive, BatchHandler, DriveOptions, HandlerError, Verdict};
use bus::{Record, RecordSink, RecordSource};
use schemas::{AvroCodec, RawRecord};
use tokio_util::sync::CancellationToken;

use crate::config::EnrichConfig;
use crate::enricher::Enricher;
use crate::error::EnrichError;

/// The stage name in metrics and dead-letter headers.
pub const STAGE: &str = "enrich";

/// The `BatchHandler` of the enrich stage.
pub struct EnrichHandler {
    enricher: Arc<Enricher>,
    sink: Arc<dyn RecordSink>,
    counters: StageCounters,
}

impl std::fmt::Debug for EnrichHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrichHandler")
            .field("sink", &self.sink.topic())
            .finish_non_exhaustive()
    }
}

impl EnrichHandler {
    /// Builds the handler that enriches with `enricher` and sends to `sink`.
    pub fn new(enricher: Arc<Enricher>, sink: Arc<dyn RecordSink>) -> Self {
        EnrichHandler {
            enricher,
            sink,
            counters: StageCounters::new(STAGE),
        }
    }
}

#[async_trait]
impl BatchHandler for EnrichHandler {
    async fn handle(&mut self, batch: &[Record]) -> Result<Vec<Verdict>, HandlerError> {
        let payloads: Vec<Vec<u8>> = batch.iter().map(|record| record.payload.clone()).collect();
        let enricher = Arc::clone(&self.enricher);
        let enriched_at_ms = now_ms();
        let outcomes = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let outcomes: Vec<Result<Record, String>> = payloads
                .iter()
                .map(|payload| enrich_payload(&enricher, payload, enriched_at_ms))
                .collect();
            crate::metrics::metrics()
                .duration_seconds
                .observe(started.elapsed().as_secs_f64());
            outcomes
        })
        .await
        .map_err(|error| HandlerError::fatal("enrich_task", error))?;

        let mut verdicts = Vec::with_capacity(outcomes.len());
        let mut output = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            match outcome {
                Ok(record) => {
                    output.push(record);
                    verdicts.push(Verdict::Done);
                }
                Err(reason) => verdicts.push(Verdict::DeadLetter(reason)),
            }
        }
        let sent = output.len() as u64;
        if !output.is_empty() {
            self.sink.send_batch(output).await?;
        }
        // Counted once the batch succeeded, so a retried batch is not counted twice.
        self.counters.sent.inc_by(sent);
        Ok(verdicts)
    }
}

/// Decodes, enriches and encodes one payload; `Err` holds the dead-letter reason.
fn enrich_payload(
    enricher: &Enricher,
    payload: &[u8],
    enriched_at_ms: i64,
) -> Result<Record, String> {
    let raw: RawRecord = AvroCodec::raw_record()
        .decode(payload)
        .map_err(|error| format!("undecodable raw record: {error}"))?;
    let enriched =
        std::panic::catch_unwind(AssertUnwindSafe(|| enricher.enrich(&raw, enriched_at_ms)))
            .map_err(|_panic| format!("enrichment panicked on record {}", raw.event_id))?
            .map_err(|error| error.to_string())?;
    let encoded = AvroCodec::enriched_event()
        .encode(&enriched)
        .map_err(|error| format!("enriched event does not encode: {error}"))?;
    Ok(Record::new(enriched.entity_key().to_string(), encoded))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

/// Runs the enrich stage until `source` ends or `shutdown` is cancelled during a retry wait:
/// [`EnrichHandler`] driven by `bus::stage::drive` with batches of up to `config.max_batch`.
/// Returns `Err` only for fatal errors.
#[tracing::instrument(skip_all, fields(stage = STAGE))]
pub async fn run(
    enricher: Arc<Enricher>,
    source: &mut dyn RecordSource,
    sink: Arc<dyn RecordSink>,
    dead_letters: &dyn RecordSink,
    config: &EnrichConfig,
    shutdown: &CancellationToken,
) -> Result<(), EnrichError> {
    let mut handler = EnrichHandler::new(enricher, sink);
    let options = DriveOptions::immediate(STAGE, config.max_batch.max(1));
    tracing::info!(topic = source.topic(), "enrich stage started");
    drive(source, &mut handler, dead_letters, &options, shutdown).await?;
    tracing::info!("enrich stage stopped");
    Ok(())
}

#[cfg(test)]
mod tests;
