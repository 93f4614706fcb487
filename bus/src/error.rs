//! Errors at the bus boundary, classified by what the caller should do.

/// An error from a record source or sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The broker or queue is unavailable or slow; retry with backoff, acknowledge nothing.
    #[error("bus temporarily unavailable: {reason}")]
    Transient { reason: String },
    /// The configuration cannot work (unknown topic, bad broker address, auth); stop the stage.
    #[error("bus misconfigured: {reason}")]
    Fatal { reason: String },
    /// The bus was closed while waiting, because the process is shutting down.
    #[error("bus closed")]
    Closed,
}

impl BusError {
    /// Returns true when retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BusError::Transient { .. })
    }

    pub(crate) fn transient(reason: impl std::fmt::Display) -> Self {
        BusError::Transient {
            reason: reason.to_string(),
        }
    }

    pub(crate) fn fatal(reason: impl std::fmt::Display) -> Self {
        BusError::Fatal {
            reason: reason.to_string(),
        }
    }
}
