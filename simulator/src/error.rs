//! `SimulatorError`: what can stop the simulator from starting or serving, classified by what
//! the caller should do.

use std::path::PathBuf;

/// An error building or running a [`crate::Simulator`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// The configuration cannot work; fix the listed keys. Fatal.
    #[error("invalid simulator config: {}", problems.join("; "))]
    InvalidConfig { problems: Vec<String> },
    /// The review corpus file could not be read. Fatal.
    #[error("cannot read review corpus {}", path.display())]
    CorpusRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The review corpus has a bad line or no usable line. Fatal (bad data in a config input).
    #[error("bad review corpus {}: {reason}", path.display())]
    CorpusFormat { path: PathBuf, reason: String },
    /// Serving on the listener failed; binding a new listener and serving again may work.
    #[error("simulator server failed")]
    Serve(#[source] std::io::Error),
}

impl SimulatorError {
    /// Returns true when retrying (with a fresh listener) can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SimulatorError::Serve(_))
    }

    /// Returns true when the error comes from a configuration input that must be fixed.
    pub fn is_fatal(&self) -> bool {
        !self.is_retryable()
    }
}

/// The crate's result type.
pub type Result<T, E = SimulatorError> = std::result::Result<T, E>;
