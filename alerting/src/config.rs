//! The `[alerting]` configuration section.
//!
//! Contract: every field has a default except a webhook's `url`, unknown keys are rejected,
//! and [`AlertingConfig::validate`] reports every problem at once, naming the key.

use std::fmt;

use schemas::Rating;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AlertingError;

/// Settings of the alerting stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// The negative-review rule.
    #[serde(default)]
    pub rule: NegativeReviewRuleConfig,
    /// Where alerts are POSTed (Alertmanager webhook format); every alert goes to every one.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Send attempts per alert and receiver within one batch; when they are used up the batch
    /// fails, nothing is acknowledged, and the stage retries the batch later.
    #[serde(default = "default_max_attempts_per_batch")]
    pub max_attempts_per_batch: u32,
    /// First delay between send attempts; doubles per attempt, with jitter.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Longest delay between send attempts (also caps a receiver's `Retry-After`).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// The URL under which operators reach this shopwatch, sent as `externalURL` and as each
    /// alert's `generatorURL`; empty when there is none.
    #[serde(default)]
    pub external_url: String,
    /// The most events evaluated in one batch.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

/// When a review fires the `NegativeReview` alert, and how severe it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeReviewRuleConfig {
    /// Turns the rule on.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Ratings that fire (差评 = "bad", 中评 = "neutral").
    #[serde(default = "default_ratings")]
    pub ratings: Vec<Rating>,
    /// A star score at or below this fires, when the platform reports one; 0 turns it off.
    #[serde(default = "default_max_score")]
    pub max_score: i32,
    /// This many keyword hits fire; 0 turns keyword alerts off.
    #[serde(default = "default_min_keyword_hits")]
    pub min_keyword_hits: usize,
    /// Ratings whose alerts are `critical` (the others are `warning`).
    #[serde(default = "default_critical_ratings")]
    pub critical_ratings: Vec<Rating>,
    /// A star score at or below this makes the alert `critical`; 0 turns it off.
    #[serde(default = "default_critical_max_score")]
    pub critical_max_score: i32,
    /// A review whose text the sentiment model reads as negative (polarity `neg`) fires on
    /// its own, as `warning` unless its rating or score makes it `critical`.
    #[serde(default = "default_true")]
    pub negative_polarity: bool,
}

/// One webhook receiver.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The http(s) URL to POST to. It may carry a token, so it is never logged.
    pub url: String,
    /// The receiver name (payload `receiver`, notification log, logs); defaults to
    /// `webhook-` and 8 hex digits of a hash of the URL, which is stable across restarts.
    #[serde(default)]
    pub name: Option<String>,
    /// Time limit of one POST, connection included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &"<redacted>")
            .field("name", &self.receiver_name())
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl WebhookConfig {
    /// Builds a receiver with the default name and timeout.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookConfig {
            url: url.into(),
            name: None,
            timeout_secs: default_timeout_secs(),
        }
    }

    /// Returns the receiver name: `name`, or one derived from the URL.
    pub fn receiver_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => {
                let digest = Sha256::digest(self.url.as_bytes());
                format!("webhook-{}", hex::encode(&digest[..4]))
            }
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_ratings() -> Vec<Rating> {
    vec![Rating::Bad, Rating::Neutral]
}

fn default_max_score() -> i32 {
    2
}

fn default_min_keyword_hits() -> usize {
    1
}

fn default_critical_ratings() -> Vec<Rating> {
    vec![Rating::Bad]
}

fn default_critical_max_score() -> i32 {
    1
}

fn default_timeout_secs() -> u64 {
    10
}

fn default_max_attempts_per_batch() -> u32 {
    5
}

fn default_initial_backoff_ms() -> u64 {
    500
}

fn default_max_backoff_ms() -> u64 {
    30_000
}

fn default_max_batch() -> usize {
    100
}

impl Default for NegativeReviewRuleConfig {
    fn default() -> Self {
        NegativeReviewRuleConfig {
            enabled: default_true(),
            ratings: default_ratings(),
            max_score: default_max_score(),
            min_keyword_hits: default_min_keyword_hits(),
            critical_ratings: default_critical_ratings(),
            critical_max_score: default_critical_max_score(),
            negative_polarity: default_true(),
        }
    }
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            rule: NegativeReviewRuleConfig::default(),
            webhooks: Vec::new(),
            max_attempts_per_batch: default_max_attempts_per_batch(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            external_url: String::new(),
            max_batch: default_max_batch(),
        }
    }
}

impl AlertingConfig {
    /// Checks the settings and reports every problem at once.
    pub fn validate(&self) -> Result<(), AlertingError> {
        let mut problems = Vec::new();
        if self.max_attempts_per_batch == 0 {
            problems.push("alerting.max_attempts_per_batch must be at least 1".to_owned());
        }
        if self.initial_backoff_ms > self.max_backoff_ms {
            problems.push(format!(
                "alerting.initial_backoff_ms ({}) exceeds alerting.max_backoff_ms ({})",
                self.initial_backoff_ms, self.max_backoff_ms
            ));
        }
        if self.max_batch == 0 {
            problems.push("alerting.max_batch must be at least 1".to_owned());
        }
        let mut names: Vec<String> = Vec::new();
        for (index, webhook) in self.webhooks.iter().enumerate() {
            match reqwest::Url::parse(&webhook.url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                // The URL may hold a token: name the key, never echo the value.
                Ok(_) => problems.push(format!(
                    "alerting.webhooks[{index}].url must be an http or https URL"
                )),
                Err(error) => problems.push(format!(
                    "alerting.webhooks[{index}].url is not a valid URL ({error})"
                )),
            }
            if webhook.timeout_secs == 0 {
                problems.push(format!(
                    "alerting.webhooks[{index}].timeout_secs must be at least 1"
                ));
            }
            let name = webhook.receiver_name();
            if name.trim().is_empty() || name.starts_with('@') {
                problems.push(format!(
                    "alerting.webhooks[{index}].name must be non-empty and not start with '@'"
                ));
            } else if names.contains(&name) {
                problems.push(format!(
                    "alerting.webhooks[{index}] repeats receiver name {name:?}"
                ));
            }
            names.push(name);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AlertingError::Config {
                reason: problems.join("; "),
            })
        }
    }
}
