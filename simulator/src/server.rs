//! `Simulator`: the shared state, the axum router over both APIs and `/_sim/`, the review
//! generator and `serve`.
//!
//! Contract:
//! - `Simulator` is a cheap `Clone` handle; every clone sees the same world, faults and stats.
//! - The world (history included) exists once `new` returns; live generation runs only inside
//!   `serve` (or `run_generator`) and stops when its shutdown token is cancelled.
//! - Every request on an API path first takes a queued fault of that API (see `faults`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Api, SimulatorConfig};
use crate::error::SimulatorError;
use crate::faults::{Fault, FaultQueues};
use crate::metrics::metrics;
use crate::stats::{Outcome, SimStats};
use crate::throttle::{Admission, Throttle};
use crate::world::{ShopState, SimReview, World};
use crate::{admin, aggregator, corpus, form, top};

/// A running simulated outside world. Cloning is cheap and shares everything.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("shops", &self.inner.config.shops.len())
            .finish_non_exhaustive()
    }
}

/// State shared by every handler.
pub(crate) struct Inner {
    config: SimulatorConfig,
    world: Mutex<World>,
    faults: Mutex<FaultQueues>,
    top_throttle: Mutex<Throttle>,
    aggregator_throttle: Mutex<Throttle>,
    aggregator_calls: Mutex<HashMap<String, u64>>,
    stats: Mutex<SimStats>,
    request_counter: AtomicU64,
}

/// Locks a mutex; a panic while holding it leaves plain data that is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn config(&self) -> &SimulatorConfig {
        &self.config
    }

    /// Returns a fresh TOP-style request id (13 lowercase base-36 characters).
    pub(crate) fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        let mut value = (n ^ self.config.seed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17);
        let mut id = String::with_capacity(13);
        for _ in 0..13 {
            let digit = (value % 36) as u32;
            value /= 36;
            id.push(char::from_digit(digit, 36).unwrap_or('0'));
        }
        id
    }

    pub(crate) fn admit_top(&self, app_key: &str, now: Instant) -> Admission {
        lock(&self.top_throttle).admit(app_key, now)
    }

    pub(crate) fn admit_aggregator(&self, token: &str, now: Instant) -> Admission {
        lock(&self.aggregator_throttle).admit(token, now)
    }

    /// Counts one call of an aggregator account; returns its calls so far.
    pub(crate) fn count_aggregator_call(&self, token: &str) -> u64 {
        let mut calls = lock(&self.aggregator_calls);
        let count = calls.entry(token.to_owned()).or_default();
        *count += 1;
        *count
    }

    pub(crate) fn has_shop(&self, api: Api, shop_id: &str) -> bool {
        lock(&self.world).shop(api, shop_id).is_some()
    }

    /// Runs `f` on a shop under the world lock.
    pub(crate) fn with_shop<T>(
        &self,
        api: Api,
        shop_id: &str,
        f: impl FnOnce(&ShopState) -> T,
    ) -> Option<T> {
        lock(&self.world).shop(api, shop_id).map(f)
    }

    fn record(&self, api: Api, outcome: Outcome) {
        lock(&self.stats).record(api, outcome);
    }

    /// Takes the next fault of `api`; a `slow_ms` fault is served here (delay, counted) and the
    /// request then runs normally.
    async fn take_fault(&self, api: Api) -> Option<Fault> {
        let fault = lock(&self.faults).take(api)?;
        if let Fault::SlowMs(ms) = fault {
            lock(&self.stats).record_slow(api);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return None;
        }
        Some(fault)
    }
}

/// One answer before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) outcome: Outcome,
}

impl Answer {
    pub(crate) fn new(status: StatusCode, body: Value, outcome: Outcome) -> Answer {
        Answer {
            status,
            body,
            outcome,
        }
    }
}

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
    api: Api,
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
                Api::Top => top::error_body(
                    &top::TopError::documented(code, inner.config.top.ban_secs.max(1)),
                    &inner.next_request_id(),
                ),
                Api::Aggregator => aggregator::error_body(inner, code, None, params_shop, 0),
            };
            json_response(StatusCode::OK, body.to_string())
        }
        Fault::MalformedJson => {
            let text = match api {
                Api::Top => top::MALFORMED,
                Api::Aggregator => aggregator::MALFORMED,
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
                Api::Top => top::wrong_envelope(&inner.next_request_id()),
                Api::Aggregator => aggregator::wrong_envelope(),
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

async fn top_route(
    State(simulator): State<Simulator>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = &simulator.inner;
    let clock = Instant::now();
    let fault = inner.take_fault(Api::Top).await;
    // A form that cannot be read leaves only the query-string parameters.
    let params = form::collect(query.as_deref(), &headers, &body)
        .or_else(|_| form::collect(query.as_deref(), &HeaderMap::new(), &[]))
        .unwrap_or_default();
    render(inner, Api::Top, fault, None, || {
        top::handle(inner, &method, &params, chrono::Utc::now(), clock)
    })
}

async fn aggregator_route(
    State(simulator): State<Simulator>,
    Path(interface): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = &simulator.inner;
    let clock = Instant::now();
    let fault = inner.take_fault(Api::Aggregator).await;
    let params = form::collect(query.as_deref(), &headers, &body);
    let shop_id = params
        .as_ref()
        .ok()
        .and_then(|params| params.non_empty("shop_id"))
        .map(str::to_owned);
    render(inner, Api::Aggregator, fault, shop_id.as_deref(), || {
        aggregator::handle(inner, &interface, &method, &headers, params.clone(), clock)
    })
}

async fn fallback_route(State(simulator): State<Simulator>) -> Response {
    let answer = aggregator::not_found(&simulator.inner);
    json_response(answer.status, answer.body.to_string())
}

impl Simulator {
    /// Builds the world (shops, items, history) from `config`.
    pub fn new(config: SimulatorConfig) -> Result<Simulator, SimulatorError> {
        config
            .validate()
            .map_err(|problems| SimulatorError::InvalidConfig { problems })?;
        let corpus = Arc::new(corpus::load(config.corpus_path.as_deref())?);
        let world = World::new(&config, corpus, chrono::Utc::now());
        let stats = SimStats {
            reviews: world.review_count() as u64,
            ..SimStats::default()
        };
        for shop in &world.shops {
            metrics()
                .reviews_generated
                .with_label_values(&[shop.config.api.as_str()])
                .inc_by(shop.reviews.len() as u64);
        }
        let top_throttle = Throttle::new(
            config.top.calls_per_sec,
            config.top.burst,
            Duration::from_secs(config.top.ban_secs),
        );
        let aggregator_throttle = Throttle::new(
            config.aggregator.requests_per_sec,
            config.aggregator.burst,
            Duration::ZERO,
        );
        Ok(Simulator {
            inner: Arc::new(Inner {
                config,
                world: Mutex::new(world),
                faults: Mutex::new(FaultQueues::default()),
                top_throttle: Mutex::new(top_throttle),
                aggregator_throttle: Mutex::new(aggregator_throttle),
                aggregator_calls: Mutex::new(HashMap::new()),
                stats: Mutex::new(stats),
                request_counter: AtomicU64::new(0),
            }),
        })
    }

    /// Returns the router serving both APIs and `/_sim/` (no review generation by itself).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/router/rest", any(top_route))
            .route("/tool/erps/{interface}", any(aggregator_route))
            .merge(admin::routes())
            .fallback(fallback_route)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` is cancelled, generating live reviews meanwhile.
    /// Binds nothing itself; in-flight requests finish before it returns.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), SimulatorError> {
        let generator_stop = shutdown.child_token();
        let generator = tokio::spawn({
            let simulator = self.clone();
            let stop = generator_stop.clone();
            async move { simulator.run_generator(stop).await }
        });
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, shops = self.inner.config.shops.len(), "simulator serving");
        }
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        generator_stop.cancel();
        if let Err(error) = generator.await {
            tracing::warn!(error = %error, "simulator review generator ended abnormally");
        }
        served.map_err(SimulatorError::Serve)
    }

    /// Generates live reviews on each shop's schedule until `shutdown` is cancelled. The
    /// schedule starts at the first call; `serve` calls this itself.
    pub async fn run_generator(&self, shutdown: CancellationToken) {
        lock(&self.inner.world).start_live(Instant::now());
        loop {
            let next = lock(&self.inner.world).next_due();
            let Some(due) = next else {
                shutdown.cancelled().await;
                return;
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(due) => {}
            }
            let generated =
                lock(&self.inner.world).generate_due(Instant::now(), chrono::Utc::now());
            if generated.is_empty() {
                continue;
            }
            lock(&self.inner.stats).reviews += generated.len() as u64;
            for api in [Api::Top, Api::Aggregator] {
                let count = generated
                    .iter()
                    .filter(|&&generated_api| generated_api == api)
                    .count();
                if count > 0 {
                    metrics()
                        .reviews_generated
                        .with_label_values(&[api.as_str()])
                        .inc_by(count as u64);
                }
            }
        }
    }

    /// Returns every review generated so far (ground truth), shop by shop, oldest first.
    pub fn reviews(&self) -> Vec<SimReview> {
        lock(&self.inner.world).ground_truth()
    }

    /// Makes the next `count` requests to `api` get `fault`.
    pub fn inject(&self, api: Api, fault: Fault, count: u32) {
        tracing::info!(
            api = api.as_str(),
            fault = fault.kind(),
            count,
            "fault injected"
        );
        lock(&self.inner.faults).push(api, fault, count);
    }

    /// Returns the request and fault counts so far.
    pub fn stats(&self) -> SimStats {
        let mut stats = lock(&self.inner.stats).clone();
        let faults = lock(&self.inner.faults);
        stats.top.faults_pending = faults.pending(Api::Top);
        stats.aggregator.faults_pending = faults.pending(Api::Aggregator);
        stats
    }

    /// Returns the configuration the simulator runs with.
    pub fn config(&self) -> &SimulatorConfig {
        &self.inner.config
    }
}
