//! `Simulator`: the shared state, the axum router over every API and `/_sim/`, the review
//! generator, the commerce clock, Kuaidi100 pushes and `serve`.
//!
//! Contract:
//! - `Simulator` is a cheap `Clone` handle; every clone sees the same world, faults and stats.
//! - The world (review history and commerce history included) exists once `new` returns;
//!   live reviews, commerce events and Kuaidi100 pushes run only inside `serve` (or
//!   `run_generator` / `run_commerce`) and stop when its shutdown token is cancelled.
//! - Every request on an API path first takes a queued fault of that API (see
//!   `routes`).
//! - Locks are never nested: each lock (world, commerce, TMC, tokens, …) is taken and
//!   released on its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::commerce::{Commerce, SimItem, SimParcel};
use crate::config::{Api, SimulatorConfig};
use crate::error::SimulatorError;
use crate::faults::{Endpoint, Fault, FaultQueues};
use crate::metrics::metrics;
use crate::stats::{Outcome, SimStats};
use crate::throttle::{Admission, Throttle};
use crate::world::{ShopState, SimReview, World};
use crate::{admin, corpus, kuaidi100, oauth, pdd, routes, tmc};

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
    /// Reviews of the router-only shops (`commerce.extra_shops`), e.g. JD's.
    router_world: Mutex<World>,
    commerce: Mutex<Commerce>,
    faults: Mutex<FaultQueues>,
    top_throttle: Mutex<Throttle>,
    aggregator_throttle: Mutex<Throttle>,
    aggregator_calls: Mutex<HashMap<String, u64>>,
    pdd_limits: Mutex<pdd::Limits>,
    jd_throttle: Mutex<Throttle>,
    subscriptions: Mutex<kuaidi100::Subscriptions>,
    tokens: Mutex<oauth::TokenStore>,
    tmc: Mutex<tmc::Tmc>,
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

    pub(crate) fn pdd_limits(&self) -> MutexGuard<'_, pdd::Limits> {
        lock(&self.pdd_limits)
    }

    pub(crate) fn tokens(&self) -> MutexGuard<'_, oauth::TokenStore> {
        lock(&self.tokens)
    }

    pub(crate) fn subscriptions(&self) -> MutexGuard<'_, kuaidi100::Subscriptions> {
        lock(&self.subscriptions)
    }

    pub(crate) fn admit_jd(&self, app_key: &str, now: Instant) -> Admission {
        lock(&self.jd_throttle).admit(app_key, now)
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

    /// Runs `f` on a router-only shop (`commerce.extra_shops`) under its world's lock, or on
    /// a review shop of `shops` with that id (any API) when there is no such router shop.
    pub(crate) fn with_router_shop<T>(
        &self,
        shop_id: &str,
        f: impl FnOnce(&ShopState) -> T,
    ) -> Option<T> {
        let router_world = lock(&self.router_world);
        if let Some(shop) = router_world
            .shops
            .iter()
            .find(|s| s.config.shop_id == shop_id)
        {
            return Some(f(shop));
        }
        drop(router_world);
        let world = lock(&self.world);
        world
            .shops
            .iter()
            .find(|shop| shop.config.shop_id == shop_id)
            .map(f)
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

    /// Runs `f` on the commerce world under its lock.
    pub(crate) fn with_commerce<T>(&self, f: impl FnOnce(&Commerce) -> T) -> T {
        f(&lock(&self.commerce))
    }

    /// Plays one commerce event and publishes its TMC messages.
    fn step_commerce(&self, at: chrono::DateTime<chrono::Utc>) {
        let drafts = {
            let mut commerce = lock(&self.commerce);
            let change = commerce.step(at);
            change.map_or_else(Vec::new, |change| tmc::drafts(&change, &commerce))
        };
        self.publish(drafts, at);
    }

    /// Publishes TMC drafts of TOP shops to every TOP app with a session for the shop.
    fn publish(&self, drafts: Vec<tmc::Draft>, at: chrono::DateTime<chrono::Utc>) {
        for draft in drafts {
            let shop_id = &draft.0;
            let is_top = self
                .config
                .shops
                .iter()
                .any(|shop| shop.api == Api::Top && &shop.shop_id == shop_id);
            if !is_top {
                continue;
            }
            let app_keys: Vec<String> = self
                .config
                .credentials
                .top_apps
                .iter()
                .filter(|app| {
                    app.sessions
                        .iter()
                        .any(|session| &session.shop_id == shop_id)
                })
                .map(|app| app.app_key.clone())
                .collect();
            if app_keys.is_empty() {
                continue;
            }
            let nick = self
                .with_shop(Api::Top, shop_id, |shop| shop.seller_nick.clone())
                .unwrap_or_default();
            lock(&self.tmc).publish(&app_keys, &nick, &draft, at);
        }
    }

    pub(crate) fn tmc(&self) -> MutexGuard<'_, tmc::Tmc> {
        lock(&self.tmc)
    }

    pub(crate) fn record(&self, api: Endpoint, outcome: Outcome) {
        lock(&self.stats).record(api, outcome);
    }

    /// Takes the next fault of `api`; a `slow_ms` fault is served here (delay, counted) and the
    /// request then runs normally.
    pub(crate) async fn take_fault(&self, api: Endpoint) -> Option<Fault> {
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

/// The review world of the router-only shops: the same settings, its own seed, and the
/// shops of `commerce.extra_shops` (their `api` is a placeholder: no review API serves them).
fn router_world_config(config: &SimulatorConfig) -> SimulatorConfig {
    SimulatorConfig {
        seed: config.seed ^ 0x0052_4F55_5445_5253,
        shops: config
            .commerce
            .extra_shops
            .iter()
            .map(|shop| crate::config::ShopConfig {
                platform: shop.platform,
                shop_id: shop.shop_id.clone(),
                api: Api::Aggregator,
                seller_nick: None,
                reviews_per_minute: None,
            })
            .collect(),
        ..config.clone()
    }
}

impl Simulator {
    /// The shared state, for the route handlers.
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Builds the world (shops, items, history) from `config`.
    pub fn new(config: SimulatorConfig) -> Result<Simulator, SimulatorError> {
        config
            .validate()
            .map_err(|problems| SimulatorError::InvalidConfig { problems })?;
        let corpus = Arc::new(corpus::load(config.corpus_path.as_deref())?);
        let now = chrono::Utc::now();
        let world = World::new(&config, corpus.clone(), now);
        let router_world = World::new(&router_world_config(&config), corpus, now);
        let mut seeds = world.seed_items();
        seeds.extend(router_world.seed_items());
        let commerce = Commerce::new(&config, seeds, now);
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
        let pdd_limits = pdd::Limits::new(&config.pdd);
        let tokens = oauth::TokenStore::new(config.oauth.clone(), config.seed);
        let tmc_state = tmc::Tmc::new(config.seed);
        let jd_throttle = Throttle::new(config.jd.calls_per_sec, config.jd.burst, Duration::ZERO);
        Ok(Simulator {
            inner: Arc::new(Inner {
                config,
                world: Mutex::new(world),
                router_world: Mutex::new(router_world),
                commerce: Mutex::new(commerce),
                faults: Mutex::new(FaultQueues::default()),
                top_throttle: Mutex::new(top_throttle),
                aggregator_throttle: Mutex::new(aggregator_throttle),
                aggregator_calls: Mutex::new(HashMap::new()),
                pdd_limits: Mutex::new(pdd_limits),
                jd_throttle: Mutex::new(jd_throttle),
                subscriptions: Mutex::new(kuaidi100::Subscriptions::default()),
                tokens: Mutex::new(tokens),
                tmc: Mutex::new(tmc_state),
                stats: Mutex::new(stats),
                request_counter: AtomicU64::new(0),
            }),
        })
    }

    /// Returns the router serving both APIs and `/_sim/` (no review generation by itself).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/router/rest", any(routes::top_route))
            .route("/tool/erps/{interface}", any(routes::aggregator_route))
            .route("/api/router", any(routes::pdd_route))
            .route("/routerjson", any(routes::jd_route))
            .route("/poll/query.do", any(routes::kuaidi100_query_route))
            .route("/poll", any(routes::kuaidi100_subscribe_route))
            .route("/token", any(routes::oauth_token_route))
            .merge(admin::routes())
            .fallback(routes::fallback_route)
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
        let commerce = tokio::spawn({
            let simulator = self.clone();
            let stop = generator_stop.clone();
            async move { simulator.run_commerce(stop).await }
        });
        let pushes = tokio::spawn({
            let simulator = self.clone();
            let stop = generator_stop.clone();
            async move {
                let client = reqwest::Client::new();
                kuaidi100::run_pushes(&simulator.inner, &client, &stop).await;
            }
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
        if let Err(error) = commerce.await {
            tracing::warn!(error = %error, "simulator commerce generator ended abnormally");
        }
        if let Err(error) = pushes.await {
            tracing::warn!(error = %error, "simulator kuaidi100 pushes ended abnormally");
        }
        served.map_err(SimulatorError::Serve)
    }

    /// Generates live reviews on each shop's schedule until `shutdown` is cancelled. The
    /// schedule starts at the first call; `serve` calls this itself.
    pub async fn run_generator(&self, shutdown: CancellationToken) {
        let start = Instant::now();
        lock(&self.inner.world).start_live(start);
        lock(&self.inner.router_world).start_live(start);
        loop {
            let next = [
                lock(&self.inner.world).next_due(),
                lock(&self.inner.router_world).next_due(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(due) = next else {
                shutdown.cancelled().await;
                return;
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(due) => {}
            }
            lock(&self.inner.router_world).generate_due(Instant::now(), chrono::Utc::now());
            let wall = chrono::Utc::now();
            let (generated, rated) = {
                let mut world = lock(&self.inner.world);
                let before: Vec<usize> =
                    world.shops.iter().map(|shop| shop.reviews.len()).collect();
                let generated = world.generate_due(Instant::now(), wall);
                (generated, tmc::rated_drafts(&world, &before))
            };
            self.inner.publish(rated, wall);
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

    /// Plays commerce events (orders, parcel scans, listing changes) at the configured pace
    /// until `shutdown` is cancelled; `serve` calls this itself.
    pub async fn run_commerce(&self, shutdown: CancellationToken) {
        let Some(gap) = lock(&self.inner.commerce).gap() else {
            shutdown.cancelled().await;
            return;
        };
        let mut next = Instant::now() + gap;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(next) => {}
            }
            self.inner.step_commerce(chrono::Utc::now());
            next += gap;
        }
    }

    /// Plays `events` commerce events now, as if that many were due (deterministic for a
    /// seed: the world after N events is the same however they were played).
    pub fn advance_commerce(&self, events: u32) {
        for _ in 0..events {
            self.inner.step_commerce(chrono::Utc::now());
        }
    }

    /// Returns the commerce events played so far (start-up history included).
    pub fn commerce_events(&self) -> u64 {
        lock(&self.inner.commerce).steps()
    }

    /// Mints an OAuth authorization code for `app_key` and `shop_id` (what the seller's
    /// consent would give); `None` when the app or the shop is unknown to `platform`.
    pub fn oauth_code(
        &self,
        platform: oauth::OAuthPlatform,
        app_key: &str,
        shop_id: &str,
    ) -> Option<String> {
        let config = &self.inner.config;
        let known = match platform {
            oauth::OAuthPlatform::Top => {
                config
                    .credentials
                    .top_apps
                    .iter()
                    .any(|app| app.app_key == app_key)
                    && config
                        .shops
                        .iter()
                        .any(|shop| shop.api == Api::Top && shop.shop_id == shop_id)
            }
            oauth::OAuthPlatform::Pdd => {
                config
                    .credentials
                    .pdd_apps
                    .iter()
                    .any(|app| app.app_key == app_key)
                    && lock(&self.inner.commerce).shop(shop_id).is_some()
            }
        };
        known.then(|| {
            self.inner
                .tokens()
                .code(platform, app_key, shop_id, chrono::Utc::now())
        })
    }

    /// Returns every TMC message published so far (ground truth), oldest first.
    pub fn tmc_messages(&self) -> Vec<tmc::SimTmcMessage> {
        self.inner.tmc().all()
    }

    /// Expires an issued access token now; returns whether it was live.
    pub fn expire_token(&self, access_token: &str) -> bool {
        self.inner.tokens().expire(access_token, chrono::Utc::now())
    }

    /// Returns every listing (ground truth), shop by shop.
    pub fn items(&self) -> Vec<SimItem> {
        lock(&self.inner.commerce).items()
    }

    /// Returns every order with its parcel (ground truth), oldest order first.
    pub fn parcels(&self) -> Vec<SimParcel> {
        lock(&self.inner.commerce).parcels.clone()
    }

    /// Returns every review of the router-only shops (`commerce.extra_shops`, e.g. the JD
    /// shop served by `getVenderCommentsForJos`), shop by shop, oldest first. Their `api` is a
    /// placeholder (`aggregator`): no review API serves them. Not part of [`Self::reviews`].
    pub fn router_reviews(&self) -> Vec<SimReview> {
        lock(&self.inner.router_world).ground_truth()
    }

    /// Returns every review generated so far (ground truth), shop by shop, oldest first.
    pub fn reviews(&self) -> Vec<SimReview> {
        lock(&self.inner.world).ground_truth()
    }

    /// Makes the next `count` requests to `api` get `fault`.
    pub fn inject(&self, api: Api, fault: Fault, count: u32) {
        self.inject_at(api.into(), fault, count);
    }

    /// Makes the next `count` requests to `endpoint` (any simulated API, including PDD, JD
    /// and Kuaidi100) get `fault`.
    pub fn inject_at(&self, endpoint: Endpoint, fault: Fault, count: u32) {
        tracing::info!(
            api = endpoint.as_str(),
            fault = fault.kind(),
            count,
            "fault injected"
        );
        lock(&self.inner.faults).push(endpoint, fault, count);
    }

    /// Returns the request and fault counts so far.
    pub fn stats(&self) -> SimStats {
        let mut stats = lock(&self.inner.stats).clone();
        let faults = lock(&self.inner.faults);
        for endpoint in Endpoint::ALL {
            stats.of(endpoint).faults_pending = faults.pending(endpoint);
        }
        stats
    }

    /// Returns the configuration the simulator runs with.
    pub fn config(&self) -> &SimulatorConfig {
        &self.inner.config
    }
}
