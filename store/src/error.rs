//! `StoreError`: what went wrong, classified by what the caller should do.
//!
//! - [`StoreError::Unavailable`] is retryable: the database is down, slow or overloaded;
//!   retry the same batch later and acknowledge nothing meanwhile.
//! - [`StoreError::BadData`] is about one event; retrying cannot fix it (dead-letter it).
//! - Everything else is fatal: the configuration or the database schema is wrong, and a person
//!   has to act (the message names what).

/// Result type of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An error from a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be reached or is overloaded; retry later.
    #[error("{backend} unavailable: {reason}")]
    Unavailable {
        backend: &'static str,
        reason: String,
    },
    /// The database refused the request for a reason retrying cannot fix (authentication,
    /// missing database or table, a schema that does not match this version).
    #[error("{backend} rejected the request: {reason}")]
    Rejected {
        backend: &'static str,
        reason: String,
    },
    /// An event that cannot be stored, e.g. a `review.received` event without a review.
    #[error("bad event {event_id}: {reason}")]
    BadData { event_id: String, reason: String },
    /// The configuration cannot work (an invalid database name, a bad URL).
    #[error("store misconfigured: {reason}")]
    Config { reason: String },
    /// `count` was asked about a table this crate does not own.
    #[error("unknown table {table:?} (known: events, reviews, schema_migrations)")]
    UnknownTable { table: String },
}

impl StoreError {
    /// Returns true when retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    /// Returns true when the error is about the data, not the database.
    pub fn is_bad_data(&self) -> bool {
        matches!(self, StoreError::BadData { .. })
    }

    /// A short fixed string for the `error_code` metric label.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable { .. } => "store_unavailable",
            StoreError::Rejected { .. } => "store_rejected",
            StoreError::BadData { .. } => "bad_data",
            StoreError::Config { .. } => "config",
            StoreError::UnknownTable { .. } => "unknown_table",
        }
    }

    pub(crate) fn bad_data(event_id: &str, reason: impl std::fmt::Display) -> Self {
        StoreError::BadData {
            event_id: event_id.to_owned(),
            reason: reason.to_string(),
        }
    }
}
