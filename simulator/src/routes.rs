//! The HTTP handlers of every simulated API: each takes its endpoint's queued fault, reads
//! the request's parameters and renders the answer (or the fault) as the platform would.
//!
//! Contract: every request on an API path first takes one use of a queued fault of that
//! endpoint (see [`crate::faults`]); a fault replaces the answer (only `slow_ms` delays it),
//! and either way the request is counted once in [`crate::stats`].

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::faults::{Endpoint, Fault};
use crate::server::{Answer, Inner, Simulator};
use crate::stats::Outcome;
use crate::{aggregator, form, jd, kuaidi100, pdd, top};

fn json_response(status: StatusCode, text: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        )],
        text,
    )
        .into_response()
}

const HTTP_500_PAGE: &str = "<!DOCTYPE html>\n<html>\n<head><title>500 Internal Server Error</title></head>\n\
<body>\n<center><h1>500 Internal Server Error</h1></center>\n<hr><center>Tengine</center>\n</body>\n</html>\n";

/// Renders an answer, or the fault that replaces it. `normal` is computed only when the fault
/// needs the normal body (truncation) or there is no fault.
fn render(
    inner: &Inner,
    api: Endpoint,
    fault: Option<Fault>,
    params_shop: Option<&str>,
    normal: impl FnOnce() -> Answer,
) -> Response {
    let Some(fault) = fault else {
        let answer = normal();
        inner.record(api, answer.outcome);
        return json_response(answer.status, answer.body.to_string());
    };
    inner.record(api, Outcome::Fault(fault.kind()));
    match fault {
        Fault::ErrorCode(code) => {
            let body = match api {
                Endpoint::Top => top::error_body(
                    &top::TopError::documented(code, inner.config().top.ban_secs.max(1)),
                    &inner.next_request_id(),
                ),
                Endpoint::Aggregator => aggregator::error_body(inner, code, None, params_shop, 0),
                Endpoint::Pdd => {
                    pdd::error_body(&pdd::PddError::documented(code), &inner.next_request_id())
                }
                Endpoint::Jd => jd::error_body(code),
                Endpoint::Kuaidi100 => kuaidi100::failure(&code.to_string(), "模拟错误"),
            };
            json_response(StatusCode::OK, body.to_string())
        }
        Fault::MalformedJson => {
            let text = match api {
                Endpoint::Top => top::MALFORMED,
                Endpoint::Aggregator => aggregator::MALFORMED,
                Endpoint::Pdd => pdd::MALFORMED,
                Endpoint::Jd => jd::MALFORMED,
                Endpoint::Kuaidi100 => kuaidi100::MALFORMED,
            };
            json_response(StatusCode::OK, text.to_owned())
        }
        Fault::TruncatedJson => {
            let text = normal().body.to_string();
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            json_response(StatusCode::OK, text[..cut].to_owned())
        }
        Fault::WrongEnvelope => {
            let body = match api {
                Endpoint::Top => top::wrong_envelope(&inner.next_request_id()),
                Endpoint::Aggregator => aggregator::wrong_envelope(),
                Endpoint::Pdd => pdd::wrong_envelope(&inner.next_request_id()),
                Endpoint::Jd => jd::wrong_envelope(&inner.next_request_id()),
                Endpoint::Kuaidi100 => kuaidi100::wrong_envelope(),
            };
            json_response(StatusCode::OK, body.to_string())
        }
        Fault::Http500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            HTTP_500_PAGE,
        )
            .into_response(),
        // Served in `take_fault`; never reaches here.
        Fault::SlowMs(_) => json_response(StatusCode::OK, normal().body.to_string()),
    }
}

pub(crate) async fn top_route(
    State(simulator): State<Simulator>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = simulator.inner();
    let clock = Instant::now();
    let fault = inner.take_fault(Endpoint::Top).await;
    // A form that cannot be read leaves only the query-string parameters.
    let params = form::collect(query.as_deref(), &headers, &body)
        .or_else(|_| form::collect(query.as_deref(), &HeaderMap::new(), &[]))
        .unwrap_or_default();
    render(inner, Endpoint::Top, fault, None, || {
        top::handle(inner, &method, &params, chrono::Utc::now(), clock)
    })
}

pub(crate) async fn aggregator_route(
    State(simulator): State<Simulator>,
    Path(interface): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = simulator.inner();
    let clock = Instant::now();
    let fault = inner.take_fault(Endpoint::Aggregator).await;
    let params = form::collect(query.as_deref(), &headers, &body);
    let shop_id = params
        .as_ref()
        .ok()
        .and_then(|params| params.non_empty("shop_id"))
        .map(str::to_owned);
    render(
        inner,
        Endpoint::Aggregator,
        fault,
        shop_id.as_deref(),
        || aggregator::handle(inner, &interface, &method, &headers, params.clone(), clock),
    )
}

pub(crate) async fn pdd_route(
    State(simulator): State<Simulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = simulator.inner();
    let clock = Instant::now();
    let fault = inner.take_fault(Endpoint::Pdd).await;
    let params = pdd::collect(query.as_deref(), &headers, &body);
    render(inner, Endpoint::Pdd, fault, None, || {
        pdd::handle(inner, &params, chrono::Utc::now(), clock)
    })
}

pub(crate) async fn jd_route(
    State(simulator): State<Simulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = simulator.inner();
    let clock = Instant::now();
    let fault = inner.take_fault(Endpoint::Jd).await;
    let params = form::collect(query.as_deref(), &headers, &body)
        .or_else(|_| form::collect(query.as_deref(), &HeaderMap::new(), &[]))
        .unwrap_or_default();
    render(inner, Endpoint::Jd, fault, None, || {
        jd::handle(inner, &params, chrono::Utc::now(), clock)
    })
}

pub(crate) async fn kuaidi100_query_route(
    State(simulator): State<Simulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = simulator.inner();
    let fault = inner.take_fault(Endpoint::Kuaidi100).await;
    let params = form::collect(query.as_deref(), &headers, &body).unwrap_or_default();
    render(inner, Endpoint::Kuaidi100, fault, None, || {
        kuaidi100::query(inner, &params)
    })
}

pub(crate) async fn kuaidi100_subscribe_route(
    State(simulator): State<Simulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = simulator.inner();
    let fault = inner.take_fault(Endpoint::Kuaidi100).await;
    let params = form::collect(query.as_deref(), &headers, &body).unwrap_or_default();
    render(inner, Endpoint::Kuaidi100, fault, None, || {
        kuaidi100::subscribe(inner, &params)
    })
}

pub(crate) async fn oauth_token_route(
    State(simulator): State<Simulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form::collect(query.as_deref(), &headers, &body).unwrap_or_default();
    let (status, body) = top::oauth_token(simulator.inner(), &params, chrono::Utc::now());
    json_response(status, body.to_string())
}

pub(crate) async fn fallback_route(State(simulator): State<Simulator>) -> Response {
    let answer = aggregator::not_found(simulator.inner());
    json_response(answer.status, answer.body.to_string())
}
