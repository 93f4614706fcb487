//! The PDD router: signature, timestamp, token, throttle codes and the goods and trace
//! envelopes against the commerce ground truth.

use serde_json::Value;
use simulator::sign::{sign, SignMethod};
use simulator::{ListingStatus, SimItem, DEFAULT_PDD_ACCESS_TOKEN};

use crate::{advance_until_every_status, frozen_commerce, Running};

/// Signs `params` (plus client_id, timestamp, access_token unless given) with `testSecret`.
fn signed(params: &[(&str, &str)]) -> Vec<(String, String)> {
    let now = chrono::Utc::now().timestamp().to_string();
    let mut all: Vec<(String, String)> = vec![
        ("client_id".to_owned(), "1".to_owned()),
        ("timestamp".to_owned(), now),
        (
            "access_token".to_owned(),
            DEFAULT_PDD_ACCESS_TOKEN.to_owned(),
        ),
    ];
    for (name, value) in params {
        all.retain(|(key, _)| key != name);
        all.push(((*name).to_owned(), (*value).to_owned()));
    }
    let signature = sign(
        all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "testSecret",
        SignMethod::Md5,
    );
    all.push(("sign".to_owned(), signature));
    all
}

async fn post(running: &Running, params: &[(String, String)]) -> Value {
    let response = running
        .client
        .post(running.url("/api/router"))
        .form(params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn error_code(body: &Value) -> i64 {
    body["error_response"]["error_code"].as_i64().unwrap_or(0)
}

async fn busy_world() -> (Running, Vec<SimItem>) {
    let running = Running::start(frozen_commerce(0)).await;
    let items = advance_until_every_status(&running.simulator, "123");
    (running, items)
}

#[tokio::test]
async fn goods_list_and_detail_follow_the_ground_truth() {
    let (running, items) = busy_world().await;
    let mut listed: Vec<&SimItem> = items
        .iter()
        .filter(|item| item.status != ListingStatus::Deleted)
        .collect();
    listed.sort_by_key(|item| std::cmp::Reverse(item.item_id));
    let body = post(&running, &signed(&[("type", "pdd.goods.list.get")])).await;
    let response = &body["goods_list_get_response"];
    assert_eq!(response["total_count"], listed.len(), "{body}");
    let goods = response["goods_list"].as_array().unwrap();
    let got: Vec<u64> = goods
        .iter()
        .map(|g| g["goods_id"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = listed.iter().map(|item| item.item_id).collect();
    assert_eq!(got, want);
    for (goods, truth) in goods.iter().zip(&listed) {
        assert_eq!(goods["goods_quantity"], truth.stock());
        assert_eq!(
            goods["is_onsale"],
            u8::from(truth.status == ListingStatus::OnSale)
        );
        assert_eq!(
            goods["sku_list"].as_array().unwrap().len(),
            truth.skus.len()
        );
        assert!(goods.get("price").is_none());
    }
    assert_eq!(response["request_id"].as_str().unwrap().len(), 13);

    let on_sale = listed
        .iter()
        .filter(|item| item.status == ListingStatus::OnSale)
        .count();
    let body = post(
        &running,
        &signed(&[
            ("type", "pdd.goods.list.get"),
            ("is_onsale", "1"),
            ("page_size", "100"),
        ]),
    )
    .await;
    assert_eq!(
        body["goods_list_get_response"]["total_count"], on_sale,
        "{body}"
    );

    for (status, code) in [
        (ListingStatus::OnSale, 1),
        (ListingStatus::Delisted, 2),
        (ListingStatus::SoldOut, 3),
        (ListingStatus::Deleted, 4),
    ] {
        let Some(item) = items.iter().find(|item| item.status == status) else {
            panic!("no {status:?} goods after 4,000 events");
        };
        let id = item.item_id.to_string();
        let body = post(
            &running,
            &signed(&[("type", "pdd.goods.detail.get"), ("goods_id", &id)]),
        )
        .await;
        let detail = &body["goods_detail_get_response"];
        assert_eq!(detail["status"], code, "{body}");
        assert_eq!(detail["goods_id"], item.item_id);
        let skus = detail["sku_list"].as_array().unwrap();
        assert_eq!(skus[0]["price"], item.skus[0].price_fen);
        assert_eq!(skus[0]["quantity"], item.skus[0].stock);
        assert!(skus[0]["multi_price"].as_u64().unwrap() < item.skus[0].price_fen);
    }
    let body = post(
        &running,
        &signed(&[("type", "pdd.goods.detail.get"), ("goods_id", "1")]),
    )
    .await;
    assert_eq!(
        body["error_response"]["sub_code"], "goods_not_exist",
        "{body}"
    );
}

#[tokio::test]
async fn ordertrace_uses_the_misspelt_root_and_json_bodies_work() {
    let (running, _) = busy_world().await;
    let parcel = running
        .simulator
        .parcels()
        .into_iter()
        .find(|p| p.shop_id == "123" && p.steps.len() >= 3)
        .unwrap();
    let params = signed(&[
        ("type", "pdd.logistics.ordertrace.get"),
        ("company_code", &parcel.company_code.to_uppercase()),
        ("mail_no", &parcel.waybill),
    ]);
    let json: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    let body: Value = running
        .client
        .post(running.url("/api/router"))
        .json(&json)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nodes = body["logistics_ordertrace_get_resposne"]["trace_list"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(nodes.len(), parcel.steps.len());
    assert_eq!(nodes[0]["action"], "GOT");
    assert_eq!(nodes[0]["status_time"], parcel.steps[0].time);
    assert_eq!(nodes[2]["desc"], parcel.steps[2].context);
    let body = post(
        &running,
        &signed(&[
            ("type", "pdd.logistics.ordertrace.get"),
            ("company_code", "yuantong"),
            ("mail_no", "NOSUCH"),
        ]),
    )
    .await;
    assert_eq!(
        body["logistics_ordertrace_get_resposne"]["trace_list"],
        serde_json::json!([]),
        "{body}"
    );
}

#[tokio::test]
async fn each_check_has_its_code() {
    let mut config = frozen_commerce(0);
    config.credentials.pdd_apps[0]
        .tokens
        .push(simulator::RouterTokenConfig {
            access_token: schemas::Secret::new("old-token"),
            shop_id: "123".to_owned(),
            expired: true,
        });
    let running = Running::start(config).await;
    let now = chrono::Utc::now().timestamp();
    let millis = (now * 1000).to_string();
    let stale = (now - 11 * 60).to_string();
    let goods = ("type", "pdd.goods.list.get");
    type Case<'a> = (Vec<(&'a str, &'a str)>, i64, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![goods, ("timestamp", &millis)],
            10000,
            "timestamp_invalid",
        ),
        (
            vec![goods, ("timestamp", &stale)],
            10000,
            "timestamp_invalid",
        ),
        (vec![goods, ("client_id", "2")], 10000, "client_id"),
        (vec![goods, ("data_type", "XML")], 10000, "data_type"),
        (
            vec![("type", "pdd.goods.comments.get")],
            10000,
            "type_not_exist",
        ),
        (vec![goods, ("access_token", "nobody")], 10019, "10019"),
        (vec![goods, ("access_token", "old-token")], 10019, "10019"),
        (vec![goods, ("page_size", "101")], 10000, "page_size"),
    ];
    for (params, code, sub_code) in cases {
        let body = post(&running, &signed(&params)).await;
        assert_eq!(error_code(&body), code, "{params:?}: {body}");
        assert_eq!(
            body["error_response"]["sub_code"], sub_code,
            "{params:?}: {body}"
        );
        assert!(body["error_response"]["error_msg"].is_string());
    }
    let mut tampered = signed(&[goods]);
    tampered.push(("page".to_owned(), "2".to_owned()));
    let body = post(&running, &tampered).await;
    assert_eq!(error_code(&body), 20004, "{body}");
    // Seconds are accepted; the default JSON data_type too.
    let body = post(&running, &signed(&[goods, ("data_type", "JSON")])).await;
    assert!(body["goods_list_get_response"].is_object(), "{body}");
}

#[tokio::test]
async fn the_per_shop_limit_answers_70031_and_the_api_total_52101() {
    let mut config = frozen_commerce(0);
    config.pdd.goods_list_per_minute = 3;
    config.pdd.goods_detail_total_per_sec = 1;
    let running = Running::start(config).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let body = post(&running, &signed(&[("type", "pdd.goods.list.get")])).await;
        codes.push(error_code(&body));
    }
    assert_eq!(codes, [0, 0, 0, 70031]);
    let id = running
        .simulator
        .items()
        .iter()
        .find(|i| i.shop_id == "123")
        .unwrap()
        .item_id;
    let id = id.to_string();
    let mut codes = Vec::new();
    for _ in 0..2 {
        let body = post(
            &running,
            &signed(&[("type", "pdd.goods.detail.get"), ("goods_id", &id)]),
        )
        .await;
        codes.push(error_code(&body));
    }
    // The API-wide bucket holds one call and refills one per second.
    assert_eq!(codes, [0, 52101]);
}
