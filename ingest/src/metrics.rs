//! The ingest metrics, registered once in the process-wide default Prometheus registry.
//!
//! Labels come from bounded sets only: `platform` (the marketplace enum), `status_class`
//! (`2xx`…`5xx`, `timeout`, `connect`, `error`), `api` (`top`, `aggregator`) and
//! `error_class` ([`crate::IngestError::metric_label`]). Never a shop, item or buyer id.
//! Records published are counted by the shared `bus::metrics::StageCounters` of stage `ingest`.

use std::sync::LazyLock;

use prometheus::{register_histogram_vec, register_int_counter_vec, HistogramVec, IntCounterVec};

/// Handles of the ingest metric families.
pub(crate) struct IngestMetrics {
    /// `shopwatch_ingest_http_requests_total{platform,status_class}`.
    pub(crate) http_requests: IntCounterVec,
    /// `shopwatch_ingest_http_request_duration_seconds{platform}`.
    pub(crate) http_request_duration: HistogramVec,
    /// `shopwatch_ingest_poll_errors_total{api,error_class}`.
    pub(crate) poll_errors: IntCounterVec,
    /// `shopwatch_ingest_window_splits_total{api}`.
    pub(crate) window_splits: IntCounterVec,
}

/// Returns the ingest metric families, registering them on first use.
pub(crate) fn metrics() -> &'static IngestMetrics {
    static METRICS: LazyLock<IngestMetrics> = LazyLock::new(|| IngestMetrics {
        http_requests: register_int_counter_vec!(
            "shopwatch_ingest_http_requests_total",
            "HTTP requests to platform APIs, by platform and status class.",
            &["platform", "status_class"]
        )
        .expect("metric registered once"),
        http_request_duration: register_histogram_vec!(
            "shopwatch_ingest_http_request_duration_seconds",
            "Duration of HTTP requests to platform APIs.",
            &["platform"],
            vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
        )
        .expect("metric registered once"),
        poll_errors: register_int_counter_vec!(
            "shopwatch_ingest_poll_errors_total",
            "Failed polls, by API and error class.",
            &["api", "error_class"]
        )
        .expect("metric registered once"),
        window_splits: register_int_counter_vec!(
            "shopwatch_ingest_window_splits_total",
            "Poll windows split in halves because they held 1,500 ratings or more.",
            &["api"]
        )
        .expect("metric registered once"),
    });
    &METRICS
}

/// Returns the `status_class` label of an HTTP status code.
pub(crate) fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "error",
    }
}
