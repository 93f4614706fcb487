//! The alert model and its one-line rendering.
//!
//! An [`Alert`] has Alertmanager's shape: identifying labels, descriptive annotations, a start
//! time and a fingerprint. The fingerprint is stable (same labels and event id, same
//! fingerprint), so a re-sent alert can be recognised by the receiver.

use std::collections::BTreeMap;

use chrono::DateTime;
use chrono_tz::Asia::Shanghai;
use schemas::Rating;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Label names the alerts of this crate use.
pub mod labels {
    /// The alert's name (`NegativeReview`).
    pub const ALERTNAME: &str = "alertname";
    /// The platform (`taobao`, …).
    pub const PLATFORM: &str = "platform";
    /// The shop.
    pub const SHOP_ID: &str = "shop_id";
    /// `critical` or `warning`.
    pub const SEVERITY: &str = "severity";
    /// The reviewed item, when known.
    pub const ITEM_ID: &str = "item_id";
    /// The review's rating (`bad`, `neutral`, `good`).
    pub const RATING: &str = "rating";
}

/// Annotation names the alerts of this crate use.
pub mod annotations {
    /// The review text.
    pub const SUMMARY: &str = "summary";
    /// A readable sentence about the review.
    pub const DESCRIPTION: &str = "description";
    /// The keyword hits, comma-separated (absent when there are none).
    pub const KEYWORDS: &str = "keywords";
}

/// One alert about one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// 16 hex digits identifying this alert (hash of the sorted labels and the event id).
    pub fingerprint: String,
    /// Identifying labels (`alertname`, `platform`, `shop_id`, `severity`, `item_id`, `rating`).
    pub labels: BTreeMap<String, String>,
    /// Descriptive annotations (`summary`, `description`, `keywords`).
    pub annotations: BTreeMap<String, String>,
    /// When the alerting condition started: the review's creation time.
    pub starts_at_ms: i64,
    /// The enriched event that fired the alert; the deduplication key.
    pub event_id: String,
    /// When the review was written, for the review-to-alert latency.
    pub review_created_at_ms: i64,
}

impl Alert {
    /// Returns label `name`, or `""` when it is not set.
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Returns annotation `name`, or `""` when it is not set.
    pub fn annotation(&self, name: &str) -> &str {
        self.annotations
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// Returns the fingerprint of an alert with `labels` about `event_id`: the first 64 bits of a
/// SHA-256 over the labels in name order and the event id, as 16 lowercase hex digits.
pub fn fingerprint(labels: &BTreeMap<String, String>, event_id: &str) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in labels {
        hasher.update(name.as_bytes());
        hasher.update([0x1f]);
        hasher.update(value.as_bytes());
        hasher.update([0x1e]);
    }
    hasher.update([0x1d]);
    hasher.update(event_id.as_bytes());
    hex::encode(&hasher.finalize()[..8])
}

/// Returns the word Chinese sellers use for a rating (差评, 中评, 好评).
pub fn rating_word(rating: &str) -> &str {
    match rating.parse::<Rating>() {
        Ok(Rating::Bad) => "差评",
        Ok(Rating::Neutral) => "中评",
        Ok(Rating::Good) => "好评",
        Err(_) => rating,
    }
}

/// Returns `epoch_ms` as `2026-01-01 12:00:00 CST` in Asia/Shanghai (or the raw number when
/// it is out of range).
pub fn shanghai_time(epoch_ms: i64) -> String {
    match DateTime::from_timestamp_millis(epoch_ms) {
        Some(utc) => utc
            .with_timezone(&Shanghai)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        None => format!("@{epoch_ms}ms"),
    }
}

/// Longest review excerpt in [`format_alert_line`], in characters.
const EXCERPT_CHARS: usize = 30;

/// Returns one readable line for a terminal or a log, times in Asia/Shanghai:
///
/// `2026-01-01 12:00:00 CST [critical] NegativeReview taobao/123 item 556677 差评 "快递太慢了，包装破损" keywords: 破损 fp:1a2b3c4d…`
pub fn format_alert_line(alert: &Alert) -> String {
    let mut line = format!(
        "{} [{}] {} {}/{}",
        shanghai_time(alert.starts_at_ms),
        alert.label(labels::SEVERITY),
        alert.label(labels::ALERTNAME),
        alert.label(labels::PLATFORM),
        alert.label(labels::SHOP_ID),
    );
    if let Some(item) = alert.labels.get(labels::ITEM_ID) {
        line.push_str(" item ");
        line.push_str(item);
    }
    if let Some(rating) = alert.labels.get(labels::RATING) {
        line.push(' ');
        line.push_str(rating_word(rating));
    }
    line.push_str(&format!(
        " \"{}\"",
        excerpt(alert.annotation(annotations::SUMMARY))
    ));
    if let Some(keywords) = alert.annotations.get(annotations::KEYWORDS) {
        line.push_str(" keywords: ");
        line.push_str(keywords);
    }
    let short: String = alert.fingerprint.chars().take(8).collect();
    line.push_str(&format!(" fp:{short}…"));
    line
}

/// Returns the text on one line, cut to [`EXCERPT_CHARS`] characters with `…`.
fn excerpt(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat.to_owned();
    }
    let mut cut: String = flat.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}
