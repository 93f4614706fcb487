//! Taobao Open Platform: `taobao.traderates.get` through the router (`/router/rest`), and
//! the signed call every TOP method uses ([`TopClient::call`]; listings and traces are in
//! `top_commerce`).
//!
//! - Signing (platform-apis §1.3): every parameter except `sign` with a non-empty name and
//!   value, sorted by name, concatenated `name1value1name2value2…`, digested with `md5`
//!   (`MD5(secret+S+secret)`), `hmac` (HMAC-MD5) or `hmac-sha256`, uppercase hex ([`sign`]).
//! - Request: POST form, `timestamp` in GMT+8, `format=json`, `v=2.0`, `rate_type=get`,
//!   `role=buyer`, `use_has_next=true`, the window as `start_date`/`end_date`.
//! - Responses (§1.4): standard `{"traderates_get_response":{"trade_rates":{"trade_rate":[…]},
//!   …}}` and the simplified `{"trade_rates":[…],…}` are both accepted whatever `simplify`
//!   asked for; errors are `{"error_response":{code,msg,sub_code,sub_msg}}`.
//! - Errors (§1.5) → [`classify`]: call limits (4–8, `accesscontrol.*`) throttle and honour
//!   "This ban will last for N more seconds"; `isp.*` and 10 retry; 26/27 mean the session is
//!   dead; 11/12/13 lack permission; the remaining platform validation codes and `isv.*`
//!   business errors are configuration errors.

use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use schemas::HealthCondition;
use sha2::Sha256;

use super::{
    body_excerpt, classify_unreadable, parse_body, parse_search_result, HttpTransport, JsonObject,
    Page, PageQuery, ReviewApi, FIELDS,
};
use crate::clock::{format_gmt8, Clock};
use crate::config::{SignMethod, TopConfig};
use crate::error::{IngestError, Result};

/// The API's short name.
pub(crate) const API: &str = "top";
/// The `source` of its records.
pub(crate) const SOURCE: &str = "top:taobao.traderates.get";
const METHOD: &str = "taobao.traderates.get";
const ROOT: &str = "traderates_get_response";
/// The longest announced ban [`TopClient::call`] waits out inside one request.
pub(crate) const INLINE_BAN_MAX_SECS: u64 = 5;
/// How often [`TopClient::call`] resends one request after a short ban.
pub(crate) const INLINE_BAN_RETRIES: u32 = 3;

/// Signs `params` (name, value) with `secret`; returns uppercase hex.
pub(crate) fn sign(params: &[(&str, String)], secret: &str, method: SignMethod) -> String {
    let mut sorted: Vec<&(&str, String)> = params
        .iter()
        .filter(|(name, value)| !name.is_empty() && !value.is_empty() && *name != "sign")
        .collect();
    sorted.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let mut joined = String::new();
    for (name, value) in sorted {
        joined.push_str(name);
        joined.push_str(value);
    }
    let digest = match method {
        SignMethod::Md5 => {
            let mut hasher = Md5::new();
            hasher.update(secret.as_bytes());
            hasher.update(joined.as_bytes());
            hasher.update(secret.as_bytes());
            hasher.finalize().to_vec()
        }
        SignMethod::Hmac => {
            // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
            let Ok(mut mac) = Hmac::<Md5>::new_from_slice(secret.as_bytes()) else {
                return String::new();
            };
            mac.update(joined.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        SignMethod::HmacSha256 => {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                return String::new();
            };
            mac.update(joined.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    hex::encode_upper(digest)
}

/// The TOP client of one shop.
pub(crate) struct TopClient {
    config: TopConfig,
    transport: HttpTransport,
    clock: Arc<dyn Clock>,
    /// What the listing poll remembers between polls (SKUs, deleted items).
    pub(crate) listing_memory: tokio::sync::Mutex<super::top_commerce::ListingMemory>,
}

impl TopClient {
    pub(crate) fn new(config: TopConfig, transport: HttpTransport, clock: Arc<dyn Clock>) -> Self {
        TopClient {
            config,
            transport,
            clock,
            listing_memory: tokio::sync::Mutex::default(),
        }
    }

    /// Returns the signed form of one page request.
    pub(crate) fn form(&self, query: &PageQuery) -> Vec<(&'static str, String)> {
        self.signed_form(
            METHOD,
            vec![
                ("fields", FIELDS.to_owned()),
                ("rate_type", "get".to_owned()),
                ("role", "buyer".to_owned()),
                ("page_no", query.page_no.to_string()),
                ("page_size", query.page_size.to_string()),
                ("start_date", format_gmt8(query.window.start_secs)),
                ("end_date", format_gmt8(query.window.end_secs)),
                ("use_has_next", "true".to_owned()),
            ],
        )
    }

    /// Returns the signed form of `method` with its business parameters `params`: the system
    /// parameters (`app_key`, `session`, GMT+8 `timestamp`, `format`, `v`, `sign_method`,
    /// `simplify` when configured) are added, then `sign`.
    pub(crate) fn signed_form(
        &self,
        method: &str,
        params: Vec<(&'static str, String)>,
    ) -> Vec<(&'static str, String)> {
        let mut form: Vec<(&'static str, String)> = vec![
            ("method", method.to_owned()),
            ("app_key", self.config.app_key.clone()),
            ("session", self.config.session.expose().to_owned()),
            (
                "timestamp",
                format_gmt8(self.clock.now_ms().div_euclid(1000)),
            ),
            ("format", "json".to_owned()),
            ("v", "2.0".to_owned()),
            ("sign_method", self.config.sign_method.as_str().to_owned()),
        ];
        form.extend(params);
        if self.config.simplify {
            form.push(("simplify", "true".to_owned()));
        }
        let signature = sign(
            &form,
            self.config.app_secret.expose(),
            self.config.sign_method,
        );
        form.push(("sign", signature));
        form
    }

    /// Calls `method` and returns its result object (the `root` member of a standard
    /// envelope, or the whole body of a simplified one), or the platform's error body so
    /// the caller can tell a business answer (`isv.item-is-delete`) from a failure; the
    /// outer error is a transport or unreadable-body failure.
    ///
    /// Paced by `calls_per_sec` when set. A throttle whose announced ban is at most
    /// [`INLINE_BAN_MAX_SECS`] is waited out and the same request sent again (up to
    /// [`INLINE_BAN_RETRIES`] times), so a burst of `item.seller.get` does not lose the poll.
    pub(crate) async fn call(
        &self,
        method: &str,
        root: &str,
        params: Vec<(&'static str, String)>,
    ) -> Result<std::result::Result<JsonObject, TopErrorBody>> {
        let mut retries = 0;
        loop {
            self.pace().await;
            let form = self.signed_form(method, params.clone());
            let response = self
                .transport
                .post_form(API, &self.config.endpoint, &form, None)
                .await?;
            let outcome = parse_envelope(root, response.status, &response.body)?;
            if let Err(error) = &outcome {
                if let IngestError::Throttled {
                    retry_after_secs: Some(secs),
                    ..
                } = classify(error)
                {
                    if secs <= INLINE_BAN_MAX_SECS && retries < INLINE_BAN_RETRIES {
                        retries += 1;
                        tokio::time::sleep(std::time::Duration::from_secs(secs.max(1))).await;
                        continue;
                    }
                }
            }
            return Ok(outcome);
        }
    }

    /// Waits for a token of the app's `calls_per_sec` bucket, when configured.
    async fn pace(&self) {
        if let Some(calls) = self.config.calls_per_sec {
            let quota = crate::rate_limit::Quota {
                count: calls.max(1),
                per_secs: 1,
            };
            crate::rate_limit::limiter()
                .acquire(&[(format!("top/app/{}", self.config.app_key), quota)])
                .await;
        }
    }

    /// The shop's configuration.
    pub(crate) fn config(&self) -> &TopConfig {
        &self.config
    }
}

/// Reads a router envelope: the `root` object, a simplified body (no `root`, no
/// `error_response`, a JSON object) or the `error_response`.
pub(crate) fn parse_envelope(
    root: &str,
    status: u16,
    body: &[u8],
) -> Result<std::result::Result<JsonObject, TopErrorBody>> {
    let object = parse_body(API, status, body)?;
    let bad = |reason: String| IngestError::BadResponse { api: API, reason };
    if let Some(error) = object.object("error_response") {
        let error = error.map_err(|error| bad(format!("malformed error_response: {error}")))?;
        return Ok(Err(TopErrorBody::from_object(&error)));
    }
    if !(200..300).contains(&status) {
        return Err(classify_unreadable(API, status, body_excerpt(body)));
    }
    match object.object(root) {
        Some(inner) => inner
            .map(Ok)
            .map_err(|error| bad(format!("malformed {root}: {error}"))),
        None => Ok(Ok(object)),
    }
}

#[async_trait]
impl ReviewApi for TopClient {
    fn api(&self) -> &'static str {
        API
    }

    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn fetch_page(&self, query: &PageQuery) -> Result<Page> {
        self.pace().await;
        let form = self.form(query);
        let response = self
            .transport
            .post_form(API, &self.config.endpoint, &form, None)
            .await?;
        parse_response(response.status, &response.body)
    }
}

/// Parses a router response body; see the module docs for the accepted shapes.
pub(crate) fn parse_response(status: u16, body: &[u8]) -> Result<Page> {
    let root = parse_body(API, status, body)?;
    let bad = |reason: String| IngestError::BadResponse { api: API, reason };
    if let Some(error) = root.object("error_response") {
        let error = error.map_err(|error| bad(format!("malformed error_response: {error}")))?;
        return Err(classify(&TopErrorBody::from_object(&error)));
    }
    if let Some(inner) = root.object(ROOT) {
        let inner = inner.map_err(|error| bad(format!("malformed {ROOT}: {error}")))?;
        return parse_search_result(&inner).map_err(bad);
    }
    if root.contains("trade_rates") || root.contains("total_results") || root.contains("has_next") {
        return parse_search_result(&root).map_err(bad);
    }
    if !(200..300).contains(&status) {
        return Err(classify_unreadable(API, status, body_excerpt(body)));
    }
    Err(bad(format!(
        "wrong envelope: neither {ROOT}, error_response nor a simplified result: {}",
        body_excerpt(body)
    )))
}

/// The fields of an `error_response`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TopErrorBody {
    pub(crate) code: Option<i64>,
    pub(crate) msg: String,
    pub(crate) sub_code: String,
    pub(crate) sub_msg: String,
}

impl TopErrorBody {
    pub(crate) fn from_object(object: &JsonObject) -> Self {
        TopErrorBody {
            code: object.text("code").and_then(|code| code.parse().ok()),
            msg: object.text("msg").unwrap_or_default(),
            sub_code: object.text("sub_code").unwrap_or_default(),
            sub_msg: object.text("sub_msg").unwrap_or_default(),
        }
    }
}

/// Maps a TOP error to what the poller does; see the module docs.
pub(crate) fn classify(error: &TopErrorBody) -> IngestError {
    let code = error
        .code
        .map_or_else(|| "unknown".to_owned(), |code| code.to_string());
    let mut message = error.msg.clone();
    if !error.sub_code.is_empty() {
        message.push_str(&format!(" [{}]", error.sub_code));
    }
    if !error.sub_msg.is_empty() {
        message.push_str(&format!(": {}", error.sub_msg));
    }
    let sub_code = error.sub_code.as_str();
    let throttled = || IngestError::Throttled {
        api: API,
        code: code.clone(),
        message: message.clone(),
        retry_after_secs: super::parse_ban_secs(&error.sub_msg)
            .or_else(|| super::parse_ban_secs(&error.msg)),
    };
    if sub_code.starts_with("accesscontrol.") {
        return throttled();
    }
    if sub_code.starts_with("isp.") {
        return IngestError::ApiFailing {
            api: API,
            code,
            message,
        };
    }
    match error.code {
        Some(4..=8) => throttled(),
        Some(26 | 27) => IngestError::TokenDead {
            api: API,
            code,
            message: format!("{message}; re-authorize the app for this shop and update `session`"),
        },
        Some(11..=13) => IngestError::AccessDenied {
            api: API,
            code,
            message: format!(
                "{message}; grant the app the permission for {METHOD} (API package, IP whitelist)"
            ),
            condition: HealthCondition::Unauthorized,
            authorize_url: None,
        },
        Some(25) => rejected(code, format!("{message}; check app_secret and sign_method")),
        Some(29 | 28) => rejected(code, format!("{message}; check app_key")),
        Some(31) => rejected(
            code,
            format!("{message}; the host clock is more than 10 minutes off GMT+8"),
        ),
        Some(9 | 21..=24 | 30 | 32..=34 | 40..=43) => rejected(code, message),
        Some(15) if sub_code.starts_with("isv.") => rejected(code, message),
        _ if sub_code.starts_with("isv.") => rejected(code, message),
        // 3, 10, 15 without an isv.* sub_code, legacy 5xx and unknown codes: server side.
        _ => IngestError::ApiFailing {
            api: API,
            code,
            message,
        },
    }
}

fn rejected(code: String, message: String) -> IngestError {
    IngestError::Rejected {
        api: API,
        code,
        message,
    }
}
