//! The alerting stage on the bus: decode, evaluate, deduplicate, send, record, acknowledge.
//!
//! Contract of [`AlertHandler`] (a `bus::stage::BatchHandler`):
//! - an undecodable record gets `Verdict::DeadLetter`; events that do not fire are `Done`;
//! - for a firing event, every webhook whose log row is not final gets the alert: `sending` is
//!   written before the POST, `sent` after a 2xx, `failed` after a permanent 4xx (logged and
//!   counted; the stream goes on);
//! - retryable failures are retried with exponential backoff and jitter up to
//!   `max_attempts_per_batch` times; then the batch fails with a transient error, so `drive`
//!   retries it later and acknowledges nothing;
//! - the first call (and [`AlertHandler::resend_pending`], which [`run`] calls at startup)
//!   re-sends the alerts left `sending` by a previous process;
//! - the observer hears of each alert once (deduplicated through the log as receiver
//!   [`OBSERVER_RECEIVER`]), after it reached a webhook, or right away when none is configured.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bus::metrics::StageCounters;
use bus::stage::{backoff_delay, drive, BatchHandler, DriveOptions, HandlerError, Verdict};
use bus::{Record, RecordSink, RecordSource};
use schemas::{AvroCodec, EnrichedEvent};
use tokio_util::sync::CancellationToken;

use crate::alert::{format_alert_line, Alert};
use crate::config::AlertingConfig;
use crate::error::AlertingError;
use crate::metrics::metrics;
use crate::nflog::{NotificationLog, NotificationState};
use crate::rule::{NegativeReviewRule, RULE_NAME};
use crate::webhook::{SendOutcome, WebhookChannel, WebhookMessage};

/// The stage name in metrics and dead-letter headers.
pub const STAGE: &str = "alerting";
/// The notification-log receiver name of the observer (webhook names cannot start with `@`).
pub const OBSERVER_RECEIVER: &str = "@observer";

/// Hears of every alert once; the demo prints them.
pub trait AlertObserver: Send + Sync {
    /// Called once per alert, after it was delivered (see the module docs).
    fn alert_sent(&self, alert: &Alert);
}

/// Writes each alert as a [`format_alert_line`] line to the log (`info`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogObserver;

impl AlertObserver for LogObserver {
    fn alert_sent(&self, alert: &Alert) {
        tracing::info!(line = %format_alert_line(alert), "alert");
    }
}

/// How one alert's delivery to one receiver ended within a handle call.
enum Delivery {
    Delivered,
    Rejected(String),
    GaveUp(String),
}

/// The `BatchHandler` of the alerting stage.
pub struct AlertHandler {
    rule: NegativeReviewRule,
    channels: Vec<WebhookChannel>,
    log: Arc<NotificationLog>,
    observer: Option<Arc<dyn AlertObserver>>,
    external_url: String,
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    recovered: bool,
    counters: StageCounters,
}

impl std::fmt::Debug for AlertHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertHandler")
            .field("channels", &self.channels)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl AlertHandler {
    /// Builds the handler: validates `config`, builds one HTTP client per webhook.
    pub fn new(
        config: &AlertingConfig,
        log: NotificationLog,
        observer: Option<Arc<dyn AlertObserver>>,
    ) -> Result<Self, AlertingError> {
        config.validate()?;
        let channels = config
            .webhooks
            .iter()
            .map(WebhookChannel::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AlertHandler {
            rule: NegativeReviewRule::new(config.rule.clone()),
            channels,
            log: Arc::new(log),
            observer,
            external_url: config.external_url.clone(),
            max_attempts: config.max_attempts_per_batch.max(1),
            initial_backoff: Duration::from_millis(config.initial_backoff_ms),
            max_backoff: Duration::from_millis(config.max_backoff_ms),
            recovered: false,
            counters: StageCounters::new(STAGE),
        })
    }

    /// Returns the notification log (for inspection).
    pub fn notification_log(&self) -> &NotificationLog {
        &self.log
    }

    /// Re-sends the alerts a previous run left `sending`; returns how many were delivered.
    /// A receiver that is still down yields a retryable error, and the next call tries again.
    pub async fn resend_pending(&mut self) -> Result<usize, AlertingError> {
        let pending = self.with_log(|log| log.pending()).await?;
        let mut delivered = 0;
        for (receiver, alert) in pending {
            if receiver == OBSERVER_RECEIVER {
                continue;
            }
            let Some(index) = self.channels.iter().position(|c| c.name() == receiver) else {
                tracing::warn!(
                    receiver = %receiver,
                    fingerprint = %alert.fingerprint,
                    "pending alert for a receiver no longer configured, dropped"
                );
                let event_id = alert.event_id.clone();
                self.with_log(move |log| {
                    log.mark_failed(
                        &event_id,
                        &receiver,
                        now_ms(),
                        "receiver no longer configured",
                    )
                })
                .await?;
                continue;
            };
            tracing::info!(
                receiver = %receiver,
                fingerprint = %alert.fingerprint,
                "re-sending alert left pending by an earlier run"
            );
            let previously_delivered = self.delivered_anywhere(&alert).await?;
            if self.send_to(index, &alert).await? {
                delivered += 1;
                if !previously_delivered {
                    observe_latency(&alert);
                }
            }
            self.notify_observer(&alert).await?;
        }
        self.recovered = true;
        Ok(delivered)
    }

    /// Runs a blocking notification-log call off the async runtime.
    async fn with_log<T, F>(&self, call: F) -> Result<T, AlertingError>
    where
        T: Send + 'static,
        F: FnOnce(&NotificationLog) -> Result<T, AlertingError> + Send + 'static,
    {
        let log = Arc::clone(&self.log);
        tokio::task::spawn_blocking(move || call(&log))
            .await
            .map_err(|error| AlertingError::Stage {
                code: "notification_log",
                reason: format!("notification log task failed: {error}"),
                retryable: false,
            })?
    }

    /// Returns true when some webhook already has the alert `sent`.
    async fn delivered_anywhere(&self, alert: &Alert) -> Result<bool, AlertingError> {
        let event_id = alert.event_id.clone();
        let names: Vec<String> = self.channels.iter().map(|c| c.name().to_owned()).collect();
        self.with_log(move |log| {
            for name in &names {
                if log.state(&event_id, name)? == Some(NotificationState::Sent) {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await
    }

    /// Sends `alert` to every webhook that has not had it, then tells the observer.
    async fn notify(&self, alert: &Alert) -> Result<(), AlertingError> {
        let event_id = alert.event_id.clone();
        let seen = self.with_log(move |log| log.has_event(&event_id)).await?;
        if !seen {
            metrics()
                .alerts_emitted
                .with_label_values(&[RULE_NAME])
                .inc();
        }
        let previously_delivered = self.delivered_anywhere(alert).await?;
        let mut delivered_now = false;
        for index in 0..self.channels.len() {
            let event_id = alert.event_id.clone();
            let name = self.channels[index].name().to_owned();
            let state = self
                .with_log(move |log| log.state(&event_id, &name))
                .await?;
            if state.is_some_and(NotificationState::is_final) {
                continue;
            }
            delivered_now |= self.send_to(index, alert).await?;
        }
        if self.channels.is_empty() && self.observer.is_some() && !seen {
            delivered_now = true;
        }
        if delivered_now && !previously_delivered {
            observe_latency(alert);
        }
        self.notify_observer(alert).await
    }

    /// Delivers `alert` to channel `index` with retries; `Ok(true)` when delivered,
    /// `Ok(false)` when rejected for good, a retryable error when the attempts ran out.
    async fn send_to(&self, index: usize, alert: &Alert) -> Result<bool, AlertingError> {
        let channel = &self.channels[index];
        let receiver = channel.name().to_owned();
        {
            let (alert, receiver) = (alert.clone(), receiver.clone());
            self.with_log(move |log| log.begin_send(&alert, &receiver, now_ms()))
                .await?;
        }
        let outcome = self.deliver(channel, alert).await;
        let event_id = alert.event_id.clone();
        let sends = &metrics().alert_sends;
        match outcome {
            Delivery::Delivered => {
                let log_receiver = receiver.clone();
                self.with_log(move |log| log.mark_sent(&event_id, &log_receiver, now_ms()))
                    .await?;
                sends.with_label_values(&["webhook", "delivered"]).inc();
                tracing::info!(
                    receiver = %receiver,
                    fingerprint = %alert.fingerprint,
                    "alert delivered"
                );
                Ok(true)
            }
            Delivery::Rejected(reason) => {
                sends.with_label_values(&["webhook", "rejected"]).inc();
                self.counters.error("alert_rejected");
                tracing::warn!(
                    receiver = %receiver,
                    fingerprint = %alert.fingerprint,
                    error = %reason,
                    "receiver rejected alert, not retrying"
                );
                let log_receiver = receiver.clone();
                self.with_log(move |log| {
                    log.mark_failed(&event_id, &log_receiver, now_ms(), &reason)
                })
                .await?;
                Ok(false)
            }
            Delivery::GaveUp(reason) => {
                let (log_receiver, log_reason) = (receiver.clone(), reason.clone());
                self.with_log(move |log| {
                    log.note_error(&event_id, &log_receiver, now_ms(), &log_reason)
                })
                .await?;
                Err(AlertingError::Delivery { receiver, reason })
            }
        }
    }

    /// POSTs `alert` to `channel` up to `max_attempts` times.
    async fn deliver(&self, channel: &WebhookChannel, alert: &Alert) -> Delivery {
        let message = WebhookMessage::for_alert(alert, channel.name(), &self.external_url);
        let mut last_reason = String::new();
        for attempt in 0..self.max_attempts {
            match channel.send(&message, &alert.fingerprint).await {
                SendOutcome::Delivered { .. } => return Delivery::Delivered,
                SendOutcome::Rejected { reason, .. } => return Delivery::Rejected(reason),
                SendOutcome::Retryable {
                    reason,
                    retry_after,
                } => {
                    metrics()
                        .alert_sends
                        .with_label_values(&["webhook", "retry"])
                        .inc();
                    let attempts_left = self.max_attempts - attempt - 1;
                    tracing::warn!(
                        receiver = channel.name(),
                        fingerprint = %alert.fingerprint,
                        error = %reason,
                        attempt,
                        attempts_left,
                        "alert send failed"
                    );
                    last_reason = reason;
                    if attempts_left > 0 {
                        let mut delay =
                            backoff_delay(self.initial_backoff, self.max_backoff, attempt);
                        if let Some(wanted) = retry_after {
                            delay = delay.max(wanted.min(self.max_backoff));
                        }
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
        Delivery::GaveUp(last_reason)
    }

    /// Tells the observer about `alert` once, when it reached a webhook (or none exists).
    async fn notify_observer(&self, alert: &Alert) -> Result<(), AlertingError> {
        let Some(observer) = &self.observer else {
            return Ok(());
        };
        let event_id = alert.event_id.clone();
        let names: Vec<String> = self.channels.iter().map(|c| c.name().to_owned()).collect();
        let due = self
            .with_log(move |log| {
                if log.state(&event_id, OBSERVER_RECEIVER)? == Some(NotificationState::Sent) {
                    return Ok(false);
                }
                if names.is_empty() {
                    return Ok(true);
                }
                for name in &names {
                    if log.state(&event_id, name)? == Some(NotificationState::Sent) {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await?;
        if !due {
            return Ok(());
        }
        observer.alert_sent(alert);
        metrics()
            .alert_sends
            .with_label_values(&["observer", "delivered"])
            .inc();
        let alert = alert.clone();
        self.with_log(move |log| log.record_delivered(&alert, OBSERVER_RECEIVER, now_ms()))
            .await
    }
}

#[async_trait]
impl BatchHandler for AlertHandler {
    async fn handle(&mut self, batch: &[Record]) -> Result<Vec<Verdict>, HandlerError> {
        if !self.recovered {
            self.resend_pending().await?;
        }
        let mut verdicts = Vec::with_capacity(batch.len());
        let mut alerted = 0u64;
        for record in batch {
            let event: EnrichedEvent = match AvroCodec::enriched_event().decode(&record.payload) {
                Ok(event) => event,
                Err(error) => {
                    verdicts.push(Verdict::DeadLetter(format!(
                        "undecodable enriched event: {error}"
                    )));
                    continue;
                }
            };
            if let Some(alert) = self.rule.evaluate(&event) {
                self.notify(&alert).await?;
                alerted += 1;
            }
            verdicts.push(Verdict::Done);
        }
        // Counted once the batch succeeded, so a retried batch is not counted twice.
        self.counters.sent.inc_by(alerted);
        Ok(verdicts)
    }
}

fn observe_latency(alert: &Alert) {
    let seconds = (now_ms() - alert.review_created_at_ms).max(0) as f64 / 1000.0;
    metrics().alert_latency_seconds.observe(seconds);
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

/// Runs the alerting stage until `source` ends or `shutdown` is cancelled during a retry
/// wait: re-sends what an earlier run left pending, then drives [`AlertHandler`] over the
/// source. Returns `Err` only for fatal errors (bad config, broken notification log).
#[tracing::instrument(skip_all, fields(stage = STAGE))]
pub async fn run(
    config: &AlertingConfig,
    log: NotificationLog,
    observer: Option<Arc<dyn AlertObserver>>,
    source: &mut dyn RecordSource,
    dead_letters: &dyn RecordSink,
    shutdown: &CancellationToken,
) -> Result<(), AlertingError> {
    let mut handler = AlertHandler::new(config, log, observer)?;
    match handler.resend_pending().await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "re-sent alerts left pending"),
        Err(error) if error.is_retryable() => {
            tracing::warn!(error = %error, "could not re-send pending alerts yet, will retry");
        }
        Err(error) => return Err(error),
    }
    let options = DriveOptions {
        initial_backoff: Duration::from_millis(config.initial_backoff_ms.max(1)),
        max_backoff: Duration::from_millis(config.max_backoff_ms.max(1)),
        ..DriveOptions::immediate(STAGE, config.max_batch.max(1))
    };
    tracing::info!(
        topic = source.topic(),
        webhooks = config.webhooks.len(),
        "alerting stage started"
    );
    drive(source, &mut handler, dead_letters, &options, shutdown).await?;
    tracing::info!("alerting stage stopped");
    Ok(())
}

#[cfg(test)]
mod tests;
