//! TOP listing and logistics methods against the commerce ground truth.

use chrono::{TimeDelta, Utc};
use serde_json::Value;
use simulator::sign::{sign, SignMethod};
use simulator::{ListingStatus, SimItem};

use crate::{advance_until_every_status, frozen_commerce, Running};

async fn call(running: &Running, method: &str, extra: &[(&str, &str)]) -> Value {
    let timestamp = (Utc::now() + TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut params: Vec<(String, String)> = [
        ("method", method),
        ("app_key", "12345678"),
        ("session", "test"),
        ("format", "json"),
        ("v", "2.0"),
        ("sign_method", "md5"),
        ("timestamp", timestamp.as_str()),
    ]
    .iter()
    .chain(extra.iter())
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let signature = sign(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "helloworld",
        SignMethod::Md5,
    );
    params.push(("sign".to_owned(), signature));
    let response = running
        .client
        .post(running.url("/router/rest"))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A world where tb-10001 has played enough events to have every listing status.
async fn busy_world() -> (Running, Vec<SimItem>) {
    let running = Running::start(frozen_commerce(0)).await;
    let items = advance_until_every_status(&running.simulator, "tb-10001");
    (running, items)
}

fn ids(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["num_iid"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn onsale_and_inventory_follow_the_ground_truth() {
    let (running, items) = busy_world().await;
    let with = |status| {
        let mut chosen: Vec<&SimItem> = items.iter().filter(|i| i.status == status).collect();
        chosen.sort_by_key(|item| std::cmp::Reverse((item.list_time_ms, item.item_id)));
        chosen.into_iter().map(|i| i.item_id).collect::<Vec<u64>>()
    };
    let onsale = with(ListingStatus::OnSale);
    assert!(!onsale.is_empty());
    let body = call(
        &running,
        "taobao.items.onsale.get",
        &[("fields", "num_iid,title,price,num,approve_status")],
    )
    .await;
    let response = &body["items_onsale_get_response"];
    assert_eq!(response["total_results"], onsale.len(), "{body}");
    assert_eq!(ids(&response["items"]["item"]), onsale);
    let first = &response["items"]["item"][0];
    let truth = items.iter().find(|i| i.item_id == onsale[0]).unwrap();
    assert_eq!(first["approve_status"], "onsale");
    assert_eq!(first["num"], truth.stock());
    let fen = truth.price_fen();
    assert_eq!(first["price"], format!("{}.{:02}", fen / 100, fen % 100));
    assert_eq!(first["title"], truth.title);
    assert!(
        first.get("nick").is_none(),
        "only requested fields: {first}"
    );

    // Paging and simplify.
    let body = call(
        &running,
        "taobao.items.onsale.get",
        &[
            ("fields", "num_iid"),
            ("page_size", "2"),
            ("page_no", "2"),
            ("simplify", "true"),
        ],
    )
    .await;
    assert_eq!(
        ids(&body["items"]),
        onsale[2..onsale.len().min(4)].to_vec(),
        "{body}"
    );

    let delisted = with(ListingStatus::Delisted);
    let sold_out = with(ListingStatus::SoldOut);
    assert!(!delisted.is_empty() && !sold_out.is_empty(), "{items:?}");
    let body = call(
        &running,
        "taobao.items.inventory.get",
        &[("fields", "num_iid,approve_status")],
    )
    .await;
    let response = &body["items_inventory_get_response"];
    assert_eq!(ids(&response["items"]["item"]), delisted, "{body}");
    assert_eq!(response["items"]["item"][0]["approve_status"], "instock");
    let body = call(
        &running,
        "taobao.items.inventory.get",
        &[("fields", "num_iid"), ("banner", "sold_out")],
    )
    .await;
    assert_eq!(
        ids(&body["items_inventory_get_response"]["items"]["item"]),
        sold_out
    );
}

#[tokio::test]
async fn seller_get_returns_skus_and_deleted_items_are_reported() {
    let (running, items) = busy_world().await;
    let live = items
        .iter()
        .find(|item| item.status != ListingStatus::Deleted && item.skus.len() > 1)
        .unwrap();
    let body = call(
        &running,
        "taobao.item.seller.get",
        &[
            ("fields", "num_iid,num,price,skus,approve_status"),
            ("num_iid", &live.item_id.to_string()),
        ],
    )
    .await;
    let item = &body["item_seller_get_response"]["item"];
    assert_eq!(item["num_iid"], live.item_id, "{body}");
    assert_eq!(item["num"], live.stock());
    let skus = item["skus"]["sku"].as_array().unwrap();
    assert_eq!(skus.len(), live.skus.len());
    for (sku, truth) in skus.iter().zip(&live.skus) {
        assert_eq!(sku["sku_id"], truth.sku_id);
        assert_eq!(sku["quantity"], truth.stock);
        let fen = truth.price_fen;
        assert_eq!(sku["price"], format!("{}.{:02}", fen / 100, fen % 100));
    }

    let deleted = items
        .iter()
        .find(|item| item.status == ListingStatus::Deleted)
        .expect("4,000 events delete some tb-10001 item");
    let body = call(
        &running,
        "taobao.item.seller.get",
        &[
            ("fields", "num_iid"),
            ("num_iid", &deleted.item_id.to_string()),
        ],
    )
    .await;
    assert_eq!(body["error_response"]["code"], 15, "{body}");
    assert_eq!(
        body["error_response"]["sub_code"],
        "isv.item-is-delete:invalid-numIid-or-iid"
    );
    let body = call(
        &running,
        "taobao.item.seller.get",
        &[("fields", "num_iid"), ("num_iid", "42")],
    )
    .await;
    assert_eq!(
        body["error_response"]["sub_code"], "isv.item-not-exist:invalid-numIid-or-iid",
        "{body}"
    );
    let body = call(&running, "taobao.item.seller.get", &[("fields", "num_iid")]).await;
    assert_eq!(body["error_response"]["code"], 40, "{body}");
    let body = call(
        &running,
        "taobao.items.onsale.get",
        &[("fields", "num_iid"), ("page_size", "201")],
    )
    .await;
    assert_eq!(
        body["error_response"]["sub_code"], "isv.invalid-parameter:page_size",
        "{body}"
    );
    let body = call(
        &running,
        "taobao.items.inventory.get",
        &[("fields", "num_iid"), ("page_no", "102")],
    )
    .await;
    assert_eq!(
        body["error_response"]["sub_code"], "isv.invalid-parameter:page_no",
        "{body}"
    );
}

#[tokio::test]
async fn logistics_trace_search_replays_the_parcel() {
    let (running, _) = busy_world().await;
    let parcels = running.simulator.parcels();
    let parcel = parcels
        .iter()
        .find(|p| p.shop_id == "tb-10001" && p.finished && p.state() == Some(3))
        .expect("a delivered tb-10001 parcel");
    let body = call(
        &running,
        "taobao.logistics.trace.search",
        &[("tid", &parcel.tid.to_string())],
    )
    .await;
    let response = &body["logistics_trace_search_response"];
    assert_eq!(response["tid"], parcel.tid, "{body}");
    assert_eq!(response["out_sid"], parcel.waybill);
    assert_eq!(response["company_name"], parcel.company_name);
    assert_eq!(response["status"], "对方已签收");
    let steps = response["trace_list"]["transit_step_info"]
        .as_array()
        .unwrap();
    assert_eq!(steps.len(), parcel.steps.len());
    assert_eq!(steps[0]["action"], "GOT");
    assert_eq!(steps.last().unwrap()["action"], "SIGNED");
    assert_eq!(
        steps.last().unwrap()["status_time"],
        parcel.steps.last().unwrap().time
    );
    assert_eq!(steps[0]["status_desc"], parcel.steps[0].context);
    assert_eq!(response["request_id"].as_str().unwrap().len(), 13);

    // Another shop's order is not this seller's.
    let foreign = parcels.iter().find(|p| p.shop_id != "tb-10001").unwrap();
    let body = call(
        &running,
        "taobao.logistics.trace.search",
        &[("tid", &foreign.tid.to_string())],
    )
    .await;
    assert_eq!(body["error_response"]["code"], 15, "{body}");
    assert_eq!(
        body["error_response"]["sub_code"],
        "isv.logistics-trace-not-exist"
    );
}
