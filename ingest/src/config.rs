//! The `[ingest]` configuration section: shops, their APIs and credentials, polling cadence.
//!
//! Contract: every struct rejects unknown keys (the per-shop API settings too: the shop's own
//! keys are `platform` and `shop_id`, everything else belongs to the API selected by `api`);
//! defaults come from the named `default_*` functions; secrets are `schemas::Secret` and never
//! printed. [`IngestConfig::validate`] checks cross-field rules and reports every problem at
//! once, naming the key (`shops[1].endpoint`).
//!
//! ```toml
//! poll_interval_secs = 5
//! [[shops]]
//! platform = "taobao"
//! shop_id = "tb-10001"
//! api = "top"
//! endpoint = "https://eco.taobao.com/router/rest"
//! app_key = "12345678"
//! app_secret = { env = "TOP_APP_SECRET" }
//! session = { env = "TOP_SESSION" }
//! [[shops]]
//! platform = "pinduoduo"
//! shop_id = "123"
//! api = "aggregator"
//! endpoint = "https://erp.example.com/tool/erps/traderates"
//! token = { env = "AGGREGATOR_TOKEN" }
//! ```

use std::collections::HashSet;

use schemas::{Platform, Secret};
use serde::{Deserialize, Serialize};

use crate::window::{MAX_PAGE_SIZE, WINDOW_RECORD_CAP};

/// Settings of the review pollers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// The shops to poll, each with its API and credentials.
    #[serde(default)]
    pub shops: Vec<ShopConfig>,
    /// Pause between two successful polls of one shop.
    #[serde(default = "default_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// How far back each window reaches before the previous window's end, to catch reviews
    /// the platform made visible late. Replayed reviews are not published twice.
    #[serde(default = "default_window_overlap_secs")]
    pub window_overlap_secs: u64,
    /// How far back the first poll of a shop without a cursor reaches.
    #[serde(default = "default_initial_lookback_secs")]
    pub initial_lookback_secs: u64,
    /// A window ends this long before now, for platforms that index reviews with a delay.
    #[serde(default = "default_settle_secs")]
    pub settle_secs: u64,
    /// Ratings per page (1–150).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Timeout of one HTTP request, connection included.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// First retry delay after a transient error; doubles per attempt, with jitter.
    #[serde(default = "default_retry_initial_backoff_ms")]
    pub retry_initial_backoff_ms: u64,
    /// Upper bound of the transient-error retry delay.
    #[serde(default = "default_retry_max_backoff_secs")]
    pub retry_max_backoff_secs: u64,
    /// Retry delay of a shop whose errors need a person (dead token, no authorization or
    /// quota, rejected configuration), so it recovers by itself once fixed.
    #[serde(default = "default_action_required_retry_secs")]
    pub action_required_retry_secs: u64,
    /// Consecutive transient failures after which a shop reports `api_failing`.
    #[serde(default = "default_api_failing_after_errors")]
    pub api_failing_after_errors: u32,
}

fn default_poll_interval_secs() -> u64 {
    5
}
fn default_window_overlap_secs() -> u64 {
    300
}
fn default_initial_lookback_secs() -> u64 {
    86_400
}
fn default_settle_secs() -> u64 {
    0
}
fn default_page_size() -> u32 {
    100
}
fn default_request_timeout_secs() -> u64 {
    10
}
fn default_retry_initial_backoff_ms() -> u64 {
    1_000
}
fn default_retry_max_backoff_secs() -> u64 {
    300
}
fn default_action_required_retry_secs() -> u64 {
    600
}
fn default_api_failing_after_errors() -> u32 {
    3
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            shops: Vec::new(),
            poll_interval_secs: default_poll_interval_secs(),
            window_overlap_secs: default_window_overlap_secs(),
            initial_lookback_secs: default_initial_lookback_secs(),
            settle_secs: default_settle_secs(),
            page_size: default_page_size(),
            request_timeout_secs: default_request_timeout_secs(),
            retry_initial_backoff_ms: default_retry_initial_backoff_ms(),
            retry_max_backoff_secs: default_retry_max_backoff_secs(),
            action_required_retry_secs: default_action_required_retry_secs(),
            api_failing_after_errors: default_api_failing_after_errors(),
        }
    }
}

/// One shop and the API its reviews come from.
///
/// (No `deny_unknown_fields` here: serde cannot combine it with `flatten`; the flattened
/// API structs reject unknown keys instead.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShopConfig {
    /// The marketplace the shop sells on; labels every record.
    pub platform: Platform,
    /// The shop's id on the platform (aggregator: the `shop_id` form field).
    pub shop_id: String,
    /// The API and its credentials, selected by the `api` key (`top` or `aggregator`).
    #[serde(flatten)]
    pub api: ApiConfig,
}

/// Which review API a shop is polled through.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "api", rename_all = "snake_case")]
pub enum ApiConfig {
    /// Taobao Open Platform `taobao.traderates.get` (Taobao and Tmall shops).
    Top(TopConfig),
    /// The multi-platform review-search aggregator `POST /tool/erps/traderates`.
    Aggregator(AggregatorConfig),
}

impl ApiConfig {
    /// Returns the API's short name (`top`, `aggregator`), used as metric label and as the
    /// entity id of source-health records.
    pub fn name(&self) -> &'static str {
        match self {
            ApiConfig::Top(_) => crate::platforms::top::API,
            ApiConfig::Aggregator(_) => crate::platforms::aggregator::API,
        }
    }
}

/// Credentials and options of the TOP router.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopConfig {
    /// Full URL of the router, e.g. `https://eco.taobao.com/router/rest`.
    pub endpoint: String,
    /// The app's key.
    pub app_key: String,
    /// The app's secret; signs every request and is never sent.
    pub app_secret: Secret,
    /// The shop's authorization token (OAuth access token), sent as `session`.
    pub session: Secret,
    /// Signature algorithm: `md5` (default), `hmac` (HMAC-MD5) or `hmac-sha256`.
    #[serde(default)]
    pub sign_method: SignMethod,
    /// Ask for simplified JSON (`simplify=true`: bare arrays, no root wrapper).
    #[serde(default)]
    pub simplify: bool,
}

/// Credentials and options of the review aggregator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorConfig {
    /// Full URL of the search endpoint, e.g. `https://vendor.example/tool/erps/traderates`.
    pub endpoint: String,
    /// The account's access token, sent as `Authorization: Bearer …`.
    pub token: Secret,
    /// Service tier (`vvtype`): 1 normal, 2 enhanced, 3 standard; omitted when unset.
    #[serde(default)]
    pub vvtype: Option<u8>,
}

/// TOP signature algorithms (platform-apis §1.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignMethod {
    /// `MD5(secret + S + secret)`.
    #[default]
    #[serde(rename = "md5")]
    Md5,
    /// `HMAC-MD5(secret, S)`.
    #[serde(rename = "hmac")]
    Hmac,
    /// `HMAC-SHA256(secret, S)`.
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
}

impl SignMethod {
    /// Returns the `sign_method` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::Md5 => "md5",
            SignMethod::Hmac => "hmac",
            SignMethod::HmacSha256 => "hmac-sha256",
        }
    }
}

impl IngestConfig {
    /// Checks the cross-field rules; returns every problem, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.poll_interval_secs == 0 {
            problems.push("poll_interval_secs: must be at least 1".to_owned());
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            problems.push(format!(
                "page_size: must be between 1 and {MAX_PAGE_SIZE}, got {}",
                self.page_size
            ));
        } else if u64::from(self.page_size) > WINDOW_RECORD_CAP {
            problems.push("page_size: must not exceed the 1,500-record window cap".to_owned());
        }
        if self.initial_lookback_secs == 0 {
            problems.push("initial_lookback_secs: must be at least 1".to_owned());
        }
        if self.request_timeout_secs == 0 {
            problems.push("request_timeout_secs: must be at least 1".to_owned());
        }
        if self.retry_initial_backoff_ms == 0 {
            problems.push("retry_initial_backoff_ms: must be at least 1".to_owned());
        }
        if self.retry_max_backoff_secs == 0 {
            problems.push("retry_max_backoff_secs: must be at least 1".to_owned());
        }
        if self.action_required_retry_secs == 0 {
            problems.push("action_required_retry_secs: must be at least 1".to_owned());
        }
        if self.api_failing_after_errors == 0 {
            problems.push("api_failing_after_errors: must be at least 1".to_owned());
        }
        let mut seen = HashSet::new();
        for (index, shop) in self.shops.iter().enumerate() {
            let key = format!("shops[{index}]");
            if shop.shop_id.trim().is_empty() {
                problems.push(format!("{key}.shop_id: must not be empty"));
            }
            if !seen.insert((shop.api.name(), shop.platform, shop.shop_id.clone())) {
                problems.push(format!(
                    "{key}: shop {} on {} is configured twice for api {}",
                    shop.shop_id,
                    shop.platform,
                    shop.api.name()
                ));
            }
            match &shop.api {
                ApiConfig::Top(top) => {
                    check_endpoint(&key, &top.endpoint, &mut problems);
                    if !matches!(shop.platform, Platform::Taobao | Platform::Tmall) {
                        problems.push(format!(
                            "{key}.platform: the top api serves taobao and tmall shops, not {}",
                            shop.platform
                        ));
                    }
                    if top.app_key.trim().is_empty() {
                        problems.push(format!("{key}.app_key: must not be empty"));
                    }
                    if top.app_secret.is_empty() {
                        problems.push(format!("{key}.app_secret: must not be empty"));
                    }
                    if top.session.is_empty() {
                        problems.push(format!("{key}.session: must not be empty"));
                    }
                }
                ApiConfig::Aggregator(aggregator) => {
                    check_endpoint(&key, &aggregator.endpoint, &mut problems);
                    if aggregator.token.is_empty() {
                        problems.push(format!("{key}.token: must not be empty"));
                    }
                    if let Some(vvtype) = aggregator.vvtype {
                        if !(1..=3).contains(&vvtype) {
                            problems.push(format!("{key}.vvtype: must be 1, 2 or 3, got {vvtype}"));
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn check_endpoint(key: &str, endpoint: &str, problems: &mut Vec<String>) {
    match url::Url::parse(endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
        Ok(url) => problems.push(format!(
            "{key}.endpoint: must be an http(s) URL with a host, got scheme {}",
            url.scheme()
        )),
        Err(error) => problems.push(format!("{key}.endpoint: not a URL ({error})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOPS: &str = r#"
        poll_interval_secs = 7
        [[shops]]
        platform = "taobao"
        shop_id = "tb-10001"
        api = "top"
        endpoint = "http://127.0.0.1:9/router/rest"
        app_key = "12345678"
        app_secret = "helloworld"
        session = "test"
        sign_method = "hmac-sha256"
        simplify = true
        [[shops]]
        platform = "pinduoduo"
        shop_id = "123"
        api = "aggregator"
        endpoint = "http://127.0.0.1:9/tool/erps/traderates"
        token = "1798c6aadec33d1bc2f5b707f1049aefexxxx"
        vvtype = 2
    "#;

    #[test]
    fn parses_both_apis_with_defaults() {
        let config: IngestConfig = toml::from_str(SHOPS).unwrap();
        assert_eq!(config.poll_interval_secs, 7);
        assert_eq!(config.window_overlap_secs, 300);
        assert_eq!(config.initial_lookback_secs, 86_400);
        assert_eq!(config.settle_secs, 0);
        assert_eq!(config.page_size, 100);
        assert_eq!(config.request_timeout_secs, 10);
        assert_eq!(config.shops.len(), 2);
        match &config.shops[0].api {
            ApiConfig::Top(top) => {
                assert_eq!(top.app_key, "12345678");
                assert_eq!(top.app_secret.expose(), "helloworld");
                assert_eq!(top.sign_method, SignMethod::HmacSha256);
                assert!(top.simplify);
            }
            other => panic!("expected top, got {other:?}"),
        }
        match &config.shops[1].api {
            ApiConfig::Aggregator(aggregator) => {
                assert_eq!(aggregator.vvtype, Some(2));
                assert_eq!(
                    aggregator.token.expose(),
                    "1798c6aadec33d1bc2f5b707f1049aefexxxx"
                );
            }
            other => panic!("expected aggregator, got {other:?}"),
        }
        assert_eq!(config.shops[1].platform, Platform::Pinduoduo);
        assert_eq!(config.validate(), Ok(()));
        let serialized = toml::to_string(&config).unwrap();
        assert!(serialized.contains("app_secret = \"***\""), "{serialized}");
        assert!(serialized.contains("api = \"aggregator\""), "{serialized}");
        let printed = format!("{config:?} {serialized}");
        assert!(!printed.contains("helloworld"), "{printed}");
        assert!(!printed.contains("1798c6aadec"), "{printed}");
    }

    #[test]
    fn unknown_keys_are_rejected_at_both_levels() {
        let error = toml::from_str::<IngestConfig>("poll_interval = 5").unwrap_err();
        assert!(error.to_string().contains("poll_interval"), "{error}");
        let shop_typo = SHOPS.replace("vvtype = 2", "vvtyp = 2");
        let error = toml::from_str::<IngestConfig>(&shop_typo).unwrap_err();
        assert!(error.to_string().contains("vvtyp"), "{error}");
        let unknown_api = SHOPS.replace("api = \"top\"", "api = \"pdd\"");
        assert!(toml::from_str::<IngestConfig>(&unknown_api).is_err());
    }

    #[test]
    fn validate_reports_every_problem_with_its_key() {
        let mut config: IngestConfig = toml::from_str(SHOPS).unwrap();
        config.page_size = 151;
        config.poll_interval_secs = 0;
        config.shops[0].platform = Platform::Jd;
        if let ApiConfig::Top(top) = &mut config.shops[0].api {
            top.endpoint = "not a url".into();
            top.session = Secret::new("");
        }
        if let ApiConfig::Aggregator(aggregator) = &mut config.shops[1].api {
            aggregator.vvtype = Some(9);
        }
        config.shops.push(config.shops[1].clone());
        let problems = config.validate().unwrap_err();
        let expected = [
            "poll_interval_secs",
            "page_size",
            "shops[0].endpoint",
            "shops[0].platform",
            "shops[0].session",
            "shops[1].vvtype",
            "shops[2]: shop 123 on pinduoduo is configured twice",
        ];
        for key in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(key)),
                "missing {key} in {problems:?}"
            );
        }
        assert_eq!(problems.len(), 8, "{problems:?}"); // shops[2].vvtype as well
    }
}
