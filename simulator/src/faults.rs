//! Fault injection: queued misbehaviours served to the next requests of one API endpoint
//! (TOP, aggregator, PDD, JD, Kuaidi100).
//!
//! Contract: faults queue per API in order of injection; each request to that API (any request
//! on its path, valid or not) takes one use of the fault at the head of the queue, and a fault
//! leaves the queue after `count` uses. A fault pre-empts authentication, throttling and
//! validation and does not spend throttle tokens, except `slow_ms`, which delays the request
//! and then lets it run normally.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::Api;

/// One simulated API, as a fault and stats target. Its JSON spelling is `top`,
/// `aggregator`, `pdd`, `jd` or `kuaidi100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// TOP router `/router/rest`.
    Top,
    /// Review-search aggregator `/tool/erps/*`.
    Aggregator,
    /// PDD router `/api/router`.
    Pdd,
    /// JD router `/routerjson`.
    Jd,
    /// Kuaidi100 `/poll/query.do` and `/poll`.
    Kuaidi100,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Top,
        Endpoint::Aggregator,
        Endpoint::Pdd,
        Endpoint::Jd,
        Endpoint::Kuaidi100,
    ];

    /// Returns the wire spelling, also used as the `api` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Top => "top",
            Endpoint::Aggregator => "aggregator",
            Endpoint::Pdd => "pdd",
            Endpoint::Jd => "jd",
            Endpoint::Kuaidi100 => "kuaidi100",
        }
    }
}

impl From<Api> for Endpoint {
    fn from(api: Api) -> Endpoint {
        match api {
            Api::Top => Endpoint::Top,
            Api::Aggregator => Endpoint::Aggregator,
        }
    }
}

/// One misbehaviour. In JSON: `{"error_code":7}`, `"malformed_json"`, `"truncated_json"`,
/// `"wrong_envelope"`, `"http_500"`, `{"slow_ms":1500}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The API's documented error envelope for this code (TOP: `error_response` with the
    /// code's msg and sub_code, e.g. 7 with the ban text, 15 with an `isp.` sub_code;
    /// aggregator: `{"code":C,"msg":..}`, 302 with an authorize link).
    ErrorCode(i64),
    /// HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// HTTP 200 with the normal response cut off halfway.
    TruncatedJson,
    /// HTTP 200 with valid JSON under an unexpected root.
    WrongEnvelope,
    /// HTTP 500 with an HTML error page.
    #[serde(rename = "http_500")]
    Http500,
    /// The normal response, after a delay of this many milliseconds.
    SlowMs(u64),
}

impl Fault {
    /// Returns a bounded label naming the fault kind (for stats and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::ErrorCode(_) => "error_code",
            Fault::MalformedJson => "malformed_json",
            Fault::TruncatedJson => "truncated_json",
            Fault::WrongEnvelope => "wrong_envelope",
            Fault::Http500 => "http_500",
            Fault::SlowMs(_) => "slow_ms",
        }
    }
}

/// The body of `POST /_sim/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// The API whose requests get the fault (`top`, `aggregator`, `pdd`, `jd`, `kuaidi100`).
    pub api: Endpoint,
    /// The fault.
    pub fault: Fault,
    /// How many requests get it (default 1).
    #[serde(default = "default_count")]
    pub count: u32,
}

fn default_count() -> u32 {
    1
}

/// Pending faults of every endpoint.
#[derive(Debug, Default)]
pub(crate) struct FaultQueues {
    queues: BTreeMap<Endpoint, VecDeque<(Fault, u32)>>,
}

impl FaultQueues {
    /// Queues `count` uses of `fault` for `endpoint` (a count of 0 queues nothing).
    pub(crate) fn push(&mut self, endpoint: Endpoint, fault: Fault, count: u32) {
        if count > 0 {
            self.queues
                .entry(endpoint)
                .or_default()
                .push_back((fault, count));
        }
    }

    /// Takes one use of the fault at the head of `endpoint`'s queue.
    pub(crate) fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let queue = self.queues.get_mut(&endpoint)?;
        let (fault, left) = queue.front_mut()?;
        let fault = *fault;
        *left -= 1;
        if *left == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    /// Returns the uses still queued for `endpoint`.
    pub(crate) fn pending(&self, endpoint: Endpoint) -> u64 {
        self.queues.get(&endpoint).map_or(0, |queue| {
            queue.iter().map(|(_, left)| u64::from(*left)).sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let request: FaultRequest =
            serde_json::from_str(r#"{"api":"top","fault":{"error_code":7},"count":2}"#).unwrap();
        assert_eq!(request.fault, Fault::ErrorCode(7));
        assert_eq!(request.count, 2);
        let request: FaultRequest =
            serde_json::from_str(r#"{"api":"aggregator","fault":"truncated_json"}"#).unwrap();
        assert_eq!(request.api, Endpoint::Aggregator);
        assert_eq!(request.fault, Fault::TruncatedJson);
        assert_eq!(request.count, 1);
        let request: FaultRequest =
            serde_json::from_str(r#"{"api":"kuaidi100","fault":"http_500"}"#).unwrap();
        assert_eq!(request.api, Endpoint::Kuaidi100);
        let fault: Fault = serde_json::from_str(r#"{"slow_ms":250}"#).unwrap();
        assert_eq!(fault, Fault::SlowMs(250));
        assert_eq!(
            serde_json::to_string(&Fault::Http500).unwrap(),
            "\"http_500\""
        );
        assert!(
            serde_json::from_str::<FaultRequest>(r#"{"api":"amazon","fault":"http_500"}"#).is_err()
        );
    }

    #[test]
    fn queue_is_per_api_and_in_order() {
        let mut queues = FaultQueues::default();
        queues.push(Endpoint::Top, Fault::Http500, 2);
        queues.push(Endpoint::Top, Fault::MalformedJson, 1);
        queues.push(Endpoint::Top, Fault::WrongEnvelope, 0);
        queues.push(Endpoint::Jd, Fault::ErrorCode(19), 1);
        assert_eq!(queues.pending(Endpoint::Top), 3);
        assert_eq!(queues.take(Endpoint::Aggregator), None);
        assert_eq!(queues.take(Endpoint::Top), Some(Fault::Http500));
        assert_eq!(queues.take(Endpoint::Top), Some(Fault::Http500));
        assert_eq!(queues.take(Endpoint::Top), Some(Fault::MalformedJson));
        assert_eq!(queues.take(Endpoint::Top), None);
        assert_eq!(queues.pending(Endpoint::Top), 0);
        assert_eq!(queues.take(Endpoint::Jd), Some(Fault::ErrorCode(19)));
    }
}
