//! Kuaidi100: signed queries, subscriptions and signed callbacks with retries.

use std::sync::{Arc, Mutex};

use std::future::IntoFuture;

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Router};
use serde_json::{json, Value};
use simulator::kuaidi100::{push_sign, query_sign};
use simulator::SimParcel;

use crate::{advance_until_every_status, frozen_commerce, Running};

async fn query(running: &Running, param: &Value, sign_key: &str) -> Value {
    let param = param.to_string();
    let sign = query_sign(&param, sign_key, "TESTCUSTOMER");
    running
        .client
        .post(running.url("/poll/query.do"))
        .form(&[
            ("customer", "TESTCUSTOMER"),
            ("sign", &sign),
            ("param", &param),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn moving_parcel(running: &Running, min_steps: usize) -> SimParcel {
    running
        .simulator
        .parcels()
        .into_iter()
        .find(|p| p.steps.len() >= min_steps && p.company_code != "shunfeng")
        .unwrap()
}

#[tokio::test]
async fn query_answers_the_trace_newest_first() {
    let running = Running::start(frozen_commerce(0)).await;
    advance_until_every_status(&running.simulator, "tb-10001");
    let parcel = moving_parcel(&running, 3);
    let body = query(
        &running,
        &json!({"com": parcel.company_code, "num": parcel.waybill, "resultv2": "4"}),
        "testkey",
    )
    .await;
    assert_eq!(body["message"], "ok", "{body}");
    assert_eq!(body["nu"], parcel.waybill);
    assert_eq!(body["state"], parcel.state().unwrap().to_string());
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), parcel.steps.len());
    let newest = parcel.steps.last().unwrap();
    assert_eq!(data[0]["context"], newest.context);
    assert_eq!(data[0]["ftime"], newest.time);
    assert_eq!(data[0]["statusCode"], newest.status_code.to_string());
    assert_eq!(data.last().unwrap()["status"], "揽收");

    let body = query(
        &running,
        &json!({"com": parcel.company_code, "num": parcel.waybill, "order": "asc"}),
        "testkey",
    )
    .await;
    assert_eq!(body["data"][0]["status"], "揽收", "{body}");
    assert!(body["data"][0].get("statusCode").is_none());

    let wrong = query(
        &running,
        &json!({"com": "yuantong", "num": parcel.waybill}),
        "nokey",
    )
    .await;
    assert_eq!(
        wrong,
        json!({"result": false, "returnCode": "503", "message": "验证签名失败"})
    );
    let body = query(
        &running,
        &json!({"com": "yuantong", "num": "NOPE"}),
        "testkey",
    )
    .await;
    assert_eq!(body["returnCode"], "500", "{body}");
    let body = query(
        &running,
        &json!({"com": "shunfeng", "num": "SF1"}),
        "testkey",
    )
    .await;
    assert_eq!(body["returnCode"], "400", "{body}");
    let body = query(&running, &json!({"num": "SF1"}), "testkey").await;
    assert_eq!(body["returnCode"], "400", "{body}");
}

type Forms = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A callback receiver that refuses the first `refuse` pushes.
#[derive(Clone, Default)]
struct Receiver {
    got: Forms,
    refuse: Arc<Mutex<u32>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    Form(form): Form<Vec<(String, String)>>,
) -> String {
    receiver.got.lock().unwrap().push(form);
    let mut refuse = receiver.refuse.lock().unwrap();
    if *refuse > 0 {
        *refuse -= 1;
        return r#"{"result":false,"returnCode":"500","message":"busy"}"#.to_owned();
    }
    r#"{"result":true,"returnCode":"200","message":"提交成功"}"#.to_owned()
}

async fn wait_for(receiver: &Receiver, count: usize) -> Vec<Vec<(String, String)>> {
    for _ in 0..500 {
        let got = receiver.got.lock().unwrap().clone();
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("fewer than {count} pushes arrived");
}

#[tokio::test]
async fn subscriptions_push_signed_traces_and_retry_until_acknowledged() {
    let mut config = frozen_commerce(0);
    config.kuaidi100.push_interval_ms = 20;
    config.kuaidi100.retry_interval_ms = 20;
    let running = Running::start(config).await;
    advance_until_every_status(&running.simulator, "tb-10001");
    let parcel = running
        .simulator
        .parcels()
        .into_iter()
        .find(|p| !p.steps.is_empty() && !p.finished && p.fate != simulator::ParcelFate::Stalled)
        .unwrap();
    let receiver = Receiver {
        refuse: Arc::new(Mutex::new(1)),
        ..Receiver::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(
        axum::serve(
            listener,
            Router::new()
                .route("/callback", post(receive))
                .with_state(receiver.clone()),
        )
        .into_future(),
    );

    let subscribe = |key: &str, company: &str| {
        json!({"company": company, "number": parcel.waybill, "key": key,
               "parameters": {"callbackurl": callback, "salt": "mysalt", "resultv2": "4"}})
        .to_string()
    };
    let post = |param: String| {
        running
            .client
            .post(running.url("/poll"))
            .form(&[("schema", "json".to_owned()), ("param", param)])
            .send()
    };
    let body: Value = post(subscribe("testkey", &parcel.company_code))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"result": true, "returnCode": "200", "message": "提交成功"})
    );
    let body: Value = post(subscribe("testkey", &parcel.company_code))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["returnCode"], "501", "{body}");
    let body: Value = post(subscribe("otherkey", &parcel.company_code))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["returnCode"], "600", "{body}");
    let body: Value = post(subscribe("testkey", "ems"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["returnCode"], "701", "{body}");

    // The first push is refused, so it comes again; both carry the same trace.
    let got = wait_for(&receiver, 2).await;
    for form in &got[..2] {
        let param = &form.iter().find(|(k, _)| k == "param").unwrap().1;
        let sign = &form.iter().find(|(k, _)| k == "sign").unwrap().1;
        assert_eq!(sign, &push_sign(param, "mysalt"));
        let push: Value = serde_json::from_str(param).unwrap();
        assert_eq!(push["status"], "polling");
        assert_eq!(push["lastResult"]["nu"], parcel.waybill);
        assert_eq!(
            push["lastResult"]["data"].as_array().unwrap().len(),
            parcel.steps.len()
        );
    }
    // Acknowledged: nothing more until the parcel moves.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 2);
    // Move the world until the parcel has a new scan; a push with it follows.
    let scans = parcel.steps.len();
    for _ in 0..200 {
        running.simulator.advance_commerce(20);
        let now = running
            .simulator
            .parcels()
            .into_iter()
            .find(|p| p.tid == parcel.tid)
            .unwrap();
        if now.steps.len() > scans {
            break;
        }
    }
    let got = wait_for(&receiver, 3).await;
    let param = &got[2].iter().find(|(k, _)| k == "param").unwrap().1;
    let push: Value = serde_json::from_str(param).unwrap();
    assert!(
        push["lastResult"]["data"].as_array().unwrap().len() > scans,
        "{push}"
    );
}
