//! The counters every stage shares, in Vector's vocabulary.
//!
//! All shopwatch metrics live in the process-wide default Prometheus registry
//! (`prometheus::gather()` renders them); crate-specific metrics are registered by each
//! crate's own `metrics.rs`. Labels come from bounded sets only: `stage`, `topic`,
//! `error_code`, `intentional`, `partition` — never a shop, item or buyer id.

use std::sync::LazyLock;

use prometheus::{
    register_counter_vec, register_int_counter_vec, register_int_gauge_vec, CounterVec, IntCounter,
    IntCounterVec, IntGaugeVec,
};

/// Handles of the shared metric families.
pub struct BusMetrics {
    pub records_received: IntCounterVec,
    pub records_sent: IntCounterVec,
    pub records_discarded: IntCounterVec,
    pub errors: IntCounterVec,
    pub backpressure_seconds: CounterVec,
    pub consumer_lag: IntGaugeVec,
}

/// Returns the shared metric families, registering them on first use.
pub fn metrics() -> &'static BusMetrics {
    static METRICS: LazyLock<BusMetrics> = LazyLock::new(|| {
        BusMetrics {
        records_received: register_int_counter_vec!(
            "shopwatch_records_received_total",
            "Records a stage took in.",
            &["stage"]
        )
        .expect("metric registered once"),
        records_sent: register_int_counter_vec!(
            "shopwatch_records_sent_total",
            "Records a stage handed on successfully.",
            &["stage"]
        )
        .expect("metric registered once"),
        records_discarded: register_int_counter_vec!(
            "shopwatch_records_discarded_total",
            "Records a stage did not hand on: intentional=true for filtered or duplicate, false for dead-lettered.",
            &["stage", "intentional"]
        )
        .expect("metric registered once"),
        errors: register_int_counter_vec!(
            "shopwatch_errors_total",
            "Errors by stage and kind.",
            &["stage", "error_code"]
        )
        .expect("metric registered once"),
        backpressure_seconds: register_counter_vec!(
            "shopwatch_backpressure_seconds_total",
            "Time a stage spent blocked on a full downstream queue.",
            &["stage"]
        )
        .expect("metric registered once"),
        consumer_lag: register_int_gauge_vec!(
            "shopwatch_kafka_consumer_lag_messages",
            "Messages between a consumer's position and the partition's high watermark.",
            &["topic", "partition"]
        )
        .expect("metric registered once"),
    }
    });
    &METRICS
}

/// The shared counters bound to one stage, cheap to clone and to bump per batch.
///
/// Who counts what: a bus *source* counts `received` as it delivers records (a retried
/// batch is not delivered again, so it is not counted twice); the stage counts `sent` and
/// `skipped` after its batch succeeded; `drive` counts `dead_lettered`; a bus *sink* only
/// measures the time it was blocked.
#[derive(Clone)]
pub struct StageCounters {
    stage: &'static str,
    pub received: IntCounter,
    pub sent: IntCounter,
    pub dead_lettered: IntCounter,
    pub skipped: IntCounter,
}

impl StageCounters {
    /// Binds the shared families to `stage`.
    pub fn new(stage: &'static str) -> Self {
        let families = metrics();
        StageCounters {
            stage,
            received: families.records_received.with_label_values(&[stage]),
            sent: families.records_sent.with_label_values(&[stage]),
            dead_lettered: families
                .records_discarded
                .with_label_values(&[stage, "false"]),
            skipped: families
                .records_discarded
                .with_label_values(&[stage, "true"]),
        }
    }

    /// Counts one error of kind `error_code` (a short fixed string such as `decode`).
    pub fn error(&self, error_code: &str) {
        metrics()
            .errors
            .with_label_values(&[self.stage, error_code])
            .inc();
    }

    /// Adds time spent blocked on backpressure.
    pub fn blocked(&self, seconds: f64) {
        metrics()
            .backpressure_seconds
            .with_label_values(&[self.stage])
            .inc_by(seconds);
    }
}
