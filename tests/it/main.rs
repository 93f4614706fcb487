//! The one integration-test binary: real Kafka, real ClickHouse, real HTTP.
//!
//! Services come from `scripts/services.sh start` (CI runs it first). Tests read
//! `KAFKA_BROKERS` and `CLICKHOUSE_URL` with loopback defaults, and each uses fresh topics,
//! consumer groups and databases, so tests never see each other's data.
//!
//! - `common`: service addresses, unique names, a recording webhook receiver, waiting helpers.
//! - `kafka_bus`: the Kafka source/sink contract against a real broker.
//! - `pipeline_e2e`: simulator → ingest → bus → enrich → store/alert, embedded and distributed
//!   (with stages killed and restarted).
//! - `deploy`: docker-compose.yml and the deploy/ files are valid.

#![allow(unreachable_pub)]

mod common;
mod deploy;
mod kafka_bus;
mod pipeline_e2e;
