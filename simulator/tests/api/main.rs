//! HTTP tests of the simulator against a real listener on 127.0.0.1:0, with reqwest.

mod admin;
mod aggregator;
mod jd;
mod kuaidi100;
mod oauth;
mod pdd;
mod tmc;
mod top;
mod top_commerce;
mod world;

use std::net::SocketAddr;

use serde_json::Value;
use simulator::{
    AggregatorTokenConfig, Api, CancellationToken, ShopConfig, Simulator, SimulatorConfig,
};
use tokio::task::JoinHandle;

/// A simulator serving on an ephemeral port; stops when dropped.
pub struct Running {
    pub simulator: Simulator,
    pub base: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), simulator::SimulatorError>>>,
}

impl Running {
    pub async fn start(config: SimulatorConfig) -> Running {
        let simulator = Simulator::new(config).expect("valid config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let simulator = simulator.clone();
            let shutdown = shutdown.clone();
            async move { simulator.serve(listener, shutdown).await }
        });
        Running {
            simulator,
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            shutdown,
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Cancels the server and waits for `serve` to return.
    pub async fn stop(mut self) -> Result<(), simulator::SimulatorError> {
        self.shutdown.cancel();
        self.task.take().unwrap().await.unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A finite, quiet world: the default shops and credentials, `history` reviews each, no live
/// generation.
pub fn quiet_world(history: u32) -> SimulatorConfig {
    SimulatorConfig {
        history_reviews: history,
        history_minutes: 600,
        reviews_per_minute: 0.0,
        ..SimulatorConfig::default()
    }
}

/// `quiet_world(history)` whose commerce world changes only through `advance_commerce`
/// (the live paces keep their mix but are far too slow to fire during a test).
pub fn frozen_commerce(history: u32) -> SimulatorConfig {
    let mut config = quiet_world(history);
    config.commerce.orders_per_minute = 2e-6;
    config.commerce.parcel_steps_per_minute = 6e-6;
    config.commerce.listing_changes_per_minute = 1e-6;
    config
}

/// Plays commerce events in batches until `shop_id` has an item in every listing status
/// (on sale, delisted, sold out, deleted); returns that shop's items. Deterministic per seed.
pub fn advance_until_every_status(simulator: &Simulator, shop_id: &str) -> Vec<simulator::SimItem> {
    use simulator::ListingStatus::*;
    for _ in 0..100 {
        simulator.advance_commerce(200);
        let items: Vec<simulator::SimItem> = simulator
            .items()
            .into_iter()
            .filter(|item| item.shop_id == shop_id)
            .collect();
        if [OnSale, Delisted, SoldOut, Deleted]
            .iter()
            .all(|status| items.iter().any(|item| item.status == *status))
        {
            return items;
        }
    }
    panic!("{shop_id} never had every listing status");
}

/// Adds an aggregator shop that the default token is not authorized for, and a second token
/// authorized for it with a quota of `quota` calls.
pub fn with_unauthorized_shop(mut config: SimulatorConfig, quota: Option<u64>) -> SimulatorConfig {
    config.shops.push(ShopConfig {
        platform: schemas::Platform::Kuaishou,
        shop_id: "ks-77".to_owned(),
        api: Api::Aggregator,
        seller_nick: None,
        reviews_per_minute: None,
    });
    config
        .credentials
        .aggregator_tokens
        .push(AggregatorTokenConfig {
            token: schemas::Secret::new("second-token"),
            shop_ids: vec!["ks-77".to_owned()],
            quota_calls: quota,
        });
    config
}

/// Returns the ground-truth tids of one shop, newest first (ties: larger tid first).
pub fn newest_tids(simulator: &Simulator, shop_id: &str) -> Vec<u64> {
    let mut reviews: Vec<(i64, u64)> = simulator
        .reviews()
        .into_iter()
        .filter(|review| review.shop_id == shop_id)
        .map(|review| (review.created_ms, review.tid.parse().unwrap()))
        .collect();
    reviews.sort_by(|a, b| b.cmp(a));
    reviews.into_iter().map(|(_, tid)| tid).collect()
}

pub fn tids(rates: &Value) -> Vec<u64> {
    rates
        .as_array()
        .unwrap()
        .iter()
        .map(|rate| rate["tid"].as_u64().unwrap())
        .collect()
}

/// Builds a multipart/form-data body by hand (reqwest's multipart feature is not enabled).
pub fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----shopwatchBoundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}
