//! The JD router: signature, gateway codes, `_responce` envelopes, wares, comments and the
//! JD Logistics trace against the ground truth.

use serde_json::{json, Value};
use simulator::jd::sdk_timestamp;
use simulator::sign::{sign, SignMethod};
use simulator::{ListingStatus, DEFAULT_JD_SHOP_ID};

use crate::{advance_until_every_status, frozen_commerce, Running};

/// The SDK's way: every parameter in the query string of a POST, signed with yourappSecret.
fn signed(
    method: &str,
    business: &Value,
    changes: &[(&str, Option<&str>)],
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = vec![
        ("360buy_param_json".to_owned(), business.to_string()),
        ("access_token".to_owned(), "yourtoken".to_owned()),
        ("app_key".to_owned(), "yourappkey".to_owned()),
        ("method".to_owned(), method.to_owned()),
        ("timestamp".to_owned(), sdk_timestamp(chrono::Utc::now())),
        ("v".to_owned(), "2.0".to_owned()),
    ];
    for (name, value) in changes {
        params.retain(|(key, _)| key != name);
        if let Some(value) = value {
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let signature = sign(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "yourappSecret",
        SignMethod::Md5,
    );
    params.push(("sign".to_owned(), signature));
    params
}

async fn call(running: &Running, params: &[(String, String)]) -> Value {
    let response = running
        .client
        .post(running.url("/routerjson"))
        .query(params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

const WARES: &str = "jingdong.ware.read.searchWare4Valid";

#[tokio::test]
async fn search_ware_follows_the_ground_truth() {
    let running = Running::start(frozen_commerce(0)).await;
    let items = advance_until_every_status(&running.simulator, DEFAULT_JD_SHOP_ID);
    let mut listed: Vec<_> = items
        .iter()
        .filter(|item| item.status != ListingStatus::Deleted)
        .collect();
    listed.sort_by_key(|item| std::cmp::Reverse(item.item_id));
    let body = call(
        &running,
        &signed(
            WARES,
            &json!({"pageSize": "50", "field": "jdPrice,stockNum"}),
            &[],
        ),
    )
    .await;
    let response = &body["jingdong_ware_read_searchWare4Valid_responce"];
    assert_eq!(response["code"], "0", "{body}");
    assert_eq!(response["page"]["totalItem"], listed.len());
    let data = response["page"]["data"].as_array().unwrap();
    let ids: Vec<u64> = data.iter().map(|w| w["wareId"].as_u64().unwrap()).collect();
    assert_eq!(ids, listed.iter().map(|i| i.item_id).collect::<Vec<_>>());
    for (ware, truth) in data.iter().zip(&listed) {
        let status = if truth.status == ListingStatus::Delisted {
            2
        } else {
            8
        };
        assert_eq!(ware["wareStatus"], status, "{ware}");
        assert_eq!(ware["stockNum"], truth.stock());
        assert_eq!(ware["onlineTime"], truth.list_time_ms);
        let price = ware["jdPrice"].as_f64().unwrap();
        assert_eq!((price * 100.0).round() as u64, truth.price_fen());
    }
    let delisted = listed
        .iter()
        .filter(|item| item.status == ListingStatus::Delisted)
        .count();
    let body = call(
        &running,
        &signed(WARES, &json!({"wareStatusValue": 2}), &[]),
    )
    .await;
    assert_eq!(
        body["jingdong_ware_read_searchWare4Valid_responce"]["page"]["totalItem"], delisted,
        "{body}"
    );
    let body = call(&running, &signed(WARES, &json!({"pageSize": 101}), &[])).await;
    assert_eq!(
        body["jingdong_ware_read_searchWare4Valid_responce"]["code"], "1",
        "{body}"
    );
}

#[tokio::test]
async fn comments_come_from_the_review_generator() {
    let running = Running::start(frozen_commerce(7)).await;
    let truth = running.simulator.router_reviews();
    assert_eq!(truth.len(), 7);
    assert!(truth
        .iter()
        .all(|review| review.shop_id == DEFAULT_JD_SHOP_ID));
    // JD reviews are not review-API ground truth.
    assert!(running
        .simulator
        .reviews()
        .iter()
        .all(|r| r.shop_id != DEFAULT_JD_SHOP_ID));
    let mut newest: Vec<_> = truth.iter().collect();
    newest.sort_by_key(|r| std::cmp::Reverse((r.created_ms, r.tid.parse::<u64>().unwrap())));
    let body = call(
        &running,
        &signed(
            "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos",
            &json!({"page": "1", "pageSize": "5"}),
            &[],
        ),
    )
    .await;
    let response = &body["jingdong_pop_PopCommentJsfService_getVenderCommentsForJos_responce"];
    assert_eq!(response["code"], "0", "{body}");
    assert_eq!(response["totalItem"], 7);
    let comments = response["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 5);
    for (comment, review) in comments.iter().zip(&newest) {
        assert_eq!(comment["orderId"].as_u64().unwrap().to_string(), review.tid);
        assert_eq!(comment["content"], review.content);
        assert_eq!(comment["creationTime"], review.created);
    }
    let good = truth
        .iter()
        .filter(|r| r.result == schemas::Rating::Good)
        .count();
    let body = call(
        &running,
        &signed("getVenderCommentsForJos", &json!({"score": 3}), &[]),
    )
    .await;
    assert_eq!(
        body["getVenderCommentsForJos_responce"]["totalItem"], good,
        "{body}"
    );
    let body = call(
        &running,
        &signed("getVenderCommentsForJos", &json!({"pageSize": 51}), &[]),
    )
    .await;
    assert_eq!(
        body["getVenderCommentsForJos_responce"]["code"], "1",
        "{body}"
    );
}

#[tokio::test]
async fn receive_trace_replays_a_jd_parcel() {
    let running = Running::start(frozen_commerce(0)).await;
    advance_until_every_status(&running.simulator, DEFAULT_JD_SHOP_ID);
    let parcel = running
        .simulator
        .parcels()
        .into_iter()
        .find(|p| p.shop_id == DEFAULT_JD_SHOP_ID && p.steps.len() >= 2)
        .unwrap();
    assert_eq!(parcel.company_code, "jd");
    let body = call(
        &running,
        &signed(
            "jingdong.ldop.receive.trace.get",
            &json!({"customerCode": "010K123", "waybillCode": parcel.waybill}),
            &[],
        ),
    )
    .await;
    let data = body["jingdong_ldop_receive_trace_get_responce"]["querytrace_result"]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(data.len(), parcel.steps.len());
    assert_eq!(data[0]["operateType"], "GOT");
    assert_eq!(data[1]["operateTime"], parcel.steps[1].time);
    assert_eq!(data[1]["waybillCode"], parcel.waybill);
}

#[tokio::test]
async fn gateway_errors_have_their_string_codes() {
    let mut config = frozen_commerce(0);
    config.jd.calls_per_sec = 0.001;
    config.jd.burst = 30;
    config.credentials.jd_apps[0]
        .tokens
        .push(simulator::RouterTokenConfig {
            access_token: schemas::Secret::new("old"),
            shop_id: DEFAULT_JD_SHOP_ID.to_owned(),
            expired: true,
        });
    let running = Running::start(config).await;
    let stale = sdk_timestamp(chrono::Utc::now() - chrono::TimeDelta::minutes(7));
    let plain = (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    type Case<'a> = (Vec<(&'a str, Option<&'a str>)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![("app_key", None)], "20"),
        (vec![("app_key", Some("other"))], "21"),
        (vec![("method", None)], "14"),
        (vec![("timestamp", None)], "7"),
        (vec![("timestamp", Some(&stale))], "8"),
        (vec![("v", None)], "4"),
        (vec![("v", Some("1.0"))], "5"),
        (vec![("method", Some("jingdong.nothing"))], "15"),
        (vec![("access_token", None)], "18"),
        (vec![("access_token", Some("nobody"))], "19"),
        (vec![("access_token", Some("old"))], "19"),
        (vec![("timestamp", Some(&plain))], "0"),
    ];
    for (changes, code) in cases {
        let body = call(&running, &signed(WARES, &json!({}), &changes)).await;
        let got = body["error_response"]["code"].as_str().unwrap_or("0");
        assert_eq!(got, code, "{changes:?}: {body}");
        if code != "0" {
            assert!(body["error_response"]["en_desc"].is_string());
        }
    }
    let mut tampered = signed(WARES, &json!({}), &[]);
    tampered[0].1 = json!({"pageNo": 2}).to_string();
    let body = call(&running, &tampered).await;
    assert_eq!(body["error_response"]["code"], "12", "{body}");
    let mut unsigned = signed(WARES, &json!({}), &[]);
    unsigned.pop();
    let body = call(&running, &unsigned).await;
    assert_eq!(body["error_response"]["code"], "11", "{body}");
    // The burst of 30 is spent (the cases above that passed the signature took tokens).
    let mut codes = Vec::new();
    for _ in 0..30 {
        let body = call(&running, &signed(WARES, &json!({}), &[])).await;
        codes.push(
            body["error_response"]["code"]
                .as_str()
                .unwrap_or("0")
                .to_owned(),
        );
    }
    assert_eq!(codes.last().map(String::as_str), Some("2"), "{codes:?}");
    assert_eq!(codes.first().map(String::as_str), Some("0"), "{codes:?}");
}
