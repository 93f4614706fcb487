//! The sentiment model: a logistic regression over hashed features, stored quantized.
//!
//! Contract: a model file is `MAGIC`, then little-endian `u32` feature version, `u32` hash
//! bits, `f32` bias, `f32` scale, then `2^bits` `i16` weights (weight = `i16 × scale`).
//! [`SentimentModel::from_bytes`] rejects anything else, including a model trained with
//! other features ([`FEATURE_VERSION`]). Scoring is pure and lock-free.

use std::path::Path;

use crate::error::EnrichError;
use crate::sentiment::features::FEATURE_VERSION;

/// The first bytes of a model file.
pub const MAGIC: &[u8; 8] = b"SWSENT\0\x01";

const HEADER_LEN: usize = 8 + 4 + 4 + 4 + 4;

/// The most hash bits a model may use (2^24 weights, 32 MB).
pub const MAX_BITS: u32 = 24;

/// A loaded sentiment model.
#[derive(Clone, PartialEq)]
pub struct SentimentModel {
    bits: u32,
    bias: f32,
    scale: f32,
    /// Quantized weights (weight = value × scale): half the cache footprint of `f32`s.
    weights: Vec<i16>,
}

impl std::fmt::Debug for SentimentModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentimentModel")
            .field("bits", &self.bits)
            .field("bias", &self.bias)
            .finish_non_exhaustive()
    }
}

impl SentimentModel {
    /// Builds a model from float weights (`weights.len()` must be `2^bits`).
    pub fn from_weights(bits: u32, bias: f32, weights: Vec<f32>) -> Result<Self, EnrichError> {
        if bits == 0 || bits > MAX_BITS || weights.len() != 1usize << bits {
            return Err(EnrichError::Model {
                reason: format!(
                    "{} weights do not fit {bits} hash bits (1..={MAX_BITS})",
                    weights.len()
                ),
            });
        }
        let largest = weights
            .iter()
            .fold(0f32, |largest, weight| largest.max(weight.abs()));
        let scale = if largest > 0.0 {
            largest / f32::from(i16::MAX)
        } else {
            1.0
        };
        let weights = weights
            .iter()
            // The cast saturates; |weight / scale| ≤ i16::MAX by the choice of scale.
            .map(|weight| (weight / scale).round() as i16)
            .collect();
        Ok(SentimentModel {
            bits,
            bias,
            scale,
            weights,
        })
    }

    /// Parses a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnrichError> {
        let bad = |reason: String| EnrichError::Model { reason };
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(bad("not a shopwatch sentiment model".to_owned()));
        }
        let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        let version = u32::from_le_bytes(word(8));
        if version != FEATURE_VERSION {
            return Err(bad(format!(
                "model uses features version {version}, this build computes {FEATURE_VERSION}; retrain it"
            )));
        }
        let bits = u32::from_le_bytes(word(12));
        let bias = f32::from_le_bytes(word(16));
        let scale = f32::from_le_bytes(word(20));
        if bits == 0 || bits > MAX_BITS {
            return Err(bad(format!("hash bits {bits} out of 1..={MAX_BITS}")));
        }
        let expected = HEADER_LEN + 2 * (1usize << bits);
        if bytes.len() != expected {
            return Err(bad(format!(
                "model is {} bytes, {bits} hash bits need {expected}",
                bytes.len()
            )));
        }
        let weights = bytes[HEADER_LEN..]
            .chunks_exact(2)
            .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        Ok(SentimentModel {
            bits,
            bias,
            scale,
            weights,
        })
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Self, EnrichError> {
        let bytes = std::fs::read(path).map_err(|source| EnrichError::ModelRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Serializes the model (its weights are already quantized to 16 bits).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + 2 * self.weights.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FEATURE_VERSION.to_le_bytes());
        bytes.extend_from_slice(&self.bits.to_le_bytes());
        bytes.extend_from_slice(&self.bias.to_le_bytes());
        bytes.extend_from_slice(&self.scale.to_le_bytes());
        for weight in &self.weights {
            bytes.extend_from_slice(&weight.to_le_bytes());
        }
        bytes
    }

    /// Returns the number of hash bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Returns the bias (the logit of a text without features).
    pub fn bias(&self) -> f32 {
        self.bias
    }

    /// Returns the sum of the weights of `features` (a logit contribution).
    pub fn score(&self, features: &[u64]) -> f32 {
        let mask = (1u64 << self.bits) - 1;
        let total: i64 = features
            .iter()
            // The mask keeps the index below weights.len() = 2^bits.
            .map(|feature| i64::from(self.weights[(feature & mask) as usize]))
            .sum();
        total as f32 * self.scale
    }
}

/// The factor applied to the sum of a text's `count` feature weights: `4 / sqrt(count)`.
pub fn length_norm(count: usize) -> f32 {
    4.0 / (count.max(1) as f32).sqrt()
}

/// The logistic function: a logit to a probability.
pub fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_scores_use_the_quantized_weights() {
        let model = SentimentModel::from_weights(2, 0.5, vec![1.0, -2.0, 0.0, 0.25]).unwrap();
        let bytes = model.to_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + 8);
        let loaded = SentimentModel::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, model);
        assert_eq!(loaded.bits(), 2);
        assert_eq!(loaded.bias(), 0.5);
        // Buckets are feature & 3: 5 → 1, 4 → 0, 7 → 3.
        let score = loaded.score(&[5, 4, 7]);
        assert!((score - (-2.0 + 1.0 + 0.25)).abs() < 1e-3, "{score}");
    }

    #[test]
    fn malformed_files_are_rejected_with_a_reason() {
        let good = SentimentModel::from_weights(1, 0.0, vec![0.0, 1.0])
            .unwrap()
            .to_bytes();
        assert!(SentimentModel::from_bytes(b"junk").is_err());
        assert!(SentimentModel::from_bytes(&good[..good.len() - 1]).is_err());
        let mut other_version = good.clone();
        other_version[8] = other_version[8].wrapping_add(1);
        let error = SentimentModel::from_bytes(&other_version).unwrap_err();
        assert!(error.to_string().contains("retrain"), "{error}");
        assert!(SentimentModel::from_weights(3, 0.0, vec![0.0; 4]).is_err());
    }

    #[test]
    fn the_builtin_model_loads_and_length_norm_shrinks_long_texts() {
        let model = crate::sentiment::builtin_model().unwrap();
        assert_eq!(model.bits(), 20);
        assert_eq!(length_norm(16), 1.0);
        assert_eq!(length_norm(0), 4.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-6);
    }
}
