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
//! listings = true                  # default false for top
//! waybills = [{ carrier_code = "yuantong", waybill_no = "YT1", order_id = "1001" }]
//! [[shops]]
//! platform = "pinduoduo"
//! shop_id = "123"
//! api = "aggregator"
//! endpoint = "https://erp.example.com/tool/erps/traderates"
//! token = { env = "AGGREGATOR_TOKEN" }
//! [[shops]]
//! platform = "pinduoduo"
//! shop_id = "123"
//! api = "pdd"                      # also "jd" (app_key, app_secret, access_token)
//! endpoint = "https://gw-api.pinduoduo.com/api/router"
//! client_id = "1"
//! client_secret = { env = "PDD_CLIENT_SECRET" }
//! access_token = { env = "PDD_ACCESS_TOKEN" }
//! listings = true                  # default for pdd and jd
//! waybills = [{ carrier_code = "yuantong", waybill_no = "YT1" }]
//! [[shops]]
//! platform = "taobao"
//! shop_id = "tb-10001"
//! api = "kuaidi100"                # shipments only
//! endpoint = "https://poll.kuaidi100.com/poll/query.do"
//! customer = "TESTCUSTOMER"
//! key = { env = "KUAIDI100_KEY" }
//! waybills = [{ carrier_code = "shunfeng", waybill_no = "SF1", phone = "1234" }]
//! ```
//!
//! What is polled per API: `top` reviews, listings when `listings = true`, traces of
//! `waybills` (by `order_id`); `aggregator` reviews; `pdd` a credential probe (no review
//! API), listings unless `listings = false`, shipments of `waybills`; `jd` reviews, listings
//! unless `listings = false`, shipments of `waybills` (needs `customer_code`); `kuaidi100`
//! shipments of `waybills`.

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
    /// Pause between two shipment polls of one shop (Kuaidi100 waybills).
    #[serde(default = "default_shipments_interval_secs")]
    pub shipments_interval_secs: u64,
    /// Pause between two listing polls of one shop (APIs with `listings = true`).
    #[serde(default = "default_listings_interval_secs")]
    pub listings_interval_secs: u64,
}

fn default_poll_listings() -> bool {
    true
}
fn default_listings_interval_secs() -> u64 {
    300
}
fn default_shipments_interval_secs() -> u64 {
    600
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
            listings_interval_secs: default_listings_interval_secs(),
            shipments_interval_secs: default_shipments_interval_secs(),
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
    /// Pinduoduo open platform `/api/router` (PDD has no review API: the shop's credential
    /// is probed with `pdd.goods.list.get` each poll and no review is produced).
    Pdd(PddConfig),
    /// JD open platform `/routerjson` (`getVenderCommentsForJos` reviews).
    Jd(JdConfig),
    /// Kuaidi100 real-time query for the configured waybills (shipments only, no reviews).
    Kuaidi100(Kuaidi100Config),
}

impl ApiConfig {
    /// Returns true when listing snapshots are polled for this shop.
    pub fn polls_listings(&self) -> bool {
        match self {
            ApiConfig::Pdd(pdd) => pdd.listings,
            ApiConfig::Jd(jd) => jd.listings,
            ApiConfig::Top(top) => top.listings,
            ApiConfig::Aggregator(_) | ApiConfig::Kuaidi100(_) => false,
        }
    }

    /// Returns true when reviews are polled for this shop (every API but Kuaidi100).
    pub fn polls_reviews(&self) -> bool {
        !matches!(self, ApiConfig::Kuaidi100(_))
    }

    /// Returns true when shipments are polled for this shop (Kuaidi100, PDD, JD or TOP with
    /// configured waybills).
    pub fn polls_shipments(&self) -> bool {
        match self {
            ApiConfig::Kuaidi100(config) => !config.waybills.is_empty(),
            ApiConfig::Pdd(config) => !config.waybills.is_empty(),
            ApiConfig::Jd(config) => !config.waybills.is_empty(),
            ApiConfig::Top(config) => !config.waybills.is_empty(),
            ApiConfig::Aggregator(_) => false,
        }
    }

    /// Returns the API's short name (`top`, `aggregator`), used as metric label and as the
    /// entity id of source-health records.
    pub fn name(&self) -> &'static str {
        match self {
            ApiConfig::Top(_) => crate::platforms::top::API,
            ApiConfig::Aggregator(_) => crate::platforms::aggregator::API,
            ApiConfig::Pdd(_) => crate::platforms::pdd::API,
            ApiConfig::Jd(_) => crate::platforms::jd::API,
            ApiConfig::Kuaidi100(_) => crate::platforms::kuaidi100::API,
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
    /// Poll listing snapshots (`taobao.items.onsale.get`, `taobao.items.inventory.get`,
    /// `taobao.item.seller.get` for SKUs) every `listings_interval_secs`. Off by default:
    /// every changed item costs one extra `item.seller.get` call against the app's quota.
    #[serde(default)]
    pub listings: bool,
    /// Orders whose logistics trace is polled with `taobao.logistics.trace.search` every
    /// `shipments_interval_secs` (none by default); each needs `order_id` (the TOP `tid`).
    #[serde(default)]
    pub waybills: Vec<WaybillConfig>,
    /// Client-side pacing of this app's calls, every method and every shop sharing the
    /// `app_key` together (calls per second, burst of the same size). Unset by default: TOP
    /// publishes no per-app number (§6, uncertain), its bans are honoured instead.
    #[serde(default)]
    pub calls_per_sec: Option<u32>,
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

/// Credentials of the Pinduoduo router.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PddConfig {
    /// Full URL of the router, e.g. `https://gw-api.pinduoduo.com/api/router`.
    pub endpoint: String,
    /// The app's `client_id`.
    pub client_id: String,
    /// The app's `client_secret`; signs every request and is never sent.
    pub client_secret: Secret,
    /// The shop's OAuth `access_token`.
    pub access_token: Secret,
    /// The shop's OAuth `refresh_token`; when set, the access token is refreshed before it
    /// expires and when PDD reports it expired (10019).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// Poll listing snapshots (status, price, stock) every `listings_interval_secs`.
    #[serde(default = "default_poll_listings")]
    pub listings: bool,
    /// Waybills whose trace is polled every `shipments_interval_secs` (none by default).
    #[serde(default)]
    pub waybills: Vec<WaybillConfig>,
}

/// Credentials of the JD router.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JdConfig {
    /// Full URL of the router, e.g. `https://api.jd.com/routerjson`.
    pub endpoint: String,
    /// The app's key.
    pub app_key: String,
    /// The app's secret; signs every request and is never sent.
    pub app_secret: Secret,
    /// The shop's OAuth `access_token`.
    pub access_token: Secret,
    /// Poll listing snapshots (status, price, stock) every `listings_interval_secs`.
    #[serde(default = "default_poll_listings")]
    pub listings: bool,
    /// Waybills whose trace is polled every `shipments_interval_secs` (none by default).
    #[serde(default)]
    pub waybills: Vec<WaybillConfig>,
    /// The JD Logistics merchant code (`customerCode`) of the trace queries.
    #[serde(default)]
    pub customer_code: Option<String>,
}

/// Credentials and waybills of the Kuaidi100 real-time query.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kuaidi100Config {
    /// Full URL of the query, e.g. `https://poll.kuaidi100.com/poll/query.do`.
    pub endpoint: String,
    /// The account's `customer` id.
    pub customer: String,
    /// The account's key; signs every query and is never sent.
    pub key: Secret,
    /// The waybills to track (this increment has no order feed to discover them).
    #[serde(default)]
    pub waybills: Vec<WaybillConfig>,
}

/// One waybill to track.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaybillConfig {
    /// Kuaidi100 courier code, lowercase (`yuantong`, `shunfeng`, `jd`, …).
    pub carrier_code: String,
    /// The tracking number.
    pub waybill_no: String,
    /// Sender or recipient phone (or its last 4 digits); required for `shunfeng`.
    #[serde(default)]
    pub phone: Option<Secret>,
    /// The order the parcel belongs to, copied into the `Shipment`.
    #[serde(default)]
    pub order_id: Option<String>,
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
        if self.shipments_interval_secs == 0 {
            problems.push("shipments_interval_secs: must be at least 1".to_owned());
        }
        if self.listings_interval_secs == 0 {
            problems.push("listings_interval_secs: must be at least 1".to_owned());
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
                    if top.calls_per_sec == Some(0) {
                        problems.push(format!("{key}.calls_per_sec: must be at least 1"));
                    }
                    for (number, waybill) in top.waybills.iter().enumerate() {
                        let numeric = waybill.order_id.as_deref().is_some_and(|order_id| {
                            !order_id.is_empty() && order_id.bytes().all(|b| b.is_ascii_digit())
                        });
                        if !numeric {
                            problems.push(format!(
                                "{key}.waybills[{number}].order_id: required (the numeric TOP tid \
                                 whose trace is searched)"
                            ));
                        }
                    }
                }
                ApiConfig::Pdd(pdd) => {
                    check_endpoint(&key, &pdd.endpoint, &mut problems);
                    if shop.platform != Platform::Pinduoduo {
                        problems.push(format!(
                            "{key}.platform: the pdd api serves pinduoduo shops, not {}",
                            shop.platform
                        ));
                    }
                    if pdd.client_id.trim().is_empty() {
                        problems.push(format!("{key}.client_id: must not be empty"));
                    }
                    if pdd.client_secret.is_empty() {
                        problems.push(format!("{key}.client_secret: must not be empty"));
                    }
                    if pdd.access_token.is_empty() {
                        problems.push(format!("{key}.access_token: must not be empty"));
                    }
                }
                ApiConfig::Jd(jd) => {
                    check_endpoint(&key, &jd.endpoint, &mut problems);
                    if shop.platform != Platform::Jd {
                        problems.push(format!(
                            "{key}.platform: the jd api serves jd shops, not {}",
                            shop.platform
                        ));
                    }
                    if jd.app_key.trim().is_empty() {
                        problems.push(format!("{key}.app_key: must not be empty"));
                    }
                    if jd.app_secret.is_empty() {
                        problems.push(format!("{key}.app_secret: must not be empty"));
                    }
                    if jd.access_token.is_empty() {
                        problems.push(format!("{key}.access_token: must not be empty"));
                    }
                    if !jd.waybills.is_empty()
                        && jd
                            .customer_code
                            .as_deref()
                            .is_none_or(|code| code.trim().is_empty())
                    {
                        problems.push(format!("{key}.customer_code: required to track waybills"));
                    }
                }
                ApiConfig::Kuaidi100(kuaidi100) => {
                    check_endpoint(&key, &kuaidi100.endpoint, &mut problems);
                    if kuaidi100.customer.trim().is_empty() {
                        problems.push(format!("{key}.customer: must not be empty"));
                    }
                    if kuaidi100.key.is_empty() {
                        problems.push(format!("{key}.key: must not be empty"));
                    }
                    for (number, waybill) in kuaidi100.waybills.iter().enumerate() {
                        let entry = format!("{key}.waybills[{number}]");
                        if waybill.carrier_code.trim().is_empty() {
                            problems.push(format!("{entry}.carrier_code: must not be empty"));
                        }
                        if waybill.waybill_no.trim().is_empty() {
                            problems.push(format!("{entry}.waybill_no: must not be empty"));
                        }
                        if waybill.carrier_code.eq_ignore_ascii_case("shunfeng")
                            && waybill.phone.as_ref().is_none_or(Secret::is_empty)
                        {
                            problems.push(format!("{entry}.phone: required for shunfeng"));
                        }
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
        let unknown_api = SHOPS.replace("api = \"top\"", "api = \"ebay\"");
        assert!(toml::from_str::<IngestConfig>(&unknown_api).is_err());
    }

    #[test]
    fn parses_and_validates_pdd_and_jd_shops() {
        let text = r#"
            [[shops]]
            platform = "pinduoduo"
            shop_id = "123"
            api = "pdd"
            endpoint = "http://127.0.0.1:9/api/router"
            client_id = "1"
            client_secret = "testSecret"
            access_token = "pdd-token-value"
            [[shops]]
            platform = "jd"
            shop_id = "jd-5001"
            api = "jd"
            endpoint = "http://127.0.0.1:9/routerjson"
            app_key = "yourappkey"
            app_secret = "yourappSecret"
            access_token = "jd-token-value"
        "#;
        let mut config: IngestConfig = toml::from_str(text).unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.shops[0].api.name(), "pdd");
        assert_eq!(config.shops[1].api.name(), "jd");
        match &config.shops[0].api {
            ApiConfig::Pdd(pdd) => {
                assert_eq!(pdd.client_id, "1");
                assert_eq!(pdd.client_secret.expose(), "testSecret");
            }
            other => panic!("expected pdd, got {other:?}"),
        }
        let printed = format!("{config:?} {}", toml::to_string(&config).unwrap());
        for secret in [
            "testSecret",
            "pdd-token-value",
            "yourappSecret",
            "jd-token-value",
        ] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        config.shops[0].platform = Platform::Jd;
        if let ApiConfig::Jd(jd) = &mut config.shops[1].api {
            jd.access_token = Secret::new("");
        }
        let problems = config.validate().unwrap_err();
        assert_eq!(
            problems,
            vec![
                "shops[0].platform: the pdd api serves pinduoduo shops, not jd".to_owned(),
                "shops[1].access_token: must not be empty".to_owned(),
            ]
        );
        let typo = text.replace("client_id = \"1\"", "clientid = \"1\"");
        assert!(toml::from_str::<IngestConfig>(&typo).is_err());
    }

    #[test]
    fn parses_and_validates_kuaidi100_and_waybills() {
        let text = r#"
            shipments_interval_secs = 120
            [[shops]]
            platform = "taobao"
            shop_id = "tb-10001"
            api = "kuaidi100"
            endpoint = "http://127.0.0.1:9/poll/query.do"
            customer = "TESTCUSTOMER"
            key = "testkey"
            [[shops.waybills]]
            carrier_code = "yuantong"
            waybill_no = "YT1"
            order_id = "T1"
            [[shops.waybills]]
            carrier_code = "shunfeng"
            waybill_no = "SF1"
            phone = "13812345678"
            [[shops]]
            platform = "jd"
            shop_id = "jd-5001"
            api = "jd"
            endpoint = "http://127.0.0.1:9/routerjson"
            app_key = "k"
            app_secret = "s"
            access_token = "t"
            listings = false
            customer_code = "010K"
            waybills = [{ carrier_code = "jd", waybill_no = "JD1" }]
        "#;
        let mut config: IngestConfig = toml::from_str(text).unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.shipments_interval_secs, 120);
        assert_eq!(config.listings_interval_secs, 300);
        let kuaidi100 = &config.shops[0].api;
        assert_eq!(kuaidi100.name(), "kuaidi100");
        assert!(!kuaidi100.polls_reviews());
        assert!(kuaidi100.polls_shipments());
        assert!(!kuaidi100.polls_listings());
        let jd = &config.shops[1].api;
        assert!(jd.polls_reviews() && jd.polls_shipments() && !jd.polls_listings());
        let printed = format!("{config:?} {}", toml::to_string(&config).unwrap());
        assert!(!printed.contains("testkey"), "{printed}");
        assert!(!printed.contains("13812345678"), "{printed}");
        if let ApiConfig::Kuaidi100(kuaidi100) = &mut config.shops[0].api {
            kuaidi100.waybills[1].phone = None;
            kuaidi100.waybills[0].waybill_no = String::new();
        }
        if let ApiConfig::Jd(jd) = &mut config.shops[1].api {
            jd.customer_code = None;
        }
        assert_eq!(
            config.validate().unwrap_err(),
            vec![
                "shops[0].waybills[0].waybill_no: must not be empty".to_owned(),
                "shops[0].waybills[1].phone: required for shunfeng".to_owned(),
                "shops[1].customer_code: required to track waybills".to_owned(),
            ]
        );
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

    #[test]
    fn top_listings_and_waybills_are_opt_in_and_validated() {
        let config: IngestConfig = toml::from_str(SHOPS).unwrap();
        let ApiConfig::Top(top) = &config.shops[0].api else {
            panic!("expected top");
        };
        assert!(!top.listings, "listings default off for top");
        assert!(top.waybills.is_empty());
        assert_eq!(top.calls_per_sec, None);
        assert!(!config.shops[0].api.polls_listings());
        assert!(!config.shops[0].api.polls_shipments());

        let text = format!(
            "{SHOPS}\n{}",
            r#"[[shops]]
            platform = "tmall"
            shop_id = "tm-1"
            api = "top"
            endpoint = "http://127.0.0.1:9/router/rest"
            app_key = "12345678"
            app_secret = "helloworld"
            session = "test"
            listings = true
            calls_per_sec = 0
            waybills = [
                { carrier_code = "yuantong", waybill_no = "YT1", order_id = "123" },
                { carrier_code = "yuantong", waybill_no = "YT2" },
                { carrier_code = "yuantong", waybill_no = "YT3", order_id = "T3" },
            ]"#
        );
        let config: IngestConfig = toml::from_str(&text).unwrap();
        assert!(config.shops[2].api.polls_listings());
        assert!(config.shops[2].api.polls_shipments());
        assert_eq!(
            config.validate(),
            Err(vec![
                "shops[2].calls_per_sec: must be at least 1".to_owned(),
                "shops[2].waybills[1].order_id: required (the numeric TOP tid whose trace is \
                 searched)"
                    .to_owned(),
                "shops[2].waybills[2].order_id: required (the numeric TOP tid whose trace is \
                 searched)"
                    .to_owned(),
            ])
        );
    }
}
