//! `SimulatorConfig`: the simulated world (shops, pace, history), its credentials and the
//! platforms' limits.
//!
//! Contract: [`SimulatorConfig::default`] is a complete, working world built from the
//! platforms' documentation-example credentials (see the crate docs for the list);
//! [`SimulatorConfig::validate`] reports every cross-field problem at once, naming the key.

use std::collections::HashSet;
use std::path::PathBuf;

use schemas::{Platform, Secret};
use serde::{Deserialize, Serialize};

/// Which of the two simulated review APIs serves a shop (or receives a fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// Taobao Open Platform router, `/router/rest`, method `taobao.traderates.get`.
    Top,
    /// Multi-platform review-search aggregator, `POST /tool/erps/traderates`.
    Aggregator,
}

impl Api {
    /// Returns the wire spelling (`top` or `aggregator`), also used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Top => "top",
            Api::Aggregator => "aggregator",
        }
    }
}

/// The whole simulated world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Seed of every random choice (items, nicks, texts, ratings, ids, arrival jitter); the same
    /// seed gives the same reviews in the same order per shop.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The shops in the world; each is served by exactly one API.
    #[serde(default = "default_shops")]
    pub shops: Vec<ShopConfig>,
    /// New reviews per minute per shop, generated in real time while the simulator serves
    /// (a shop's own `reviews_per_minute` overrides it). 0 disables live generation.
    #[serde(default = "default_reviews_per_minute")]
    pub reviews_per_minute: f64,
    /// Reviews per shop created at start, spread over the past `history_minutes`.
    #[serde(default = "default_history_reviews")]
    pub history_reviews: u32,
    /// How far back the start-up history reaches, in minutes.
    #[serde(default = "default_history_minutes")]
    pub history_minutes: u32,
    /// Stops generating for a shop once it has this many reviews (history included);
    /// `None` generates forever. Tests use it for a finite world.
    #[serde(default)]
    pub max_reviews_per_shop: Option<u32>,
    /// A JSON-lines corpus (`{"id","text","label":"pos"|"neg"}` per line) to draw review texts
    /// from instead of the sample built into the crate.
    #[serde(default)]
    pub corpus_path: Option<PathBuf>,
    /// Who may call which API for which shop.
    #[serde(default)]
    pub credentials: CredentialsConfig,
    /// Behaviour of the TOP router.
    #[serde(default)]
    pub top: TopConfig,
    /// Behaviour of the review-search aggregator.
    #[serde(default)]
    pub aggregator: AggregatorConfig,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            seed: default_seed(),
            shops: default_shops(),
            reviews_per_minute: default_reviews_per_minute(),
            history_reviews: default_history_reviews(),
            history_minutes: default_history_minutes(),
            max_reviews_per_shop: None,
            corpus_path: None,
            credentials: CredentialsConfig::default(),
            top: TopConfig::default(),
            aggregator: AggregatorConfig::default(),
        }
    }
}

/// One simulated shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    /// The marketplace the shop sells on (`taobao`, `tmall`, `pinduoduo`, `douyin`, `jd`, …).
    pub platform: Platform,
    /// The shop's id, unique within its API.
    pub shop_id: String,
    /// The API that serves the shop's reviews (`top` or `aggregator`).
    pub api: Api,
    /// The seller nick returned as `rated_nick`; generated from the seed when absent.
    #[serde(default)]
    pub seller_nick: Option<String>,
    /// Overrides the world's `reviews_per_minute` for this shop.
    #[serde(default)]
    pub reviews_per_minute: Option<f64>,
}

/// Credentials the simulated platforms accept. Setting a list replaces its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConfig {
    /// TOP apps (app_key, secret) and the sessions authorized for them.
    #[serde(default = "default_top_apps")]
    pub top_apps: Vec<TopAppConfig>,
    /// Aggregator bearer tokens and the shops each is authorized for.
    #[serde(default = "default_aggregator_tokens")]
    pub aggregator_tokens: Vec<AggregatorTokenConfig>,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        CredentialsConfig {
            top_apps: default_top_apps(),
            aggregator_tokens: default_aggregator_tokens(),
        }
    }
}

/// One TOP application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopAppConfig {
    /// The app's `app_key`.
    pub app_key: String,
    /// The app secret that keys the request signature.
    pub app_secret: Secret,
    /// Session keys (OAuth access tokens) issued to this app, one per seller.
    #[serde(default)]
    pub sessions: Vec<TopSessionConfig>,
}

/// One seller's authorization of a TOP app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopSessionConfig {
    /// The `session` parameter value.
    pub session: Secret,
    /// The TOP shop whose reviews this session reads.
    pub shop_id: String,
    /// An expired session is rejected with code 27 Invalid Session.
    #[serde(default)]
    pub expired: bool,
}

/// One aggregator account token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorTokenConfig {
    /// The `Authorization: Bearer` token.
    pub token: Secret,
    /// The aggregator shops this account is authorized for; any other existing shop gets 302.
    #[serde(default)]
    pub shop_ids: Vec<String>,
    /// Calls this account may make in the simulator's lifetime; later calls get 204.
    /// `None` is unlimited.
    #[serde(default)]
    pub quota_calls: Option<u64>,
}

/// Limits of the TOP router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopConfig {
    /// Sustained calls per second per app (token-bucket refill rate).
    #[serde(default = "default_top_calls_per_sec")]
    pub calls_per_sec: f64,
    /// Token-bucket capacity per app: calls allowed in a burst.
    #[serde(default = "default_top_burst")]
    pub burst: u32,
    /// Seconds an app is refused (code 7, "This ban will last for N more seconds") once its
    /// bucket is empty.
    #[serde(default = "default_top_ban_secs")]
    pub ban_secs: u64,
    /// Largest accepted difference between `timestamp` and the clock; beyond it, code 31.
    #[serde(default = "default_top_timestamp_tolerance_secs")]
    pub timestamp_tolerance_secs: u64,
}

impl Default for TopConfig {
    fn default() -> Self {
        TopConfig {
            calls_per_sec: default_top_calls_per_sec(),
            burst: default_top_burst(),
            ban_secs: default_top_ban_secs(),
            timestamp_tolerance_secs: default_top_timestamp_tolerance_secs(),
        }
    }
}

/// Limits and billing of the review-search aggregator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorConfig {
    /// Sustained requests per second per account (the vendor documents 10/s).
    #[serde(default = "default_aggregator_requests_per_sec")]
    pub requests_per_sec: f64,
    /// Requests allowed in a burst per account (token-bucket capacity).
    #[serde(default = "default_aggregator_burst")]
    pub burst: u32,
    /// The `code` answered when an account exceeds its rate. The vendor does not document
    /// which code its throttle uses; 202 ("system busy, try later") is our choice.
    #[serde(default = "default_aggregator_throttle_code")]
    pub throttle_code: i64,
    /// `withholding_money` charged per successful search, in yuan.
    #[serde(default = "default_aggregator_withholding_money")]
    pub withholding_money: f64,
    /// Base of the authorization link returned with code 302; `?shop_id=..` is appended.
    #[serde(default = "default_aggregator_authorize_url")]
    pub authorize_url: String,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            requests_per_sec: default_aggregator_requests_per_sec(),
            burst: default_aggregator_burst(),
            throttle_code: default_aggregator_throttle_code(),
            withholding_money: default_aggregator_withholding_money(),
            authorize_url: default_aggregator_authorize_url(),
        }
    }
}

/// The default TOP app key (the TOP documentation's signing example).
pub const DEFAULT_TOP_APP_KEY: &str = "12345678";
/// The default TOP app secret.
pub const DEFAULT_TOP_APP_SECRET: &str = "helloworld";
/// The default TOP session.
pub const DEFAULT_TOP_SESSION: &str = "test";
/// The default TOP shop, read with the default session.
pub const DEFAULT_TOP_SHOP_ID: &str = "tb-10001";
/// The default aggregator bearer token (the vendor documentation's example).
pub const DEFAULT_AGGREGATOR_TOKEN: &str = "1798c6aadec33d1bc2f5b707f1049aefexxxx";
/// The default aggregator Pinduoduo shop.
pub const DEFAULT_AGGREGATOR_PDD_SHOP_ID: &str = "123";
/// The default aggregator Douyin shop.
pub const DEFAULT_AGGREGATOR_DOUYIN_SHOP_ID: &str = "dy-3001";

fn default_seed() -> u64 {
    20_240_601
}

fn default_shops() -> Vec<ShopConfig> {
    let shop = |platform, shop_id: &str, api| ShopConfig {
        platform,
        shop_id: shop_id.to_owned(),
        api,
        seller_nick: None,
        reviews_per_minute: None,
    };
    vec![
        shop(Platform::Taobao, DEFAULT_TOP_SHOP_ID, Api::Top),
        shop(
            Platform::Pinduoduo,
            DEFAULT_AGGREGATOR_PDD_SHOP_ID,
            Api::Aggregator,
        ),
        shop(
            Platform::Douyin,
            DEFAULT_AGGREGATOR_DOUYIN_SHOP_ID,
            Api::Aggregator,
        ),
    ]
}

fn default_reviews_per_minute() -> f64 {
    12.0
}

fn default_history_reviews() -> u32 {
    20
}

fn default_history_minutes() -> u32 {
    60
}

fn default_top_apps() -> Vec<TopAppConfig> {
    vec![TopAppConfig {
        app_key: DEFAULT_TOP_APP_KEY.to_owned(),
        app_secret: Secret::new(DEFAULT_TOP_APP_SECRET),
        sessions: vec![TopSessionConfig {
            session: Secret::new(DEFAULT_TOP_SESSION),
            shop_id: DEFAULT_TOP_SHOP_ID.to_owned(),
            expired: false,
        }],
    }]
}

fn default_aggregator_tokens() -> Vec<AggregatorTokenConfig> {
    vec![AggregatorTokenConfig {
        token: Secret::new(DEFAULT_AGGREGATOR_TOKEN),
        shop_ids: vec![
            DEFAULT_AGGREGATOR_PDD_SHOP_ID.to_owned(),
            DEFAULT_AGGREGATOR_DOUYIN_SHOP_ID.to_owned(),
        ],
        quota_calls: None,
    }]
}

fn default_top_calls_per_sec() -> f64 {
    20.0
}

fn default_top_burst() -> u32 {
    20
}

fn default_top_ban_secs() -> u64 {
    1
}

fn default_top_timestamp_tolerance_secs() -> u64 {
    600
}

fn default_aggregator_requests_per_sec() -> f64 {
    10.0
}

fn default_aggregator_burst() -> u32 {
    10
}

fn default_aggregator_throttle_code() -> i64 {
    202
}

fn default_aggregator_withholding_money() -> f64 {
    0.01
}

fn default_aggregator_authorize_url() -> String {
    "https://erp.example.com/authorize".to_owned()
}

impl SimulatorConfig {
    /// Returns the pace of live generation for `shop`, in reviews per minute.
    pub fn reviews_per_minute_for(&self, shop: &ShopConfig) -> f64 {
        shop.reviews_per_minute.unwrap_or(self.reviews_per_minute)
    }

    /// Checks cross-field rules; returns every problem found, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        for (index, shop) in self.shops.iter().enumerate() {
            if shop.shop_id.trim().is_empty() {
                problems.push(format!("shops[{index}].shop_id: must not be empty"));
            }
            if !seen.insert((shop.api, shop.shop_id.as_str())) {
                problems.push(format!(
                    "shops[{index}].shop_id: {:?} appears twice for api {}",
                    shop.shop_id,
                    shop.api.as_str()
                ));
            }
            let pace = self.reviews_per_minute_for(shop);
            if !pace.is_finite() || pace < 0.0 {
                problems.push(format!(
                    "shops[{index}].reviews_per_minute: must be a finite number >= 0"
                ));
            }
        }
        if !self.reviews_per_minute.is_finite() || self.reviews_per_minute < 0.0 {
            problems.push("reviews_per_minute: must be a finite number >= 0".to_owned());
        }
        if self.history_reviews > 0 && self.history_minutes == 0 {
            problems.push("history_minutes: must be > 0 when history_reviews > 0".to_owned());
        }
        let has_shop = |api: Api, shop_id: &str| {
            self.shops
                .iter()
                .any(|shop| shop.api == api && shop.shop_id == shop_id)
        };
        let mut app_keys = HashSet::new();
        for (index, app) in self.credentials.top_apps.iter().enumerate() {
            if !app_keys.insert(app.app_key.as_str()) {
                problems.push(format!(
                    "credentials.top_apps[{index}].app_key: {:?} appears twice",
                    app.app_key
                ));
            }
            if app.app_secret.is_empty() {
                problems.push(format!(
                    "credentials.top_apps[{index}].app_secret: must not be empty"
                ));
            }
            for (session_index, session) in app.sessions.iter().enumerate() {
                if !has_shop(Api::Top, &session.shop_id) {
                    problems.push(format!(
                        "credentials.top_apps[{index}].sessions[{session_index}].shop_id: \
                         {:?} is not a shop with api = \"top\"",
                        session.shop_id
                    ));
                }
            }
        }
        for (index, token) in self.credentials.aggregator_tokens.iter().enumerate() {
            if token.token.is_empty() {
                problems.push(format!(
                    "credentials.aggregator_tokens[{index}].token: must not be empty"
                ));
            }
            for shop_id in &token.shop_ids {
                if !has_shop(Api::Aggregator, shop_id) {
                    problems.push(format!(
                        "credentials.aggregator_tokens[{index}].shop_ids: {shop_id:?} is not \
                         a shop with api = \"aggregator\""
                    ));
                }
            }
        }
        if !(self.top.calls_per_sec.is_finite() && self.top.calls_per_sec > 0.0) {
            problems.push("top.calls_per_sec: must be a finite number > 0".to_owned());
        }
        if self.top.burst == 0 {
            problems.push("top.burst: must be >= 1".to_owned());
        }
        if !(self.aggregator.requests_per_sec.is_finite() && self.aggregator.requests_per_sec > 0.0)
        {
            problems.push("aggregator.requests_per_sec: must be a finite number > 0".to_owned());
        }
        if self.aggregator.burst == 0 {
            problems.push("aggregator.burst: must be >= 1".to_owned());
        }
        if self.aggregator.throttle_code == 0 {
            problems.push("aggregator.throttle_code: 0 means success".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_the_default_world() {
        let parsed: SimulatorConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, SimulatorConfig::default());
        assert_eq!(parsed.validate(), Ok(()));
        assert_eq!(parsed.shops.len(), 3);
        assert_eq!(parsed.credentials.top_apps[0].app_key, "12345678");
        assert_eq!(
            parsed.credentials.top_apps[0].app_secret.expose(),
            "helloworld"
        );
        assert_eq!(
            parsed.credentials.top_apps[0].sessions[0].shop_id,
            "tb-10001"
        );
        assert_eq!(
            parsed.credentials.aggregator_tokens[0].shop_ids,
            ["123", "dy-3001"]
        );
        assert_eq!((parsed.history_reviews, parsed.history_minutes), (20, 60));
        assert_eq!((parsed.top.calls_per_sec, parsed.top.burst), (20.0, 20));
        assert_eq!(parsed.aggregator.throttle_code, 202);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = serde_json::from_str::<SimulatorConfig>(r#"{"seeds":1}"#).unwrap_err();
        assert!(error.to_string().contains("seeds"), "{error}");
        let error = serde_json::from_str::<SimulatorConfig>(
            r#"{"shops":[{"platform":"taobao","shop_id":"a","api":"top","colour":"red"}]}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("colour"), "{error}");
        assert!(serde_json::from_str::<SimulatorConfig>(
            r#"{"shops":[{"platform":"amazon","shop_id":"a","api":"top"}]}"#
        )
        .is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let mut config = SimulatorConfig::default();
        config.shops.push(config.shops[0].clone());
        config.credentials.top_apps[0].sessions[0].shop_id = "nope".to_owned();
        config.credentials.aggregator_tokens[0]
            .shop_ids
            .push("tb-10001".to_owned());
        config.top.burst = 0;
        config.aggregator.requests_per_sec = 0.0;
        config.reviews_per_minute = -1.0;
        let problems = config.validate().unwrap_err();
        let joined = problems.join("\n");
        for key in [
            "shops[3].shop_id",
            "credentials.top_apps[0].sessions[0].shop_id",
            "credentials.aggregator_tokens[0].shop_ids",
            "top.burst",
            "aggregator.requests_per_sec",
            "reviews_per_minute",
        ] {
            assert!(joined.contains(key), "{key} missing from {joined}");
        }
    }

    #[test]
    fn secrets_are_not_printed() {
        let shown = format!("{:?}", SimulatorConfig::default());
        assert!(!shown.contains("helloworld"), "{shown}");
        assert!(
            !shown.contains("1798c6aadec33d1bc2f5b707f1049aefexxxx"),
            "{shown}"
        );
    }
}
