//! The review-search aggregator: envelope, form encodings, error codes, throttle, quota.

use serde_json::Value;
use simulator::DEFAULT_AGGREGATOR_TOKEN;

use crate::{multipart, newest_tids, quiet_world, tids, with_unauthorized_shop, Running};

const TOKEN: &str = DEFAULT_AGGREGATOR_TOKEN;

fn form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("shop_id", "123"),
        (
            "fields",
            "tid,oid,nick,result,created,content,item_price,rated_nick",
        ),
        ("rate_type", "get"),
        ("role", "buyer"),
    ];
    for (name, value) in extra {
        fields.retain(|(key, _)| key != name);
        if !value.is_empty() {
            fields.push((name, value));
        }
    }
    fields
}

async fn call(running: &Running, token: Option<&str>, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut request = running
        .client
        .post(running.url("/tool/erps/traderates"))
        .form(fields);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn urlencoded_and_multipart_searches_answer_the_envelope() {
    let running = Running::start(quiet_world(45)).await;
    let (status, body) = call(&running, Some(TOKEN), &form(&[])).await;
    assert_eq!(status, 200);
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["msg"], "成功");
    assert!(body["msec"].is_u64() && body["time"].is_i64());
    let data = &body["data"];
    assert_eq!(data["total_results"], 45);
    assert_eq!(data["withholding_money"], 0.01);
    let rates = &data["trade_rates"];
    assert_eq!(rates.as_array().unwrap().len(), 40);
    assert_eq!(tids(rates), newest_tids(&running.simulator, "123")[..40]);
    let mut keys: Vec<&str> = rates[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "content",
            "created",
            "item_price",
            "nick",
            "oid",
            "rated_nick",
            "result",
            "tid"
        ]
    );

    let (content_type, bytes) = multipart(&form(&[
        ("shop_id", "dy-3001"),
        ("fields", "tid,content"),
        ("page_no", "2"),
        ("page_size", "20"),
        ("vvtype", "2"),
    ]));
    let body: Value = running
        .client
        .post(running.url("/tool/erps/traderates"))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["code"], 0, "{body}");
    let rates = &body["data"]["trade_rates"];
    assert_eq!(
        tids(rates),
        newest_tids(&running.simulator, "dy-3001")[20..40]
    );
    assert_eq!(rates[0].as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn filters_has_next_and_the_1500_cap() {
    let running = Running::start(quiet_world(1600)).await;
    let mut seen = 0;
    for page_no in ["1", "10", "11"] {
        let (_, body) = call(
            &running,
            Some(TOKEN),
            &form(&[
                ("page_size", "150"),
                ("page_no", page_no),
                ("fields", "tid"),
            ]),
        )
        .await;
        assert_eq!(body["data"]["total_results"], 1600, "{body}");
        seen += body["data"]["trade_rates"].as_array().unwrap().len();
    }
    assert_eq!(seen, 300, "pages 1 and 10 full, page 11 beyond the cap");
    let (_, body) = call(
        &running,
        Some(TOKEN),
        &form(&[
            ("page_size", "150"),
            ("page_no", "10"),
            ("use_has_next", "true"),
        ]),
    )
    .await;
    assert_eq!(body["data"]["has_next"], false, "{body}");
    assert!(body["data"].get("total_results").is_none());

    let (_, body) = call(
        &running,
        Some(TOKEN),
        &form(&[("result", "bad"), ("page_size", "150")]),
    )
    .await;
    let bad = running
        .simulator
        .reviews()
        .iter()
        .filter(|review| review.shop_id == "123" && review.result == schemas::Rating::Bad)
        .count();
    assert_eq!(body["data"]["total_results"], bad as u64);
    assert!(body["data"]["trade_rates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|rate| rate["result"] == "bad"));

    let target = running
        .simulator
        .reviews()
        .into_iter()
        .find(|review| review.shop_id == "123")
        .unwrap();
    let (_, body) = call(
        &running,
        Some(TOKEN),
        &form(&[("tid", target.tid.as_str())]),
    )
    .await;
    assert_eq!(
        tids(&body["data"]["trade_rates"]),
        [target.tid.parse::<u64>().unwrap()]
    );
    let (_, body) = call(
        &running,
        Some(TOKEN),
        &form(&[
            ("start_date", target.created.as_str()),
            ("end_date", target.created.as_str()),
        ]),
    )
    .await;
    let same_second = running
        .simulator
        .reviews()
        .iter()
        .filter(|review| review.shop_id == "123" && review.created == target.created)
        .count();
    assert_eq!(body["data"]["total_results"], same_second as u64, "{body}");
}

#[tokio::test]
async fn each_error_code_in_its_situation() {
    let mut config = with_unauthorized_shop(quiet_world(3), Some(1));
    config.aggregator.requests_per_sec = 10_000.0;
    config.aggregator.burst = 1_000;
    config.aggregator.authorize_url = "https://erp.test/auth".to_owned();
    let running = Running::start(config).await;
    type Case<'a> = (Option<&'a str>, Vec<(&'a str, &'a str)>, i64);
    let cases: Vec<Case<'_>> = vec![
        (None, form(&[]), 401),
        (Some("wrong-token"), form(&[]), 401),
        (Some(TOKEN), form(&[("shop_id", "")]), 100),
        (Some(TOKEN), form(&[("shop_id", "no-such-shop")]), 103),
        (Some(TOKEN), form(&[("shop_id", "tb-10001")]), 103),
        (Some(TOKEN), form(&[("fields", "")]), 100),
        (Some(TOKEN), form(&[("rate_type", "")]), 100),
        (Some(TOKEN), form(&[("page_no", "201")]), 100),
        (Some(TOKEN), form(&[("page_size", "151")]), 100),
        (Some(TOKEN), form(&[("page_size", "0")]), 100),
        (Some(TOKEN), form(&[("start_date", "yesterday")]), 100),
        (Some(TOKEN), form(&[("vvtype", "9")]), 100),
        (Some(TOKEN), form(&[("role", "boss")]), 614),
        (Some(TOKEN), form(&[("rate_type", "all")]), 614),
        (Some(TOKEN), form(&[("result", "great")]), 614),
        (Some(TOKEN), form(&[("tid", "abc")]), 614),
        (Some(TOKEN), form(&[("tid", "1234567")]), 614),
    ];
    for (token, fields, code) in cases {
        let (status, body) = call(&running, token, &fields).await;
        assert_eq!(status, 200);
        assert_eq!(body["code"], code, "{fields:?}: {body}");
        assert!(body["msg"].is_string() && body["time"].is_i64());
        assert!(body["data"].is_null(), "{body}");
    }

    let (_, body) = call(&running, Some(TOKEN), &form(&[("shop_id", "ks-77")])).await;
    assert_eq!(body["code"], 302, "{body}");
    assert_eq!(
        body["data"]["authorize_url"],
        "https://erp.test/auth?shop_id=ks-77"
    );
    assert!(body["msg"]
        .as_str()
        .unwrap()
        .contains("https://erp.test/auth?shop_id=ks-77"));

    // The second token has a quota of one call.
    let (_, body) = call(
        &running,
        Some("second-token"),
        &form(&[("shop_id", "ks-77")]),
    )
    .await;
    assert_eq!(body["code"], 0, "{body}");
    let (_, body) = call(
        &running,
        Some("second-token"),
        &form(&[("shop_id", "ks-77")]),
    )
    .await;
    assert_eq!(body["code"], 204, "{body}");

    let response = running
        .client
        .post(running.url("/tool/erps/orders"))
        .bearer_auth(TOKEN)
        .form(&form(&[]))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 203, "{body}");

    for response in [
        running
            .client
            .get(running.url("/tool/erps/traderates"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
        running
            .client
            .post(running.url("/tool/erp/traderates"))
            .bearer_auth(TOKEN)
            .form(&form(&[]))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 404, "{body}");
    }
}

#[tokio::test]
async fn an_account_over_its_rate_gets_the_throttle_code() {
    let mut config = with_unauthorized_shop(quiet_world(2), None);
    config.aggregator.requests_per_sec = 0.001;
    config.aggregator.burst = 3;
    let running = Running::start(config).await;
    for _ in 0..3 {
        let (_, body) = call(&running, Some(TOKEN), &form(&[])).await;
        assert_eq!(body["code"], 0, "{body}");
    }
    let (_, body) = call(&running, Some(TOKEN), &form(&[])).await;
    assert_eq!(body["code"], 202, "{body}");
    assert_eq!(body["msg"], "系统繁忙，请稍后再试");
    // Per account: the other token is not affected.
    let (_, body) = call(
        &running,
        Some("second-token"),
        &form(&[("shop_id", "ks-77")]),
    )
    .await;
    assert_eq!(body["code"], 0, "{body}");
    let stats = running.simulator.stats();
    assert_eq!((stats.aggregator.ok, stats.aggregator.throttled), (4, 1));
    assert_eq!(stats.aggregator.error_codes.get("202"), Some(&1));
}

#[tokio::test]
async fn the_throttle_code_is_configurable() {
    let mut config = quiet_world(1);
    config.aggregator.requests_per_sec = 0.001;
    config.aggregator.burst = 1;
    config.aggregator.throttle_code = 429;
    let running = Running::start(config).await;
    let (_, body) = call(&running, Some(TOKEN), &form(&[])).await;
    assert_eq!(body["code"], 0);
    let (_, body) = call(&running, Some(TOKEN), &form(&[])).await;
    assert_eq!(body["code"], 429, "{body}");
}
