//! The record bus between stages: one contract, two implementations.
//!
//! # Layout
//! - [`record`]: `Record` (key, payload, headers, position) and dead-letter records.
//! - [`source`]: the `RecordSource` and `RecordSink` traits and their acknowledgement contract.
//! - [`ack`]: `OrderedAcks`, which turns out-of-order acknowledgements into in-order offsets.
//! - [`memory`]: `MemoryTopic` with `MemorySource` / `MemorySink` for the embedded mode.
//! - [`kafka`]: `KafkaSource` / `KafkaSink` on rdkafka, plus topic administration.
//! - [`metrics`]: the per-stage counters every stage shares (`shopwatch_records_*`).
//!
//! Stages take a `RecordSource` and a `RecordSink` and never know which bus they were given.
//!
//! **Invariant:** an offset (Kafka) or a slot (memory) is released only after the record and
//! every record before it in its partition was acknowledged by the consumer, i.e. after
//! everything downstream of it succeeded.

pub mod ack;
pub mod error;
pub mod file;
pub mod kafka;
pub mod memory;
pub mod metrics;
pub mod record;
pub mod source;
pub mod stage;

pub use error::BusError;
pub use record::{Position, Record};
pub use source::{RecordSink, RecordSource};

/// Topic names, shared by producers and consumers.
pub mod topics {
    /// Raw reviews from ingest.
    pub const RAW_REVIEWS: &str = "shopwatch.raw.reviews";
    /// Raw parcel snapshots from ingest.
    pub const RAW_SHIPMENTS: &str = "shopwatch.raw.shipments";
    /// Raw listing snapshots from ingest.
    pub const RAW_LISTINGS: &str = "shopwatch.raw.listings";
    /// Source health reports from ingest.
    pub const RAW_HEALTH: &str = "shopwatch.raw.health";
    /// Enriched events for the sinks.
    pub const EVENTS: &str = "shopwatch.events";

    /// Returns the dead-letter topic of `topic`.
    pub fn dead_letter(topic: &str) -> String {
        format!("{topic}.dlq")
    }

    /// Every raw topic, in a fixed order.
    pub const RAW: &[&str] = &[RAW_REVIEWS, RAW_SHIPMENTS, RAW_LISTINGS, RAW_HEALTH];

    /// The topic names of one deployment: the constants above with another prefix than
    /// `shopwatch`, so that tests (and several deployments on one cluster) do not meet.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TopicNames {
        pub raw_reviews: String,
        pub raw_shipments: String,
        pub raw_listings: String,
        pub raw_health: String,
        pub events: String,
    }

    impl TopicNames {
        /// Names with `prefix` in place of `shopwatch`.
        pub fn with_prefix(prefix: &str) -> Self {
            let name =
                |constant: &str| format!("{prefix}{}", constant.trim_start_matches("shopwatch"));
            TopicNames {
                raw_reviews: name(RAW_REVIEWS),
                raw_shipments: name(RAW_SHIPMENTS),
                raw_listings: name(RAW_LISTINGS),
                raw_health: name(RAW_HEALTH),
                events: name(EVENTS),
            }
        }

        /// Every topic shopwatch produces to, dead-letter topics included.
        pub fn all(&self) -> Vec<String> {
            let main = [
                &self.raw_reviews,
                &self.raw_shipments,
                &self.raw_listings,
                &self.raw_health,
                &self.events,
            ];
            let mut all: Vec<String> = main.iter().map(|topic| topic.to_string()).collect();
            all.extend(main.iter().map(|topic| dead_letter(topic)));
            all
        }
    }

    impl Default for TopicNames {
        fn default() -> Self {
            TopicNames::with_prefix("shopwatch")
        }
    }
}
