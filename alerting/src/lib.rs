//! The alerting stage: turns enriched events into deduplicated webhook notifications.
//!
//! # Layout
//! - [`config`]: `AlertingConfig` (the `[alerting]` section), `NegativeReviewRuleConfig`,
//!   `WebhookConfig`.
//! - [`error`]: `AlertingError`, classified as retryable or fatal.
//! - [`alert`]: the `Alert` model (labels, annotations, fingerprint) and `format_alert_line`.
//! - [`rule`]: `NegativeReviewRule`, which decides whether an event fires and how severe it is.
//! - [`webhook`]: the Alertmanager webhook payload (version "4") and `WebhookChannel`, which
//!   POSTs it and classifies the response.
//! - [`nflog`]: `NotificationLog`, the durable SQLite log of what was sent to whom.
//! - [`handler`]: `AlertHandler` (the `BatchHandler` of this stage), `AlertObserver` and [`run`].
//! - [`metrics`]: the stage's own Prometheus metrics.
//!
//! **Invariants:** a notification is recorded `sending` before its POST and `sent` after the
//! receiver's 2xx, so an event already `sent` to a receiver is never sent to it again (replays
//! after a restart are silent), and a crash mid-send re-sends (at-least-once; the receiver sees
//! the same fingerprint and `Idempotency-Key`). A receiver that is down fails the batch, so
//! nothing is acknowledged and nothing is lost.
//! **Deliberately absent (for now):** routing trees, grouping timers, inhibition, silences,
//! rate limits and the chat-robot channels; every alert is one POST to every webhook.

pub mod alert;
pub mod config;
pub mod error;
pub mod handler;
pub mod metrics;
pub mod nflog;
pub mod rule;
pub mod webhook;

pub use alert::{format_alert_line, Alert};
pub use config::{AlertingConfig, NegativeReviewRuleConfig, WebhookConfig};
pub use error::{AlertingError, Result};
pub use handler::{run, AlertHandler, AlertObserver, LogObserver, OBSERVER_RECEIVER, STAGE};
pub use nflog::{NotificationEntry, NotificationLog, NotificationState};
pub use rule::NegativeReviewRule;
pub use webhook::{WebhookAlert, WebhookMessage};
