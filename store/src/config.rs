//! `ClickHouseConfig`: where the ClickHouse store writes and how the stage batches for it.

use schemas::Secret;
use serde::Deserialize;

use crate::error::{Result, StoreError};

/// The `[store.clickhouse]` section.
///
/// The batching values (`max_rows`, `max_bytes`, `period_ms`) are applied by
/// `bus::stage::drive` through [`crate::drive_options`]: it gathers records until one limit is
/// reached, and the handler inserts the whole batch in one call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// HTTP interface of the server, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database holding the tables; created by `migrate` if missing. Letters, digits and `_`.
    #[serde(default = "default_database")]
    pub database: String,
    /// User to authenticate as.
    #[serde(default = "default_user")]
    pub user: String,
    /// The user's password (`{ env = "CLICKHOUSE_PASSWORD" }` or `{ file = "…" }`); none when
    /// the user has no password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Insert a batch once it holds this many events.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// Insert a batch once its encoded events hold this many bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Insert a batch at most this long after its first event arrived.
    #[serde(default = "default_period_ms")]
    pub period_ms: u64,
    /// Give up on one request (query or insert) after this long; it then counts as
    /// unavailable and is retried.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

fn default_database() -> String {
    "shopwatch".to_owned()
}

fn default_user() -> String {
    "default".to_owned()
}

fn default_max_rows() -> usize {
    10_000
}

fn default_max_bytes() -> usize {
    8 * 1024 * 1024
}

fn default_period_ms() -> u64 {
    1_000
}

fn default_request_timeout_secs() -> u64 {
    60
}

impl ClickHouseConfig {
    /// A config for `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        ClickHouseConfig {
            url: url.into(),
            database: default_database(),
            user: default_user(),
            password: None,
            max_rows: default_max_rows(),
            max_bytes: default_max_bytes(),
            period_ms: default_period_ms(),
            request_timeout_secs: default_request_timeout_secs(),
        }
    }

    /// Checks the rules serde cannot express; reports every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            problems.push(format!(
                "store.clickhouse.url {:?} must start with http:// or https://",
                self.url
            ));
        }
        if !is_plain_identifier(&self.database) {
            problems.push(format!(
                "store.clickhouse.database {:?} must be non-empty and use only ASCII letters, digits and _",
                self.database
            ));
        }
        if self.max_rows == 0 {
            problems.push("store.clickhouse.max_rows must be at least 1".to_owned());
        }
        if self.max_bytes == 0 {
            problems.push("store.clickhouse.max_bytes must be at least 1".to_owned());
        }
        if self.request_timeout_secs == 0 {
            problems.push("store.clickhouse.request_timeout_secs must be at least 1".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Config {
                reason: problems.join("; "),
            })
        }
    }
}

/// True for names that need no quoting in SQL: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_everything_but_the_url() {
        let config: ClickHouseConfig =
            serde_json::from_str(r#"{"url":"http://127.0.0.1:8123"}"#).unwrap();
        assert_eq!(config, ClickHouseConfig::new("http://127.0.0.1:8123"));
        assert_eq!(config.database, "shopwatch");
        assert_eq!(config.user, "default");
        assert_eq!(config.password, None);
        assert_eq!(config.max_rows, 10_000);
        assert_eq!(config.max_bytes, 8_388_608);
        assert_eq!(config.period_ms, 1_000);
        assert_eq!(config.request_timeout_secs, 60);
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected_and_the_password_is_never_printed() {
        let error = serde_json::from_str::<ClickHouseConfig>(r#"{"url":"http://x","dtabase":"a"}"#)
            .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `dtabase`"),
            "{error}"
        );

        let config: ClickHouseConfig =
            serde_json::from_str(r#"{"url":"http://x","password":"hunter2"}"#).unwrap();
        assert_eq!(
            config.password.as_ref().map(Secret::expose),
            Some("hunter2")
        );
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn validate_reports_every_problem() {
        let mut config = ClickHouseConfig::new("127.0.0.1:8123");
        config.database = "shop-watch".into();
        config.max_rows = 0;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("store.clickhouse.url"), "{error}");
        assert!(
            error.contains("store.clickhouse.database \"shop-watch\""),
            "{error}"
        );
        assert!(error.contains("store.clickhouse.max_rows"), "{error}");
        assert!(!error.contains("max_bytes"), "{error}");
    }

    #[test]
    fn plain_identifiers() {
        assert!(is_plain_identifier("shopwatch"));
        assert!(is_plain_identifier("_t1"));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("1abc"));
        assert!(!is_plain_identifier("a.b"));
        assert!(!is_plain_identifier("a`b"));
    }
}
