//! Kuaidi100: the real-time query `POST /poll/query.do`, the subscription `POST /poll` and
//! signed callbacks to subscribers (platform-apis.md §4).
//!
//! Contract:
//! - Query: form fields `customer`, `sign`, `param` (a JSON string: `com`, `num`, optional
//!   `phone`, `resultv2`, `order` asc|desc). `sign` = `UPPER(MD5(param + key + customer))`
//!   over `param` exactly as sent. Success: `{"message":"ok","nu","ischeck":"0"|"1",
//!   "condition":"F00","com","status":"200","state":"<n>","data":[…]}`, nodes newest first
//!   unless `order=asc`, each `{time, ftime, context, location, status}` (status = the state
//!   name, e.g. 在途, 签收), plus `areaName` with `resultv2` >= 1 and `statusCode` (e.g. 103,
//!   1002, 301, 204) with `resultv2` >= 4. `state` and `ischeck` are strings.
//! - Query failures `{"result":false,"returnCode","message"}` (the table is not confirmed,
//!   §8; these are our choices): 400 incomplete or malformed data (including a `shunfeng`
//!   query without `phone`), 503 signature failure or unknown customer, 500 no result (an
//!   unknown waybill or a parcel not yet collected).
//! - Subscribe: form fields `schema=json`, `param` = `{company, number, key,
//!   parameters{callbackurl, salt?, resultv2?}}` → `{"result":true,"returnCode":"200",
//!   "message":"提交成功"}`; 600 unknown key, 700 missing or malformed fields, 701 a courier
//!   the simulator does not run, 501 the same key already follows that waybill (codes as
//!   commonly reported, not confirmed).
//! - Pushes: every `kuaidi100.push_interval_ms`, each subscription whose parcel has scans it
//!   has not been sent gets one POST to its `callbackurl`, form fields `param` (JSON:
//!   `status` `polling`, or `shutdown` once signed or returned, `billstatus`, `message`,
//!   `autoCheck`, `comOld`, `comNew`, `lastResult` = the query body with every scan) and
//!   `sign` = `UPPER(MD5(param + salt))` when the subscription has a salt. Only a reply body
//!   with `"result":true` and `"returnCode":"200"` acknowledges it; otherwise it is sent
//!   again after `retry_interval_ms`, up to `retries` times, then dropped (the next new scan
//!   sends a fresh push with the full trace). A subscription ends after its `shutdown` push
//!   is acknowledged. `abort` pushes (no record for 3 days / no change for 60 days) are not
//!   simulated.

use std::time::Duration;

use axum::http::StatusCode;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::commerce::SimParcel;
use crate::form::Params;
use crate::server::{Answer, Inner};
use crate::stats::Outcome;

/// The courier codes of the simulated world.
pub const COMPANIES: &[&str] = &["yuantong", "zhongtong", "shunfeng", "yunda", "jd"];

/// `UPPER(MD5(text))` of the concatenation of `parts`.
pub fn md5_upper(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode_upper(hasher.finalize())
}

/// The query signature: `UPPER(MD5(param + key + customer))`.
pub fn query_sign(param: &str, key: &str, customer: &str) -> String {
    md5_upper(&[param, key, customer])
}

/// The push signature: `UPPER(MD5(param + salt))`.
pub fn push_sign(param: &str, salt: &str) -> String {
    md5_upper(&[param, salt])
}

fn state_name(state: u32) -> &'static str {
    match state {
        0 => "在途",
        1 => "揽收",
        2 => "疑难",
        3 => "签收",
        4 => "退签",
        5 => "派件",
        6 => "退回",
        7 => "转投",
        14 => "拒签",
        _ => "在途",
    }
}

/// A body that looks like a Kuaidi100 answer but does not parse.
pub(crate) const MALFORMED: &str = "{\"message\":\"ok\",\"nu\":\"YT1\",\"data\":[{\"time\":";

/// Valid JSON that is neither a trace nor a failure.
pub(crate) fn wrong_envelope() -> Value {
    json!({ "returnCode": "200", "result": true })
}

/// Renders a failure body.
pub(crate) fn failure(code: &str, message: &str) -> Value {
    json!({ "result": false, "returnCode": code, "message": message })
}

fn failure_answer(code: &str, message: &str) -> Answer {
    let numeric = code.parse().unwrap_or(0);
    Answer::new(
        StatusCode::OK,
        failure(code, message),
        Outcome::Error(numeric),
    )
}

/// The query body of `parcel`: what `/poll/query.do` answers and a push's `lastResult`.
pub(crate) fn trace_body(parcel: &SimParcel, resultv2: u32, ascending: bool) -> Value {
    let mut nodes: Vec<Value> = parcel
        .steps
        .iter()
        .map(|step| {
            let mut node = Map::new();
            node.insert("time".to_owned(), Value::from(step.time.clone()));
            node.insert("ftime".to_owned(), Value::from(step.time.clone()));
            node.insert("context".to_owned(), Value::from(step.context.clone()));
            node.insert("location".to_owned(), Value::from(step.location.clone()));
            node.insert("status".to_owned(), Value::from(state_name(step.state)));
            if resultv2 >= 1 {
                node.insert("areaName".to_owned(), Value::from(step.location.clone()));
            }
            if resultv2 >= 4 {
                node.insert(
                    "statusCode".to_owned(),
                    Value::from(step.status_code.to_string()),
                );
            }
            Value::Object(node)
        })
        .collect();
    if !ascending {
        nodes.reverse();
    }
    let state = parcel.state().unwrap_or(0);
    json!({
        "message": "ok",
        "nu": parcel.waybill,
        "ischeck": if state == 3 { "1" } else { "0" },
        "condition": "F00",
        "com": parcel.company_code,
        "status": "200",
        "state": state.to_string(),
        "data": nodes,
    })
}

fn param_json(params: &Params) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(params.non_empty("param")?) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

fn field(object: &Map<String, Value>, name: &str) -> Option<String> {
    match object.get(name)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Answers `POST /poll/query.do`.
pub(crate) fn query(inner: &Inner, params: &Params) -> Answer {
    let (Some(customer), Some(given), Some(param)) = (
        params.non_empty("customer"),
        params.non_empty("sign"),
        params.get("param"),
    ) else {
        return failure_answer(
            "400",
            "找不到对应公司或数据不完整：customer、sign、param 必填",
        );
    };
    let Some(account) = inner
        .config()
        .credentials
        .kuaidi100_accounts
        .iter()
        .find(|account| account.customer == customer)
    else {
        return failure_answer("503", "验证签名失败");
    };
    if !query_sign(param, account.key.expose(), customer).eq_ignore_ascii_case(given.trim()) {
        return failure_answer("503", "验证签名失败");
    }
    let Some(object) = param_json(params) else {
        return failure_answer("400", "param 不是 JSON 对象");
    };
    let (Some(com), Some(num)) = (field(&object, "com"), field(&object, "num")) else {
        return failure_answer("400", "数据不完整：com、num 必填");
    };
    if com.eq_ignore_ascii_case("shunfeng") && field(&object, "phone").is_none() {
        return failure_answer("400", "顺丰单号查询需要提供 phone");
    }
    let resultv2: u32 = field(&object, "resultv2")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let ascending = field(&object, "order").is_some_and(|order| order == "asc");
    let parcel =
        inner.with_commerce(|commerce| commerce.parcel_by_waybill(Some(&com), &num).cloned());
    match parcel {
        Some(parcel) if !parcel.steps.is_empty() => Answer::new(
            StatusCode::OK,
            trace_body(&parcel, resultv2, ascending),
            Outcome::Ok,
        ),
        _ => failure_answer("500", "查询无结果，请隔段时间再查"),
    }
}

/// One subscription to a waybill.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    key: String,
    company: String,
    number: String,
    callback_url: String,
    salt: Option<String>,
    resultv2: u32,
    /// Scans acknowledged by the receiver.
    acknowledged: usize,
    /// Attempts of the push in flight and when the next one may go.
    attempts: u32,
    retry_at: Option<Instant>,
    finished: bool,
}

/// Every subscription, in order of arrival.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    list: Vec<Subscription>,
}

/// Answers `POST /poll`.
pub(crate) fn subscribe(inner: &Inner, params: &Params) -> Answer {
    let bad = || {
        failure_answer(
            "700",
            "订阅方的订阅数据存在错误（如不支持的快递公司、单号为空、单号超长等）或错误的回调地址",
        )
    };
    if params
        .non_empty("schema")
        .is_some_and(|schema| schema != "json")
    {
        return bad();
    }
    let Some(object) = param_json(params) else {
        return bad();
    };
    let Some(key) = field(&object, "key") else {
        return failure_answer("600", "您不是合法的订阅者（即授权Key出错）");
    };
    let known = inner
        .config()
        .credentials
        .kuaidi100_accounts
        .iter()
        .any(|account| account.key.expose() == key);
    if !known {
        return failure_answer("600", "您不是合法的订阅者（即授权Key出错）");
    }
    let parameters = match object.get("parameters") {
        Some(Value::Object(parameters)) => parameters.clone(),
        _ => Map::new(),
    };
    let (Some(company), Some(number), Some(callback_url)) = (
        field(&object, "company"),
        field(&object, "number"),
        field(&parameters, "callbackurl"),
    ) else {
        return bad();
    };
    if number.len() > 32 || url::Url::parse(&callback_url).is_err() {
        return bad();
    }
    let company = company.to_ascii_lowercase();
    if !COMPANIES.contains(&company.as_str()) {
        return failure_answer("701", "拒绝订阅的快递公司");
    }
    let mut subscriptions = inner.subscriptions();
    let duplicate = subscriptions.list.iter().any(|existing| {
        !existing.finished
            && existing.key == key
            && existing.company == company
            && existing.number == number
    });
    if duplicate {
        return failure_answer("501", "重复订阅");
    }
    subscriptions.list.push(Subscription {
        key,
        company,
        number,
        callback_url,
        salt: field(&parameters, "salt"),
        resultv2: field(&parameters, "resultv2")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0),
        acknowledged: 0,
        attempts: 0,
        retry_at: None,
        finished: false,
    });
    Answer::new(
        StatusCode::OK,
        json!({ "result": true, "returnCode": "200", "message": "提交成功" }),
        Outcome::Ok,
    )
}

/// One push about to be sent.
#[derive(Debug, Clone)]
struct Push {
    index: usize,
    url: String,
    form: Vec<(String, String)>,
    scans: usize,
    last: bool,
}

/// Collects the pushes due at `now`.
fn due_pushes(inner: &Inner, now: Instant) -> Vec<Push> {
    let subscriptions = inner.subscriptions();
    let mut pushes = Vec::new();
    for (index, subscription) in subscriptions.list.iter().enumerate() {
        if subscription.finished || subscription.retry_at.is_some_and(|at| at > now) {
            continue;
        }
        let parcel = inner.with_commerce(|commerce| {
            commerce
                .parcel_by_waybill(Some(&subscription.company), &subscription.number)
                .cloned()
        });
        let Some(parcel) = parcel else { continue };
        if parcel.steps.len() <= subscription.acknowledged && subscription.retry_at.is_none() {
            continue;
        }
        if parcel.steps.is_empty() {
            continue;
        }
        let last = matches!(parcel.state(), Some(3 | 4));
        let body = json!({
            "status": if last { "shutdown" } else { "polling" },
            "billstatus": "change",
            "message": "",
            "autoCheck": "0",
            "comOld": "",
            "comNew": "",
            "lastResult": trace_body(&parcel, subscription.resultv2, false),
        });
        let param = body.to_string();
        let mut form = vec![("param".to_owned(), param.clone())];
        if let Some(salt) = &subscription.salt {
            form.push(("sign".to_owned(), push_sign(&param, salt)));
        }
        pushes.push(Push {
            index,
            url: subscription.callback_url.clone(),
            form,
            scans: parcel.steps.len(),
            last,
        });
    }
    pushes
}

fn acknowledged(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|reply| {
        reply["result"] == Value::Bool(true)
            && (reply["returnCode"] == "200" || reply["returnCode"] == 200)
    })
}

/// Sends due pushes every `push_interval_ms` until `shutdown` is cancelled.
pub(crate) async fn run_pushes(
    inner: &Inner,
    client: &reqwest::Client,
    shutdown: &tokio_util::sync::CancellationToken,
) {
    let config = inner.config().kuaidi100.clone();
    let tick = Duration::from_millis(config.push_interval_ms.min(config.retry_interval_ms.max(1)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        for push in due_pushes(inner, Instant::now()) {
            let sent = client
                .post(&push.url)
                .timeout(Duration::from_millis(config.callback_timeout_ms))
                .form(&push.form)
                .send()
                .await;
            let ok = match sent {
                Ok(response) => response.text().await.is_ok_and(|body| acknowledged(&body)),
                Err(error) => {
                    tracing::warn!(error = %error, "kuaidi100 callback failed");
                    false
                }
            };
            let mut subscriptions = inner.subscriptions();
            let Some(subscription) = subscriptions.list.get_mut(push.index) else {
                continue;
            };
            if ok {
                subscription.acknowledged = push.scans;
                subscription.attempts = 0;
                subscription.retry_at = None;
                subscription.finished = push.last;
            } else if subscription.attempts >= config.retries {
                // Given up: the next new scan starts a fresh push.
                subscription.acknowledged = push.scans;
                subscription.attempts = 0;
                subscription.retry_at = None;
            } else {
                subscription.attempts += 1;
                subscription.retry_at =
                    Some(Instant::now() + Duration::from_millis(config.retry_interval_ms));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_documented_examples() {
        assert_eq!(
            query_sign(
                r#"{"com":"yuantong","num":"YT1234567890"}"#,
                "testkey",
                "TESTCUSTOMER"
            ),
            "4C05ADC889A6E63E8234F5EA12619745"
        );
        assert_eq!(
            push_sign(r#"{"status":"polling"}"#, "mysalt"),
            "D15D018A925DADDC270D86245C6E27B9"
        );
    }

    #[test]
    fn only_result_true_with_200_acknowledges() {
        assert!(acknowledged(
            r#"{"result":true,"returnCode":"200","message":"提交成功"}"#
        ));
        assert!(!acknowledged(r#"{"result":false,"returnCode":"500"}"#));
        assert!(!acknowledged("ok"));
    }
}
