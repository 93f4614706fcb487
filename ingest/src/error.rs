//! `IngestError`: every way a poll can fail, classified by what the poller does next.
//!
//! The classes follow the platforms' documented error tables (see `platforms::top` and
//! `platforms::aggregator` for the code → variant mapping):
//! - **retry** ([`ErrorClass::Retry`]): throttles, server faults, timeouts, unreadable
//!   responses, a failing sink or cursor store. Backoff with jitter; a throttle's announced ban
//!   is honoured.
//! - **refresh token** ([`ErrorClass::RefreshToken`]): the credential is dead. No OAuth refresh
//!   exists yet, so the shop reports `token_expired` and retries slowly.
//! - **stop and alert** ([`ErrorClass::StopAndAlert`]): the shop is not authorized, has no
//!   permission or no quota left. A person must act; the shop retries slowly.
//! - **fix config** ([`ErrorClass::FixConfig`]): the platform rejected the request itself
//!   (signature, app key, parameters). A person must fix the configuration.
//!
//! Messages never contain a secret: requests carry credentials in headers or form bodies, and
//! transport errors are stripped of their URL.

use schemas::HealthCondition;

/// What the poller does after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retry with backoff (or after the announced ban).
    Retry,
    /// The credential is dead; report it and retry slowly.
    RefreshToken,
    /// A person must grant access or quota; report it and retry slowly.
    StopAndAlert,
    /// The configuration is wrong; report it and retry slowly.
    FixConfig,
}

impl ErrorClass {
    /// Returns the class's spelling in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retry => "retry",
            ErrorClass::RefreshToken => "refresh_token",
            ErrorClass::StopAndAlert => "stop_and_alert",
            ErrorClass::FixConfig => "fix_config",
        }
    }
}

/// Why a cursor could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// Reading, writing or renaming the cursor file failed.
    #[error("cursor io failed for {source_name}: {error}")]
    Io {
        source_name: String,
        #[source]
        error: std::io::Error,
    },
    /// The stored cursor is not valid JSON of the expected shape.
    #[error("cursor for {source_name} is corrupt: {reason}")]
    Corrupt { source_name: String, reason: String },
}

/// An error of the ingest stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The platform throttles this app or shop; retry after `retry_after_secs` when known.
    #[error("{api} throttled (code {code}): {message}")]
    Throttled {
        api: &'static str,
        code: String,
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// A transient platform or network fault (server error, timeout, connection refused).
    #[error("{api} request failed (code {code}): {message}")]
    ApiFailing {
        api: &'static str,
        code: String,
        message: String,
    },
    /// The response could not be read: malformed or truncated JSON, or the wrong envelope.
    #[error("{api} returned an unreadable response: {reason}")]
    BadResponse { api: &'static str, reason: String },
    /// The credential (TOP session, aggregator token) is invalid or expired.
    #[error("{api} credential rejected (code {code}): {message}")]
    TokenDead {
        api: &'static str,
        code: String,
        message: String,
    },
    /// The shop is not authorized, lacks permission or has used up its quota.
    #[error("{api} refused access (code {code}): {message}")]
    AccessDenied {
        api: &'static str,
        code: String,
        message: String,
        condition: HealthCondition,
        authorize_url: Option<String>,
    },
    /// The platform rejected the request as wrong (signature, app key, method, parameters).
    #[error("{api} rejected the request (code {code}): {message}")]
    Rejected {
        api: &'static str,
        code: String,
        message: String,
    },
    /// The review or health sink did not acknowledge a batch.
    #[error("sink {topic} failed: {error}")]
    Sink {
        topic: String,
        #[source]
        error: bus::BusError,
    },
    /// A record could not be encoded (a bug: the model and schema disagree).
    #[error("record encoding failed: {0}")]
    Encode(#[from] schemas::CodecError),
    /// The cursor store failed.
    #[error(transparent)]
    Cursor(#[from] CursorError),
    /// The configuration is invalid; every problem is listed.
    #[error("invalid ingest config: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// A poller task panicked (a bug).
    #[error("poller task failed: {reason}")]
    TaskFailed { reason: String },
}

/// Shorthand for results of this crate.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

impl IngestError {
    /// Returns what the poller does next.
    pub fn class(&self) -> ErrorClass {
        match self {
            IngestError::Throttled { .. }
            | IngestError::ApiFailing { .. }
            | IngestError::BadResponse { .. }
            | IngestError::Sink { .. }
            | IngestError::Encode(_)
            | IngestError::Cursor(_)
            | IngestError::TaskFailed { .. } => ErrorClass::Retry,
            IngestError::TokenDead { .. } => ErrorClass::RefreshToken,
            IngestError::AccessDenied { .. } => ErrorClass::StopAndAlert,
            IngestError::Rejected { .. } | IngestError::InvalidConfig(_) => ErrorClass::FixConfig,
        }
    }

    /// Returns true when retrying soon can succeed without anyone acting.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retry
    }

    /// Returns the bounded `error_class` metric label.
    pub fn metric_label(&self) -> &'static str {
        match self {
            IngestError::Throttled { .. } => "throttled",
            IngestError::ApiFailing { .. } => "api_failing",
            IngestError::BadResponse { .. } => "bad_response",
            IngestError::TokenDead { .. } => "token_dead",
            IngestError::AccessDenied { .. } => "access_denied",
            IngestError::Rejected { .. } => "rejected",
            IngestError::Sink { .. } => "sink",
            IngestError::Encode(_) => "encode",
            IngestError::Cursor(_) => "cursor",
            IngestError::InvalidConfig(_) => "config",
            IngestError::TaskFailed { .. } => "task",
        }
    }

    /// Returns the platform's error code, when the platform sent one.
    pub fn platform_code(&self) -> Option<&str> {
        match self {
            IngestError::Throttled { code, .. }
            | IngestError::ApiFailing { code, .. }
            | IngestError::TokenDead { code, .. }
            | IngestError::AccessDenied { code, .. }
            | IngestError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Returns the source-health condition this error puts a shop in, or `None` when the
    /// error is not the source's fault (sink, cursor) or is a single transient failure.
    pub(crate) fn health_condition(&self) -> Option<HealthCondition> {
        match self {
            IngestError::Throttled { .. } => Some(HealthCondition::Throttled),
            IngestError::ApiFailing { .. } | IngestError::BadResponse { .. } => {
                Some(HealthCondition::ApiFailing)
            }
            IngestError::TokenDead { .. } => Some(HealthCondition::TokenExpired),
            IngestError::AccessDenied { condition, .. } => Some(*condition),
            IngestError::Rejected { .. } | IngestError::InvalidConfig(_) => {
                Some(HealthCondition::ConfigError)
            }
            IngestError::Sink { .. }
            | IngestError::Encode(_)
            | IngestError::Cursor(_)
            | IngestError::TaskFailed { .. } => None,
        }
    }

    /// Builds the error for a transport failure, without the URL (it may carry parameters).
    pub(crate) fn from_transport(api: &'static str, error: reqwest::Error) -> Self {
        let code = if error.is_timeout() {
            "timeout"
        } else if error.is_connect() {
            "connect"
        } else if error.is_body() || error.is_decode() {
            return IngestError::BadResponse {
                api,
                reason: format!("body could not be read: {}", error.without_url()),
            };
        } else {
            "transport"
        };
        IngestError::ApiFailing {
            api,
            code: code.to_owned(),
            message: error.without_url().to_string(),
        }
    }
}
