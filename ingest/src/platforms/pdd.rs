//! Pinduoduo open platform: the router `/api/router` (platform-apis §2).
//!
//! - Signing (§2.3): every sent parameter except `sign`, sorted by name, concatenated
//!   `name1value1…`, wrapped in the client secret, MD5, uppercase hex ([`sign`]); the same
//!   digest as TOP's `md5`.
//! - Request: POST form with `type`, `client_id`, `access_token`, `timestamp` (UNIX
//!   **seconds**), `data_type=JSON` and the business parameters at the same level.
//! - Responses (§2.4): the success root is per method and not derivable from its name (the
//!   caller names it, e.g. `goods_list_get_response`, the documented typo
//!   `logistics_ordertrace_get_resposne`); errors are `{"error_response":{error_code (number),
//!   error_msg, sub_code, sub_msg}}`.
//! - Errors (§2.5) → [`classify`]: 10019 the token is dead; 52101 / 70031 throttle (honouring
//!   a "ban will last for N more seconds" text); 52102/52103/70033 and 5xxxx internal errors
//!   retry; 20031 lacks the permission package, 70032/70034/70035 forbid the app or shop,
//!   70036 used up the test quota (a person must act); 20004 (signature), 20005 (IP
//!   whitelist) and the other 1xxxx–3xxxx parameter codes are configuration errors.
//! - OAuth (§2.6): with a configured `refresh_token`, `pdd.pop.auth.token.refresh` replaces
//!   the access token 5 minutes before the `expires_at` a refresh reported, and on 10019
//!   (then the request is sent once more, so it is not lost); a refused refresh is a dead
//!   token. The new tokens live in memory only (re-read from config after a restart).
//! - Rate limits: every call first takes a token of its §6 buckets (`rate_limit`); a 70031 /
//!   52101 that still happens is a throttle like any other.
//! - Reviews: PDD has no merchant review API (§2.10). The shop's `ReviewApi` probes the
//!   credential with one `pdd.goods.list.get` row per poll, so source health tracks the
//!   token, and yields no rating.
//! - Listings: `pdd.goods.list.get` pages of 100 for the goods ids, then one
//!   `pdd.goods.detail.get` per goods ([`goods_snapshot`]: `status` →
//!   `listings::pdd_goods_status`, SKU `price` already in fen).
//! - Shipments: `pdd.logistics.ordertrace.get` for each configured waybill (`waybills`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use schemas::{HealthCondition, Listing, ListingStatus, Secret, Sku};
use tracing::info;

use super::{
    body_excerpt, classify_unreadable, parse_body, top, HttpTransport, JsonObject, Page, PageQuery,
    ReviewApi,
};
use crate::clock::{parse_gmt8_ms, Clock};
use crate::config::{PddConfig, SignMethod};
use crate::error::{IngestError, Result};
use crate::listings::{ListingApi, ListingSnapshot};
use crate::rate_limit::{limiter, pdd_quotas};
use crate::shipments::{trace_shipment, ShipmentApi, ShipmentSnapshot, TraceNode};

/// The API's short name.
pub(crate) const API: &str = "pdd";
/// The `source` of its records.
pub(crate) const SOURCE: &str = "pdd:pdd.goods.list.get";
/// Lists the shop's goods.
pub(crate) const GOODS_LIST_GET: &str = "pdd.goods.list.get";
/// The success root of [`GOODS_LIST_GET`].
pub(crate) const GOODS_LIST_ROOT: &str = "goods_list_get_response";

/// Signs `params` (name, value) with the client secret; returns uppercase hex.
pub(crate) fn sign(params: &[(&str, String)], client_secret: &str) -> String {
    top::sign(params, client_secret, SignMethod::Md5)
}

/// The token exchange method (§2.6); only tests exchange codes so far.
#[cfg(test)]
pub(crate) const TOKEN_CREATE: &str = "pdd.pop.auth.token.create";
/// The token refresh method (§2.6).
pub(crate) const TOKEN_REFRESH: &str = "pdd.pop.auth.token.refresh";
/// The success root of [`TOKEN_REFRESH`] (inferred from `…create_response`).
pub(crate) const TOKEN_REFRESH_ROOT: &str = "pop_auth_token_refresh_response";
/// A token is refreshed this long before its `expires_at`.
pub(crate) const REFRESH_AHEAD_MS: i64 = 300_000;

/// Returns true when a token expiring at `expires_at_ms` must be refreshed at `now_ms`
/// (a refresh token is known and the expiry is at most [`REFRESH_AHEAD_MS`] away).
pub(crate) fn refresh_due(
    has_refresh_token: bool,
    expires_at_ms: Option<i64>,
    now_ms: i64,
) -> bool {
    has_refresh_token && expires_at_ms.is_some_and(|at| now_ms >= at - REFRESH_AHEAD_MS)
}

/// The shop's current credentials (replaced by a refresh).
#[derive(Debug, Clone)]
struct Tokens {
    access_token: Secret,
    refresh_token: Option<Secret>,
    /// When the access token expires, once a refresh told us.
    expires_at_ms: Option<i64>,
}

/// The PDD client of one shop. One instance serves the shop's review probe, listings and
/// shipments, so a refresh is shared by all of them.
pub(crate) struct PddClient {
    config: PddConfig,
    transport: HttpTransport,
    clock: Arc<dyn Clock>,
    tokens: Mutex<Tokens>,
    /// The shop's id, keying its per-shop rate limits.
    shop_id: String,
    /// Serializes refreshes, so concurrent callers refresh once.
    refreshing: tokio::sync::Mutex<()>,
}

impl PddClient {
    pub(crate) fn new(config: PddConfig, transport: HttpTransport, clock: Arc<dyn Clock>) -> Self {
        let tokens = Tokens {
            access_token: config.access_token.clone(),
            refresh_token: config.refresh_token.clone(),
            expires_at_ms: None,
        };
        PddClient {
            config,
            transport,
            clock,
            tokens: Mutex::new(tokens),
            shop_id: String::new(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Names the shop whose per-shop rate limits this client honours.
    pub(crate) fn for_shop(mut self, shop_id: &str) -> Self {
        self.shop_id = shop_id.to_owned();
        self
    }

    #[cfg(test)]
    pub(crate) fn access_token(&self) -> Secret {
        self.tokens().access_token
    }

    fn tokens(&self) -> Tokens {
        // A poisoned lock only means another task panicked mid-assignment of plain data.
        match self.tokens.lock() {
            Ok(tokens) => tokens.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_tokens(&self, tokens: Tokens) {
        match self.tokens.lock() {
            Ok(mut current) => *current = tokens,
            Err(poisoned) => *poisoned.into_inner() = tokens,
        }
    }

    /// Returns the signed form calling `method` with `business` parameters.
    pub(crate) fn form(
        &self,
        method: &str,
        business: &[(&'static str, String)],
    ) -> Vec<(&'static str, String)> {
        let access_token = self.tokens().access_token;
        self.signed(method, Some(&access_token), business)
    }

    pub(crate) fn signed(
        &self,
        method: &str,
        access_token: Option<&Secret>,
        business: &[(&'static str, String)],
    ) -> Vec<(&'static str, String)> {
        let mut form: Vec<(&'static str, String)> = vec![
            ("type", method.to_owned()),
            ("client_id", self.config.client_id.clone()),
            (
                "timestamp",
                self.clock.now_ms().div_euclid(1000).to_string(),
            ),
            ("data_type", "JSON".to_owned()),
        ];
        if let Some(token) = access_token {
            form.push(("access_token", token.expose().to_owned()));
        }
        form.extend(business.iter().cloned());
        let signature = sign(&form, self.config.client_secret.expose());
        form.push(("sign", signature));
        form
    }

    /// Calls `method` and returns the object under its success root `root`. With a
    /// `refresh_token`, the access token is refreshed ahead of its known expiry and, on
    /// 10019, refreshed and the request sent once more.
    pub(crate) async fn call(
        &self,
        method: &str,
        root: &str,
        business: &[(&'static str, String)],
    ) -> Result<JsonObject> {
        let tokens = self.tokens();
        if refresh_due(
            tokens.refresh_token.is_some(),
            tokens.expires_at_ms,
            self.clock.now_ms(),
        ) {
            self.refresh(&tokens.access_token).await?;
        }
        let used = self.tokens().access_token;
        match self.call_once(method, root, business).await {
            Err(IngestError::TokenDead { .. }) if self.tokens().refresh_token.is_some() => {
                self.refresh(&used).await?;
                self.call_once(method, root, business).await
            }
            outcome => outcome,
        }
    }

    async fn call_once(
        &self,
        method: &str,
        root: &str,
        business: &[(&'static str, String)],
    ) -> Result<JsonObject> {
        limiter()
            .acquire(&pdd_quotas(method, &self.config.client_id, &self.shop_id))
            .await;
        let form = self.form(method, business);
        let response = self
            .transport
            .post_form(API, &self.config.endpoint, &form, None)
            .await?;
        parse_response(root, response.status, &response.body)
    }

    /// Refreshes the access token unless another caller already replaced `stale`.
    async fn refresh(&self, stale: &Secret) -> Result<()> {
        let _guard = self.refreshing.lock().await;
        let tokens = self.tokens();
        if tokens.access_token.expose() != stale.expose() {
            return Ok(());
        }
        let Some(refresh_token) = tokens.refresh_token else {
            return Ok(());
        };
        let form = self.signed(
            TOKEN_REFRESH,
            None,
            &[("refresh_token", refresh_token.expose().to_owned())],
        );
        let response = self
            .transport
            .post_form(API, &self.config.endpoint, &form, None)
            .await?;
        let grant = match parse_response(TOKEN_REFRESH_ROOT, response.status, &response.body) {
            Ok(grant) => grant,
            Err(IngestError::Rejected { code, message, .. }) => {
                return Err(IngestError::TokenDead {
                    api: API,
                    code,
                    message: format!("token refresh refused: {message}; re-authorize the shop"),
                })
            }
            Err(error) => return Err(error),
        };
        let access_token = grant.text("access_token").ok_or(IngestError::BadResponse {
            api: API,
            reason: "token refresh answered no access_token".to_owned(),
        })?;
        let expires_at_ms = grant
            .text("expires_at")
            .and_then(|at| at.parse::<i64>().ok())
            .map(|secs| secs.saturating_mul(1000))
            .or_else(|| {
                grant
                    .unsigned("expires_in")
                    .and_then(|secs| i64::try_from(secs).ok())
                    .map(|secs| self.clock.now_ms() + secs.saturating_mul(1000))
            });
        self.set_tokens(Tokens {
            access_token: Secret::new(access_token),
            refresh_token: grant
                .text("refresh_token")
                .map(Secret::new)
                .or(Some(refresh_token)),
            expires_at_ms,
        });
        info!(api = API, "access token refreshed");
        Ok(())
    }
}

#[async_trait]
impl ReviewApi for PddClient {
    fn api(&self) -> &'static str {
        API
    }

    fn source(&self) -> &'static str {
        SOURCE
    }

    /// Probes the credential (see the module docs); never yields a rating.
    async fn fetch_page(&self, _query: &PageQuery) -> Result<Page> {
        let business = [("page", "1".to_owned()), ("page_size", "1".to_owned())];
        self.call(GOODS_LIST_GET, GOODS_LIST_ROOT, &business)
            .await?;
        Ok(Page {
            rates: Vec::new(),
            total_results: Some(0),
            has_next: Some(false),
        })
    }
}

/// Parses a router response whose success root is `root`.
pub(crate) fn parse_response(root: &str, status: u16, body: &[u8]) -> Result<JsonObject> {
    let object = parse_body(API, status, body)?;
    let bad = |reason: String| IngestError::BadResponse { api: API, reason };
    if let Some(error) = object.object("error_response") {
        let error = error.map_err(|error| bad(format!("malformed error_response: {error}")))?;
        return Err(classify(&PddErrorBody::from_object(&error)));
    }
    if let Some(inner) = object.object(root) {
        return inner.map_err(|error| bad(format!("malformed {root}: {error}")));
    }
    if !(200..300).contains(&status) {
        return Err(classify_unreadable(API, status, body_excerpt(body)));
    }
    Err(bad(format!(
        "wrong envelope: neither {root} nor error_response: {}",
        body_excerpt(body)
    )))
}

/// The fields of an `error_response`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PddErrorBody {
    pub(crate) error_code: Option<i64>,
    pub(crate) error_msg: String,
    pub(crate) sub_code: String,
    pub(crate) sub_msg: String,
}

impl PddErrorBody {
    fn from_object(object: &JsonObject) -> Self {
        PddErrorBody {
            error_code: object.text("error_code").and_then(|code| code.parse().ok()),
            error_msg: object.text("error_msg").unwrap_or_default(),
            sub_code: object.text("sub_code").unwrap_or_default(),
            sub_msg: object.text("sub_msg").unwrap_or_default(),
        }
    }
}

/// Maps a PDD error to what the poller does; see the module docs.
pub(crate) fn classify(error: &PddErrorBody) -> IngestError {
    let code = error
        .error_code
        .map_or_else(|| "unknown".to_owned(), |code| code.to_string());
    let mut message = error.error_msg.clone();
    if !error.sub_code.is_empty() {
        message.push_str(&format!(" [{}]", error.sub_code));
    }
    if !error.sub_msg.is_empty() {
        message.push_str(&format!(": {}", error.sub_msg));
    }
    let denied = |condition: HealthCondition, hint: &str| IngestError::AccessDenied {
        api: API,
        code: code.clone(),
        message: format!("{message}; {hint}"),
        condition,
        authorize_url: None,
    };
    match error.error_code {
        Some(10019) => IngestError::TokenDead {
            api: API,
            code,
            message: format!("{message}; refresh or re-authorize and update `access_token`"),
        },
        Some(52101 | 70031) => IngestError::Throttled {
            api: API,
            code: code.clone(),
            message: message.clone(),
            retry_after_secs: super::parse_ban_secs(&error.sub_msg)
                .or_else(|| super::parse_ban_secs(&error.error_msg)),
        },
        Some(20031) => denied(
            HealthCondition::Unauthorized,
            "the app lacks the permission package for this API",
        ),
        Some(70032 | 70034 | 70035) => denied(
            HealthCondition::Unauthorized,
            "the platform forbids this app or shop",
        ),
        Some(70036) => denied(
            HealthCondition::QuotaExhausted,
            "the test app reached its daily call cap",
        ),
        Some(20004) => IngestError::Rejected {
            api: API,
            code,
            message: format!("{message}; check client_secret"),
        },
        Some(20005) => IngestError::Rejected {
            api: API,
            code,
            message: format!("{message}; add this host's IP to the app's whitelist"),
        },
        Some(52102 | 52103 | 70033) | Some(50000..=52099) => IngestError::ApiFailing {
            api: API,
            code,
            message,
        },
        Some(10000..=39999) => IngestError::Rejected {
            api: API,
            code,
            message,
        },
        _ => IngestError::ApiFailing {
            api: API,
            code,
            message,
        },
    }
}

/// One goods' details, for listing snapshots.
pub(crate) const GOODS_DETAIL_GET: &str = "pdd.goods.detail.get";
/// The success root of [`GOODS_DETAIL_GET`].
pub(crate) const GOODS_DETAIL_ROOT: &str = "goods_detail_get_response";
/// The `source` of listing records.
pub(crate) const LISTING_SOURCE: &str = "pdd:pdd.goods.detail.get";
const GOODS_PAGE_SIZE: u64 = 100;
/// At most this many goods pages per poll (10,000 goods), against a runaway `total_count`.
const MAX_GOODS_PAGES: u64 = 100;

#[async_trait]
impl ListingApi for PddClient {
    fn api(&self) -> &'static str {
        API
    }

    fn listing_source(&self) -> &'static str {
        LISTING_SOURCE
    }

    /// Pages through `pdd.goods.list.get` (ids, no prices) and reads each goods'
    /// `pdd.goods.detail.get` (status 1–4, SKU prices in fen).
    async fn fetch_listings(&self) -> Result<Vec<ListingSnapshot>> {
        let bad = |reason: String| IngestError::BadResponse { api: API, reason };
        let mut goods_ids = Vec::new();
        for page in 1..=MAX_GOODS_PAGES {
            let business = [
                ("page", page.to_string()),
                ("page_size", GOODS_PAGE_SIZE.to_string()),
            ];
            let inner = self
                .call(GOODS_LIST_GET, GOODS_LIST_ROOT, &business)
                .await?;
            let goods: Vec<JsonObject> = match inner.get("goods_list") {
                Some(raw) if raw.get().trim() != "null" => serde_json::from_str(raw.get())
                    .map_err(|error| bad(format!("bad goods_list: {error}")))?,
                _ => Vec::new(),
            };
            let received = goods.len() as u64;
            goods_ids.extend(goods.iter().filter_map(|goods| goods.text("goods_id")));
            let total = inner.unsigned("total_count").unwrap_or(0);
            if received < GOODS_PAGE_SIZE || page * GOODS_PAGE_SIZE >= total {
                break;
            }
        }
        let mut snapshots = Vec::with_capacity(goods_ids.len());
        for goods_id in goods_ids {
            let detail = self
                .call(
                    GOODS_DETAIL_GET,
                    GOODS_DETAIL_ROOT,
                    &[("goods_id", goods_id)],
                )
                .await?;
            snapshots.push(goods_snapshot(&detail).map_err(bad)?);
        }
        Ok(snapshots)
    }
}

/// Normalizes one `goods_detail_get_response`: price = the lowest single-buy SKU price,
/// stock = the SKUs' summed `quantity`.
pub(crate) fn goods_snapshot(detail: &JsonObject) -> std::result::Result<ListingSnapshot, String> {
    let item_id = detail.text("goods_id").ok_or("goods without goods_id")?;
    let raw_status = detail.text("status");
    let status = raw_status
        .as_deref()
        .and_then(|code| code.parse().ok())
        .map_or(ListingStatus::Unknown, crate::listings::pdd_goods_status);
    let sku_objects: Vec<JsonObject> = match detail.get("sku_list") {
        Some(raw) if raw.get().trim() != "null" => serde_json::from_str(raw.get())
            .map_err(|error| format!("goods {item_id}: bad sku_list: {error}"))?,
        _ => Vec::new(),
    };
    let skus: Vec<Sku> = sku_objects
        .iter()
        .filter_map(|sku| {
            Some(Sku {
                sku_id: sku.text("sku_id")?,
                properties: sku.text("spec"),
                price_fen: sku.text("price").and_then(|price| price.parse().ok()),
                stock: sku.text("quantity").and_then(|stock| stock.parse().ok()),
            })
        })
        .collect();
    let price_fen = skus.iter().filter_map(|sku| sku.price_fen).min();
    let stock = skus
        .iter()
        .map(|sku| sku.stock)
        .sum::<Option<i64>>()
        .filter(|_| !skus.is_empty());
    Ok(ListingSnapshot {
        listing: Listing {
            item_id,
            title: detail.text("goods_name"),
            status,
            raw_status,
            price_fen,
            stock,
            skus,
            modified_at_ms: None,
        },
        payload: detail.to_json_replacing(|_, _| None),
    })
}

/// One waybill's trace.
pub(crate) const ORDERTRACE_GET: &str = "pdd.logistics.ordertrace.get";
/// The success root of [`ORDERTRACE_GET`], with the documented typo.
pub(crate) const ORDERTRACE_ROOT: &str = "logistics_ordertrace_get_resposne";
/// The `source` of shipment records.
pub(crate) const SHIPMENT_SOURCE: &str = "pdd:pdd.logistics.ordertrace.get";

#[async_trait]
impl ShipmentApi for PddClient {
    fn api(&self) -> &'static str {
        API
    }

    fn shipment_source(&self) -> &'static str {
        SHIPMENT_SOURCE
    }

    /// One `pdd.logistics.ordertrace.get` per configured waybill; nodes carry `action`,
    /// `desc` and `time`/`status_time` (GMT+8).
    async fn fetch_shipments(&self) -> Result<Vec<ShipmentSnapshot>> {
        let mut snapshots = Vec::with_capacity(self.config.waybills.len());
        for waybill in &self.config.waybills {
            let business = [
                ("company_code", waybill.carrier_code.clone()),
                ("mail_no", waybill.waybill_no.clone()),
            ];
            let inner = self
                .call(ORDERTRACE_GET, ORDERTRACE_ROOT, &business)
                .await?;
            let nodes: Vec<JsonObject> = match inner.get("trace_list") {
                Some(raw) if raw.get().trim() != "null" => serde_json::from_str(raw.get())
                    .map_err(|error| IngestError::BadResponse {
                        api: API,
                        reason: format!("bad trace_list: {error}"),
                    })?,
                _ => Vec::new(),
            };
            let nodes = nodes
                .iter()
                .filter_map(|node| {
                    let time = node.text("time").or_else(|| node.text("status_time"))?;
                    Some(TraceNode {
                        at_ms: parse_gmt8_ms(&time)?,
                        description: node
                            .text("desc")
                            .or_else(|| node.text("status_desc"))
                            .unwrap_or_default(),
                        location: None,
                        action: node.text("action"),
                    })
                })
                .collect();
            let payload = inner.to_json_replacing(|_, _| None);
            snapshots.extend(trace_shipment(waybill, nodes, payload));
        }
        Ok(snapshots)
    }
}
