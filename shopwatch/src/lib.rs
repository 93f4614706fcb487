//! The one shopwatch binary's library: configuration, the stage roles and their wiring.
//!
//! # Layout
//! - [`bench`]: `shopwatch bench store`, the Kafka → ClickHouse throughput benchmark.
//! - [`config`]: the root `Config` (one TOML file, `SHOPWATCH_…` environment overrides,
//!   unknown keys rejected, every problem reported at once).
//! - [`roles`]: each stage as a role on Kafka (`ingest`, `enrich`, `store`, `alert`) and
//!   all of them in one process on the in-memory bus (`embedded`).
//! - [`demo`]: the simulator plus the embedded pipeline, printing each alert.
//! - [`telemetry`]: `/metrics` and `/healthz` over HTTP, build info, log setup.
//! - [`train`]: `shopwatch train-sentiment`, the reproducible sentiment-model training.
//! - [`batch`]: `shopwatch enrich --input FILE.jsonl`, the batch enrichment of review lines.
//! - [`shutdown`]: SIGINT/SIGTERM to a cancellation token, and the grace-period wait.
//!
//! The binary (`main.rs`) only parses the command line and calls in here, so tests drive
//! the same code the binary runs.

pub mod batch;
pub mod bench;
pub mod config;
pub mod demo;
pub mod roles;
pub mod shutdown;
pub mod telemetry;
pub mod train;
