//! The enrich stage: turns raw records into enriched events.
//!
//! # Layout
//! - [`config`]: `EnrichConfig` and `KeywordEntry`, the `[enrich]` section of the config file.
//! - [`error`]: `EnrichError`, classified as bad data, retryable or fatal.
//! - [`segment`]: the `Segmenter` trait and `JiebaSegmenter`, our wrapper over jieba-rs.
//! - [`keywords`]: `KeywordMatcher`, categorized dictionary hits found with aho-corasick,
//!   negation-aware (不破损 is not a 破损 hit).
//! - [`lexicon`]: hand-made sentiment lexicon, negators, degree adverbs, contrast words.
//! - [`negation`]: the negation check shared by keywords, sentiment and aspects.
//! - [`text`]: character classes (punctuation, CJK, emoji).
//! - [`sentiment`]: features, the quantized logistic-regression model compiled into the
//!   binary (`models/sentiment.bin`, see `models/NOTICE`), and its reproducible training.
//! - [`batch`]: JSON lines in, enriched JSON lines out, on all cores.
//! - [`aspects`]: which aspects a review mentions, each with its clause's polarity.
//! - [`enricher`]: `Enricher`, the synchronous, pure text analysis and record → event mapping.
//! - [`handler`]: `EnrichHandler` (the `BatchHandler` of this stage) and [`run`].
//! - [`metrics`]: the stage's own Prometheus metrics.
//!
//! **Invariant:** enrichment is pure and synchronous; the async stage runs it off the runtime
//! (`spawn_blocking`, one batch at a time), so the CPU work never stalls other tasks.
//! `TextAnalysis::sentiment` is `None` only for a text without any word.

pub mod aspects;
pub mod batch;
pub mod config;
pub mod enricher;
pub mod error;
pub mod handler;
pub mod keywords;
pub mod lexicon;
pub mod metrics;
pub mod negation;
pub mod segment;
pub mod sentiment;
pub mod text;

pub use config::{EnrichConfig, KeywordEntry};
pub use enricher::Enricher;
pub use error::{EnrichError, Result};
pub use handler::{run, EnrichHandler, STAGE};
pub use segment::{JiebaSegmenter, Segmenter};
