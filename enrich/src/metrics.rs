//! Metrics of the enrich stage, registered once in the Prometheus default registry.
//!
//! The shared per-stage counters (`shopwatch_records_*_total{stage="enrich"}`) come from
//! `bus::metrics::StageCounters`; this module only adds what is specific to enrich.

use std::sync::LazyLock;

use prometheus::{register_histogram, register_int_counter_vec, Histogram, IntCounterVec};

/// Handles of the enrich metrics.
pub struct EnrichMetrics {
    /// `shopwatch_enrich_duration_seconds`: CPU time to decode, enrich and encode one batch.
    pub duration_seconds: Histogram,
    /// `shopwatch_enrich_reviews_total{polarity}`: reviews analysed, by polarity
    /// (`neg`, `neutral`, `pos`, or `none` for a text without words).
    pub reviews_total: IntCounterVec,
}

/// Returns the enrich metrics, registering them on first use.
pub fn metrics() -> &'static EnrichMetrics {
    static METRICS: LazyLock<EnrichMetrics> = LazyLock::new(|| EnrichMetrics {
        // Invariant: the LazyLock runs this once per process and no other crate registers
        // this name, so registration cannot fail.
        duration_seconds: register_histogram!(
            "shopwatch_enrich_duration_seconds",
            "Time to decode, enrich and encode one batch of records.",
            vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
        )
        .expect("metric registered once"),
        reviews_total: register_int_counter_vec!(
            "shopwatch_enrich_reviews_total",
            "Reviews analysed by the enrich stage, by sentiment polarity.",
            &["polarity"]
        )
        .expect("metric registered once"),
    });
    &METRICS
}
