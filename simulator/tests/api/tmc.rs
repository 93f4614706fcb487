//! TMC over HTTP pull: messages for TOP shop changes, consume, confirm, redelivery.

use std::collections::HashSet;

use chrono::{TimeDelta, Utc};
use serde_json::Value;
use simulator::sign::{sign, SignMethod};

use crate::{frozen_commerce, Running};

async fn call(running: &Running, method: &str, extra: &[(&str, &str)]) -> Value {
    let timestamp = (Utc::now() + TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut params: Vec<(String, String)> = [
        ("method", method),
        ("app_key", "12345678"),
        ("format", "json"),
        ("v", "2.0"),
        ("timestamp", timestamp.as_str()),
    ]
    .iter()
    .chain(extra)
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
        .json()
        .await
        .unwrap()
}

fn messages(body: &Value) -> Vec<Value> {
    body["tmc_messages_consume_response"]["messages"]["tmc_message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn top_shop_changes_arrive_until_confirmed() {
    let mut config = frozen_commerce(0);
    config.tmc.redelivery_secs = 0;
    let running = Running::start(config).await;
    running.simulator.advance_commerce(300);
    let truth = running.simulator.tmc_messages();
    assert!(!truth.is_empty());
    assert!(truth
        .iter()
        .all(|m| m.shop_id == "tb-10001" && m.app_key == "12345678"));
    let topics: HashSet<&str> = truth.iter().map(|m| m.topic.as_str()).collect();
    assert!(
        topics.contains("taobao_logistics_LogsticDetailTrace"),
        "{topics:?}"
    );
    assert!(
        topics.contains("taobao_item_ItemStockChanged"),
        "{topics:?}"
    );

    let body = call(
        &running,
        "taobao.tmc.messages.consume",
        &[("quantity", "200")],
    )
    .await;
    let first = messages(&body);
    assert_eq!(first.len(), truth.len().min(200), "{body}");
    assert_eq!(first[0]["id"], truth[0].id);
    assert_eq!(first[0]["topic"], truth[0].topic);
    assert_eq!(first[0]["user_nick"], truth[0].user_nick);
    let content: Value = serde_json::from_str(first[0]["content"].as_str().unwrap()).unwrap();
    assert!(content.is_object());
    let trace = first
        .iter()
        .find(|m| m["topic"] == "taobao_logistics_LogsticDetailTrace")
        .unwrap();
    let content: Value = serde_json::from_str(trace["content"].as_str().unwrap()).unwrap();
    let parcel = running
        .simulator
        .parcels()
        .into_iter()
        .find(|p| content["tid"] == p.tid)
        .unwrap();
    assert_eq!(content["out_sid"], parcel.waybill);
    assert!(parcel
        .steps
        .iter()
        .any(|s| content["time"] == s.time.as_str()));

    // Unconfirmed: handed out again (redelivery 0 s); confirmed: gone.
    let again = messages(
        &call(
            &running,
            "taobao.tmc.messages.consume",
            &[("quantity", "200")],
        )
        .await,
    );
    assert_eq!(again.len(), first.len());
    let ids: Vec<String> = first.iter().map(|m| m["id"].to_string()).collect();
    for chunk in ids.chunks(200) {
        let body = call(
            &running,
            "taobao.tmc.messages.confirm",
            &[("s_message_ids", &chunk.join(","))],
        )
        .await;
        assert_eq!(
            body["tmc_messages_confirm_response"]["is_success"], true,
            "{body}"
        );
    }
    let rest = messages(
        &call(
            &running,
            "taobao.tmc.messages.consume",
            &[("quantity", "200")],
        )
        .await,
    );
    assert_eq!(rest.len(), truth.len().saturating_sub(200));
    let body = call(
        &running,
        "taobao.tmc.messages.consume",
        &[("quantity", "5")],
    )
    .await;
    assert_eq!(
        body["error_response"]["sub_code"], "isv.invalid-parameter:quantity",
        "{body}"
    );
    let body = call(&running, "taobao.tmc.messages.confirm", &[]).await;
    assert_eq!(body["error_response"]["code"], 40, "{body}");
}

#[tokio::test]
async fn new_reviews_publish_trade_rated() {
    let mut config = frozen_commerce(0);
    config.reviews_per_minute = 600.0;
    let running = Running::start(config).await;
    for _ in 0..500 {
        let rated: Vec<_> = running
            .simulator
            .tmc_messages()
            .into_iter()
            .filter(|m| m.topic == "taobao_trade_TradeRated")
            .collect();
        if let Some(message) = rated.first() {
            let content: Value = serde_json::from_str(&message.content).unwrap();
            let review = running
                .simulator
                .reviews()
                .into_iter()
                .find(|r| content["tid"] == r.tid.parse::<u64>().unwrap())
                .expect("the rated review is in the ground truth");
            assert_eq!(review.shop_id, "tb-10001");
            assert_eq!(content["buyer_nick"], review.nick);
            assert_eq!(content["rater"], "buyer");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no TradeRated message");
}
