//! `/_sim/`: ground truth, fault injection (HTTP and Rust), stats; live generation; shutdown.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use simulator::sign::{sign, SignMethod};
use simulator::{Api, Fault, SimReview, SimStats, DEFAULT_AGGREGATOR_TOKEN};

use crate::{quiet_world, Running};

async fn top_call(running: &Running) -> reqwest::Response {
    let timestamp = (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut params: Vec<(String, String)> = [
        ("method", "taobao.traderates.get"),
        ("app_key", "12345678"),
        ("session", "test"),
        ("format", "json"),
        ("v", "2.0"),
        ("sign_method", "md5"),
        ("fields", "tid,content"),
        ("rate_type", "get"),
        ("role", "buyer"),
        ("timestamp", timestamp.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let signature = sign(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "helloworld",
        SignMethod::Md5,
    );
    params.push(("sign".to_owned(), signature));
    running
        .client
        .post(running.url("/router/rest"))
        .form(&params)
        .send()
        .await
        .unwrap()
}

async fn aggregator_call(running: &Running, shop_id: &str) -> reqwest::Response {
    running
        .client
        .post(running.url("/tool/erps/traderates"))
        .bearer_auth(DEFAULT_AGGREGATOR_TOKEN)
        .form(&[
            ("shop_id", shop_id),
            ("fields", "tid,content"),
            ("rate_type", "get"),
            ("role", "buyer"),
        ])
        .send()
        .await
        .unwrap()
}

async fn inject_http(running: &Running, body: Value) {
    let response = running
        .client
        .post(running.url("/_sim/faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{body}");
}

#[tokio::test]
async fn ground_truth_lists_every_review_unmasked() {
    let running = Running::start(quiet_world(7)).await;
    let listed: Vec<SimReview> = running
        .client
        .get(running.url("/_sim/reviews"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 21);
    assert_eq!(listed, running.simulator.reviews());
    let raw: Value = running
        .client
        .get(running.url("/_sim/reviews"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &raw[0];
    for key in [
        "platform", "shop_id", "api", "tid", "oid", "created", "result", "content", "nick",
    ] {
        assert!(first.get(key).is_some(), "{key} missing from {first}");
    }
    assert_eq!(first["platform"], "taobao");
    assert_eq!(first["api"], "top");
    assert!(first["tid"].is_string());
    assert!(!first["nick"].as_str().unwrap().contains('*'));
    let platforms: Vec<&str> = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|review| review["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms.iter().filter(|p| **p == "pinduoduo").count(), 7);
    assert_eq!(platforms.iter().filter(|p| **p == "douyin").count(), 7);
}

#[tokio::test]
async fn top_faults_replace_the_next_n_answers() {
    let running = Running::start(quiet_world(3)).await;
    inject_http(
        &running,
        json!({"api": "top", "fault": {"error_code": 7}, "count": 2}),
    )
    .await;
    inject_http(&running, json!({"api": "top", "fault": {"error_code": 15}})).await;
    running.simulator.inject(Api::Top, Fault::ErrorCode(27), 1);
    for _ in 0..2 {
        let body: Value = top_call(&running).await.json().await.unwrap();
        let error = &body["error_response"];
        assert_eq!(error["code"], 7, "{body}");
        assert_eq!(
            error["sub_code"],
            "accesscontrol.limited-by-app-access-count"
        );
        assert_eq!(error["sub_msg"], "This ban will last for 1 more seconds");
    }
    let body: Value = top_call(&running).await.json().await.unwrap();
    assert_eq!(body["error_response"]["code"], 15, "{body}");
    assert!(body["error_response"]["sub_code"]
        .as_str()
        .unwrap()
        .starts_with("isp."));
    let body: Value = top_call(&running).await.json().await.unwrap();
    assert_eq!(body["error_response"]["code"], 27, "{body}");
    assert_eq!(body["error_response"]["msg"], "Invalid Session");
    // The queue is empty again: a normal answer.
    let body: Value = top_call(&running).await.json().await.unwrap();
    assert_eq!(
        body["traderates_get_response"]["total_results"], 3,
        "{body}"
    );

    running.simulator.inject(Api::Top, Fault::MalformedJson, 1);
    running.simulator.inject(Api::Top, Fault::TruncatedJson, 1);
    running.simulator.inject(Api::Top, Fault::WrongEnvelope, 1);
    running.simulator.inject(Api::Top, Fault::Http500, 1);
    let malformed = top_call(&running).await.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&malformed).is_err(),
        "{malformed}"
    );
    let truncated = top_call(&running).await.text().await.unwrap();
    assert!(
        truncated.starts_with("{\"traderates_get_response\""),
        "{truncated}"
    );
    assert!(
        serde_json::from_str::<Value>(&truncated).is_err(),
        "{truncated}"
    );
    let wrong: Value = top_call(&running).await.json().await.unwrap();
    assert!(
        wrong.get("traderates_get_response").is_none() && wrong.get("error_response").is_none()
    );
    let response = top_call(&running).await;
    assert_eq!(response.status(), 500);
    let stats: SimStats = running
        .client
        .get(running.url("/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats.top.requests, 9);
    assert_eq!(
        (stats.top.faults, stats.top.ok, stats.top.errors),
        (8, 1, 0)
    );
    assert_eq!(stats.top.fault_kinds.get("error_code"), Some(&4));
    assert_eq!(stats.top.fault_kinds.get("http_500"), Some(&1));
    assert_eq!(stats.top.faults_pending, 0);
    assert_eq!(stats.aggregator.requests, 0);
}

#[tokio::test]
async fn aggregator_faults_and_slow_answers() {
    let running = Running::start(quiet_world(3)).await;
    inject_http(
        &running,
        json!({"api": "aggregator", "fault": {"error_code": 302}}),
    )
    .await;
    inject_http(
        &running,
        json!({"api": "aggregator", "fault": {"error_code": 202}}),
    )
    .await;
    inject_http(
        &running,
        json!({"api": "aggregator", "fault": "wrong_envelope"}),
    )
    .await;
    inject_http(
        &running,
        json!({"api": "aggregator", "fault": {"slow_ms": 300}}),
    )
    .await;
    assert_eq!(running.simulator.stats().aggregator.faults_pending, 4);

    let body: Value = aggregator_call(&running, "123").await.json().await.unwrap();
    assert_eq!(body["code"], 302, "{body}");
    assert!(body["data"]["authorize_url"]
        .as_str()
        .unwrap()
        .ends_with("shop_id=123"));
    let body: Value = aggregator_call(&running, "123").await.json().await.unwrap();
    assert_eq!(body["code"], 202, "{body}");
    let body: Value = aggregator_call(&running, "123").await.json().await.unwrap();
    assert!(body.get("code").is_none(), "{body}");
    let started = Instant::now();
    let body: Value = aggregator_call(&running, "123").await.json().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        body["code"], 0,
        "a slow answer is still the normal answer: {body}"
    );
    assert_eq!(body["data"]["total_results"], 3);
    // Faults are per API: the TOP router is unaffected.
    running.simulator.inject(Api::Aggregator, Fault::Http500, 1);
    let body: Value = top_call(&running).await.json().await.unwrap();
    assert_eq!(
        body["traderates_get_response"]["total_results"], 3,
        "{body}"
    );
    assert_eq!(aggregator_call(&running, "123").await.status(), 500);

    let stats = running.simulator.stats();
    assert_eq!(stats.aggregator.requests, 5);
    assert_eq!(stats.aggregator.faults, 5);
    assert_eq!(stats.aggregator.ok, 1);
    assert_eq!(stats.aggregator.fault_kinds.get("slow_ms"), Some(&1));

    let bad = running
        .client
        .post(running.url("/_sim/faults"))
        .json(&json!({"api": "amazon", "fault": "http_500"}))
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error());
    assert_eq!(running.simulator.stats().aggregator.faults_pending, 0);
}

#[tokio::test]
async fn live_reviews_arrive_until_the_cap_and_serve_stops_on_cancel() {
    let mut config = quiet_world(2);
    config.reviews_per_minute = 1200.0; // one every 50 ms per shop
    config.max_reviews_per_shop = Some(5);
    let running = Running::start(config).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.simulator.reviews().len() < 15 {
        assert!(Instant::now() < deadline, "live reviews did not arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reviews = running.simulator.reviews();
    assert_eq!(reviews.len(), 15);
    let now_ms = chrono::Utc::now().timestamp_millis();
    for shop in ["tb-10001", "123", "dy-3001"] {
        let of_shop: Vec<&SimReview> = reviews.iter().filter(|r| r.shop_id == shop).collect();
        assert_eq!(of_shop.len(), 5);
        let newest = of_shop.iter().map(|r| r.created_ms).max().unwrap();
        assert!(now_ms - newest < 60_000, "live reviews are stamped now");
    }
    let body: Value = aggregator_call(&running, "dy-3001")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["total_results"], 5, "{body}");
    assert_eq!(running.simulator.stats().reviews, 15);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_corpus_file_replaces_the_built_in_texts_and_bad_configs_are_refused() {
    let path = std::env::temp_dir().join(format!("simulator-corpus-{}.jsonl", std::process::id()));
    std::fs::write(
        &path,
        "{\"id\":\"p1\",\"text\":\"质量很好，物流也快\",\"label\":\"pos\"}\n\
         {\"id\":\"n1\",\"text\":\"用了两天就坏了\",\"label\":\"neg\"}\n",
    )
    .unwrap();
    let mut config = quiet_world(30);
    config.corpus_path = Some(path.clone());
    let simulator = simulator::Simulator::new(config).unwrap();
    let reviews = simulator.reviews();
    assert_eq!(reviews.len(), 90);
    for review in &reviews {
        match review.corpus_id.as_str() {
            "p1" => assert_eq!(review.content, "质量很好，物流也快"),
            "n1" => assert_eq!(review.content, "用了两天就坏了"),
            other => panic!("text from outside the corpus: {other}"),
        }
    }
    std::fs::remove_file(&path).unwrap();

    let mut config = quiet_world(1);
    config.corpus_path = Some(path.clone());
    let error = simulator::Simulator::new(config).unwrap_err();
    assert!(
        matches!(error, simulator::SimulatorError::CorpusRead { .. }),
        "{error}"
    );
    assert!(error.is_fatal());

    let mut config = quiet_world(1);
    config.credentials.aggregator_tokens[0]
        .shop_ids
        .push("missing-shop".to_owned());
    let error = simulator::Simulator::new(config).unwrap_err();
    assert!(error.to_string().contains("missing-shop"), "{error}");
}
