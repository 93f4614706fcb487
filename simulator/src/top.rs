//! The Taobao Open Platform router, `/router/rest`, serving `taobao.traderates.get` here and
//! the listing and logistics methods in [`crate::top_commerce`] (same checks, same envelopes).
//!
//! Contract (platform-apis.md §1.2–1.5, §1.7.1, §6): GET query or POST form (urlencoded or
//! multipart; query-string parameters of a POST count too). Checks run in this order, the
//! first failure answering HTTP 200 with `{"error_response":{code,msg,sub_code?,sub_msg?,
//! request_id}}`:
//!
//! | check | code |
//! |---|---|
//! | HTTP method other than GET/POST | 9 |
//! | `method` missing | 21 |
//! | `app_key` missing / unknown | 28 / 29 |
//! | app over its token bucket, or banned | 7 `accesscontrol.limited-by-app-access-count`, "This ban will last for N more seconds" |
//! | `method` not served (traderates.get, items.onsale.get, items.inventory.get, item.seller.get, logistics.trace.search) | 22 |
//! | `format` other than `json` (XML, the TOP default, is not simulated) | 23 |
//! | `sign` missing | 24 |
//! | `timestamp` missing / not `yyyy-MM-dd HH:mm:ss` GMT+8 within the tolerance | 30 / 31 |
//! | `v` missing / not a version / not `2.0` | 32 / 33 / 34 |
//! | `sign_method` not md5, hmac or hmac-sha256, or signature mismatch | 25 |
//! | `session` missing / unknown or expired | 26 / 27 `invalid-sessionkey` |
//! | `fields`, `rate_type` or `role` missing | 40 `isv.missing-parameter` |
//! | bad role, rate_type, result, tid, page_no > 200, page_size > 150, dates | 41 `isv.invalid-parameter:<name>` |
//!
//! A missing `sign_method` means md5 (the legacy default). Success is
//! `{"traderates_get_response":{"trade_rates":{"trade_rate":[…]},"total_results":N,"request_id":…}}`
//! (`has_next` instead of `total_results` with `use_has_next=true`); like TOP, the standard
//! format leaves out an empty `trade_rates`. `simplify=true` answers the bare
//! `{"trade_rates":[…],"total_results":N,"request_id":…}`.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::config::Api;
use crate::form::Params;
use crate::oauth::{GrantError, OAuthPlatform, TokenState};
use crate::query::{search, ParamError, SearchQuery};
use crate::server::{Answer, Inner};
use crate::sign::{self, SignMethod};
use crate::stats::Outcome;
use crate::throttle::Admission;
use crate::timefmt::parse_gmt8;
use crate::{tmc, top_commerce};

/// The review search.
pub const TRADERATES_GET: &str = "taobao.traderates.get";
/// Exchanges an OAuth code for a token (no session needed).
pub const TOKEN_CREATE: &str = "taobao.top.auth.token.create";
/// Refreshes an OAuth token (no session needed).
pub const TOKEN_REFRESH: &str = "taobao.top.auth.token.refresh";

/// A TOP error about to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopError {
    pub(crate) code: i64,
    pub(crate) sub_code: Option<String>,
    pub(crate) sub_msg: Option<String>,
}

impl TopError {
    pub(crate) fn new(code: i64) -> TopError {
        TopError {
            code,
            sub_code: None,
            sub_msg: None,
        }
    }

    /// An error with an explanatory `sub_msg` and no `sub_code` (platform-level codes).
    pub(crate) fn note(code: i64, sub_msg: impl Into<String>) -> TopError {
        TopError {
            code,
            sub_code: None,
            sub_msg: Some(sub_msg.into()),
        }
    }

    pub(crate) fn with(
        code: i64,
        sub_code: impl Into<String>,
        sub_msg: impl Into<String>,
    ) -> TopError {
        TopError {
            code,
            sub_code: Some(sub_code.into()),
            sub_msg: Some(sub_msg.into()),
        }
    }

    /// The documented envelope for `code`, with its usual sub_code (used by fault injection).
    pub(crate) fn documented(code: i64, ban_secs: u64) -> TopError {
        match code {
            7 => ban(ban_secs),
            10 => TopError::with(code, "isp.unknown-error", "Service currently unavailable"),
            11 => TopError::with(
                code,
                "isv.permission-api-package-not-allowed",
                "The app has no permission for this API package",
            ),
            15 => TopError::with(
                code,
                "isp.top-remote-service-unavailable",
                "The remote service is unavailable, retry later",
            ),
            27 => TopError::with(
                code,
                "invalid-sessionkey",
                "The session is invalid or expired, authorize again",
            ),
            29 => TopError::with(code, "isv.appkey-not-exists", "The app_key does not exist"),
            40 => TopError::with(
                code,
                "isv.missing-parameter",
                "A required parameter is missing",
            ),
            41 => TopError::with(code, "isv.invalid-parameter", "A parameter is invalid"),
            _ => TopError::new(code),
        }
    }
}

fn ban(secs: u64) -> TopError {
    TopError::with(
        7,
        "accesscontrol.limited-by-app-access-count",
        format!("This ban will last for {secs} more seconds"),
    )
}

/// Returns the `msg` TOP sends with `code`.
pub(crate) fn message(code: i64) -> &'static str {
    match code {
        3 => "Upload Fail",
        4 => "User Call Limited",
        5 => "Session Call Limited",
        6 => "Partner Call Limited",
        7 => "App Call Limited",
        8 => "App Call Exceeds Limited Frequency",
        9 => "Http Action Not Allowed",
        10 => "Service Currently Unavailable",
        11 => "Insufficient ISV Permissions",
        12 => "Insufficient User Permissions",
        13 => "Insufficient Partner Permissions",
        15 => "Remote Service Error",
        21 => "Missing Method",
        22 => "Invalid Method",
        23 => "Invalid Format",
        24 => "Missing Signature",
        25 => "Invalid Signature",
        26 => "Missing Session",
        27 => "Invalid Session",
        28 => "Missing App Key",
        29 => "Invalid App Key",
        30 => "Missing Timestamp",
        31 => "Invalid Timestamp",
        32 => "Missing Version",
        33 => "Invalid Version",
        34 => "Unsupported Version",
        40 => "Missing Required Arguments",
        41 => "Invalid Arguments",
        42 => "Forbidden Request",
        43 => "Parameter Error",
        _ => "Simulated Error",
    }
}

/// Renders `{"error_response":{…}}`.
pub(crate) fn error_body(error: &TopError, request_id: &str) -> Value {
    let mut inner = Map::new();
    inner.insert("code".to_owned(), Value::from(error.code));
    inner.insert("msg".to_owned(), Value::from(message(error.code)));
    if let Some(sub_code) = &error.sub_code {
        inner.insert("sub_code".to_owned(), Value::from(sub_code.clone()));
    }
    if let Some(sub_msg) = &error.sub_msg {
        inner.insert("sub_msg".to_owned(), Value::from(sub_msg.clone()));
    }
    inner.insert("request_id".to_owned(), Value::from(request_id));
    json!({ "error_response": inner })
}

/// A well-formed response under a root the caller did not ask for.
pub(crate) fn wrong_envelope(request_id: &str) -> Value {
    json!({ "trades_sold_get_response": { "total_results": 0, "request_id": request_id } })
}

/// A body that looks like TOP JSON but does not parse.
pub(crate) const MALFORMED: &str =
    "{\"traderates_get_response\":{\"trade_rates\":{\"trade_rate\":[{\"tid\":1,content:好评}]},\"total_results\":1,}";

/// Answers one router request.
pub(crate) fn handle(
    inner: &Inner,
    http_method: &Method,
    params: &Params,
    now: DateTime<Utc>,
    clock: tokio::time::Instant,
) -> Answer {
    let request_id = inner.next_request_id();
    let answer = match respond(inner, http_method, params, now, clock, &request_id) {
        Ok(body) => Answer::new(StatusCode::OK, body, Outcome::Ok),
        Err(error) => {
            let outcome = if error.code == 7 {
                Outcome::Throttled(7)
            } else {
                Outcome::Error(error.code)
            };
            Answer::new(StatusCode::OK, error_body(&error, &request_id), outcome)
        }
    };
    tracing::debug!(api = Api::Top.as_str(), outcome = ?answer.outcome, "top request answered");
    answer
}

fn respond(
    inner: &Inner,
    http_method: &Method,
    params: &Params,
    now: DateTime<Utc>,
    clock: tokio::time::Instant,
    request_id: &str,
) -> Result<Value, TopError> {
    let config = inner.config();
    if http_method != Method::GET && http_method != Method::POST {
        return Err(TopError::new(9));
    }
    let method = params.non_empty("method").ok_or(TopError::new(21))?;
    let app_key = params.non_empty("app_key").ok_or(TopError::new(28))?;
    let app = config
        .credentials
        .top_apps
        .iter()
        .find(|app| app.app_key == app_key)
        .ok_or_else(|| TopError::documented(29, 0))?;
    if let Admission::Refused { ban_secs_left } = inner.admit_top(app_key, clock) {
        return Err(ban(ban_secs_left));
    }
    if method != TRADERATES_GET
        && method != TOKEN_CREATE
        && method != TOKEN_REFRESH
        && method != tmc::CONSUME
        && method != tmc::CONFIRM
        && !top_commerce::METHODS.contains(&method)
    {
        return Err(TopError::note(
            22,
            format!(
                "the simulator serves {TRADERATES_GET}, {}",
                top_commerce::METHODS.join(", ")
            ),
        ));
    }
    match params.non_empty("format") {
        Some("json") => {}
        Some(_) | None => {
            return Err(TopError::note(
                23,
                "the simulator answers format=json only (xml is not simulated)",
            ))
        }
    }
    let given_sign = params.non_empty("sign").ok_or(TopError::new(24))?;
    let timestamp = params.non_empty("timestamp").ok_or(TopError::new(30))?;
    let tolerance = i64::try_from(config.top.timestamp_tolerance_secs).unwrap_or(i64::MAX);
    let in_tolerance =
        parse_gmt8(timestamp).is_some_and(|at| (now - at).num_seconds().abs() <= tolerance);
    if !in_tolerance {
        return Err(TopError::note(
            31,
            format!(
                "timestamp must be yyyy-MM-dd HH:mm:ss GMT+8 within {tolerance} s of the server"
            ),
        ));
    }
    let version = params.non_empty("v").ok_or(TopError::new(32))?;
    let looks_like_version = version.split_once('.').is_some_and(|(major, minor)| {
        !major.is_empty()
            && !minor.is_empty()
            && major
                .chars()
                .chain(minor.chars())
                .all(|c| c.is_ascii_digit())
    });
    if !looks_like_version {
        return Err(TopError::new(33));
    }
    if version != "2.0" {
        return Err(TopError::new(34));
    }
    let sign_method = params.non_empty("sign_method").unwrap_or("md5");
    let sign_method = SignMethod::parse(sign_method)
        .ok_or_else(|| TopError::note(25, "sign_method must be md5, hmac or hmac-sha256"))?;
    let pairs = params
        .pairs()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    if !sign::verify(pairs, app.app_secret.expose(), sign_method, given_sign) {
        return Err(TopError::new(25));
    }
    if method == TOKEN_CREATE || method == TOKEN_REFRESH {
        return auth_token(inner, app_key, method, params, request_id, now);
    }
    if method == tmc::CONSUME || method == tmc::CONFIRM {
        let simplify = params
            .non_empty("simplify")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        return tmc_call(inner, app_key, method, params, request_id, clock, simplify);
    }
    let session = params.non_empty("session").ok_or(TopError::new(26))?;
    let configured = app
        .sessions
        .iter()
        .find(|candidate| candidate.session.expose() == session && !candidate.expired)
        .map(|candidate| candidate.shop_id.clone());
    let shop_id = match configured {
        Some(shop_id) => shop_id,
        None => match inner
            .tokens()
            .check(OAuthPlatform::Top, app_key, session, now)
        {
            TokenState::Valid(shop_id) => shop_id,
            TokenState::Expired | TokenState::Unknown => return Err(TopError::documented(27, 0)),
        },
    };
    let simplify = params
        .non_empty("simplify")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if method != TRADERATES_GET {
        return top_commerce::respond(inner, method, &shop_id, params, request_id, simplify);
    }
    let query = SearchQuery::parse(params).map_err(|error| match error {
        ParamError::Missing { name } => {
            TopError::with(40, "isv.missing-parameter", format!("{name} is required"))
        }
        other => TopError::with(
            41,
            format!("isv.invalid-parameter:{}", other.name()),
            other.detail(),
        ),
    })?;
    let page = inner
        .with_shop(Api::Top, &shop_id, |shop| search(shop, &query))
        .ok_or_else(|| TopError::documented(27, 0))?;
    let mut body = Map::new();
    if simplify {
        body.insert("trade_rates".to_owned(), Value::Array(page.trade_rates));
    } else if !page.trade_rates.is_empty() {
        body.insert(
            "trade_rates".to_owned(),
            json!({ "trade_rate": page.trade_rates }),
        );
    }
    if query.use_has_next {
        body.insert("has_next".to_owned(), Value::from(page.has_next));
    } else {
        body.insert("total_results".to_owned(), Value::from(page.total_results));
    }
    body.insert("request_id".to_owned(), Value::from(request_id));
    Ok(if simplify {
        Value::Object(body)
    } else {
        json!({ "traderates_get_response": body })
    })
}

/// Answers `taobao.top.auth.token.create` (`code`) and `taobao.top.auth.token.refresh`
/// (`refresh_token`): `{"top_auth_token_create_response":{"token_result":"<token JSON as a
/// string>","request_id"}}` (refresh: `top_auth_token_refresh_response`). A bad code or
/// refresh token is code 15 `isv.invalid-parameter:code` / `:refresh_token` (our choice).
fn auth_token(
    inner: &Inner,
    app_key: &str,
    method: &str,
    params: &Params,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Value, TopError> {
    let name = if method == TOKEN_CREATE {
        "code"
    } else {
        "refresh_token"
    };
    let value = params.non_empty(name).ok_or_else(|| {
        TopError::with(40, "isv.missing-parameter", format!("{name} is required"))
    })?;
    let grant = if method == TOKEN_CREATE {
        inner
            .tokens()
            .exchange(OAuthPlatform::Top, app_key, value, now)
    } else {
        inner
            .tokens()
            .refresh(OAuthPlatform::Top, app_key, value, now)
    }
    .map_err(|error| {
        let detail = match error {
            GrantError::InvalidCode => "the code is invalid, used or expired",
            GrantError::InvalidRefreshToken => "the refresh_token is invalid or expired",
        };
        TopError::with(15, format!("isv.invalid-parameter:{name}"), detail)
    })?;
    let root = if method == TOKEN_CREATE {
        "top_auth_token_create_response"
    } else {
        "top_auth_token_refresh_response"
    };
    Ok(json!({ root: {
        "token_result": grant.top_json(now).to_string(),
        "request_id": request_id,
    }}))
}

/// Answers oauth.taobao.com-style `POST /token` (`grant_type` `authorization_code` with
/// `code`, or `refresh_token` with `refresh_token`; `client_id` and `client_secret` of a TOP
/// app): HTTP 200 with the token JSON, or HTTP 400 with `{"error","error_description"}`
/// (`invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`; the
/// OAuth 2.0 spellings, TOP's exact ones are not documented).
pub(crate) fn oauth_token(
    inner: &Inner,
    params: &Params,
    now: DateTime<Utc>,
) -> (StatusCode, Value) {
    let fail = |error: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            json!({ "error": error, "error_description": description }),
        )
    };
    let (Some(grant_type), Some(client_id), Some(client_secret)) = (
        params.non_empty("grant_type"),
        params.non_empty("client_id"),
        params.non_empty("client_secret"),
    ) else {
        return fail(
            "invalid_request",
            "grant_type, client_id and client_secret are required",
        );
    };
    let known = inner
        .config()
        .credentials
        .top_apps
        .iter()
        .any(|app| app.app_key == client_id && app.app_secret.expose() == client_secret);
    if !known {
        return fail("invalid_client", "unknown client_id or wrong client_secret");
    }
    let result = match grant_type {
        "authorization_code" => match params.non_empty("code") {
            Some(code) => inner
                .tokens()
                .exchange(OAuthPlatform::Top, client_id, code, now),
            None => return fail("invalid_request", "code is required"),
        },
        "refresh_token" => match params.non_empty("refresh_token") {
            Some(token) => inner
                .tokens()
                .refresh(OAuthPlatform::Top, client_id, token, now),
            None => return fail("invalid_request", "refresh_token is required"),
        },
        _ => {
            return fail(
                "unsupported_grant_type",
                "authorization_code or refresh_token",
            )
        }
    };
    match result {
        Ok(grant) => (StatusCode::OK, grant.top_json(now)),
        Err(_) => fail(
            "invalid_grant",
            "the code or refresh_token is invalid or expired",
        ),
    }
}

/// Answers `taobao.tmc.messages.consume` and `taobao.tmc.messages.confirm` (see [`tmc`]).
fn tmc_call(
    inner: &Inner,
    app_key: &str,
    method: &str,
    params: &Params,
    request_id: &str,
    clock: tokio::time::Instant,
    simplify: bool,
) -> Result<Value, TopError> {
    let invalid = |name: &str, detail: &str| {
        TopError::with(
            41,
            format!("isv.invalid-parameter:{name}"),
            detail.to_owned(),
        )
    };
    if method == tmc::CONSUME {
        let quantity = match params.non_empty("quantity") {
            None => 100,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|quantity| (10..=200).contains(quantity))
                .ok_or_else(|| invalid("quantity", "quantity must be 10..=200"))?,
        };
        let redelivery = std::time::Duration::from_secs(inner.config().tmc.redelivery_secs);
        let messages = inner.tmc().consume(app_key, quantity, clock, redelivery);
        let mut body = Map::new();
        if simplify {
            body.insert("messages".to_owned(), Value::Array(messages));
        } else if !messages.is_empty() {
            body.insert("messages".to_owned(), json!({ "tmc_message": messages }));
        }
        body.insert("request_id".to_owned(), Value::from(request_id));
        return Ok(if simplify {
            Value::Object(body)
        } else {
            json!({ "tmc_messages_consume_response": body })
        });
    }
    let ids = params
        .non_empty("s_message_ids")
        .ok_or_else(|| TopError::with(40, "isv.missing-parameter", "s_message_ids is required"))?;
    let ids: Vec<u64> = ids
        .split(',')
        .map(|id| id.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| invalid("s_message_ids", "s_message_ids must be numbers"))?;
    if ids.len() > 200 {
        return Err(invalid("s_message_ids", "at most 200 ids"));
    }
    inner.tmc().confirm(app_key, &ids);
    let body = json!({ "is_success": true, "request_id": request_id });
    Ok(if simplify {
        body
    } else {
        json!({ "tmc_messages_confirm_response": body })
    })
}
