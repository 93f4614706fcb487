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
    /// The commerce world: listings, orders and parcels, and their pace.
    #[serde(default)]
    pub commerce: CommerceConfig,
    /// Limits of the Pinduoduo router `/api/router`.
    #[serde(default)]
    pub pdd: PddConfig,
    /// Limits of the JD router `/routerjson`.
    #[serde(default)]
    pub jd: JdConfig,
    /// Kuaidi100 query, subscriptions and callbacks.
    #[serde(default)]
    pub kuaidi100: Kuaidi100Config,
    /// Token lifetimes of the simulated OAuth (TOP and PDD).
    #[serde(default)]
    pub oauth: OAuthConfig,
    /// TMC message service (HTTP pull).
    #[serde(default)]
    pub tmc: TmcConfig,
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
            commerce: CommerceConfig::default(),
            pdd: PddConfig::default(),
            jd: JdConfig::default(),
            kuaidi100: Kuaidi100Config::default(),
            oauth: OAuthConfig::default(),
            tmc: TmcConfig::default(),
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
    /// PDD apps (client_id, client_secret) and their access tokens.
    #[serde(default = "default_pdd_apps")]
    pub pdd_apps: Vec<RouterAppConfig>,
    /// JD apps (app_key, app secret) and their access tokens.
    #[serde(default = "default_jd_apps")]
    pub jd_apps: Vec<RouterAppConfig>,
    /// Kuaidi100 accounts (customer id and key).
    #[serde(default = "default_kuaidi100_accounts")]
    pub kuaidi100_accounts: Vec<Kuaidi100AccountConfig>,
}

/// One Kuaidi100 account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kuaidi100AccountConfig {
    /// The `customer` id of the real-time query.
    pub customer: String,
    /// The authorization `key`: signs queries and identifies subscribers.
    pub key: Secret,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        CredentialsConfig {
            top_apps: default_top_apps(),
            aggregator_tokens: default_aggregator_tokens(),
            pdd_apps: default_pdd_apps(),
            jd_apps: default_jd_apps(),
            kuaidi100_accounts: default_kuaidi100_accounts(),
        }
    }
}

/// One PDD or JD application and the merchants that authorized it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterAppConfig {
    /// PDD `client_id` / JD `app_key`.
    pub app_key: String,
    /// PDD `client_secret` / JD app secret; keys the MD5 signature.
    pub app_secret: Secret,
    /// Access tokens, one per authorized shop.
    #[serde(default)]
    pub tokens: Vec<RouterTokenConfig>,
}

/// One merchant's authorization of a PDD or JD app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterTokenConfig {
    /// The `access_token` value.
    pub access_token: Secret,
    /// The shop it reads: a shop of `shops` or of `commerce.extra_shops`.
    pub shop_id: String,
    /// An expired token is refused (PDD 10019, JD 19).
    #[serde(default)]
    pub expired: bool,
}

/// The commerce world's pace and shape. Paces are per shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommerceConfig {
    /// New orders (each becomes a parcel) per minute per shop while serving.
    #[serde(default = "default_orders_per_minute")]
    pub orders_per_minute: f64,
    /// Carrier scans per minute per shop while serving (each moves one parcel one step).
    #[serde(default = "default_parcel_steps_per_minute")]
    pub parcel_steps_per_minute: f64,
    /// Listing changes (delist, relist, delete, reprice, sell out, restock) per minute per
    /// shop while serving.
    #[serde(default = "default_listing_changes_per_minute")]
    pub listing_changes_per_minute: f64,
    /// Events per shop played at start, spread over the past `history_minutes`.
    #[serde(default = "default_history_events")]
    pub history_events: u32,
    /// Most SKUs an item has (each item gets 1..=this many).
    #[serde(default = "default_max_skus_per_item")]
    pub max_skus_per_item: u32,
    /// Share of parcels that hit a delivery exception and are then signed for.
    #[serde(default = "default_exception_ratio")]
    pub exception_ratio: f64,
    /// Share of parcels returned to the sender after a problem in transit.
    #[serde(default = "default_return_ratio")]
    pub return_ratio: f64,
    /// Share of parcels refused by the recipient and returned.
    #[serde(default = "default_reject_ratio")]
    pub reject_ratio: f64,
    /// Share of parcels that stop moving after two scans.
    #[serde(default = "default_stall_ratio")]
    pub stall_ratio: f64,
    /// Shops served only by the platform routers (no review API), e.g. the default JD shop.
    #[serde(default = "default_extra_shops")]
    pub extra_shops: Vec<CommerceShopConfig>,
}

impl Default for CommerceConfig {
    fn default() -> Self {
        CommerceConfig {
            orders_per_minute: default_orders_per_minute(),
            parcel_steps_per_minute: default_parcel_steps_per_minute(),
            listing_changes_per_minute: default_listing_changes_per_minute(),
            history_events: default_history_events(),
            max_skus_per_item: default_max_skus_per_item(),
            exception_ratio: default_exception_ratio(),
            return_ratio: default_return_ratio(),
            reject_ratio: default_reject_ratio(),
            stall_ratio: default_stall_ratio(),
            extra_shops: default_extra_shops(),
        }
    }
}

/// A shop that exists only in the commerce world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommerceShopConfig {
    /// The marketplace (`jd`, `pinduoduo`, …).
    pub platform: Platform,
    /// The shop's id, unique across `shops` and `extra_shops`.
    pub shop_id: String,
}

/// Limits of the PDD router (platform-apis.md §2.2, §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PddConfig {
    /// Largest accepted distance between `timestamp` (UNIX seconds) and the clock.
    #[serde(default = "default_pdd_timestamp_tolerance_secs")]
    pub timestamp_tolerance_secs: u64,
    /// `pdd.goods.list.get` calls per shop per 60 s (documented 600) before error 70031.
    #[serde(default = "default_pdd_goods_list_per_minute")]
    pub goods_list_per_minute: u32,
    /// `pdd.goods.detail.get` calls per shop per 60 s (documented 3,000) before error 70031.
    #[serde(default = "default_pdd_goods_detail_per_minute")]
    pub goods_detail_per_minute: u32,
    /// `pdd.goods.detail.get` calls per second over all apps and shops (documented 3,000)
    /// before error 52101 (API throttled).
    #[serde(default = "default_pdd_goods_detail_total_per_sec")]
    pub goods_detail_total_per_sec: u32,
    /// `pdd.logistics.ordertrace.get` calls per app per 20 s (documented 4,800) before 70031.
    #[serde(default = "default_pdd_ordertrace_per_20s")]
    pub ordertrace_per_20s: u32,
}

impl Default for PddConfig {
    fn default() -> Self {
        PddConfig {
            timestamp_tolerance_secs: default_pdd_timestamp_tolerance_secs(),
            goods_list_per_minute: default_pdd_goods_list_per_minute(),
            goods_detail_per_minute: default_pdd_goods_detail_per_minute(),
            goods_detail_total_per_sec: default_pdd_goods_detail_total_per_sec(),
            ordertrace_per_20s: default_pdd_ordertrace_per_20s(),
        }
    }
}

/// Limits of the JD router (platform-apis.md §3, §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JdConfig {
    /// Largest accepted distance between `timestamp` and the clock (documented 6 min).
    #[serde(default = "default_jd_timestamp_tolerance_secs")]
    pub timestamp_tolerance_secs: u64,
    /// Calls per second per app before code 2 "App Call Limited". JD publishes no QPS
    /// figure (§6, uncertain); this is our choice.
    #[serde(default = "default_jd_calls_per_sec")]
    pub calls_per_sec: f64,
    /// Burst per app.
    #[serde(default = "default_jd_burst")]
    pub burst: u32,
}

impl Default for JdConfig {
    fn default() -> Self {
        JdConfig {
            timestamp_tolerance_secs: default_jd_timestamp_tolerance_secs(),
            calls_per_sec: default_jd_calls_per_sec(),
            burst: default_jd_burst(),
        }
    }
}

/// Kuaidi100's subscription pushes (platform-apis.md §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kuaidi100Config {
    /// How often subscriptions are checked for new scans to push. Kuaidi100 tracks every
    /// ~4 hours; the simulator defaults to once a minute so a demo sees pushes.
    #[serde(default = "default_kuaidi100_push_interval_ms")]
    pub push_interval_ms: u64,
    /// Wait before re-sending a push the receiver did not acknowledge (documented 35 min).
    #[serde(default = "default_kuaidi100_retry_interval_ms")]
    pub retry_interval_ms: u64,
    /// Re-sends of an unacknowledged push (documented 3).
    #[serde(default = "default_kuaidi100_retries")]
    pub retries: u32,
    /// Timeout of one callback POST.
    #[serde(default = "default_kuaidi100_callback_timeout_ms")]
    pub callback_timeout_ms: u64,
}

impl Default for Kuaidi100Config {
    fn default() -> Self {
        Kuaidi100Config {
            push_interval_ms: default_kuaidi100_push_interval_ms(),
            retry_interval_ms: default_kuaidi100_retry_interval_ms(),
            retries: default_kuaidi100_retries(),
            callback_timeout_ms: default_kuaidi100_callback_timeout_ms(),
        }
    }
}

/// TMC in HTTP pull mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TmcConfig {
    /// Seconds after which a consumed but unconfirmed message is handed out again (the real
    /// interval is not documented; our choice).
    #[serde(default = "default_tmc_redelivery_secs")]
    pub redelivery_secs: u64,
}

impl Default for TmcConfig {
    fn default() -> Self {
        TmcConfig {
            redelivery_secs: default_tmc_redelivery_secs(),
        }
    }
}

fn default_tmc_redelivery_secs() -> u64 {
    60
}

/// Lifetimes of codes and tokens issued by the simulated OAuth endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// TOP access token lifetime (the documented sample: 7,776,000 s = 90 days).
    #[serde(default = "default_top_access_token_ttl_secs")]
    pub top_access_token_ttl_secs: u64,
    /// PDD access token lifetime (documented 24 h for tool apps).
    #[serde(default = "default_pdd_access_token_ttl_secs")]
    pub pdd_access_token_ttl_secs: u64,
    /// Refresh token lifetime (not documented; 30 days is our choice).
    #[serde(default = "default_refresh_token_ttl_secs")]
    pub refresh_token_ttl_secs: u64,
    /// Authorization code lifetime (documented 10 min).
    #[serde(default = "default_code_ttl_secs")]
    pub code_ttl_secs: u64,
    /// Whether a PDD refresh gives the new access token a fresh lifetime. The PDD doc says
    /// refreshing does not extend validity, so the default keeps the grant's expiry.
    #[serde(default)]
    pub pdd_refresh_extends_validity: bool,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            top_access_token_ttl_secs: default_top_access_token_ttl_secs(),
            pdd_access_token_ttl_secs: default_pdd_access_token_ttl_secs(),
            refresh_token_ttl_secs: default_refresh_token_ttl_secs(),
            code_ttl_secs: default_code_ttl_secs(),
            pdd_refresh_extends_validity: false,
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

/// The default PDD client_id (the PDD signing example).
pub const DEFAULT_PDD_CLIENT_ID: &str = "1";
/// The default PDD client_secret.
pub const DEFAULT_PDD_CLIENT_SECRET: &str = "testSecret";
/// The default PDD access_token; reads the Pinduoduo shop `123`.
pub const DEFAULT_PDD_ACCESS_TOKEN: &str = "asd78172s8ds9a921j9qqwda12312w1w21211";
/// The default JD app_key (the JD signing example).
pub const DEFAULT_JD_APP_KEY: &str = "yourappkey";
/// The default JD app secret.
pub const DEFAULT_JD_APP_SECRET: &str = "yourappSecret";
/// The default JD access_token; reads the JD shop `jd-5001`.
pub const DEFAULT_JD_ACCESS_TOKEN: &str = "yourtoken";
/// The default JD shop (a commerce-only shop).
pub const DEFAULT_JD_SHOP_ID: &str = "jd-5001";

fn default_pdd_apps() -> Vec<RouterAppConfig> {
    vec![RouterAppConfig {
        app_key: DEFAULT_PDD_CLIENT_ID.to_owned(),
        app_secret: Secret::new(DEFAULT_PDD_CLIENT_SECRET),
        tokens: vec![RouterTokenConfig {
            access_token: Secret::new(DEFAULT_PDD_ACCESS_TOKEN),
            shop_id: DEFAULT_AGGREGATOR_PDD_SHOP_ID.to_owned(),
            expired: false,
        }],
    }]
}

fn default_jd_apps() -> Vec<RouterAppConfig> {
    vec![RouterAppConfig {
        app_key: DEFAULT_JD_APP_KEY.to_owned(),
        app_secret: Secret::new(DEFAULT_JD_APP_SECRET),
        tokens: vec![RouterTokenConfig {
            access_token: Secret::new(DEFAULT_JD_ACCESS_TOKEN),
            shop_id: DEFAULT_JD_SHOP_ID.to_owned(),
            expired: false,
        }],
    }]
}

/// The default Kuaidi100 customer (platform-apis.md §4.1's local example, not official).
pub const DEFAULT_KUAIDI100_CUSTOMER: &str = "TESTCUSTOMER";
/// The default Kuaidi100 key.
pub const DEFAULT_KUAIDI100_KEY: &str = "testkey";

fn default_kuaidi100_accounts() -> Vec<Kuaidi100AccountConfig> {
    vec![Kuaidi100AccountConfig {
        customer: DEFAULT_KUAIDI100_CUSTOMER.to_owned(),
        key: Secret::new(DEFAULT_KUAIDI100_KEY),
    }]
}

fn default_kuaidi100_push_interval_ms() -> u64 {
    60_000
}

fn default_kuaidi100_retry_interval_ms() -> u64 {
    35 * 60 * 1000
}

fn default_kuaidi100_retries() -> u32 {
    3
}

fn default_kuaidi100_callback_timeout_ms() -> u64 {
    5_000
}

fn default_top_access_token_ttl_secs() -> u64 {
    7_776_000
}

fn default_pdd_access_token_ttl_secs() -> u64 {
    86_400
}

fn default_refresh_token_ttl_secs() -> u64 {
    2_592_000
}

fn default_code_ttl_secs() -> u64 {
    600
}

fn default_orders_per_minute() -> f64 {
    2.0
}

fn default_parcel_steps_per_minute() -> f64 {
    6.0
}

fn default_listing_changes_per_minute() -> f64 {
    1.0
}

fn default_history_events() -> u32 {
    60
}

fn default_max_skus_per_item() -> u32 {
    3
}

fn default_exception_ratio() -> f64 {
    0.06
}

fn default_return_ratio() -> f64 {
    0.04
}

fn default_reject_ratio() -> f64 {
    0.04
}

fn default_stall_ratio() -> f64 {
    0.06
}

fn default_extra_shops() -> Vec<CommerceShopConfig> {
    vec![CommerceShopConfig {
        platform: Platform::Jd,
        shop_id: DEFAULT_JD_SHOP_ID.to_owned(),
    }]
}

fn default_pdd_timestamp_tolerance_secs() -> u64 {
    600
}

fn default_pdd_goods_list_per_minute() -> u32 {
    600
}

fn default_pdd_goods_detail_per_minute() -> u32 {
    3000
}

fn default_pdd_goods_detail_total_per_sec() -> u32 {
    3000
}

fn default_pdd_ordertrace_per_20s() -> u32 {
    4800
}

fn default_jd_timestamp_tolerance_secs() -> u64 {
    360
}

fn default_jd_calls_per_sec() -> f64 {
    50.0
}

fn default_jd_burst() -> u32 {
    50
}

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
        let commerce = &self.commerce;
        for (key, value) in [
            ("commerce.orders_per_minute", commerce.orders_per_minute),
            (
                "commerce.parcel_steps_per_minute",
                commerce.parcel_steps_per_minute,
            ),
            (
                "commerce.listing_changes_per_minute",
                commerce.listing_changes_per_minute,
            ),
            ("commerce.exception_ratio", commerce.exception_ratio),
            ("commerce.return_ratio", commerce.return_ratio),
            ("commerce.reject_ratio", commerce.reject_ratio),
            ("commerce.stall_ratio", commerce.stall_ratio),
        ] {
            if !value.is_finite() || value < 0.0 {
                problems.push(format!("{key}: must be a finite number >= 0"));
            }
        }
        let ratios = commerce.exception_ratio
            + commerce.return_ratio
            + commerce.reject_ratio
            + commerce.stall_ratio;
        if ratios > 1.0 {
            problems.push(
                "commerce: exception, return, reject and stall ratios sum above 1".to_owned(),
            );
        }
        let mut commerce_ids: HashSet<&str> = self
            .shops
            .iter()
            .map(|shop| shop.shop_id.as_str())
            .collect();
        for (index, extra) in commerce.extra_shops.iter().enumerate() {
            if extra.shop_id.trim().is_empty() || !commerce_ids.insert(extra.shop_id.as_str()) {
                problems.push(format!(
                    "commerce.extra_shops[{index}].shop_id: {:?} is empty or already a shop",
                    extra.shop_id
                ));
            }
        }
        // The default router credentials may name a shop a custom world left out; they
        // then read an empty shop instead of failing the whole config.
        for (list, apps, defaults) in [
            ("pdd_apps", &self.credentials.pdd_apps, default_pdd_apps()),
            ("jd_apps", &self.credentials.jd_apps, default_jd_apps()),
        ] {
            let lenient = *apps == defaults;
            for (index, app) in apps.iter().enumerate() {
                if app.app_secret.is_empty() {
                    problems.push(format!(
                        "credentials.{list}[{index}].app_secret: must not be empty"
                    ));
                }
                for (token_index, token) in app.tokens.iter().enumerate() {
                    if !lenient && !commerce_ids.contains(token.shop_id.as_str()) {
                        problems.push(format!(
                            "credentials.{list}[{index}].tokens[{token_index}].shop_id: {:?} is \
                             not a shop of shops or commerce.extra_shops",
                            token.shop_id
                        ));
                    }
                }
            }
        }
        for (key, value) in [
            ("pdd.goods_list_per_minute", self.pdd.goods_list_per_minute),
            (
                "pdd.goods_detail_per_minute",
                self.pdd.goods_detail_per_minute,
            ),
            (
                "pdd.goods_detail_total_per_sec",
                self.pdd.goods_detail_total_per_sec,
            ),
            ("pdd.ordertrace_per_20s", self.pdd.ordertrace_per_20s),
            ("jd.burst", self.jd.burst),
        ] {
            if value == 0 {
                problems.push(format!("{key}: must be >= 1"));
            }
        }
        if self.kuaidi100.push_interval_ms == 0 {
            problems.push("kuaidi100.push_interval_ms: must be >= 1".to_owned());
        }
        if !(self.jd.calls_per_sec.is_finite() && self.jd.calls_per_sec > 0.0) {
            problems.push("jd.calls_per_sec: must be a finite number > 0".to_owned());
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
    fn new_sections_have_documented_defaults_and_checks() {
        let config = SimulatorConfig::default();
        assert_eq!(config.credentials.pdd_apps[0].app_key, "1");
        assert_eq!(config.credentials.pdd_apps[0].tokens[0].shop_id, "123");
        assert_eq!(config.credentials.jd_apps[0].tokens[0].shop_id, "jd-5001");
        assert_eq!(config.commerce.extra_shops[0].platform, Platform::Jd);
        assert_eq!(
            (
                config.pdd.timestamp_tolerance_secs,
                config.jd.timestamp_tolerance_secs
            ),
            (600, 360)
        );
        assert_eq!(config.pdd.goods_list_per_minute, 600);
        assert_eq!(config.oauth.code_ttl_secs, 600);
        // A custom world without shop 123 keeps working with the default PDD credentials.
        let custom: SimulatorConfig = serde_json::from_str(
            r#"{"shops":[{"platform":"taobao","shop_id":"tb-1","api":"top"}],
                "credentials":{"top_apps":[],"aggregator_tokens":[]}}"#,
        )
        .unwrap();
        assert_eq!(custom.validate(), Ok(()));
        let mut broken = SimulatorConfig::default();
        broken.credentials.pdd_apps[0].tokens[0].shop_id = "nope".to_owned();
        broken.commerce.extra_shops.push(CommerceShopConfig {
            platform: Platform::Jd,
            shop_id: "123".to_owned(),
        });
        broken.commerce.stall_ratio = 0.95;
        broken.kuaidi100.push_interval_ms = 0;
        let joined = broken.validate().unwrap_err().join("\n");
        for key in [
            "credentials.pdd_apps[0].tokens[0].shop_id",
            "commerce.extra_shops[1].shop_id",
            "commerce: exception",
            "kuaidi100.push_interval_ms",
        ] {
            assert!(joined.contains(key), "{key} missing from {joined}");
        }
    }

    #[test]
    fn secrets_are_not_printed() {
        let shown = format!("{:?}", SimulatorConfig::default());
        assert!(!shown.contains("helloworld"), "{shown}");
        for secret in ["testSecret", "yourappSecret", "yourtoken", "testkey"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            !shown.contains("1798c6aadec33d1bc2f5b707f1049aefexxxx"),
            "{shown}"
        );
    }
}
