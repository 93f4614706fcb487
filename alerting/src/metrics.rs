//! Metrics of the alerting stage, registered once in the Prometheus default registry.
//!
//! Labels come from bounded sets only: `rule` (rule names), `channel` (`webhook`, `observer`)
//! and `outcome` (`delivered`, `rejected`, `retry`). Receiver names, shops and items never
//! become labels.

use std::sync::LazyLock;

use prometheus::{register_histogram, register_int_counter_vec, Histogram, IntCounterVec};

/// Handles of the alerting metrics.
pub struct AlertingMetrics {
    /// `shopwatch_alerts_emitted_total{rule}`: alerts a rule fired for a new event.
    pub alerts_emitted: IntCounterVec,
    /// `shopwatch_alert_sends_total{channel,outcome}`: send attempts by result.
    pub alert_sends: IntCounterVec,
    /// `shopwatch_alert_latency_seconds`: review created → alert first delivered.
    pub alert_latency_seconds: Histogram,
}

/// Returns the alerting metrics, registering them on first use.
pub fn metrics() -> &'static AlertingMetrics {
    // Invariant: the LazyLock runs this once per process and no other crate registers these
    // names, so registration cannot fail.
    static METRICS: LazyLock<AlertingMetrics> = LazyLock::new(|| AlertingMetrics {
        alerts_emitted: register_int_counter_vec!(
            "shopwatch_alerts_emitted_total",
            "Alerts a rule fired for an event not notified before.",
            &["rule"]
        )
        .expect("metric registered once"),
        alert_sends: register_int_counter_vec!(
            "shopwatch_alert_sends_total",
            "Alert send attempts by channel and outcome (delivered, rejected, retry).",
            &["channel", "outcome"]
        )
        .expect("metric registered once"),
        alert_latency_seconds: register_histogram!(
            "shopwatch_alert_latency_seconds",
            "Time from a review's creation to its alert's first delivery.",
            vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0]
        )
        .expect("metric registered once"),
    });
    &METRICS
}
