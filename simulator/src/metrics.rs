//! The simulator's Prometheus metrics, registered in the process-wide default registry.
//!
//! Labels are bounded: `api` (top, aggregator, pdd, jd, kuaidi100; reviews: top,
//! aggregator) and `outcome` (ok, error, throttled, fault).
//! Per-instance counts for tests are in [`crate::stats`], not here, because several simulators
//! in one process share these families.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

/// Handles of the simulator's metric families.
pub(crate) struct SimulatorMetrics {
    /// Requests answered by a simulated API, by outcome.
    pub(crate) requests: IntCounterVec,
    /// Reviews generated (history and live), by API.
    pub(crate) reviews_generated: IntCounterVec,
}

/// Returns the metric families, registering them on first use.
pub(crate) fn metrics() -> &'static SimulatorMetrics {
    static METRICS: LazyLock<SimulatorMetrics> = LazyLock::new(|| SimulatorMetrics {
        // Invariant: these names are registered only here, once per process (LazyLock).
        requests: register_int_counter_vec!(
            "shopwatch_simulator_requests_total",
            "Requests answered by a simulated platform API, by API and outcome.",
            &["api", "outcome"]
        )
        .expect("metric registered once"),
        reviews_generated: register_int_counter_vec!(
            "shopwatch_simulator_reviews_generated_total",
            "Reviews the simulator generated (start-up history and live), by API.",
            &["api"]
        )
        .expect("metric registered once"),
    });
    &METRICS
}
