//! The enrich stage: turns raw records into enriched events.
//!
//! # Layout
//! - [`config`]: `EnrichConfig` and `KeywordEntry`, the `[enrich]` section of the config file.
//! - [`error`]: `EnrichError`, classified as bad data, retryable or fatal.
//! - [`segment`]: the `Segmenter` trait and `JiebaSegmenter`, our wrapper over jieba-rs.
//! - [`keywords`]: `KeywordMatcher`, dictionary hits found with aho-corasick.
//! - [`enricher`]: `Enricher`, the synchronous, pure text analysis and record → event mapping.
//! - [`handler`]: `EnrichHandler` (the `BatchHandler` of this stage) and [`run`].
//! - [`metrics`]: the stage's own Prometheus metrics.
//!
//! **Invariant:** enrichment is pure and synchronous; the async stage runs it off the runtime
//! (`spawn_blocking`, one batch at a time), so the CPU work never stalls other tasks.
//! **Deliberately absent:** sentiment and aspect scores. `TextAnalysis::sentiment` stays
//! `None` until a model exists; no heuristic number is made up.

pub mod config;
pub mod enricher;
pub mod error;
pub mod handler;
pub mod keywords;
pub mod metrics;
pub mod segment;

pub use config::{EnrichConfig, KeywordEntry};
pub use enricher::Enricher;
pub use error::{EnrichError, Result};
pub use handler::{run, EnrichHandler, STAGE};
pub use segment::{JiebaSegmenter, Segmenter};
