//! Errors of the enrich stage, classified by what the caller should do.
//!
//! - bad data ([`EnrichError::is_bad_data`]): the record can never be enriched; dead-letter it;
//! - retryable ([`EnrichError::is_retryable`]): the output bus failed; retry the batch later;
//! - everything else is fatal: fix the configuration and restart.

use std::path::PathBuf;

use bus::stage::HandlerError;
use schemas::EntityKind;

/// An error of the enrich stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrichError {
    /// The record's `kind` names an entity field that is not set.
    #[error("record {event_id} of kind {kind} carries no {kind} entity")]
    MissingEntity { event_id: String, kind: EntityKind },
    /// The configuration cannot work.
    #[error("invalid enrich configuration: {reason}")]
    Config { reason: String },
    /// The user dictionary file cannot be read.
    #[error("failed to read user dictionary {}: {source}", path.display())]
    UserDictionaryRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of the user dictionary is malformed.
    #[error("invalid user dictionary {} line {line}: {reason}", path.display())]
    UserDictionaryEntry {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A sentiment model is malformed or was trained with other features.
    #[error("invalid sentiment model: {reason}")]
    Model { reason: String },
    /// A sentiment model file cannot be read.
    #[error("failed to read sentiment model {}: {source}", path.display())]
    ModelRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The stage loop stopped (`code` as in the `shopwatch_errors_total` label).
    #[error("enrich stage failed ({code}): {reason}")]
    Stage {
        code: &'static str,
        reason: String,
        retryable: bool,
    },
}

/// `Result` with [`EnrichError`] as the default error.
pub type Result<T, E = EnrichError> = std::result::Result<T, E>;

impl EnrichError {
    /// Returns true when retrying the same work later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            EnrichError::Stage {
                retryable: true,
                ..
            }
        )
    }

    /// Returns true when the input record itself is at fault (dead-letter it).
    pub fn is_bad_data(&self) -> bool {
        matches!(self, EnrichError::MissingEntity { .. })
    }
}

impl From<HandlerError> for EnrichError {
    fn from(error: HandlerError) -> Self {
        EnrichError::Stage {
            code: error.code,
            reason: error.reason,
            retryable: error.retryable,
        }
    }
}
