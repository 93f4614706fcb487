//! The JD open-platform router, `/routerjson` (platform-apis.md §3, §6).
//!
//! Contract: GET or POST; parameters from the query string (the official SDK's way) and a
//! urlencoded or multipart form body. Business parameters are one JSON object in
//! `360buy_param_json` (absent = `{}`). Checks run in this order; the first failure answers
//! HTTP 200 with `{"error_response":{"code":"<n>","zh_desc","en_desc"}}` (`code` a string):
//!
//! | check | code |
//! |---|---|
//! | `app_key` missing / unknown | 20 / 21 |
//! | `method` missing | 14 |
//! | `timestamp` missing / not `yyyy-MM-dd HH:mm:ss` (or the SDK's `…ss.SSS+0800`) GMT+8 within `jd.timestamp_tolerance_secs` (6 min) | 7 / 8 |
//! | `v` missing / not `2.0` | 4 / 5 |
//! | `sign` missing / mismatch: `UPPER(MD5(secret + Σ name value (sorted, non-empty, not sign) + secret))` | 11 / 12 |
//! | `method` not served | 15 |
//! | app over its token bucket (`jd.calls_per_sec`, `jd.burst`; JD publishes no QPS, our choice) | 2 "App Call Limited" |
//! | `access_token` missing / unknown or expired | 18 / 19 |
//!
//! Success is `{"<method, dots → _>_responce":{"code":"0", …, "request_id"}}` (the documented
//! misspelling). A bad business parameter answers the same root with a non-"0" inner `code`
//! (`"1"`, `zh_desc`, `en_desc`: our choice, JD documents the principle only).
//!
//! Methods, for the token's shop:
//! - `jingdong.ware.read.searchWare4Valid`: `wareId` (≤20, comma list, JSON array or number),
//!   `wareStatusValue` (one or more of 8 on sale, 2 merchant-delisted; others match nothing),
//!   `searchKey` (with `searchField` = `title`), `orderField` (wareId, offlineTime,
//!   onlineTime, stockNum, jdPrice, modified; default wareId) + `orderType` asc|desc (default
//!   desc), `pageNo` (default 1), `pageSize` (default 20, 1..=100, our cap), `field` (adds
//!   `jdPrice` yuan number, `stockNum`, `modified` epoch ms). → `page{data[], totalItem,
//!   pageNo, pageSize}` with `wareId`, `title`, `wareStatus`, `onlineTime`, `offlineTime`
//!   (epoch ms), `categoryId`, `outerId`, `itemNum`, `colType`. Sold-out wares stay on sale
//!   (`wareStatus` 8, `stockNum` 0); deleted wares are absent.
//! - `jingdong.pop.PopCommentJsfService.getVenderCommentsForJos` (also accepted by its short
//!   name `getVenderCommentsForJos`, rooted `getVenderCommentsForJos_responce`): the reviews
//!   of the token's shop (a `commerce.extra_shops` shop, or a review shop of that id)
//!   from the same generator, newest first; `score` 0 all / 3 good / 2 neutral / 1 bad,
//!   `beginTime`/`endTime` (GMT+8, inclusive), `orderIds`, `page` (default 1), `pageSize`
//!   (default 10, ≤50). → `comments[]{commentId, orderId, wareId, skuName, content,
//!   creationTime (GMT+8), score (5 good, 3 neutral, 1 bad), nickName, replyContent?,
//!   isVenderReply}` + `totalItem`. The comment VO is not documented (§8): these names are
//!   our choice.
//! - `jingdong.ldop.receive.trace.get` (`customerCode`, `waybillCode`): →
//!   `querytrace_result{code: 100, message, data[]{operateTime (GMT+8), operateRemark,
//!   operatePlace, operateType (TMC node code), operator, waybillCode}}`, oldest first
//!   (fields from a third-party mock, §8). An unknown waybill gives an empty `data`.

use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use schemas::Rating;

use crate::commerce::{ListingStatus, SimItem};
use crate::form::Params;
use crate::server::{Answer, Inner};
use crate::sign::{self, SignMethod};
use crate::stats::Outcome;
use crate::throttle::Admission;
use crate::timefmt::{format_gmt8, parse_gmt8};
use crate::vocab;

/// Ware (item) search.
pub const SEARCH_WARE: &str = "jingdong.ware.read.searchWare4Valid";
/// The shop's buyer comments.
pub const VENDER_COMMENTS: &str = "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos";
/// The short spelling of [`VENDER_COMMENTS`] used in the issue text.
pub const VENDER_COMMENTS_SHORT: &str = "getVenderCommentsForJos";
/// JD Logistics waybill trace.
pub const RECEIVE_TRACE: &str = "jingdong.ldop.receive.trace.get";
/// Every method the router serves.
pub const METHODS: &[&str] = &[
    SEARCH_WARE,
    VENDER_COMMENTS,
    VENDER_COMMENTS_SHORT,
    RECEIVE_TRACE,
];

/// A JD gateway error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JdError {
    pub(crate) code: i64,
}

fn descriptions(code: i64) -> (&'static str, &'static str) {
    match code {
        2 => ("限制时间内调用失败次数", "App Call Limited"),
        4 => ("缺少版本参数", "Missing Version"),
        5 => ("不支持的版本号", "Unsupported Version"),
        7 => ("缺少时间戳参数", "Missing Timestamp"),
        8 => ("非法的时间戳参数", "Invalid Timestamp"),
        11 => ("缺少签名参数", "Missing Signature"),
        12 => ("无效签名", "Invalid Signature"),
        14 => ("缺少方法名参数", "Missing Method"),
        15 => ("不存在的方法名", "Invalid Method"),
        18 => ("缺少access_token参数", "Missing access_token"),
        19 => ("无效access_token", "Invalid access_token"),
        20 => ("缺少app_key参数", "Missing app_key"),
        21 => ("无效的app_key", "Invalid app_key"),
        24 => ("无权调用API", "Insufficient ISV Permissions"),
        66 => ("平台连接后端服务不可用", "Service Currently Unavailable"),
        _ => ("模拟错误", "Simulated Error"),
    }
}

/// Renders `{"error_response":{"code":"<n>","zh_desc","en_desc"}}`.
pub(crate) fn error_body(code: i64) -> Value {
    let (zh, en) = descriptions(code);
    json!({ "error_response": { "code": code.to_string(), "zh_desc": zh, "en_desc": en } })
}

/// A well-formed JD response under a root nobody asked for.
pub(crate) fn wrong_envelope(request_id: &str) -> Value {
    json!({ "jingdong_pop_order_search_responce": { "code": "0", "request_id": request_id } })
}

/// A body that looks like JD JSON but does not parse.
pub(crate) const MALFORMED: &str =
    "{\"jingdong_ware_read_searchWare4Valid_responce\":{\"code\":\"0\",\"page\":{data:[}";

/// Answers one router request.
pub(crate) fn handle(inner: &Inner, params: &Params, now: DateTime<Utc>, clock: Instant) -> Answer {
    let request_id = inner.next_request_id();
    match respond(inner, params, now, clock, &request_id) {
        Ok(body) => Answer::new(StatusCode::OK, body, Outcome::Ok),
        Err(JdError { code }) => {
            let outcome = if code == 2 {
                Outcome::Throttled(code)
            } else {
                Outcome::Error(code)
            };
            Answer::new(StatusCode::OK, error_body(code), outcome)
        }
    }
}

/// Parses JD's timestamp: `yyyy-MM-dd HH:mm:ss` (GMT+8) or `yyyy-MM-dd HH:mm:ss.SSS+0800`.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    parse_gmt8(text).or_else(|| {
        DateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f%z")
            .ok()
            .map(|at| at.with_timezone(&Utc))
    })
}

fn respond(
    inner: &Inner,
    params: &Params,
    now: DateTime<Utc>,
    clock: Instant,
    request_id: &str,
) -> Result<Value, JdError> {
    let config = inner.config();
    let err = |code| JdError { code };
    let app_key = params.non_empty("app_key").ok_or(err(20))?;
    let app = config
        .credentials
        .jd_apps
        .iter()
        .find(|app| app.app_key == app_key)
        .ok_or(err(21))?;
    let method = params.non_empty("method").ok_or(err(14))?;
    let timestamp = params.non_empty("timestamp").ok_or(err(7))?;
    let tolerance = i64::try_from(config.jd.timestamp_tolerance_secs).unwrap_or(i64::MAX);
    if parse_timestamp(timestamp).is_none_or(|at| (now - at).num_seconds().abs() > tolerance) {
        return Err(err(8));
    }
    let version = params.non_empty("v").ok_or(err(4))?;
    if version != "2.0" {
        return Err(err(5));
    }
    let given = params.non_empty("sign").ok_or(err(11))?;
    let pairs = params
        .pairs()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    if !sign::verify(pairs, app.app_secret.expose(), SignMethod::Md5, given) {
        return Err(err(12));
    }
    if !METHODS.contains(&method) {
        return Err(err(15));
    }
    if let Admission::Refused { .. } = inner.admit_jd(app_key, clock) {
        return Err(err(2));
    }
    let token = params.non_empty("access_token").ok_or(err(18))?;
    let shop_id = app
        .tokens
        .iter()
        .find(|candidate| candidate.access_token.expose() == token && !candidate.expired)
        .map(|candidate| candidate.shop_id.clone())
        .ok_or(err(19))?;
    let root = format!("{}_responce", method.replace('.', "_"));
    let business = match params.non_empty("360buy_param_json") {
        None => Ok(Map::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err("360buy_param_json must be a JSON object".to_owned()),
        },
    };
    let result = business.and_then(|business| match method {
        SEARCH_WARE => search_ware(inner, &shop_id, &business),
        RECEIVE_TRACE => receive_trace(inner, &business),
        _ => vender_comments(inner, &shop_id, &business),
    });
    let mut body = match result {
        Ok(body) => {
            let mut with_code = Map::new();
            with_code.insert("code".to_owned(), Value::from("0"));
            with_code.extend(body);
            with_code
        }
        Err(detail) => {
            let mut failure = Map::new();
            failure.insert("code".to_owned(), Value::from("1"));
            failure.insert("zh_desc".to_owned(), Value::from("参数错误"));
            failure.insert("en_desc".to_owned(), Value::from(detail));
            failure
        }
    };
    body.insert("request_id".to_owned(), Value::from(request_id));
    Ok(json!({ root: body }))
}

/// Reads a business parameter as text (strings as-is, numbers and booleans as JSON text).
fn text(business: &Map<String, Value>, name: &str) -> Option<String> {
    match business.get(name)? {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Array(values) => Some(
            values
                .iter()
                .map(|value| match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

fn number(business: &Map<String, Value>, name: &str, default: u64) -> Result<u64, String> {
    match text(business, name) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|_| format!("{name} must be a whole number")),
    }
}

fn numbers(business: &Map<String, Value>, name: &str) -> Result<Option<Vec<u64>>, String> {
    text(business, name)
        .map(|value| {
            value
                .split(',')
                .map(|part| {
                    part.trim()
                        .parse()
                        .map_err(|_| format!("{name} must be numbers separated by commas"))
                })
                .collect()
        })
        .transpose()
}

/// JD's `wareStatus`: 8 on sale (sold-out wares stay on sale), 2 merchant-delisted.
fn ware_status(status: ListingStatus) -> Option<u64> {
    match status {
        ListingStatus::OnSale | ListingStatus::SoldOut => Some(8),
        ListingStatus::Delisted => Some(2),
        ListingStatus::Deleted => None,
    }
}

fn search_ware(
    inner: &Inner,
    shop_id: &str,
    business: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let ware_ids = numbers(business, "wareId")?;
    if ware_ids.as_ref().is_some_and(|ids| ids.len() > 20) {
        return Err("wareId takes at most 20 ids".to_owned());
    }
    let statuses = numbers(business, "wareStatusValue")?;
    let search_key = text(business, "searchKey");
    let page_no = number(business, "pageNo", 1)?.max(1);
    let page_size = number(business, "pageSize", 20)?;
    if page_size == 0 || page_size > 100 {
        return Err("pageSize must be 1..=100".to_owned());
    }
    let order_field = text(business, "orderField").unwrap_or_else(|| "wareId".to_owned());
    let known = [
        "wareId",
        "offlineTime",
        "onlineTime",
        "stockNum",
        "jdPrice",
        "modified",
    ];
    if !known.contains(&order_field.as_str()) {
        return Err(format!("orderField must be one of {}", known.join(", ")));
    }
    let ascending = match text(business, "orderType").as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err("orderType must be asc or desc".to_owned()),
    };
    let extra_fields: Vec<String> = text(business, "field")
        .map(|fields| fields.split(',').map(|f| f.trim().to_owned()).collect())
        .unwrap_or_default();
    let mut wares: Vec<(SimItem, u64)> = inner
        .with_commerce(|commerce| {
            commerce
                .shop(shop_id)
                .map(|shop| shop.items.clone())
                .unwrap_or_default()
        })
        .into_iter()
        .filter_map(|item| ware_status(item.status).map(|status| (item, status)))
        .filter(|(item, status)| {
            ware_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&item.item_id))
                && statuses
                    .as_ref()
                    .is_none_or(|wanted| wanted.contains(status))
                && search_key
                    .as_ref()
                    .is_none_or(|key| item.title.contains(key.as_str()))
        })
        .collect();
    let key = |item: &SimItem| -> i64 {
        let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        match order_field.as_str() {
            "offlineTime" => item.delist_time_ms.unwrap_or(0),
            "onlineTime" => item.list_time_ms,
            "stockNum" => as_i64(item.stock()),
            "jdPrice" => as_i64(item.price_fen()),
            "modified" => item.modified_ms,
            _ => as_i64(item.item_id),
        }
    };
    wares.sort_by(|(a, _), (b, _)| {
        let order = (key(a), a.item_id).cmp(&(key(b), b.item_id));
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
    let total = wares.len();
    let skip = usize::try_from((page_no - 1) * page_size).unwrap_or(usize::MAX);
    let data: Vec<Value> = wares
        .iter()
        .skip(skip)
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|(item, status)| {
            let mut ware = Map::new();
            ware.insert("wareId".to_owned(), Value::from(item.item_id));
            ware.insert("title".to_owned(), Value::from(item.title.clone()));
            ware.insert("wareStatus".to_owned(), Value::from(*status));
            ware.insert("onlineTime".to_owned(), Value::from(item.list_time_ms));
            ware.insert(
                "offlineTime".to_owned(),
                Value::from(item.delist_time_ms.unwrap_or(0)),
            );
            ware.insert("categoryId".to_owned(), Value::from(9_855));
            ware.insert("outerId".to_owned(), Value::from(""));
            ware.insert("itemNum".to_owned(), Value::from(""));
            ware.insert("colType".to_owned(), Value::from(0));
            for field in &extra_fields {
                let value = match field.as_str() {
                    "jdPrice" => {
                        let yuan: f64 = vocab::yuan(item.price_fen()).parse().unwrap_or(0.0);
                        Value::from(yuan)
                    }
                    "stockNum" => Value::from(item.stock()),
                    "modified" => Value::from(item.modified_ms),
                    _ => continue,
                };
                ware.insert(field.clone(), value);
            }
            Value::Object(ware)
        })
        .collect();
    let mut body = Map::new();
    body.insert(
        "page".to_owned(),
        json!({ "data": data, "totalItem": total, "pageNo": page_no, "pageSize": page_size }),
    );
    Ok(body)
}

fn receive_trace(
    inner: &Inner,
    business: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let waybill = text(business, "waybillCode").ok_or("waybillCode is required")?;
    text(business, "customerCode").ok_or("customerCode is required")?;
    let parcel =
        inner.with_commerce(|commerce| commerce.parcel_by_waybill(None, &waybill).cloned());
    let data: Vec<Value> = parcel
        .map(|parcel| {
            parcel
                .steps
                .iter()
                .map(|step| {
                    json!({
                        "operateTime": step.time,
                        "operateRemark": step.context,
                        "operatePlace": step.location,
                        "operateType": step.action,
                        "operator": "京东快递员",
                        "waybillCode": parcel.waybill,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert(
        "querytrace_result".to_owned(),
        json!({ "code": 100, "message": "成功", "data": data }),
    );
    Ok(body)
}

/// The 1–5 score of a rating.
fn score(result: Rating) -> u8 {
    match result {
        Rating::Good => 5,
        Rating::Neutral => 3,
        Rating::Bad => 1,
    }
}

fn vender_comments(
    inner: &Inner,
    shop_id: &str,
    business: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let wanted = match number(business, "score", 0)? {
        0 => None,
        3 => Some(Rating::Good),
        2 => Some(Rating::Neutral),
        1 => Some(Rating::Bad),
        _ => return Err("score must be 0, 1, 2 or 3".to_owned()),
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        text(business, name)
            .map(|value| parse_gmt8(&value).ok_or(format!("{name} must be yyyy-MM-dd HH:mm:ss")))
            .transpose()
    };
    let begin = time("beginTime")?;
    let end = time("endTime")?;
    let order_ids = numbers(business, "orderIds")?;
    if order_ids.as_ref().is_some_and(|ids| ids.len() > 50) {
        return Err("orderIds takes at most 50 ids".to_owned());
    }
    let page = number(business, "page", 1)?.max(1);
    let page_size = number(business, "pageSize", 10)?;
    if page_size == 0 || page_size > 50 {
        return Err("pageSize must be 1..=50".to_owned());
    }
    let (total, comments) = inner
        .with_router_shop(shop_id, |shop| {
            let mut matching: Vec<_> = shop
                .reviews
                .iter()
                .filter(|review| {
                    wanted.is_none_or(|wanted| review.result == wanted)
                        && begin.is_none_or(|begin| review.created >= begin)
                        && end.is_none_or(|end| review.created <= end)
                        && order_ids
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&review.tid))
                })
                .collect();
            matching.sort_by_key(|review| std::cmp::Reverse((review.created, review.tid)));
            let skip = usize::try_from((page - 1) * page_size).unwrap_or(usize::MAX);
            let comments: Vec<Value> = matching
                .iter()
                .skip(skip)
                .take(usize::try_from(page_size).unwrap_or(usize::MAX))
                .map(|review| {
                    let mut comment = Map::new();
                    comment.insert("commentId".to_owned(), Value::from(review.oid.to_string()));
                    comment.insert("orderId".to_owned(), Value::from(review.tid));
                    comment.insert("wareId".to_owned(), Value::from(review.num_iid));
                    comment.insert("skuName".to_owned(), Value::from(review.item_title.clone()));
                    comment.insert("content".to_owned(), Value::from(review.content.clone()));
                    comment.insert(
                        "creationTime".to_owned(),
                        Value::from(format_gmt8(review.created)),
                    );
                    comment.insert("score".to_owned(), Value::from(score(review.result)));
                    comment.insert("nickName".to_owned(), Value::from(review.nick.clone()));
                    if let Some(reply) = &review.reply {
                        comment.insert("replyContent".to_owned(), Value::from(reply.clone()));
                    }
                    comment.insert(
                        "isVenderReply".to_owned(),
                        Value::from(review.reply.is_some()),
                    );
                    Value::Object(comment)
                })
                .collect();
            (matching.len(), comments)
        })
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert("comments".to_owned(), Value::Array(comments));
    body.insert("totalItem".to_owned(), Value::from(total));
    Ok(body)
}

/// A JD timestamp for `at` in the SDK's spelling (`…ss.SSS+0800`).
pub fn sdk_timestamp(at: DateTime<Utc>) -> String {
    let offset =
        chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is valid"));
    offset
        .from_utc_datetime(&at.naive_utc())
        .format("%Y-%m-%d %H:%M:%S%.3f%z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_sign_vector() {
        let params = [
            (
                "360buy_param_json",
                r#"{"end_date":null,"optional_fields":null,"order_state":"WAIT_SELLER_STOCK_OUT","page":"1","page_size":"200","start_date":null}"#,
            ),
            ("access_token", "yourtoken"),
            ("app_key", "yourappkey"),
            ("method", "jingdong.pop.order.search"),
            ("timestamp", "2021-05-07 09:20:39.683+0800"),
            ("v", "2.0"),
        ];
        assert_eq!(
            sign::canonical_string(params.iter().copied()),
            "360buy_param_json{\"end_date\":null,\"optional_fields\":null,\"order_state\":\"WAIT_SELLER_STOCK_OUT\",\
             \"page\":\"1\",\"page_size\":\"200\",\"start_date\":null}access_tokenyourtokenapp_keyyourappkey\
             methodjingdong.pop.order.searchtimestamp2021-05-07 09:20:39.683+0800v2.0"
        );
        assert_eq!(
            sign::sign(params.iter().copied(), "yourappSecret", SignMethod::Md5),
            "D70825340F4084360B9362B60DFD7930"
        );
    }

    #[test]
    fn both_timestamp_spellings_parse() {
        let plain = parse_timestamp("2021-05-07 09:20:39").unwrap();
        let sdk = parse_timestamp("2021-05-07 09:20:39.683+0800").unwrap();
        assert_eq!(plain.timestamp(), 1_620_350_439);
        assert_eq!(sdk.timestamp_millis(), 1_620_350_439_683);
        assert_eq!(sdk_timestamp(sdk), "2021-05-07 09:20:39.683+0800");
        assert_eq!(parse_timestamp("1620350439"), None);
    }

    #[test]
    fn business_parameters_accept_strings_numbers_and_arrays() {
        let business: Map<String, Value> =
            serde_json::from_str(r#"{"wareId":[1,"2"],"pageNo":"3","pageSize":5,"x":null}"#)
                .unwrap();
        assert_eq!(numbers(&business, "wareId").unwrap(), Some(vec![1, 2]));
        assert_eq!(number(&business, "pageNo", 1).unwrap(), 3);
        assert_eq!(number(&business, "pageSize", 1).unwrap(), 5);
        assert_eq!(text(&business, "x"), None);
        assert_eq!(ware_status(ListingStatus::SoldOut), Some(8));
        assert_eq!(ware_status(ListingStatus::Deleted), None);
    }
}
