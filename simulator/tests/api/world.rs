//! The commerce world over HTTP: ground truth, manual and live pace, faults on the new APIs.

use serde_json::{json, Value};
use simulator::{SimItem, SimParcel};

use crate::{frozen_commerce, quiet_world, Running};

#[tokio::test]
async fn ground_truth_endpoints_and_manual_advance() {
    let running = Running::start(frozen_commerce(0)).await;
    let events = running.simulator.commerce_events();
    // 60 start-up events per shop, 4 shops (3 review shops and the JD shop).
    assert_eq!(events, 240);
    let items: Vec<SimItem> = running
        .client
        .get(running.url("/_sim/items"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items, running.simulator.items());
    assert_eq!(items.len(), 4 * 12);
    // Review shops list the items their reviews name.
    let reviewed: std::collections::HashSet<u64> = running
        .simulator
        .reviews()
        .iter()
        .map(|review| review.num_iid.parse().unwrap())
        .collect();
    let listed: std::collections::HashSet<u64> = items.iter().map(|i| i.item_id).collect();
    assert!(reviewed.is_subset(&listed));

    let body: Value = running
        .client
        .post(running.url("/_sim/commerce/advance"))
        .json(&json!({"events": 500}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"events": 740}));
    let parcels: Vec<SimParcel> = running
        .client
        .get(running.url("/_sim/parcels"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(parcels.len(), running.simulator.parcels().len());
    assert!(parcels.len() > 20, "{}", parcels.len());
    let value: Value = serde_json::to_value(&parcels[0]).unwrap();
    for key in [
        "tid",
        "waybill",
        "company_code",
        "fate",
        "steps",
        "finished",
    ] {
        assert!(value.get(key).is_some(), "{key} missing: {value}");
    }

    // Same seed, same number of events: the same world.
    let twin = Running::start(frozen_commerce(0)).await;
    twin.simulator.advance_commerce(500);
    let strip = |items: Vec<SimItem>| -> Vec<(u64, simulator::ListingStatus, Vec<u64>)> {
        items
            .into_iter()
            .map(|i| {
                (
                    i.item_id,
                    i.status,
                    i.skus.iter().map(|s| s.stock).collect(),
                )
            })
            .collect()
    };
    assert_eq!(
        strip(twin.simulator.items()),
        strip(running.simulator.items())
    );
    let tids = |parcels: Vec<SimParcel>| parcels.iter().map(|p| p.tid).collect::<Vec<_>>();
    assert_eq!(
        tids(twin.simulator.parcels()),
        tids(running.simulator.parcels())
    );
}

#[tokio::test]
async fn the_world_moves_while_serving() {
    let mut config = quiet_world(0);
    config.commerce.orders_per_minute = 600.0;
    config.commerce.parcel_steps_per_minute = 600.0;
    config.commerce.listing_changes_per_minute = 600.0;
    let running = Running::start(config).await;
    let start = running.simulator.commerce_events();
    for _ in 0..500 {
        if running.simulator.commerce_events() >= start + 10 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "only {} live events",
        running.simulator.commerce_events() - start
    );
}

#[tokio::test]
async fn faults_reach_the_new_apis() {
    let running = Running::start(frozen_commerce(0)).await;
    for (api, fault) in [
        ("pdd", json!({"error_code": 70031})),
        ("jd", json!({"error_code": 19})),
        ("kuaidi100", json!("http_500")),
        ("pdd", json!("malformed_json")),
    ] {
        let body: Value = running
            .client
            .post(running.url("/_sim/faults"))
            .json(&json!({"api": api, "fault": fault}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["queued"], 1, "{body}");
    }
    let pdd: Value = running
        .client
        .post(running.url("/api/router"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pdd["error_response"]["error_code"], 70031, "{pdd}");
    let jd: Value = running
        .client
        .post(running.url("/routerjson"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jd["error_response"]["code"], "19", "{jd}");
    let kuaidi = running
        .client
        .post(running.url("/poll/query.do"))
        .send()
        .await
        .unwrap();
    assert_eq!(kuaidi.status(), 500);
    let text = running
        .client
        .post(running.url("/api/router"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    // Without faults, an empty request gets the router's own error.
    let pdd: Value = running
        .client
        .post(running.url("/api/router"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pdd["error_response"]["error_code"], 10000, "{pdd}");
    let stats = running.simulator.stats();
    assert_eq!((stats.pdd.requests, stats.pdd.faults), (3, 2));
    assert_eq!((stats.jd.faults, stats.kuaidi100.faults), (1, 1));
    assert_eq!(stats.pdd.error_codes.get("10000"), Some(&1));
}
