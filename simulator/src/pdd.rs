//! The Pinduoduo open-platform router, `/api/router` (platform-apis.md §2, §6).
//!
//! Contract: POST with a urlencoded or multipart form or a JSON object body (`content-type:
//! application/json`; numbers and booleans count as their JSON text), query-string
//! parameters counting too; GET with a query string is also accepted. Checks run in this
//! order; the first failure answers HTTP 200 with `{"error_response":{"error_code",
//! "error_msg","sub_code","sub_msg","request_id"}}`:
//!
//! | check | error_code |
//! |---|---|
//! | `type`, `client_id`, `timestamp` or `sign` missing; unknown `client_id`; `data_type` other than `JSON` (XML is not simulated) | 10000 (our choice: PDD documents no code for these) |
//! | `timestamp` not UNIX **seconds** within `pdd.timestamp_tolerance_secs` (milliseconds fail) | 10000 `sub_code` `timestamp_invalid` (our choice) |
//! | signature mismatch: `UPPER(MD5(secret + Σ name value (sorted, non-empty, not sign) + secret))` | 20004 |
//! | `type` not one of the served methods | 10000 `sub_code` `type_not_exist` (our choice) |
//! | `access_token` missing, unknown or expired | 10019 |
//! | per-shop / per-app limit of the method (§6 table) | 70031 "调用过于频繁" |
//! | API-wide limit (`pdd.goods.detail.get` 3,000/s) | 52101 "当前接口被限流" |
//! | bad business parameter | 10000 `sub_code` `<name>` |
//!
//! Methods, for the token's shop:
//! - `pdd.goods.list.get` (`is_onsale` 0/1, `goods_name` contains, `page` >= 1, `page_size`
//!   1..=100, default 100) → `goods_list_get_response{total_count, goods_list[]}`; deleted
//!   goods are absent; `is_onsale` is 1 only for on-sale goods (sold-out goods are 0, our
//!   reading); no price, as documented.
//! - `pdd.goods.detail.get` (`goods_id`) → `goods_detail_get_response` with `status` 1 on
//!   sale, 2 delisted, 3 sold out, 4 deleted, `market_price` and SKU `price` (single-buy) in
//!   integer fen; `multi_price` (group price) is 90 % of `price` rounded to 10 fen (our
//!   choice). A goods_id the shop never had: 10000 `sub_code` `goods_not_exist` (our choice).
//! - `pdd.logistics.ordertrace.get` (`company_code`, `mail_no`) →
//!   `logistics_ordertrace_get_resposne{trace_list[]}` (the documented typo), nodes oldest
//!   first with `action` (the TMC node codes, the PDD values being undocumented),
//!   `desc`, `node_description`, `status_desc`, `status_time`, `time` (GMT+8 strings).
//!   `company_code` is the Kuaidi100 courier code, case-insensitive (uncertain, §8). An
//!   unknown waybill answers an empty `trace_list`.
//!
//! Every success body carries `request_id` inside its root.

use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::commerce::{ListingStatus, SimItem};
use crate::form::{self, Params};
use crate::oauth::{OAuthPlatform, TokenState};
use crate::server::{Answer, Inner};
use crate::sign::{self, SignMethod};
use crate::stats::Outcome;
use crate::throttle::{Admission, Throttle};

/// Lists the shop's goods.
pub const GOODS_LIST_GET: &str = "pdd.goods.list.get";
/// One goods with SKUs and prices.
pub const GOODS_DETAIL_GET: &str = "pdd.goods.detail.get";
/// The trace of one waybill.
pub const LOGISTICS_ORDERTRACE_GET: &str = "pdd.logistics.ordertrace.get";
/// Exchanges an OAuth code (no access_token needed).
pub const TOKEN_CREATE: &str = "pdd.pop.auth.token.create";
/// Refreshes an OAuth token (no access_token needed).
pub const TOKEN_REFRESH: &str = "pdd.pop.auth.token.refresh";
/// Every method the router serves.
pub const METHODS: &[&str] = &[
    GOODS_LIST_GET,
    GOODS_DETAIL_GET,
    LOGISTICS_ORDERTRACE_GET,
    TOKEN_CREATE,
    TOKEN_REFRESH,
];

/// A PDD error about to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PddError {
    pub(crate) code: i64,
    pub(crate) sub_code: String,
    pub(crate) sub_msg: String,
}

impl PddError {
    pub(crate) fn new(code: i64, sub_code: impl Into<String>, sub_msg: impl Into<String>) -> Self {
        PddError {
            code,
            sub_code: sub_code.into(),
            sub_msg: sub_msg.into(),
        }
    }

    /// The usual envelope for `code` (fault injection).
    pub(crate) fn documented(code: i64) -> PddError {
        match code {
            10019 => PddError::new(code, "10019", "access_token已过期"),
            20004 => PddError::new(code, "20004", "签名验证失败"),
            52101 => PddError::new(code, "52101", "当前接口被限流，请稍后重试"),
            70031 => PddError::new(code, "70031", "调用过于频繁，请调整调用频率"),
            _ => PddError::new(code, code.to_string(), "simulated error"),
        }
    }
}

fn message(code: i64) -> &'static str {
    match code {
        10000 => "参数错误",
        10019 => "access_token已过期",
        20004 => "签名验证失败",
        52101 => "当前接口被限流",
        70031 => "调用过于频繁",
        50000..=50002 => "系统内部错误",
        _ => "模拟错误",
    }
}

/// Renders `{"error_response":{…}}`.
pub(crate) fn error_body(error: &PddError, request_id: &str) -> Value {
    json!({ "error_response": {
        "error_code": error.code,
        "error_msg": message(error.code),
        "sub_code": error.sub_code,
        "sub_msg": error.sub_msg,
        "request_id": request_id,
    }})
}

/// A well-formed PDD response under a root nobody asked for.
pub(crate) fn wrong_envelope(request_id: &str) -> Value {
    json!({ "order_list_get_response": { "total_count": 0, "request_id": request_id } })
}

/// A body that looks like PDD JSON but does not parse.
pub(crate) const MALFORMED: &str = "{\"goods_list_get_response\":{\"goods_list\":[{goods_id:1,}]";

/// The router's rate limiters (§6), token buckets refilled continuously.
#[derive(Debug)]
pub(crate) struct Limits {
    goods_list_per_shop: Throttle,
    goods_detail_per_shop: Throttle,
    goods_detail_total: Throttle,
    ordertrace_per_app: Throttle,
}

impl Limits {
    pub(crate) fn new(config: &crate::config::PddConfig) -> Limits {
        let per =
            |count: u32, secs: f64| Throttle::new(f64::from(count) / secs, count, Duration::ZERO);
        Limits {
            goods_list_per_shop: per(config.goods_list_per_minute, 60.0),
            goods_detail_per_shop: per(config.goods_detail_per_minute, 60.0),
            goods_detail_total: per(config.goods_detail_total_per_sec, 1.0),
            ordertrace_per_app: per(config.ordertrace_per_20s, 20.0),
        }
    }

    fn admit(&mut self, method: &str, app: &str, shop: &str, now: Instant) -> Result<(), PddError> {
        let refused = |admission| matches!(admission, Admission::Refused { .. });
        let frequent = || PddError::documented(70031);
        match method {
            GOODS_LIST_GET if refused(self.goods_list_per_shop.admit(shop, now)) => Err(frequent()),
            GOODS_DETAIL_GET => {
                if refused(self.goods_detail_total.admit("", now)) {
                    return Err(PddError::documented(52101));
                }
                if refused(self.goods_detail_per_shop.admit(shop, now)) {
                    return Err(frequent());
                }
                Ok(())
            }
            LOGISTICS_ORDERTRACE_GET if refused(self.ordertrace_per_app.admit(app, now)) => {
                Err(frequent())
            }
            _ => Ok(()),
        }
    }
}

/// Collects the parameters: query string, then a form or JSON object body.
pub(crate) fn collect(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Params {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return form::collect(query, headers, body)
            .or_else(|_| form::collect(query, &HeaderMap::new(), &[]))
            .unwrap_or_default();
    }
    let mut pairs: Vec<(String, String)> = form::collect(query, &HeaderMap::new(), &[])
        .map(|params| params.pairs().to_vec())
        .unwrap_or_default();
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        for (name, value) in object {
            let text = match value {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            pairs.push((name, text));
        }
    }
    Params::from_vec(pairs)
}

/// Answers one router request.
pub(crate) fn handle(inner: &Inner, params: &Params, now: DateTime<Utc>, clock: Instant) -> Answer {
    let request_id = inner.next_request_id();
    match respond(inner, params, now, clock, &request_id) {
        Ok(body) => Answer::new(StatusCode::OK, body, Outcome::Ok),
        Err(error) => {
            let outcome = if matches!(error.code, 70031 | 52101) {
                Outcome::Throttled(error.code)
            } else {
                Outcome::Error(error.code)
            };
            Answer::new(StatusCode::OK, error_body(&error, &request_id), outcome)
        }
    }
}

fn bad(name: &str, detail: impl Into<String>) -> PddError {
    PddError::new(10000, name, detail)
}

fn respond(
    inner: &Inner,
    params: &Params,
    now: DateTime<Utc>,
    clock: Instant,
    request_id: &str,
) -> Result<Value, PddError> {
    let config = inner.config();
    let method = params
        .non_empty("type")
        .ok_or_else(|| bad("type", "type is required"))?;
    let client_id = params
        .non_empty("client_id")
        .ok_or_else(|| bad("client_id", "client_id is required"))?;
    let app = config
        .credentials
        .pdd_apps
        .iter()
        .find(|app| app.app_key == client_id)
        .ok_or_else(|| bad("client_id", "client_id does not exist"))?;
    let timestamp = params
        .non_empty("timestamp")
        .ok_or_else(|| bad("timestamp", "timestamp is required"))?;
    let tolerance = i64::try_from(config.pdd.timestamp_tolerance_secs).unwrap_or(i64::MAX);
    let in_tolerance = timestamp.len() <= 10
        && timestamp
            .parse::<i64>()
            .is_ok_and(|secs| (now.timestamp() - secs).abs() <= tolerance);
    if !in_tolerance {
        return Err(PddError::new(
            10000,
            "timestamp_invalid",
            format!("timestamp must be UNIX seconds within {tolerance} s of the server"),
        ));
    }
    if let Some(data_type) = params.non_empty("data_type") {
        if data_type != "JSON" {
            return Err(bad(
                "data_type",
                "the simulator answers data_type=JSON only",
            ));
        }
    }
    let given = params
        .non_empty("sign")
        .ok_or_else(|| bad("sign", "sign is required"))?;
    let pairs = params
        .pairs()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    if !sign::verify(pairs, app.app_secret.expose(), SignMethod::Md5, given) {
        return Err(PddError::documented(20004));
    }
    if !METHODS.contains(&method) {
        return Err(PddError::new(
            10000,
            "type_not_exist",
            format!("unknown type {method}"),
        ));
    }
    if method == TOKEN_CREATE || method == TOKEN_REFRESH {
        return auth_token(inner, client_id, method, params, request_id, now);
    }
    let token = params.non_empty("access_token").unwrap_or("");
    let configured = app
        .tokens
        .iter()
        .find(|candidate| candidate.access_token.expose() == token && !candidate.expired)
        .map(|candidate| candidate.shop_id.clone());
    let shop_id = match configured {
        Some(shop_id) => shop_id,
        None => match inner
            .tokens()
            .check(OAuthPlatform::Pdd, client_id, token, now)
        {
            TokenState::Valid(shop_id) => shop_id,
            TokenState::Expired | TokenState::Unknown => return Err(PddError::documented(10019)),
        },
    };
    inner
        .pdd_limits()
        .admit(method, client_id, &shop_id, clock)?;
    let (root, mut body) = match method {
        GOODS_LIST_GET => (
            "goods_list_get_response",
            goods_list(inner, &shop_id, params)?,
        ),
        GOODS_DETAIL_GET => (
            "goods_detail_get_response",
            goods_detail(inner, &shop_id, params)?,
        ),
        _ => (
            "logistics_ordertrace_get_resposne",
            ordertrace(inner, params)?,
        ),
    };
    body.insert("request_id".to_owned(), Value::from(request_id));
    Ok(json!({ root: body }))
}

/// `pdd.pop.auth.token.create` (`code`) / `.refresh` (`refresh_token`) →
/// `pop_auth_token_create_response` / `pop_auth_token_refresh_response` (the refresh root is
/// inferred, §8) with the token fields; a bad code or refresh token is 10000 with
/// `sub_code` `code` / `refresh_token` (our choice).
fn auth_token(
    inner: &Inner,
    client_id: &str,
    method: &str,
    params: &Params,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Value, PddError> {
    let (name, root) = if method == TOKEN_CREATE {
        ("code", "pop_auth_token_create_response")
    } else {
        ("refresh_token", "pop_auth_token_refresh_response")
    };
    let value = params
        .non_empty(name)
        .ok_or_else(|| bad(name, format!("{name} is required")))?;
    let grant = if method == TOKEN_CREATE {
        inner
            .tokens()
            .exchange(OAuthPlatform::Pdd, client_id, value, now)
    } else {
        inner
            .tokens()
            .refresh(OAuthPlatform::Pdd, client_id, value, now)
    }
    .map_err(|_| bad(name, format!("{name} is invalid or expired")))?;
    let mut body = grant.pdd_json(now);
    body.insert("request_id".to_owned(), Value::from(request_id));
    Ok(json!({ root: body }))
}

fn number(params: &Params, name: &str, default: u64) -> Result<u64, PddError> {
    match params.non_empty(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| bad(name, format!("{name} must be a whole number"))),
    }
}

fn shop_items(inner: &Inner, shop_id: &str) -> Vec<SimItem> {
    inner.with_commerce(|commerce| {
        commerce
            .shop(shop_id)
            .map(|shop| shop.items.clone())
            .unwrap_or_default()
    })
}

fn goods_list(
    inner: &Inner,
    shop_id: &str,
    params: &Params,
) -> Result<Map<String, Value>, PddError> {
    let page = number(params, "page", 1)?;
    let page_size = number(params, "page_size", 100)?;
    if page == 0 {
        return Err(bad("page", "page must be >= 1"));
    }
    if page_size == 0 || page_size > 100 {
        return Err(bad("page_size", "page_size must be 1..=100"));
    }
    let onsale = match params.non_empty("is_onsale") {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => return Err(bad("is_onsale", "is_onsale must be 0 or 1")),
    };
    let name = params.non_empty("goods_name");
    let mut items = shop_items(inner, shop_id);
    items.retain(|item| {
        item.status != ListingStatus::Deleted
            && onsale.is_none_or(|onsale| onsale == (item.status == ListingStatus::OnSale))
            && (onsale.is_some() || name.is_none_or(|name| item.title.contains(name)))
    });
    items.sort_by_key(|item| std::cmp::Reverse(item.item_id));
    let total = items.len();
    let skip = usize::try_from((page - 1) * page_size).unwrap_or(usize::MAX);
    let list: Vec<Value> = items
        .iter()
        .skip(skip)
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|item| {
            let is_onsale = u8::from(item.status == ListingStatus::OnSale);
            let skus: Vec<Value> = item
                .skus
                .iter()
                .map(|sku| {
                    json!({
                        "sku_id": sku.sku_id,
                        "spec": sku.properties_name,
                        "sku_quantity": sku.stock,
                        "outer_id": format!("SKU-{}", sku.sku_id % 100_000),
                        "outer_goods_id": format!("SW-{}", item.item_id % 100_000),
                        "is_sku_onsale": is_onsale,
                        "reserve_quantity": 0,
                    })
                })
                .collect();
            json!({
                "goods_id": item.item_id,
                "goods_name": item.title,
                "thumb_url": format!("https://img.pddpic.com/thumb/{}.jpeg", item.item_id),
                "image_url": format!("https://img.pddpic.com/goods/{}.jpeg", item.item_id),
                "is_more_sku": u8::from(item.skus.len() > 1),
                "goods_quantity": item.stock(),
                "is_onsale": is_onsale,
                "goods_reserve_quantity": 0,
                "sku_list": skus,
            })
        })
        .collect();
    let mut body = Map::new();
    body.insert("total_count".to_owned(), Value::from(total));
    body.insert("goods_list".to_owned(), Value::Array(list));
    Ok(body)
}

/// PDD's `status` of a goods: 1 on sale, 2 delisted, 3 sold out, 4 deleted.
pub(crate) fn goods_status(status: ListingStatus) -> u8 {
    match status {
        ListingStatus::OnSale => 1,
        ListingStatus::Delisted => 2,
        ListingStatus::SoldOut => 3,
        ListingStatus::Deleted => 4,
    }
}

fn goods_detail(
    inner: &Inner,
    shop_id: &str,
    params: &Params,
) -> Result<Map<String, Value>, PddError> {
    let goods_id = params
        .non_empty("goods_id")
        .ok_or_else(|| bad("goods_id", "goods_id is required"))?;
    let goods_id: u64 = goods_id
        .trim()
        .parse()
        .map_err(|_| bad("goods_id", "goods_id must be a number"))?;
    let item = shop_items(inner, shop_id)
        .into_iter()
        .find(|item| item.item_id == goods_id)
        .ok_or_else(|| PddError::new(10000, "goods_not_exist", "商品不存在"))?;
    let is_onsale = u8::from(item.status == ListingStatus::OnSale);
    let skus: Vec<Value> = item
        .skus
        .iter()
        .map(|sku| {
            json!({
                "sku_id": sku.sku_id,
                "spec": sku.properties_name,
                "is_onsale": is_onsale,
                "price": sku.price_fen,
                "multi_price": group_price(sku.price_fen),
                "quantity": sku.stock,
                "reserve_quantity": 0,
                "limit_quantity": 999,
            })
        })
        .collect();
    let max_price = item.skus.iter().map(|sku| sku.price_fen).max().unwrap_or(0);
    let mut body = Map::new();
    body.insert("goods_id".to_owned(), Value::from(item.item_id));
    body.insert("goods_name".to_owned(), Value::from(item.title.clone()));
    body.insert("goods_type".to_owned(), Value::from(1));
    body.insert("status".to_owned(), Value::from(goods_status(item.status)));
    body.insert("market_price".to_owned(), Value::from(max_price * 12 / 10));
    body.insert("is_pre_sale".to_owned(), Value::from(false));
    body.insert("is_folt".to_owned(), Value::from(true));
    body.insert("shipment_limit_second".to_owned(), Value::from(172_800));
    body.insert("sku_list".to_owned(), Value::Array(skus));
    Ok(body)
}

/// PDD's group price for a single-buy price in fen: 90 %, rounded to 10 fen.
pub(crate) fn group_price(price_fen: u64) -> u64 {
    (price_fen * 9 / 100).max(1) * 10
}

fn ordertrace(inner: &Inner, params: &Params) -> Result<Map<String, Value>, PddError> {
    let company = params
        .non_empty("company_code")
        .ok_or_else(|| bad("company_code", "company_code is required"))?;
    let mail_no = params
        .non_empty("mail_no")
        .ok_or_else(|| bad("mail_no", "mail_no is required"))?;
    let parcel =
        inner.with_commerce(|commerce| commerce.parcel_by_waybill(Some(company), mail_no).cloned());
    let nodes: Vec<Value> = parcel
        .map(|parcel| {
            parcel
                .steps
                .iter()
                .map(|step| {
                    json!({
                        "action": step.action,
                        "desc": step.context,
                        "node_description": step.context,
                        "status_desc": step.context,
                        "status_time": step.time,
                        "time": step.time,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert("trace_list".to_owned(), Value::Array(nodes));
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_sign_vector() {
        let params = [
            ("access_token", "asd78172s8ds9a921j9qqwda12312w1w21211"),
            ("client_id", "1"),
            ("data_type", "XML"),
            ("order_status", "1"),
            ("page", "1"),
            ("page_size", "10"),
            ("timestamp", "1480411125"),
            ("type", "pdd.order.number.list.get"),
        ];
        assert_eq!(
            sign::canonical_string(params.iter().copied()),
            "access_tokenasd78172s8ds9a921j9qqwda12312w1w21211client_id1data_typeXMLorder_status1\
             page1page_size10timestamp1480411125typepdd.order.number.list.get"
        );
        assert_eq!(
            sign::sign(params.iter().copied(), "testSecret", SignMethod::Md5),
            "E4DE3ED21002510DED352819E7AE6775"
        );
    }

    #[test]
    fn json_bodies_become_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let params = collect(
            Some("type=pdd.goods.list.get"),
            &headers,
            br#"{"page":2,"is_onsale":"1","cache":true,"x":null}"#,
        );
        assert_eq!(params.get("type"), Some("pdd.goods.list.get"));
        assert_eq!(params.get("page"), Some("2"));
        assert_eq!(params.get("is_onsale"), Some("1"));
        assert_eq!(params.get("cache"), Some("true"));
        assert_eq!(params.get("x"), Some(""));
    }

    #[test]
    fn statuses_and_group_prices() {
        assert_eq!(goods_status(ListingStatus::SoldOut), 3);
        assert_eq!(goods_status(ListingStatus::Deleted), 4);
        assert_eq!(group_price(2_990), 2_690);
        assert_eq!(group_price(100), 90);
    }
}
