//! The TOP router: signatures, error codes, throttle, envelopes, paging and the 1,500 cap.

use chrono::{TimeDelta, Utc};
use serde_json::Value;
use simulator::sign::{sign, SignMethod};
use simulator::{TopAppConfig, TopSessionConfig};

use crate::{multipart, newest_tids, quiet_world, tids, Running};

const FIELDS: &str = "tid,oid,created,result,content,nick,item_title,item_price,num_iid";

fn gmt8(at: chrono::DateTime<Utc>) -> String {
    (at + TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The default app's parameters for a buyer-review search, changed by `changes`
/// (`Some` sets, `None` removes), then signed with `secret` unless `sign` is changed.
fn signed(changes: &[(&str, Option<&str>)], secret: &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("method", "taobao.traderates.get"),
        ("app_key", "12345678"),
        ("session", "test"),
        ("format", "json"),
        ("v", "2.0"),
        ("sign_method", "md5"),
        ("fields", FIELDS),
        ("rate_type", "get"),
        ("role", "buyer"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    params.push(("timestamp".to_owned(), gmt8(Utc::now())));
    for (name, value) in changes {
        if *name == "sign" {
            continue;
        }
        params.retain(|(key, _)| key != name);
        if let Some(value) = value {
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let method = params
        .iter()
        .find(|(key, _)| key == "sign_method")
        .and_then(|(_, value)| SignMethod::parse(value))
        .unwrap_or(SignMethod::Md5);
    let signature = sign(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        secret,
        method,
    );
    match changes.iter().find(|(name, _)| *name == "sign") {
        Some((_, Some(value))) => params.push(("sign".to_owned(), (*value).to_owned())),
        Some((_, None)) => {}
        None => params.push(("sign".to_owned(), signature)),
    }
    params
}

async fn get(running: &Running, params: &[(String, String)]) -> Value {
    let response = running
        .client
        .get(running.url("/router/rest"))
        .query(params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn post(running: &Running, params: &[(String, String)]) -> Value {
    running
        .client
        .post(running.url("/router/rest"))
        .form(params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn error_code(body: &Value) -> i64 {
    body["error_response"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {body}"))
}

#[tokio::test]
async fn md5_get_answers_the_double_wrapped_envelope_newest_first() {
    let running = Running::start(quiet_world(25)).await;
    let body = get(&running, &signed(&[], "helloworld")).await;
    let response = &body["traderates_get_response"];
    assert_eq!(response["total_results"], 25, "{body}");
    assert_eq!(response["request_id"].as_str().unwrap().len(), 13);
    let rates = &response["trade_rates"]["trade_rate"];
    assert_eq!(tids(rates), newest_tids(&running.simulator, "tb-10001"));
    let first = &rates[0];
    let truth = running
        .simulator
        .reviews()
        .into_iter()
        .find(|review| review.tid == first["tid"].as_u64().unwrap().to_string())
        .unwrap();
    assert_eq!(first["content"], truth.content.as_str());
    assert_eq!(first["nick"], truth.nick.as_str());
    assert_eq!(first["created"], truth.created.as_str());
    assert_eq!(first["result"], truth.result.as_str());
    assert_eq!(first["item_price"], truth.item_price.as_str());
    assert_eq!(first["oid"].as_u64().unwrap().to_string(), truth.oid);
    assert!(first.get("rated_nick").is_none(), "not requested: {first}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn hmac_and_hmac_sha256_post_forms_and_multipart_are_accepted() {
    let running = Running::start(quiet_world(5)).await;
    for method in ["hmac", "hmac-sha256"] {
        let body = post(
            &running,
            &signed(&[("sign_method", Some(method))], "helloworld"),
        )
        .await;
        assert_eq!(
            body["traderates_get_response"]["total_results"], 5,
            "{method}: {body}"
        );
    }
    let params = signed(&[("sign_method", Some("hmac-sha256"))], "helloworld");
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (content_type, bytes) = multipart(&pairs);
    let body: Value = running
        .client
        .post(running.url("/router/rest"))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["traderates_get_response"]["total_results"], 5,
        "{body}"
    );
    // System parameters in the query string, business parameters in the body (Java SDK style).
    let (system, business): (Vec<_>, Vec<_>) = params
        .iter()
        .cloned()
        .partition(|(key, _)| !["fields", "rate_type", "role"].contains(&key.as_str()));
    let body: Value = running
        .client
        .post(running.url("/router/rest"))
        .query(&system)
        .form(&business)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["traderates_get_response"]["total_results"], 5,
        "{body}"
    );
}

#[tokio::test]
async fn simplify_gives_bare_arrays_and_use_has_next_replaces_the_total() {
    let running = Running::start(quiet_world(50)).await;
    let body = get(
        &running,
        &signed(
            &[("simplify", Some("true")), ("page_size", Some("30"))],
            "helloworld",
        ),
    )
    .await;
    assert!(body.get("traderates_get_response").is_none(), "{body}");
    assert_eq!(body["trade_rates"].as_array().unwrap().len(), 30);
    assert_eq!(body["total_results"], 50);
    assert!(body["request_id"].is_string());

    let page = |no: &'static str| {
        signed(
            &[
                ("use_has_next", Some("true")),
                ("page_size", Some("30")),
                ("page_no", Some(no)),
            ],
            "helloworld",
        )
    };
    let first = get(&running, &page("1")).await;
    let first = &first["traderates_get_response"];
    assert_eq!(first["has_next"], true);
    assert!(first.get("total_results").is_none(), "{first}");
    let second = get(&running, &page("2")).await;
    let second = &second["traderates_get_response"];
    assert_eq!(second["has_next"], false);
    assert_eq!(
        second["trade_rates"]["trade_rate"]
            .as_array()
            .unwrap()
            .len(),
        20
    );

    // An empty standard result leaves `trade_rates` out, as TOP does.
    let empty = get(&running, &signed(&[("role", Some("seller"))], "helloworld")).await;
    assert_eq!(
        empty["traderates_get_response"]["total_results"], 0,
        "{empty}"
    );
    assert!(empty["traderates_get_response"]
        .get("trade_rates")
        .is_none());
}

#[tokio::test]
async fn paging_stops_at_1500_per_window_while_the_total_stays_true() {
    let running = Running::start(quiet_world(1700)).await;
    let expected = newest_tids(&running.simulator, "tb-10001");
    let mut seen = Vec::new();
    for page_no in 1..=11 {
        let page_no = page_no.to_string();
        let body = get(
            &running,
            &signed(
                &[
                    ("page_size", Some("150")),
                    ("page_no", Some(page_no.as_str())),
                    ("fields", Some("tid")),
                ],
                "helloworld",
            ),
        )
        .await;
        let response = &body["traderates_get_response"];
        assert_eq!(response["total_results"], 1700, "page {page_no}");
        if let Some(rates) = response["trade_rates"].get("trade_rate") {
            seen.extend(tids(rates));
        }
    }
    assert_eq!(seen.len(), 1500);
    assert_eq!(seen, expected[..1500]);

    // Splitting the window reaches the rest: everything older than the 1,500th record.
    let truth = running.simulator.reviews();
    let cut = truth
        .iter()
        .find(|review| review.tid == expected[1499].to_string())
        .unwrap()
        .created
        .clone();
    let body = get(
        &running,
        &signed(
            &[("end_date", Some(cut.as_str())), ("page_size", Some("150"))],
            "helloworld",
        ),
    )
    .await;
    let older = body["traderates_get_response"]["total_results"]
        .as_u64()
        .unwrap();
    assert!(older >= 201, "records at or before {cut}: {older}");
}

#[tokio::test]
async fn each_validation_failure_has_its_code() {
    let mut config = quiet_world(3);
    config.credentials.top_apps[0]
        .sessions
        .push(TopSessionConfig {
            session: schemas::Secret::new("old-session"),
            shop_id: "tb-10001".to_owned(),
            expired: true,
        });
    config.top.calls_per_sec = 10_000.0;
    config.top.burst = 1_000;
    let running = Running::start(config).await;
    let old = gmt8(Utc::now() - TimeDelta::minutes(11));
    type Case<'a> = (Vec<(&'a str, Option<&'a str>)>, i64, Option<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        (vec![("method", None)], 21, None),
        (vec![("method", Some("taobao.trades.sold.get"))], 22, None),
        (vec![("app_key", None)], 28, None),
        (vec![("app_key", Some("87654321"))], 29, None),
        (vec![("format", Some("xml"))], 23, None),
        (vec![("format", None)], 23, None),
        (vec![("sign", None)], 24, None),
        (
            vec![("sign", Some("66987CB115214E59E6EC978214934FB8"))],
            25,
            None,
        ),
        (vec![("sign_method", Some("sha1"))], 25, None),
        (vec![("timestamp", None)], 30, None),
        (vec![("timestamp", Some(old.as_str()))], 31, None),
        (vec![("timestamp", Some("1717200000000"))], 31, None),
        (vec![("v", None)], 32, None),
        (vec![("v", Some("two"))], 33, None),
        (vec![("v", Some("1.0"))], 34, None),
        (vec![("session", None)], 26, None),
        (
            vec![("session", Some("nobody"))],
            27,
            Some("invalid-sessionkey"),
        ),
        (
            vec![("session", Some("old-session"))],
            27,
            Some("invalid-sessionkey"),
        ),
        (vec![("fields", None)], 40, Some("isv.missing-parameter")),
        (vec![("role", None)], 40, Some("isv.missing-parameter")),
        (
            vec![("role", Some("boss"))],
            41,
            Some("isv.invalid-parameter:role"),
        ),
        (
            vec![("rate_type", Some("all"))],
            41,
            Some("isv.invalid-parameter:rate_type"),
        ),
        (
            vec![("result", Some("great"))],
            41,
            Some("isv.invalid-parameter:result"),
        ),
        (
            vec![("page_no", Some("201"))],
            41,
            Some("isv.invalid-parameter:page_no"),
        ),
        (
            vec![("page_size", Some("151"))],
            41,
            Some("isv.invalid-parameter:page_size"),
        ),
        (
            vec![("start_date", Some("2024/01/01"))],
            41,
            Some("isv.invalid-parameter:start_date"),
        ),
    ];
    for (changes, code, sub_code) in cases {
        let body = get(&running, &signed(&changes, "helloworld")).await;
        assert_eq!(error_code(&body), code, "{changes:?}: {body}");
        let error = &body["error_response"];
        assert!(error["msg"].is_string() && error["request_id"].is_string());
        if let Some(sub_code) = sub_code {
            assert_eq!(error["sub_code"], sub_code, "{changes:?}");
        }
    }
    // A signature made with another secret.
    let body = get(&running, &signed(&[], "not-the-secret")).await;
    assert_eq!(error_code(&body), 25);
    assert_eq!(body["error_response"]["msg"], "Invalid Signature");
    // A method other than GET/POST.
    let body: Value = running
        .client
        .put(running.url("/router/rest"))
        .query(&signed(&[], "helloworld"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body), 9);
    let stats = running.simulator.stats();
    assert_eq!(stats.top.requests, 28);
    assert_eq!(stats.top.errors, 28);
    assert_eq!(stats.top.error_codes.get("25"), Some(&3));
}

#[tokio::test]
async fn an_app_over_its_bucket_is_banned_with_the_ban_text() {
    let mut config = quiet_world(2);
    config.top.calls_per_sec = 0.001;
    config.top.burst = 2;
    config.top.ban_secs = 30;
    config.credentials.top_apps.push(TopAppConfig {
        app_key: "55555555".to_owned(),
        app_secret: schemas::Secret::new("other-secret"),
        sessions: vec![TopSessionConfig {
            session: schemas::Secret::new("s2"),
            shop_id: "tb-10001".to_owned(),
            expired: false,
        }],
    });
    let running = Running::start(config).await;
    for _ in 0..2 {
        let body = get(&running, &signed(&[], "helloworld")).await;
        assert_eq!(
            body["traderates_get_response"]["total_results"], 2,
            "{body}"
        );
    }
    for _ in 0..2 {
        let body = get(&running, &signed(&[], "helloworld")).await;
        let error = &body["error_response"];
        assert_eq!(error["code"], 7, "{body}");
        assert_eq!(error["msg"], "App Call Limited");
        assert_eq!(
            error["sub_code"],
            "accesscontrol.limited-by-app-access-count"
        );
        let sub_msg = error["sub_msg"].as_str().unwrap();
        assert!(
            sub_msg == "This ban will last for 30 more seconds"
                || sub_msg == "This ban will last for 29 more seconds",
            "{sub_msg}"
        );
    }
    // Another app keeps its own bucket.
    let other = signed(
        &[("app_key", Some("55555555")), ("session", Some("s2"))],
        "other-secret",
    );
    let body = get(&running, &other).await;
    assert_eq!(
        body["traderates_get_response"]["total_results"], 2,
        "{body}"
    );
    let stats = running.simulator.stats();
    assert_eq!((stats.top.ok, stats.top.throttled), (3, 2));
}
