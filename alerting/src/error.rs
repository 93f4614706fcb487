//! Errors of the alerting stage, classified by what the caller should do.
//!
//! Retryable ([`AlertingError::is_retryable`]): a receiver is unreachable or busy, or the
//! notification log is locked; retry later and acknowledge nothing. Everything else is fatal:
//! the configuration or the log file needs fixing. Bad input records are not errors here:
//! the handler dead-letters them.

use bus::stage::HandlerError;

/// An error of the alerting stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertingError {
    /// The configuration cannot work.
    #[error("invalid alerting configuration: {reason}")]
    Config { reason: String },
    /// The HTTP client could not be built.
    #[error("failed to build the http client of receiver {receiver}: {reason}")]
    Client { receiver: String, reason: String },
    /// The notification log failed.
    #[error("notification log failed: {source}")]
    Log {
        #[from]
        source: rusqlite::Error,
    },
    /// The notification log holds something this version cannot read.
    #[error("notification log holds an unreadable entry: {reason}")]
    LogCorrupt { reason: String },
    /// A receiver did not accept an alert within the attempts of one batch.
    #[error("receiver {receiver} unavailable: {reason}")]
    Delivery { receiver: String, reason: String },
    /// The stage loop stopped (`code` as in the `shopwatch_errors_total` label).
    #[error("alerting stage failed ({code}): {reason}")]
    Stage {
        code: &'static str,
        reason: String,
        retryable: bool,
    },
}

/// `Result` with [`AlertingError`] as the default error.
pub type Result<T, E = AlertingError> = std::result::Result<T, E>;

impl AlertingError {
    /// Returns true when retrying the same work later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            AlertingError::Delivery { .. } => true,
            AlertingError::Stage { retryable, .. } => *retryable,
            AlertingError::Log { source } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }

    /// Returns the short fixed code for the `error_code` metric label.
    pub fn code(&self) -> &'static str {
        match self {
            AlertingError::Config { .. } => "config",
            AlertingError::Client { .. } => "client",
            AlertingError::Log { .. } | AlertingError::LogCorrupt { .. } => "notification_log",
            AlertingError::Delivery { .. } => "send",
            AlertingError::Stage { code, .. } => code,
        }
    }
}

impl From<AlertingError> for HandlerError {
    fn from(error: AlertingError) -> Self {
        if error.is_retryable() {
            HandlerError::transient(error.code(), error)
        } else {
            HandlerError::fatal(error.code(), error)
        }
    }
}

impl From<HandlerError> for AlertingError {
    fn from(error: HandlerError) -> Self {
        AlertingError::Stage {
            code: error.code,
            reason: error.reason,
            retryable: error.retryable,
        }
    }
}
