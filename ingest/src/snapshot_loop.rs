//! The loop shared by the listing and shipment pollers (poll, then wait the interval after a
//! success or the retry delay after an error, reporting source-health changes), and the
//! encode-and-send step every poller uses, reviews included ([`publish`]).
//!
//! Contract: after an error the wait is [`crate::poller::retry_delay`] (the platform's ban,
//! exponential backoff with jitter, or the slow action-required retry), never a whole
//! interval; a success resets the backoff. Each change of condition yields one
//! `SourceHealth` record (see `health`), named `<api>:<subject>`; a health record the sink
//! refused is offered again after the next poll. Cancelling `shutdown` ends the loop at
//! once, mid-poll or mid-wait.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bus::{Record, RecordSink};
use schemas::{AvroCodec, RawRecord};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::error::{IngestError, Result};
use crate::health::{self, HealthTracker};
use crate::metrics::metrics;
use crate::poller::{retry_delay, PollSettings};

/// A poller of snapshots (listings, shipments): one poll publishes what changed.
#[async_trait]
pub(crate) trait SnapshotPoll: Send {
    /// Fetches, diffs and publishes once; returns how many records were published.
    async fn poll_once(&mut self) -> Result<usize>;
    /// The API's short name, for logs and metrics.
    fn api(&self) -> &'static str;
    /// The shop polled, for logs.
    fn shop_id(&self) -> &str;
}

/// Polls with `poller` until `shutdown` is cancelled, waiting per `retry` (the interval
/// after a success, the backoff after an error).
pub(crate) async fn run_polls<P: SnapshotPoll>(
    mut poller: P,
    mut retry: SnapshotLoop,
    shutdown: CancellationToken,
) {
    loop {
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = poller.poll_once() => outcome,
        };
        let delay = retry
            .after_poll(outcome, poller.api(), poller.shop_id())
            .await;
        if !SnapshotLoop::wait(delay, &shutdown).await {
            return;
        }
    }
}

/// Encodes `records` and sends them to `sink` as one batch (nothing for an empty list);
/// returns once the sink acknowledged them.
pub(crate) async fn publish(sink: &dyn RecordSink, records: &[RawRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let codec = AvroCodec::raw_record();
    let batch = records
        .iter()
        .map(|record| {
            Ok(Record::new(
                record.entity_key().to_string(),
                codec.encode(record)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    sink.send_batch(batch)
        .await
        .map_err(|error| IngestError::Sink {
            topic: sink.topic().to_owned(),
            error,
        })
}

/// Retry and health state of one snapshot poller.
pub(crate) struct SnapshotLoop {
    /// Backoff settings (the review pollers' `retry_*` and `action_required_retry_secs`).
    pub(crate) settings: PollSettings,
    /// The shop's condition for this kind of data.
    pub(crate) health: HealthTracker,
    /// Receives the `SourceHealth` records.
    pub(crate) health_sink: Arc<dyn RecordSink>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Pause after a successful poll.
    pub(crate) interval: Duration,
    /// Failed polls since the last success.
    pub(crate) attempt: u32,
}

impl SnapshotLoop {
    /// Records a poll's outcome, reports a changed condition and returns how long to wait.
    pub(crate) async fn after_poll(
        &mut self,
        outcome: Result<usize>,
        api: &'static str,
        shop_id: &str,
    ) -> Duration {
        let now_ms = self.clock.now_ms();
        let delay = match outcome {
            Ok(_) => {
                self.attempt = 0;
                self.health.on_success(now_ms);
                self.interval
            }
            Err(error) => {
                let delay = retry_delay(&self.settings, &error, self.attempt);
                self.attempt = self.attempt.saturating_add(1);
                metrics()
                    .poll_errors
                    .with_label_values(&[api, error.metric_label()])
                    .inc();
                warn!(
                    error = %error,
                    api,
                    shop_id,
                    source = %self.health.source_name(),
                    action = error.class().as_str(),
                    retry_in_ms = delay.as_millis() as u64,
                    "snapshot poll failed"
                );
                self.health.on_error(&error, now_ms, delay.as_secs().max(1));
                delay
            }
        };
        match health::report(&mut self.health, self.health_sink.as_ref(), now_ms).await {
            Ok(true) => info!(
                api,
                shop_id,
                source = %self.health.source_name(),
                condition = self.health.condition().as_str(),
                "source health reported"
            ),
            Ok(false) => {}
            Err(error) => warn!(
                error = %error,
                api,
                shop_id,
                "health record not delivered, will retry"
            ),
        }
        delay
    }

    /// Waits `delay`; returns false when `shutdown` was cancelled first.
    pub(crate) async fn wait(delay: Duration, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}
