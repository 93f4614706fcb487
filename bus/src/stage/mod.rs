//! The loop every consuming stage runs: read, batch, handle, dead-letter, acknowledge.
//!
//! [`drive`] owns the delivery rules so that stages only write a [`BatchHandler`]:
//! - records are gathered until `max_records`, `max_bytes` or `max_wait` is reached
//!   (the rows/bytes/period batching of clickhouse-rs' `Inserter`);
//! - the handler returns one [`Verdict`] per record; `DeadLetter` records go to the
//!   dead-letter sink with the reason in a header, and are then acknowledged like the rest;
//! - a retryable handler error retries the **same** batch with bounded exponential backoff and
//!   jitter, acknowledging nothing meanwhile; a fatal one stops the stage;
//! - acknowledgements go back to the source only after the handler (and the dead-letter send)
//!   succeeded, so a crash at any point replays rather than loses.

use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::metrics::StageCounters;
use crate::{BusError, Position, Record, RecordSink, RecordSource};

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Handled (or deliberately skipped); acknowledge it.
    Done,
    /// Cannot ever be handled (undecodable, invalid); dead-letter it with this reason.
    DeadLetter(String),
}

/// Why a whole batch failed.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct HandlerError {
    /// Short fixed string for the `error_code` metric label (`insert`, `send`, …).
    pub code: &'static str,
    pub reason: String,
    pub retryable: bool,
}

impl HandlerError {
    /// A failure that may pass on retry (sink down, timeout, throttled).
    pub fn transient(code: &'static str, reason: impl std::fmt::Display) -> Self {
        HandlerError {
            code,
            reason: reason.to_string(),
            retryable: true,
        }
    }

    /// A failure that retrying cannot fix; the stage stops.
    pub fn fatal(code: &'static str, reason: impl std::fmt::Display) -> Self {
        HandlerError {
            code,
            reason: reason.to_string(),
            retryable: false,
        }
    }
}

impl From<BusError> for HandlerError {
    fn from(error: BusError) -> Self {
        HandlerError {
            code: "bus",
            retryable: error.is_retryable(),
            reason: error.to_string(),
        }
    }
}

/// A stage's logic over a batch of records.
#[async_trait]
pub trait BatchHandler: Send {
    /// Handles every record of `batch` and returns one verdict per record, in order.
    /// Must be idempotent: after an error or a crash the same records come again.
    async fn handle(&mut self, batch: &[Record]) -> Result<Vec<Verdict>, HandlerError>;
}

/// Batching and retry settings of [`drive`].
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// The stage name, for metrics and dead-letter headers.
    pub stage: &'static str,
    /// Handle a batch once it holds this many records.
    pub max_records: usize,
    /// Handle a batch once its payloads hold this many bytes.
    pub max_bytes: usize,
    /// Handle a batch at most this long after its first record arrived.
    pub max_wait: Duration,
    /// First retry delay; doubles per attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl DriveOptions {
    /// Options for a stage that handles what is available right away.
    pub fn immediate(stage: &'static str, max_records: usize) -> Self {
        DriveOptions {
            stage,
            max_records,
            max_bytes: 16 * 1024 * 1024,
            max_wait: Duration::ZERO,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Returns the backoff before retry number `attempt` (0-based): exponential, capped, with
/// up to 25 % jitter either way so that restarted stages do not retry in lockstep.
pub fn backoff_delay(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let base = initial
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    let jitter = rand::thread_rng().gen_range(0.75..=1.25);
    base.mul_f64(jitter).min(max)
}

/// Runs a consuming stage until its source ends or `shutdown` is cancelled during a retry
/// wait; see the module docs. Returns `Err` only for fatal errors.
pub async fn drive(
    source: &mut dyn RecordSource,
    handler: &mut dyn BatchHandler,
    dead_letters: &dyn RecordSink,
    options: &DriveOptions,
    shutdown: &CancellationToken,
) -> Result<(), HandlerError> {
    let counters = StageCounters::new(options.stage);
    let mut gather_attempt = 0;
    loop {
        let batch = match gather(source, options).await {
            Ok(batch) => {
                gather_attempt = 0;
                batch
            }
            Err(error) if error.retryable => {
                counters.error(error.code);
                let delay =
                    backoff_delay(options.initial_backoff, options.max_backoff, gather_attempt);
                tracing::warn!(error = %error, stage = options.stage, "cannot read input, will retry");
                gather_attempt = gather_attempt.saturating_add(1);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = shutdown.cancelled() => {
                        source.close().await?;
                        return Ok(());
                    }
                }
            }
            Err(error) => return Err(error),
        };
        if batch.is_empty() {
            source.close().await?;
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            match handle_once(
                source.topic(),
                &batch,
                handler,
                dead_letters,
                options,
                &counters,
            )
            .await
            {
                Ok(()) => break,
                Err(error) if error.retryable => {
                    counters.error(error.code);
                    let delay =
                        backoff_delay(options.initial_backoff, options.max_backoff, attempt);
                    tracing::warn!(
                        error = %error,
                        stage = options.stage,
                        attempt,
                        retry_in_ms = delay.as_millis() as u64,
                        "batch failed, will retry"
                    );
                    attempt = attempt.saturating_add(1);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.cancelled() => {
                            // Nothing of this batch is acknowledged: it comes again after restart.
                            source.close().await?;
                            return Ok(());
                        }
                    }
                }
                Err(error) => {
                    counters.error(error.code);
                    return Err(error);
                }
            }
        }
        let positions: Vec<Position> = batch.iter().filter_map(|record| record.position).collect();
        source.ack(&positions).await?;
    }
}

async fn gather(
    source: &mut dyn RecordSource,
    options: &DriveOptions,
) -> Result<Vec<Record>, HandlerError> {
    let mut batch = source.next_batch(options.max_records).await?;
    if batch.is_empty() || options.max_wait.is_zero() {
        return Ok(batch);
    }
    let deadline = tokio::time::Instant::now() + options.max_wait;
    let mut bytes: usize = batch.iter().map(|record| record.payload.len()).sum();
    while batch.len() < options.max_records && bytes < options.max_bytes {
        let wanted = options.max_records - batch.len();
        match tokio::time::timeout_at(deadline, source.next_batch(wanted)).await {
            Ok(more) => {
                let more = more?;
                if more.is_empty() {
                    break;
                }
                bytes += more
                    .iter()
                    .map(|record| record.payload.len())
                    .sum::<usize>();
                batch.extend(more);
            }
            Err(_elapsed) => break,
        }
    }
    Ok(batch)
}

async fn handle_once(
    topic: &str,
    batch: &[Record],
    handler: &mut dyn BatchHandler,
    dead_letters: &dyn RecordSink,
    options: &DriveOptions,
    counters: &StageCounters,
) -> Result<(), HandlerError> {
    let verdicts = handler.handle(batch).await?;
    if verdicts.len() != batch.len() {
        return Err(HandlerError::fatal(
            "handler",
            format!(
                "handler returned {} verdicts for {} records",
                verdicts.len(),
                batch.len()
            ),
        ));
    }
    let dead: Vec<Record> = batch
        .iter()
        .zip(&verdicts)
        .filter_map(|(record, verdict)| match verdict {
            Verdict::DeadLetter(reason) => {
                tracing::warn!(stage = options.stage, topic, reason = %reason, "record dead-lettered");
                Some(record.to_dead_letter(topic, options.stage, reason))
            }
            Verdict::Done => None,
        })
        .collect();
    let dead_count = dead.len() as u64;
    if !dead.is_empty() {
        dead_letters.send_batch(dead).await?;
        counters.error("dead_letter");
    }
    counters.dead_lettered.inc_by(dead_count);
    Ok(())
}

#[cfg(test)]
mod tests;
