//! The simulator's own endpoints under `/_sim/` (not part of any platform).
//!
//! Contract:
//! - `GET /_sim/reviews`: JSON array of every review generated so far ([`SimReview`]), shop by
//!   shop, oldest first; nicks unmasked.
//! - `POST /_sim/faults`: body [`FaultRequest`] (`{"api":"top","fault":{"error_code":7},"count":2}`;
//!   `api` is `top`, `aggregator`, `pdd`, `jd` or `kuaidi100`);
//!   answers `{"queued":count,"pending":uses_still_queued_for_that_api}`; a bad body gets
//!   HTTP 400 (or 422 from axum's JSON extractor) and queues nothing.
//! - `GET /_sim/stats`: [`SimStats`].
//! - `GET /_sim/items`: every listing ([`SimItem`]: status, SKUs with price in fen and stock).
//! - `GET /_sim/parcels`: every order and its parcel ([`SimParcel`]: courier, waybill, fate,
//!   scans).
//! - `POST /_sim/commerce/advance` `{"events":N}`: plays N commerce events now; answers
//!   `{"events":total_played}`.
//! - `GET /_sim/tmc`: every TMC message ([`SimTmcMessage`]: app, topic, content, deliveries,
//!   confirmed).
//! - `POST /_sim/oauth/code` `{"platform":"top"|"pdd","app_key","shop_id"}`: an OAuth
//!   authorization code (HTTP 400 for an unknown app or shop); see [`crate::oauth`].
//! - `POST /_sim/oauth/expire` `{"access_token"}`: expires an issued token now; answers
//!   `{"expired":bool}`.
//!
//! [`SimTmcMessage`]: crate::tmc::SimTmcMessage
//! [`SimItem`]: crate::commerce::SimItem
//! [`SimParcel`]: crate::commerce::SimParcel
//!
//! [`SimReview`]: crate::SimReview
//! [`SimStats`]: crate::SimStats

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::commerce::{SimItem, SimParcel};
use crate::faults::FaultRequest;
use crate::oauth::OAuthPlatform;
use crate::server::Simulator;
use crate::stats::SimStats;
use crate::tmc::SimTmcMessage;
use crate::world::SimReview;
use axum::http::StatusCode;

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/_sim/reviews", get(reviews))
        .route("/_sim/faults", post(faults))
        .route("/_sim/stats", get(stats))
        .route("/_sim/items", get(items))
        .route("/_sim/parcels", get(parcels))
        .route("/_sim/commerce/advance", post(advance))
        .route("/_sim/tmc", get(tmc_messages))
        .route("/_sim/oauth/code", post(oauth_code))
        .route("/_sim/oauth/expire", post(oauth_expire))
}

async fn tmc_messages(State(simulator): State<Simulator>) -> Json<Vec<SimTmcMessage>> {
    Json(simulator.tmc_messages())
}

/// Body of `POST /_sim/oauth/code`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    platform: OAuthPlatform,
    app_key: String,
    shop_id: String,
}

async fn oauth_code(
    State(simulator): State<Simulator>,
    Json(request): Json<CodeRequest>,
) -> (StatusCode, Json<Value>) {
    match simulator.oauth_code(request.platform, &request.app_key, &request.shop_id) {
        Some(code) => (StatusCode::OK, Json(json!({ "code": code }))),
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "unknown app_key or shop_id for this platform" })),
        ),
    }
}

/// Body of `POST /_sim/oauth/expire`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpireRequest {
    access_token: String,
}

async fn oauth_expire(
    State(simulator): State<Simulator>,
    Json(request): Json<ExpireRequest>,
) -> Json<Value> {
    Json(json!({ "expired": simulator.expire_token(&request.access_token) }))
}

async fn items(State(simulator): State<Simulator>) -> Json<Vec<SimItem>> {
    Json(simulator.items())
}

async fn parcels(State(simulator): State<Simulator>) -> Json<Vec<SimParcel>> {
    Json(simulator.parcels())
}

/// Body of `POST /_sim/commerce/advance`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    events: u32,
}

async fn advance(
    State(simulator): State<Simulator>,
    Json(request): Json<AdvanceRequest>,
) -> Json<Value> {
    simulator.advance_commerce(request.events);
    Json(json!({ "events": simulator.commerce_events() }))
}

async fn reviews(State(simulator): State<Simulator>) -> Json<Vec<SimReview>> {
    Json(simulator.reviews())
}

async fn faults(
    State(simulator): State<Simulator>,
    Json(request): Json<FaultRequest>,
) -> Json<Value> {
    simulator.inject_at(request.api, request.fault, request.count);
    let pending = simulator.stats().of(request.api).faults_pending;
    Json(json!({ "queued": request.count, "pending": pending }))
}

async fn stats(State(simulator): State<Simulator>) -> Json<SimStats> {
    Json(simulator.stats())
}
