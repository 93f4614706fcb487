//! OAuth: codes, TOP `/token` and router methods, PDD token methods, expiry codes 27/10019.

use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use simulator::sign::{sign, SignMethod};

use crate::{frozen_commerce, Running};

async fn code(running: &Running, platform: &str, app_key: &str, shop_id: &str) -> String {
    let body: Value = running
        .client
        .post(running.url("/_sim/oauth/code"))
        .json(&json!({"platform": platform, "app_key": app_key, "shop_id": shop_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

async fn expire(running: &Running, token: &str) -> Value {
    running
        .client
        .post(running.url("/_sim/oauth/expire"))
        .json(&json!({"access_token": token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn token(running: &Running, form: &[(&str, &str)]) -> (u16, Value) {
    let response = running
        .client
        .post(running.url("/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn top(running: &Running, method: &str, extra: &[(&str, &str)]) -> Value {
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

async fn onsale(running: &Running, session: &str) -> Value {
    top(
        running,
        "taobao.items.onsale.get",
        &[("session", session), ("fields", "num_iid")],
    )
    .await
}

#[tokio::test]
async fn top_tokens_work_expire_and_refresh() {
    let running = Running::start(frozen_commerce(0)).await;
    let code = code(&running, "top", "12345678", "tb-10001").await;
    let credentials = [("client_id", "12345678"), ("client_secret", "helloworld")];
    let (status, body) = token(
        &running,
        &[
            credentials[0],
            ("client_secret", "wrong"),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    let (status, grant) = token(
        &running,
        &[
            credentials[0],
            credentials[1],
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(grant["expires_in"], 7_776_000);
    let access = grant["access_token"].as_str().unwrap().to_owned();
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();
    // The code works once.
    let (status, body) = token(
        &running,
        &[
            credentials[0],
            credentials[1],
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let body = onsale(&running, &access).await;
    assert!(
        body["items_onsale_get_response"]["total_results"].is_u64(),
        "{body}"
    );
    assert_eq!(expire(&running, &access).await, json!({"expired": true}));
    let body = onsale(&running, &access).await;
    assert_eq!(body["error_response"]["code"], 27, "{body}");
    assert_eq!(body["error_response"]["sub_code"], "invalid-sessionkey");

    // Refresh through the router method; the token_result is a JSON string.
    let body = top(
        &running,
        "taobao.top.auth.token.refresh",
        &[("refresh_token", &refresh)],
    )
    .await;
    let result: Value = serde_json::from_str(
        body["top_auth_token_refresh_response"]["token_result"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}")),
    )
    .unwrap();
    let fresh = result["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    let body = onsale(&running, fresh).await;
    assert!(body["items_onsale_get_response"].is_object(), "{body}");
    // The refresh token was spent with the old grant.
    let (status, body) = token(
        &running,
        &[
            credentials[0],
            credentials[1],
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let body = top(
        &running,
        "taobao.top.auth.token.create",
        &[("code", "nonsense")],
    )
    .await;
    assert_eq!(
        body["error_response"]["sub_code"], "isv.invalid-parameter:code",
        "{body}"
    );
}

fn pdd_signed(params: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = vec![
        ("client_id".to_owned(), "1".to_owned()),
        ("timestamp".to_owned(), Utc::now().timestamp().to_string()),
    ];
    all.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let signature = sign(
        all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "testSecret",
        SignMethod::Md5,
    );
    all.push(("sign".to_owned(), signature));
    all
}

async fn pdd(running: &Running, params: &[(&str, &str)]) -> Value {
    running
        .client
        .post(running.url("/api/router"))
        .form(&pdd_signed(params))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn pdd_tokens_expire_with_10019_and_refresh() {
    let running = Running::start(frozen_commerce(0)).await;
    let code = code(&running, "pdd", "1", "123").await;
    let body = pdd(
        &running,
        &[("type", "pdd.pop.auth.token.create"), ("code", &code)],
    )
    .await;
    let grant = &body["pop_auth_token_create_response"];
    assert_eq!(grant["expires_in"], 86_400, "{body}");
    assert_eq!(grant["owner_id"], "123");
    let access = grant["access_token"].as_str().unwrap().to_owned();
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();
    let list = [
        ("type", "pdd.goods.list.get"),
        ("access_token", access.as_str()),
    ];
    let body = pdd(&running, &list).await;
    assert!(body["goods_list_get_response"].is_object(), "{body}");
    expire(&running, &access).await;
    let body = pdd(&running, &list).await;
    assert_eq!(body["error_response"]["error_code"], 10019, "{body}");
    let body = pdd(
        &running,
        &[
            ("type", "pdd.pop.auth.token.refresh"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    let fresh = body["pop_auth_token_refresh_response"]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let body = pdd(
        &running,
        &[("type", "pdd.goods.list.get"), ("access_token", &fresh)],
    )
    .await;
    assert!(body["goods_list_get_response"].is_object(), "{body}");
    let body = pdd(
        &running,
        &[("type", "pdd.pop.auth.token.create"), ("code", &code)],
    )
    .await;
    assert_eq!(body["error_response"]["sub_code"], "code", "{body}");
    let unknown = running
        .client
        .post(running.url("/_sim/oauth/code"))
        .json(&json!({"platform": "pdd", "app_key": "1", "shop_id": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}
