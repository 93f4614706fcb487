//! The generic webhook channel: Alertmanager's webhook payload, POSTed and classified.
//!
//! The body is exactly what Alertmanager's webhook receiver sends (`version` "4"), so existing
//! receivers (PrometheusAlert, the DingTalk/WeCom bridges, custom handlers) work unchanged.
//! Each POST also carries `Idempotency-Key: <fingerprint>`.
//!
//! Response classes ([`classify_status`]): any 2xx is delivered; 408, 429 and 5xx are
//! retryable (a `Retry-After` in seconds is honoured); every other status is a permanent
//! rejection. Connection errors and timeouts are retryable.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::alert::{labels, Alert};
use crate::config::WebhookConfig;
use crate::error::AlertingError;

/// The webhook payload format version (Alertmanager's current one).
pub const VERSION: &str = "4";
/// `endsAt` of a firing alert: Go's zero time.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Labels the notification is grouped by (`groupLabels`, `groupKey`).
pub const GROUP_BY: &[&str] = &[labels::ALERTNAME, labels::PLATFORM, labels::SHOP_ID];
/// How much of an error response body is kept for logs and the notification log.
const MAX_REASON_CHARS: usize = 200;

/// An Alertmanager webhook notification (version "4").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    pub version: String,
    pub group_key: String,
    pub truncated_alerts: u64,
    pub status: String,
    pub receiver: String,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<WebhookAlert>,
}

/// One alert of a [`WebhookMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339, UTC.
    pub starts_at: String,
    /// RFC 3339, UTC; [`ZERO_TIME`] while firing.
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

impl WebhookMessage {
    /// Builds the notification of one firing alert for `receiver`.
    pub fn for_alert(alert: &Alert, receiver: &str, external_url: &str) -> Self {
        let group_labels: BTreeMap<String, String> = alert
            .labels
            .iter()
            .filter(|(name, _)| GROUP_BY.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        WebhookMessage {
            version: VERSION.to_owned(),
            group_key: format!("{{}}:{}", render_labels(&group_labels)),
            truncated_alerts: 0,
            status: "firing".to_owned(),
            receiver: receiver.to_owned(),
            group_labels,
            // With one alert per notification, everything is common.
            common_labels: alert.labels.clone(),
            common_annotations: alert.annotations.clone(),
            external_url: external_url.to_owned(),
            alerts: vec![WebhookAlert {
                status: "firing".to_owned(),
                labels: alert.labels.clone(),
                annotations: alert.annotations.clone(),
                starts_at: rfc3339(alert.starts_at_ms),
                ends_at: ZERO_TIME.to_owned(),
                generator_url: external_url.to_owned(),
                fingerprint: alert.fingerprint.clone(),
            }],
        }
    }
}

/// `{alertname="NegativeReview", platform="taobao"}`, as Alertmanager prints a label set.
fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Returns `epoch_ms` as RFC 3339 in UTC (`2026-01-01T04:00:00Z`, fractions only when set).
pub fn rfc3339(epoch_ms: i64) -> String {
    DateTime::from_timestamp_millis(epoch_ms)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ZERO_TIME.to_owned())
}

/// What a receiver's HTTP status means for the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx: the receiver has it.
    Delivered,
    /// 408, 429, 5xx: try again later.
    Retryable,
    /// Any other status: the request itself is wrong; retrying cannot help.
    Permanent,
}

/// Classifies an HTTP status code.
pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Delivered,
        408 | 429 | 500..=599 => StatusClass::Retryable,
        _ => StatusClass::Permanent,
    }
}

/// The result of one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// 2xx.
    Delivered { status: u16 },
    /// A permanent rejection (4xx other than 408/429).
    Rejected { status: u16, reason: String },
    /// Worth retrying: 408/429/5xx, connection error, timeout.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
}

/// One webhook receiver with its HTTP client.
#[derive(Clone)]
pub struct WebhookChannel {
    name: String,
    url: reqwest::Url,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl WebhookChannel {
    /// Builds the channel of a (validated) webhook config.
    pub fn new(config: &WebhookConfig) -> Result<Self, AlertingError> {
        let name = config.receiver_name();
        let url = reqwest::Url::parse(&config.url).map_err(|error| AlertingError::Config {
            reason: format!("webhook {name} has an invalid url ({error})"),
        })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .user_agent(concat!("shopwatch-alerting/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| AlertingError::Client {
                receiver: name.clone(),
                reason: error.to_string(),
            })?;
        Ok(WebhookChannel { name, url, client })
    }

    /// Returns the receiver name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// POSTs `message` once and classifies the result.
    pub async fn send(&self, message: &WebhookMessage, idempotency_key: &str) -> SendOutcome {
        let response = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", idempotency_key)
            .json(message)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                return SendOutcome::Retryable {
                    // Without the URL: it may carry a token.
                    reason: error.without_url().to_string(),
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let class = classify_status(status);
        if class == StatusClass::Delivered {
            return SendOutcome::Delivered { status };
        }
        let body = response.text().await.unwrap_or_default();
        let body: String = body.trim().chars().take(MAX_REASON_CHARS).collect();
        let reason = if body.is_empty() {
            format!("http status {status}")
        } else {
            format!("http status {status}: {body}")
        };
        match class {
            StatusClass::Retryable => SendOutcome::Retryable {
                reason,
                retry_after,
            },
            _ => SendOutcome::Rejected { status, reason },
        }
    }
}
