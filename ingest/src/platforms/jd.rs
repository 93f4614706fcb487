//! JD open platform: the router `/routerjson` and `getVenderCommentsForJos` (platform-apis §3).
//!
//! - Signing (§3.2): every parameter except `sign`, sorted by name (`360buy_param_json`
//!   first), concatenated `name1value1…`, wrapped in the app secret, MD5, uppercase hex
//!   ([`sign`]); the timestamp is signed exactly as sent.
//! - Request: POST form with `method`, `app_key`, `access_token`, `timestamp` (GMT+8
//!   `yyyy-MM-dd HH:mm:ss`), `v=2.0` and the business parameters as one JSON object in
//!   `360buy_param_json`.
//! - Responses (§3.3): success is `{"<method, dots → _>_responce":{"code":"0",…}}` (the
//!   documented misspelling; `_response` is accepted too); a non-"0" inner `code` is a business
//!   error (a configuration error); gateway errors are `{"error_response":{"code":"<n>",
//!   "zh_desc","en_desc"}}` with a string code.
//! - Errors → [`classify`]: 2 "App Call Limited" throttles; 18/19 the token is missing or
//!   dead; 24 lacks the API permission; 7/8 (clock), 11/12 (signature), 20/21 (app key) and
//!   the other gateway codes below 66 are configuration errors; 66 and unknown codes retry.
//! - Reviews: `jingdong.pop.PopCommentJsfService.getVenderCommentsForJos` with the window as
//!   `beginTime`/`endTime` (GMT+8); JD caps `pageSize` at 50, so a poller page of N ratings
//!   is fetched as N/d JD pages of d ≤ 50 (d the largest divisor of N not above 50). Each
//!   comment becomes a TradeRate-shaped object ([`comment_to_rate`]: `orderId` → `tid`,
//!   `commentId` → `oid`, `creationTime` → `created`, `score` 4–5 good / 2–3 neutral / 1 bad,
//!   `nickName` → `nick`, `replyContent` → `reply`, `wareId` → `num_iid`, `skuName` →
//!   `item_title`), which `trade_rate` turns into a review record like the others.
//! - Listings: `jingdong.ware.read.searchWare4Valid` pages of 100 with `field` =
//!   `jdPrice,stockNum,modified` ([`ware_snapshot`]: `jdPrice` yuan → fen, `wareStatus` →
//!   `listings::jd_ware_status`).
//! - Shipments: `jingdong.ldop.receive.trace.get` for each configured waybill (`waybills`,
//!   with the JDL `customer_code`).

use std::sync::Arc;

use async_trait::async_trait;
use schemas::{HealthCondition, Listing, ListingStatus};
use serde_json::{json, Map, Value};

use super::trade_rate::yuan_to_fen;
use super::{
    body_excerpt, classify_unreadable, parse_body, top, HttpTransport, JsonObject, Page, PageQuery,
    ReviewApi,
};
use crate::clock::{format_gmt8, parse_gmt8_ms, Clock};
use crate::config::{JdConfig, SignMethod};
use crate::error::{IngestError, Result};
use crate::listings::{ListingApi, ListingSnapshot};
use crate::shipments::{trace_shipment, ShipmentApi, ShipmentSnapshot, TraceNode};

/// The API's short name.
pub(crate) const API: &str = "jd";
/// The `source` of its records.
pub(crate) const SOURCE: &str = "jd:getVenderCommentsForJos";
/// The shop's buyer comments.
pub(crate) const VENDER_COMMENTS: &str =
    "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos";
/// JD's largest comment page.
pub(crate) const MAX_COMMENT_PAGE: u32 = 50;

/// Signs `params` (name, value) with the app secret; returns uppercase hex.
pub(crate) fn sign(params: &[(&str, String)], app_secret: &str) -> String {
    top::sign(params, app_secret, SignMethod::Md5)
}

/// The JD client of one shop.
pub(crate) struct JdClient {
    config: JdConfig,
    transport: HttpTransport,
    clock: Arc<dyn Clock>,
}

impl JdClient {
    pub(crate) fn new(config: JdConfig, transport: HttpTransport, clock: Arc<dyn Clock>) -> Self {
        JdClient {
            config,
            transport,
            clock,
        }
    }

    /// Returns the signed form calling `method` with the business parameters `business`.
    pub(crate) fn form(&self, method: &str, business: &Value) -> Vec<(&'static str, String)> {
        let mut form: Vec<(&'static str, String)> = vec![
            ("360buy_param_json", business.to_string()),
            ("access_token", self.config.access_token.expose().to_owned()),
            ("app_key", self.config.app_key.clone()),
            ("method", method.to_owned()),
            (
                "timestamp",
                format_gmt8(self.clock.now_ms().div_euclid(1000)),
            ),
            ("v", "2.0".to_owned()),
        ];
        let signature = sign(&form, self.config.app_secret.expose());
        form.push(("sign", signature));
        form
    }

    /// Calls `method` and returns the object under its `_responce` root.
    pub(crate) async fn call(&self, method: &str, business: &Value) -> Result<JsonObject> {
        let form = self.form(method, business);
        let response = self
            .transport
            .post_form(API, &self.config.endpoint, &form, None)
            .await?;
        parse_response(method, response.status, &response.body)
    }
}

/// Returns the JD page size used for a poller page of `page_size`: the largest divisor of
/// `page_size` not above [`MAX_COMMENT_PAGE`].
pub(crate) fn jd_page_size(page_size: u32) -> u32 {
    (1..=page_size.clamp(1, MAX_COMMENT_PAGE))
        .rev()
        .find(|size| page_size % size == 0)
        .unwrap_or(1)
}

#[async_trait]
impl ReviewApi for JdClient {
    fn api(&self) -> &'static str {
        API
    }

    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn fetch_page(&self, query: &PageQuery) -> Result<Page> {
        let size = jd_page_size(query.page_size);
        let per_page = query.page_size.max(1) / size;
        let first = u64::from(query.page_no.max(1) - 1) * u64::from(per_page) + 1;
        let mut page = Page::default();
        for jd_page in first..first + u64::from(per_page) {
            let business = json!({
                "beginTime": format_gmt8(query.window.start_secs),
                "endTime": format_gmt8(query.window.end_secs),
                "score": 0,
                "page": jd_page,
                "pageSize": size,
            });
            let inner = self.call(VENDER_COMMENTS, &business).await?;
            let (rates, total) = parse_comments(&inner)?;
            let received = rates.len();
            page.rates.extend(rates);
            page.total_results = total.or(page.total_results);
            if received < size as usize {
                break;
            }
        }
        Ok(page)
    }
}

/// Reads `comments[]` and `totalItem` out of a comment response.
pub(crate) fn parse_comments(inner: &JsonObject) -> Result<(Vec<JsonObject>, Option<u64>)> {
    let bad = |reason: String| IngestError::BadResponse { api: API, reason };
    let comments: Vec<Map<String, Value>> = match inner.get("comments") {
        None => Vec::new(),
        Some(raw) if raw.get().trim() == "null" => Vec::new(),
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|error| bad(format!("bad comments list: {error}")))?,
    };
    let rates = comments
        .iter()
        .map(comment_to_rate)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|error| bad(format!("comment not convertible: {error}")))?;
    Ok((rates, inner.unsigned("totalItem")))
}

/// Turns one JD comment into a TradeRate-shaped object; see the module docs.
pub(crate) fn comment_to_rate(
    comment: &Map<String, Value>,
) -> std::result::Result<JsonObject, serde_json::Error> {
    let mut rate = Map::new();
    let mut copy = |from: &str, to: &str| {
        if let Some(value) = comment.get(from).filter(|value| !value.is_null()) {
            rate.insert(to.to_owned(), value.clone());
        }
    };
    copy("orderId", "tid");
    copy("commentId", "oid");
    copy("creationTime", "created");
    copy("nickName", "nick");
    copy("content", "content");
    copy("replyContent", "reply");
    copy("wareId", "num_iid");
    copy("skuName", "item_title");
    let score = comment.get("score").and_then(|score| match score {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    });
    if let Some(result) = score.and_then(score_to_result) {
        rate.insert("result".to_owned(), Value::from(result));
    }
    rate.insert("role".to_owned(), Value::from("buyer"));
    JsonObject::parse(&Value::Object(rate).to_string())
}

/// Maps JD's 1–5 star score to a TradeRate `result`.
pub(crate) fn score_to_result(score: i64) -> Option<&'static str> {
    match score {
        4 | 5 => Some("good"),
        2 | 3 => Some("neutral"),
        1 => Some("bad"),
        _ => None,
    }
}

/// Parses a router response of `method`; see the module docs for the accepted shapes.
pub(crate) fn parse_response(method: &str, status: u16, body: &[u8]) -> Result<JsonObject> {
    let object = parse_body(API, status, body)?;
    let bad = |reason: String| IngestError::BadResponse { api: API, reason };
    if let Some(error) = object.object("error_response") {
        let error = error.map_err(|error| bad(format!("malformed error_response: {error}")))?;
        return Err(classify(&JdErrorBody::from_object(&error)));
    }
    let stem = method.replace('.', "_");
    let short = method.rsplit('.').next().unwrap_or(method);
    let roots = [
        format!("{stem}_responce"),
        format!("{stem}_response"),
        format!("{short}_responce"),
    ];
    for root in &roots {
        if let Some(inner) = object.object(root) {
            let inner = inner.map_err(|error| bad(format!("malformed {root}: {error}")))?;
            return match inner.text("code").as_deref() {
                None | Some("0") => Ok(inner),
                Some(code) => {
                    let body = JdErrorBody::from_object(&inner);
                    Err(IngestError::Rejected {
                        api: API,
                        code: format!("business_{code}"),
                        message: body.message(),
                    })
                }
            };
        }
    }
    if !(200..300).contains(&status) {
        return Err(classify_unreadable(API, status, body_excerpt(body)));
    }
    Err(bad(format!(
        "wrong envelope: neither {} nor error_response: {}",
        roots[0],
        body_excerpt(body)
    )))
}

/// The fields of an `error_response` (or a failed business result).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JdErrorBody {
    pub(crate) code: Option<i64>,
    pub(crate) zh_desc: String,
    pub(crate) en_desc: String,
}

impl JdErrorBody {
    fn from_object(object: &JsonObject) -> Self {
        JdErrorBody {
            code: object.text("code").and_then(|code| code.parse().ok()),
            zh_desc: object.text("zh_desc").unwrap_or_default(),
            en_desc: object.text("en_desc").unwrap_or_default(),
        }
    }

    fn message(&self) -> String {
        match (self.en_desc.is_empty(), self.zh_desc.is_empty()) {
            (false, false) => format!("{} ({})", self.en_desc, self.zh_desc),
            (false, true) => self.en_desc.clone(),
            _ => self.zh_desc.clone(),
        }
    }
}

/// Maps a JD gateway error to what the poller does; see the module docs.
pub(crate) fn classify(error: &JdErrorBody) -> IngestError {
    let code = error
        .code
        .map_or_else(|| "unknown".to_owned(), |code| code.to_string());
    let message = error.message();
    let rejected = |hint: &str| IngestError::Rejected {
        api: API,
        code: code.clone(),
        message: format!("{message}; {hint}"),
    };
    match error.code {
        Some(2) => IngestError::Throttled {
            api: API,
            code,
            message: message.clone(),
            retry_after_secs: super::parse_ban_secs(&message),
        },
        Some(18 | 19) => IngestError::TokenDead {
            api: API,
            code,
            message: format!("{message}; re-authorize and update `access_token`"),
        },
        Some(24) => IngestError::AccessDenied {
            api: API,
            code,
            message: format!("{message}; grant the app this API"),
            condition: HealthCondition::Unauthorized,
            authorize_url: None,
        },
        Some(11 | 12) => rejected("check app_secret"),
        Some(7 | 8) => rejected("the host clock is more than 6 minutes off GMT+8"),
        Some(20 | 21) => rejected("check app_key"),
        Some(1..=65) => rejected("the request is malformed"),
        _ => IngestError::ApiFailing {
            api: API,
            code,
            message,
        },
    }
}

/// Ware search, for listing snapshots.
pub(crate) const SEARCH_WARE: &str = "jingdong.ware.read.searchWare4Valid";
/// The `source` of listing records.
pub(crate) const LISTING_SOURCE: &str = "jd:jingdong.ware.read.searchWare4Valid";
const WARE_PAGE_SIZE: u64 = 100;
/// At most this many ware pages per poll (10,000 wares), against a runaway `totalItem`.
const MAX_WARE_PAGES: u64 = 100;

#[async_trait]
impl ListingApi for JdClient {
    fn api(&self) -> &'static str {
        API
    }

    fn listing_source(&self) -> &'static str {
        LISTING_SOURCE
    }

    /// Pages through `searchWare4Valid` with `jdPrice,stockNum,modified` requested.
    async fn fetch_listings(&self) -> Result<Vec<ListingSnapshot>> {
        let bad = |reason: String| IngestError::BadResponse { api: API, reason };
        let mut snapshots = Vec::new();
        for page_no in 1..=MAX_WARE_PAGES {
            let business = json!({
                "pageNo": page_no,
                "pageSize": WARE_PAGE_SIZE,
                "field": "jdPrice,stockNum,modified",
            });
            let inner = self.call(SEARCH_WARE, &business).await?;
            let page = match inner.object("page") {
                Some(page) => page.map_err(|error| bad(format!("malformed page: {error}")))?,
                None => break,
            };
            let wares: Vec<JsonObject> = match page.get("data") {
                Some(raw) if raw.get().trim() != "null" => serde_json::from_str(raw.get())
                    .map_err(|error| bad(format!("bad ware list: {error}")))?,
                _ => Vec::new(),
            };
            let received = wares.len() as u64;
            for ware in &wares {
                snapshots.push(ware_snapshot(ware).map_err(bad)?);
            }
            let total = page.unsigned("totalItem").unwrap_or(0);
            if received < WARE_PAGE_SIZE || page_no * WARE_PAGE_SIZE >= total {
                break;
            }
        }
        Ok(snapshots)
    }
}

/// Normalizes one ware of `searchWare4Valid`.
pub(crate) fn ware_snapshot(ware: &JsonObject) -> std::result::Result<ListingSnapshot, String> {
    let item_id = ware.text("wareId").ok_or("ware without wareId")?;
    let raw_status = ware.text("wareStatus");
    let stock = ware.text("stockNum").and_then(|stock| stock.parse().ok());
    let status = raw_status
        .as_deref()
        .and_then(|code| code.parse().ok())
        .map_or(ListingStatus::Unknown, |code| {
            crate::listings::jd_ware_status(code, stock)
        });
    Ok(ListingSnapshot {
        listing: Listing {
            item_id,
            title: ware.text("title"),
            status,
            raw_status,
            price_fen: ware.text("jdPrice").and_then(|price| yuan_to_fen(&price)),
            stock,
            skus: Vec::new(),
            modified_at_ms: ware.text("modified").and_then(|ms| ms.parse().ok()),
        },
        payload: ware.to_json_replacing(|_, _| None),
    })
}

/// JD Logistics waybill trace.
pub(crate) const RECEIVE_TRACE: &str = "jingdong.ldop.receive.trace.get";
/// The `source` of shipment records.
pub(crate) const SHIPMENT_SOURCE: &str = "jd:jingdong.ldop.receive.trace.get";

#[async_trait]
impl ShipmentApi for JdClient {
    fn api(&self) -> &'static str {
        API
    }

    fn shipment_source(&self) -> &'static str {
        SHIPMENT_SOURCE
    }

    /// One `jingdong.ldop.receive.trace.get` per configured waybill (`customerCode` from
    /// `customer_code`); nodes carry `operateTime`, `operateRemark`, `operatePlace` and
    /// `operateType` (a TMC-style node code).
    async fn fetch_shipments(&self) -> Result<Vec<ShipmentSnapshot>> {
        let bad = |reason: String| IngestError::BadResponse { api: API, reason };
        let mut snapshots = Vec::with_capacity(self.config.waybills.len());
        for waybill in &self.config.waybills {
            let business = json!({
                "customerCode": self.config.customer_code.clone().unwrap_or_default(),
                "waybillCode": waybill.waybill_no,
            });
            let inner = self.call(RECEIVE_TRACE, &business).await?;
            let result = match inner.object("querytrace_result") {
                Some(result) => {
                    result.map_err(|error| bad(format!("malformed querytrace_result: {error}")))?
                }
                None => continue,
            };
            let nodes: Vec<JsonObject> = match result.get("data") {
                Some(raw) if raw.get().trim() != "null" => serde_json::from_str(raw.get())
                    .map_err(|error| bad(format!("bad trace data: {error}")))?,
                _ => Vec::new(),
            };
            let nodes = nodes
                .iter()
                .filter_map(|node| {
                    Some(TraceNode {
                        at_ms: parse_gmt8_ms(&node.text("operateTime")?)?,
                        description: node.text("operateRemark").unwrap_or_default(),
                        location: node.text("operatePlace"),
                        action: node.text("operateType"),
                    })
                })
                .collect();
            let payload = result.to_json_replacing(|_, _| None);
            snapshots.extend(trace_shipment(waybill, nodes, payload));
        }
        Ok(snapshots)
    }
}
