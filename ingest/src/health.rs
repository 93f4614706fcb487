//! Source health of one shop's API: a condition that changes, reported once per change.
//!
//! Contract: the tracker starts `ok` (nothing is published for a healthy start). A throttle,
//! a dead credential, missing authorization or quota and a rejected configuration change the
//! condition at once; transient failures only after `api_failing_after_errors` in a row; a
//! successful poll brings it back to `ok`. Each change yields ONE `SourceHealth` record
//! (entity id = API name, version = condition + the time it began) until the health sink
//! acknowledged it; errors of our own bus (sink, cursor) are not the source's health.
//!
//! One tracker per shop and kind of data: the review poller's records name the API (`top`),
//! the listing and shipment pollers' records `<api>:listings` / `<api>:shipments`, so the
//! three conditions of one shop never overwrite each other. [`report`] publishes a pending
//! change to the health sink.

use schemas::{Entity, HealthCondition, Platform, Provenance, RawRecord, SourceHealth};

use crate::error::IngestError;

/// The condition to report and since when.
#[derive(Debug, Clone, PartialEq)]
struct State {
    condition: HealthCondition,
    since_ms: i64,
    error_code: Option<String>,
    message: String,
    retry_after_secs: Option<i64>,
    authorize_url: Option<String>,
}

/// Tracks one shop's API health; see the module docs.
#[derive(Debug)]
pub(crate) struct HealthTracker {
    api: &'static str,
    source: &'static str,
    platform: Platform,
    shop_id: String,
    subject: &'static str,
    failing_after: u32,
    consecutive_failures: u32,
    current: State,
    reported: HealthCondition,
}

impl HealthTracker {
    pub(crate) fn new(
        api: &'static str,
        source: &'static str,
        platform: Platform,
        shop_id: String,
        failing_after: u32,
    ) -> Self {
        HealthTracker {
            api,
            source,
            platform,
            shop_id,
            subject: "reviews",
            failing_after: failing_after.max(1),
            consecutive_failures: 0,
            current: State {
                condition: HealthCondition::Ok,
                since_ms: 0,
                error_code: None,
                message: String::new(),
                retry_after_secs: None,
                authorize_url: None,
            },
            reported: HealthCondition::Ok,
        }
    }

    /// Tracks `subject` (`listings`, `shipments`) instead of reviews; see the module docs.
    pub(crate) fn for_subject(mut self, subject: &'static str) -> Self {
        self.subject = subject;
        self
    }

    /// Returns the source name of the records: the API for reviews, else `<api>:<subject>`.
    pub(crate) fn source_name(&self) -> String {
        if self.subject == "reviews" {
            self.api.to_owned()
        } else {
            format!("{}:{}", self.api, self.subject)
        }
    }

    /// Returns the condition the shop is in now.
    pub(crate) fn condition(&self) -> HealthCondition {
        self.current.condition
    }

    /// Records a successful poll.
    pub(crate) fn on_success(&mut self, now_ms: i64) {
        self.consecutive_failures = 0;
        if self.current.condition != HealthCondition::Ok {
            self.current = State {
                condition: HealthCondition::Ok,
                since_ms: now_ms,
                error_code: None,
                message: format!(
                    "{} of shop {} on {} are fetched again through {}",
                    self.subject, self.shop_id, self.platform, self.api
                ),
                retry_after_secs: None,
                authorize_url: None,
            };
        }
    }

    /// Records a failed poll that will be retried after `retry_after_secs`.
    pub(crate) fn on_error(&mut self, error: &IngestError, now_ms: i64, retry_after_secs: u64) {
        let Some(condition) = error.health_condition() else {
            return;
        };
        let retry_after_secs = i64::try_from(retry_after_secs).ok();
        let mut message = format!("shop {} on {}: {error}", self.shop_id, self.platform);
        match condition {
            HealthCondition::ApiFailing => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                if self.consecutive_failures < self.failing_after {
                    return;
                }
                message.push_str(&format!(
                    " ({} failures in a row; retrying with backoff)",
                    self.consecutive_failures
                ));
            }
            HealthCondition::Throttled => {
                if let Some(secs) = retry_after_secs {
                    message.push_str(&format!("; polling resumes in {secs} s"));
                }
            }
            _ => {}
        }
        let authorize_url = match error {
            IngestError::AccessDenied { authorize_url, .. } => authorize_url.clone(),
            _ => None,
        };
        let since_ms = if condition == self.current.condition {
            self.current.since_ms
        } else {
            now_ms
        };
        self.current = State {
            condition,
            since_ms,
            error_code: error.platform_code().map(str::to_owned),
            message,
            retry_after_secs,
            authorize_url,
        };
    }

    /// Returns the record to publish when the condition changed since the last report.
    pub(crate) fn pending(&self, observed_at_ms: i64) -> Option<RawRecord> {
        if self.current.condition == self.reported {
            return None;
        }
        let state = &self.current;
        let health = SourceHealth {
            source: self.source_name(),
            condition: state.condition,
            error_code: state.error_code.clone(),
            message: state.message.clone(),
            action_required: matches!(
                state.condition,
                HealthCondition::TokenExpired
                    | HealthCondition::Unauthorized
                    | HealthCondition::QuotaExhausted
                    | HealthCondition::ConfigError
            ),
            retry_after_secs: state.retry_after_secs,
            authorize_url: state.authorize_url.clone(),
        };
        let payload = serde_json::json!({
            "api": self.api,
            "condition": state.condition.as_str(),
            "error_code": state.error_code,
            "message": state.message,
            "retry_after_secs": state.retry_after_secs,
            "authorize_url": state.authorize_url,
        })
        .to_string();
        Some(RawRecord::new(
            Provenance {
                platform: self.platform,
                shop_id: self.shop_id.clone(),
                entity_id: self.source_name(),
                version: format!("{}@{}", state.condition, state.since_ms),
                source: self.source.to_owned(),
                occurred_at_ms: state.since_ms,
                observed_at_ms,
                payload,
            },
            Entity::SourceHealth(health),
        ))
    }

    /// Records that the health sink acknowledged the record of the current condition.
    pub(crate) fn mark_reported(&mut self, condition: HealthCondition) {
        self.reported = condition;
    }
}

/// Publishes `tracker`'s pending change to `sink`; marks it reported once acknowledged, so
/// a failed delivery is offered again on the next call.
pub(crate) async fn report(
    tracker: &mut HealthTracker,
    sink: &dyn bus::RecordSink,
    now_ms: i64,
) -> Result<bool, IngestError> {
    let Some(record) = tracker.pending(now_ms) else {
        return Ok(false);
    };
    let condition = tracker.condition();
    let encoded = schemas::AvroCodec::raw_record().encode(&record)?;
    let batch = vec![bus::Record::new(record.entity_key().to_string(), encoded)];
    sink.send_batch(batch)
        .await
        .map_err(|error| IngestError::Sink {
            topic: sink.topic().to_owned(),
            error,
        })?;
    tracker.mark_reported(condition);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> HealthTracker {
        HealthTracker::new(
            "aggregator",
            "aggregator:traderates",
            Platform::Pinduoduo,
            "123".into(),
            3,
        )
    }

    fn failing() -> IngestError {
        IngestError::ApiFailing {
            api: "aggregator",
            code: "200".into(),
            message: "系统错误".into(),
        }
    }

    #[test]
    fn healthy_start_reports_nothing_and_one_record_per_change() {
        let mut health = tracker();
        health.on_success(1_000);
        assert!(health.pending(1_000).is_none());

        let dead = IngestError::TokenDead {
            api: "aggregator",
            code: "401".into(),
            message: "token invalid".into(),
        };
        health.on_error(&dead, 2_000, 600);
        let record = health.pending(2_001).unwrap();
        let reported = record.health.clone().unwrap();
        assert_eq!(reported.condition, HealthCondition::TokenExpired);
        assert_eq!(reported.error_code.as_deref(), Some("401"));
        assert!(reported.action_required);
        assert_eq!(record.entity_id, "aggregator");
        assert_eq!(record.occurred_at_ms, 2_000);
        // Unacknowledged: offered again, with the same id.
        health.on_error(&dead, 3_000, 600);
        assert_eq!(health.pending(3_001).unwrap().event_id, record.event_id);
        health.mark_reported(HealthCondition::TokenExpired);
        health.on_error(&dead, 4_000, 600);
        assert!(
            health.pending(4_001).is_none(),
            "same condition: no second record"
        );

        health.on_success(5_000);
        let ok = health.pending(5_001).unwrap();
        assert_eq!(ok.health.as_ref().unwrap().condition, HealthCondition::Ok);
        assert!(!ok.health.as_ref().unwrap().action_required);
        assert_ne!(ok.event_id, record.event_id);
    }

    #[test]
    fn transient_failures_count_only_after_the_threshold() {
        let mut health = tracker();
        health.on_error(&failing(), 1_000, 1);
        health.on_error(&failing(), 2_000, 2);
        assert!(health.pending(2_000).is_none());
        health.on_error(&failing(), 3_000, 4);
        let record = health.pending(3_000).unwrap();
        assert_eq!(
            record.health.unwrap().condition,
            HealthCondition::ApiFailing
        );
        let sink = IngestError::Sink {
            topic: "t".into(),
            error: bus::BusError::Closed,
        };
        health.mark_reported(HealthCondition::ApiFailing);
        health.on_error(&sink, 4_000, 1);
        assert_eq!(
            health.condition(),
            HealthCondition::ApiFailing,
            "sink errors are not the source's"
        );
    }

    #[test]
    fn unauthorized_carries_the_authorize_link() {
        let mut health = tracker();
        let denied = IngestError::AccessDenied {
            api: "aggregator",
            code: "302".into(),
            message: "店铺未授权; authorize the shop with the vendor: https://auth.example/x"
                .into(),
            condition: HealthCondition::Unauthorized,
            authorize_url: Some("https://auth.example/x".into()),
        };
        health.on_error(&denied, 1_000, 600);
        let health_record = health.pending(1_000).unwrap().health.unwrap();
        assert_eq!(health_record.condition, HealthCondition::Unauthorized);
        assert_eq!(
            health_record.authorize_url.as_deref(),
            Some("https://auth.example/x")
        );
        assert!(health_record.message.contains("https://auth.example/x"));
    }
}
