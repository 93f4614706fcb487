//! Per-simulator request counts, served at `GET /_sim/stats` and by `Simulator::stats`.
//!
//! Contract: every request on an API path counts once in `requests` and once in exactly one of
//! `ok`, `errors` or `faults`; a throttled request is an error that also counts in
//! `throttled`. A `slow_ms` fault counts in `faults` and its delayed request then counts as
//! `ok` or `errors` too. Error codes are keyed by their decimal spelling.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::faults::Endpoint;
use crate::metrics::metrics;

/// How a request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A successful search.
    Ok,
    /// An error envelope with this code.
    Error(i64),
    /// A throttle refusal with this code.
    Throttled(i64),
    /// An injected fault of this kind.
    Fault(&'static str),
}

/// Counts for one API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiStats {
    /// Requests received on the API's paths.
    pub requests: u64,
    /// Successful searches.
    pub ok: u64,
    /// Error envelopes (throttle refusals included), not counting injected faults.
    pub errors: u64,
    /// Throttle refusals.
    pub throttled: u64,
    /// Injected faults served.
    pub faults: u64,
    /// Error envelopes by code.
    pub error_codes: BTreeMap<String, u64>,
    /// Injected faults served, by kind (`error_code`, `http_500`, `slow_ms`, …).
    pub fault_kinds: BTreeMap<String, u64>,
    /// Fault uses still queued.
    pub faults_pending: u64,
}

/// Counts for the whole simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// The TOP router.
    pub top: ApiStats,
    /// The review-search aggregator.
    pub aggregator: ApiStats,
    /// The PDD router.
    #[serde(default)]
    pub pdd: ApiStats,
    /// The JD router.
    #[serde(default)]
    pub jd: ApiStats,
    /// Kuaidi100 query and subscribe.
    #[serde(default)]
    pub kuaidi100: ApiStats,
    /// Reviews generated so far (history included).
    pub reviews: u64,
}

impl SimStats {
    /// The counts of one endpoint.
    pub fn of(&mut self, api: Endpoint) -> &mut ApiStats {
        match api {
            Endpoint::Top => &mut self.top,
            Endpoint::Aggregator => &mut self.aggregator,
            Endpoint::Pdd => &mut self.pdd,
            Endpoint::Jd => &mut self.jd,
            Endpoint::Kuaidi100 => &mut self.kuaidi100,
        }
    }

    /// Counts a `slow_ms` fault; the delayed request is counted again when it is answered.
    pub(crate) fn record_slow(&mut self, api: Endpoint) {
        let stats = self.of(api);
        stats.faults += 1;
        *stats.fault_kinds.entry("slow_ms".to_owned()).or_default() += 1;
    }

    /// Counts one answered request.
    pub(crate) fn record(&mut self, api: Endpoint, outcome: Outcome) {
        let stats = self.of(api);
        stats.requests += 1;
        let label = match outcome {
            Outcome::Ok => {
                stats.ok += 1;
                "ok"
            }
            Outcome::Error(code) => {
                stats.errors += 1;
                *stats.error_codes.entry(code.to_string()).or_default() += 1;
                "error"
            }
            Outcome::Throttled(code) => {
                stats.errors += 1;
                stats.throttled += 1;
                *stats.error_codes.entry(code.to_string()).or_default() += 1;
                "throttled"
            }
            Outcome::Fault(kind) => {
                stats.faults += 1;
                *stats.fault_kinds.entry(kind.to_owned()).or_default() += 1;
                "fault"
            }
        };
        metrics()
            .requests
            .with_label_values(&[api.as_str(), label])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_land_in_one_bucket_each() {
        let mut stats = SimStats::default();
        stats.record(Endpoint::Top, Outcome::Ok);
        stats.record(Endpoint::Top, Outcome::Error(25));
        stats.record(Endpoint::Top, Outcome::Throttled(7));
        stats.record(Endpoint::Aggregator, Outcome::Fault("http_500"));
        assert_eq!(stats.top.requests, 3);
        assert_eq!(
            (stats.top.ok, stats.top.errors, stats.top.throttled),
            (1, 2, 1)
        );
        assert_eq!(stats.top.error_codes.get("7"), Some(&1));
        assert_eq!(stats.aggregator.faults, 1);
        assert_eq!(stats.aggregator.fault_kinds.get("http_500"), Some(&1));
    }
}
