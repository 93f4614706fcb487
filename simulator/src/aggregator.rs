//! The multi-platform review-search aggregator, `POST /tool/erps/traderates`.
//!
//! Contract (platform-apis.md §R): `Authorization: Bearer <token>`, form fields urlencoded or
//! multipart. Every answer is `{"code":C,"msg":M,"msec":<ms spent>,"time":<unix s>,"data":…}`
//! with HTTP 200, except a wrong path or method (code 404, HTTP 404). Checks in order:
//!
//! | check | code |
//! |---|---|
//! | path other than `/tool/erps/traderates`, or method other than POST | 404 |
//! | bearer token missing or unknown | 401 |
//! | account over `requests_per_sec` (vendor: 10/s) | `throttle_code`, default 202 (our choice: the vendor does not say) |
//! | another `/tool/erps/<name>` interface | 203 |
//! | account's `quota_calls` used up | 204 |
//! | body is not a readable form, `shop_id` missing | 100 |
//! | shop unknown to the aggregator | 103 |
//! | shop not authorized for this token | 302, `data.authorize_url` (also in `msg`) |
//! | `fields`/`rate_type`/`role` missing; page_no outside 1..=200, page_size outside 1..=150, bad dates, num_iid, use_has_next or vvtype (1, 2, 3) | 100 |
//! | bad role, rate_type, result or tid; a tid that matches no rating | 614 |
//!
//! Codes 101 (timeout) and 200 (system error) only come from fault injection. Success `data`
//! is `{"trade_rates":[…],"total_results":N,"withholding_money":X}` (`has_next` instead of
//! `total_results` with `use_has_next=true`); `withholding_money` is a number in yuan.

use axum::http::{header, HeaderMap, Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::config::Api;
use crate::form::{FormError, Params};
use crate::query::{search, ParamError, SearchQuery};
use crate::server::{Answer, Inner};
use crate::stats::Outcome;
use crate::throttle::Admission;

/// The interface name of the review search under `/tool/erps/`.
pub const TRADERATES: &str = "traderates";

/// Returns the Chinese `msg` the vendor sends with `code`.
pub(crate) fn message(code: i64) -> &'static str {
    match code {
        0 => "成功",
        100 => "请求参数错误",
        101 => "请求超时",
        103 => "卖家账号不存在",
        200 => "系统错误",
        202 => "系统繁忙，请稍后再试",
        203 => "接口不支持",
        204 => "没有该接口权限或调用次数已用完",
        302 => "店铺未授权，请先授权",
        401 => "凭证无效",
        404 => "路径或方法错误",
        614 => "参数无效",
        _ => "模拟错误",
    }
}

/// Returns the authorization link for `shop_id`.
pub(crate) fn authorize_url(inner: &Inner, shop_id: &str) -> String {
    let mut url = inner.config().aggregator.authorize_url.clone();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("shop_id", shop_id)
            .finish(),
    );
    url
}

/// Renders an error envelope; `detail` is appended to the code's message.
pub(crate) fn error_body(
    inner: &Inner,
    code: i64,
    detail: Option<&str>,
    shop_id: Option<&str>,
    msec: u64,
) -> Value {
    let mut msg = message(code).to_owned();
    let mut data = Value::Null;
    if code == 302 {
        let url = authorize_url(inner, shop_id.unwrap_or(""));
        msg = format!("{msg}: {url}");
        data = json!({ "authorize_url": url });
    } else if let Some(detail) = detail {
        msg = format!("{msg}: {detail}");
    }
    envelope(code, &msg, msec, data)
}

fn envelope(code: i64, msg: &str, msec: u64, data: Value) -> Value {
    json!({
        "code": code,
        "msg": msg,
        "msec": msec,
        "time": chrono::Utc::now().timestamp(),
        "data": data,
    })
}

/// A well-formed response that is not the vendor's envelope.
pub(crate) fn wrong_envelope() -> Value {
    json!({ "status": "ok", "result": { "list": [], "count": 0 } })
}

/// A body that looks like the vendor's JSON but does not parse.
pub(crate) const MALFORMED: &str =
    "{\"code\":0,\"msg\":\"成功\",\"data\":{trade_rates:[{\"tid\":1,]}";

/// Why a request failed, before rendering.
struct Failure {
    code: i64,
    detail: Option<String>,
    status: StatusCode,
    throttled: bool,
}

impl Failure {
    fn new(code: i64) -> Failure {
        Failure {
            code,
            detail: None,
            status: StatusCode::OK,
            throttled: false,
        }
    }

    fn detail(code: i64, detail: impl Into<String>) -> Failure {
        Failure {
            detail: Some(detail.into()),
            ..Failure::new(code)
        }
    }
}

/// Answers one request under `/tool/erps/{interface}`.
pub(crate) fn handle(
    inner: &Inner,
    interface: &str,
    method: &Method,
    headers: &HeaderMap,
    params: Result<Params, FormError>,
    clock: tokio::time::Instant,
) -> Answer {
    let shop_id = params
        .as_ref()
        .ok()
        .and_then(|params| params.non_empty("shop_id"))
        .map(str::to_owned);
    let answer = match respond(inner, interface, method, headers, params, clock) {
        Ok(data) => {
            let msec = elapsed_ms(clock);
            Answer::new(
                StatusCode::OK,
                envelope(0, message(0), msec, data),
                Outcome::Ok,
            )
        }
        Err(failure) => {
            let msec = elapsed_ms(clock);
            let body = error_body(
                inner,
                failure.code,
                failure.detail.as_deref(),
                shop_id.as_deref(),
                msec,
            );
            let outcome = if failure.throttled {
                Outcome::Throttled(failure.code)
            } else {
                Outcome::Error(failure.code)
            };
            Answer::new(failure.status, body, outcome)
        }
    };
    tracing::debug!(api = Api::Aggregator.as_str(), outcome = ?answer.outcome, "aggregator request answered");
    answer
}

/// Answers a request outside every known path.
pub(crate) fn not_found(inner: &Inner) -> Answer {
    Answer::new(
        StatusCode::NOT_FOUND,
        error_body(inner, 404, None, None, 0),
        Outcome::Error(404),
    )
}

fn elapsed_ms(started: tokio::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn respond(
    inner: &Inner,
    interface: &str,
    method: &Method,
    headers: &HeaderMap,
    params: Result<Params, FormError>,
    clock: tokio::time::Instant,
) -> Result<Value, Failure> {
    let config = inner.config();
    if *method != Method::POST {
        return Err(Failure {
            status: StatusCode::NOT_FOUND,
            ..Failure::new(404)
        });
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| Failure::detail(401, "missing Authorization: Bearer token"))?;
    let account = config
        .credentials
        .aggregator_tokens
        .iter()
        .find(|account| account.token.expose() == token)
        .ok_or_else(|| Failure::new(401))?;
    if let Admission::Refused { .. } = inner.admit_aggregator(token, clock) {
        return Err(Failure {
            throttled: true,
            ..Failure::new(config.aggregator.throttle_code)
        });
    }
    if interface != TRADERATES {
        return Err(Failure::detail(
            203,
            format!("{interface} is not supported"),
        ));
    }
    let calls = inner.count_aggregator_call(token);
    if account.quota_calls.is_some_and(|quota| calls > quota) {
        return Err(Failure::new(204));
    }
    let params = params.map_err(|FormError(reason)| Failure::detail(100, reason))?;
    let shop_id = params
        .non_empty("shop_id")
        .ok_or_else(|| Failure::detail(100, "shop_id is required"))?;
    if !inner.has_shop(Api::Aggregator, shop_id) {
        return Err(Failure::new(103));
    }
    if !account
        .shop_ids
        .iter()
        .any(|authorized| authorized == shop_id)
    {
        return Err(Failure::new(302));
    }
    let query = SearchQuery::parse(&params).map_err(|error| match &error {
        ParamError::BadValue { .. } => Failure::detail(614, error.detail()),
        ParamError::Missing { .. } | ParamError::Malformed { .. } => {
            Failure::detail(100, error.detail())
        }
    })?;
    if let Some(vvtype) = params.non_empty("vvtype") {
        if !matches!(vvtype.trim(), "1" | "2" | "3") {
            return Err(Failure::detail(
                100,
                format!("vvtype {vvtype:?} is not 1, 2 or 3"),
            ));
        }
    }
    let page = inner
        .with_shop(Api::Aggregator, shop_id, |shop| search(shop, &query))
        .ok_or_else(|| Failure::new(103))?;
    if query.tid.is_some() && page.total_results == 0 {
        return Err(Failure::detail(614, "order not found"));
    }
    let mut data = Map::new();
    data.insert("trade_rates".to_owned(), Value::Array(page.trade_rates));
    if query.use_has_next {
        data.insert("has_next".to_owned(), Value::from(page.has_next));
    } else {
        data.insert("total_results".to_owned(), Value::from(page.total_results));
    }
    data.insert(
        "withholding_money".to_owned(),
        Value::from(config.aggregator.withholding_money),
    );
    Ok(Value::Object(data))
}
