//! The simulator's own endpoints under `/_sim/` (not part of any platform).
//!
//! Contract:
//! - `GET /_sim/reviews`: JSON array of every review generated so far ([`SimReview`]), shop by
//!   shop, oldest first; nicks unmasked.
//! - `POST /_sim/faults`: body [`FaultRequest`] (`{"api":"top","fault":{"error_code":7},"count":2}`);
//!   answers `{"queued":count,"pending":uses_still_queued_for_that_api}`; a bad body gets
//!   HTTP 400 (or 422 from axum's JSON extractor) and queues nothing.
//! - `GET /_sim/stats`: [`SimStats`].
//!
//! [`SimReview`]: crate::SimReview
//! [`SimStats`]: crate::SimStats

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::faults::FaultRequest;
use crate::server::Simulator;
use crate::stats::SimStats;
use crate::world::SimReview;

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/_sim/reviews", get(reviews))
        .route("/_sim/faults", post(faults))
        .route("/_sim/stats", get(stats))
}

async fn reviews(State(simulator): State<Simulator>) -> Json<Vec<SimReview>> {
    Json(simulator.reviews())
}

async fn faults(
    State(simulator): State<Simulator>,
    Json(request): Json<FaultRequest>,
) -> Json<Value> {
    simulator.inject(request.api, request.fault, request.count);
    let pending = match request.api {
        crate::Api::Top => simulator.stats().top.faults_pending,
        crate::Api::Aggregator => simulator.stats().aggregator.faults_pending,
    };
    Json(json!({ "queued": request.count, "pending": pending }))
}

async fn stats(State(simulator): State<Simulator>) -> Json<SimStats> {
    Json(simulator.stats())
}
