//! Shared helpers of the integration tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};

/// The Kafka bootstrap servers (`KAFKA_BROKERS`, default the services script's port).
pub fn kafka_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

/// The ClickHouse HTTP URL (`CLICKHOUSE_URL`, default the services script's port).
pub fn clickhouse_url() -> String {
    std::env::var("CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:18123".into())
}

/// A name unique to this test run: `<base>_<pid>_<random>`, safe for topics and databases.
pub fn unique_name(base: &str) -> String {
    let suffix: u64 = rand_suffix();
    format!("{base}_{}_{suffix:x}", std::process::id())
}

fn rand_suffix() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish() & 0xffff_ffff
}

/// Fails with a message naming the fix when a service does not answer.
pub async fn require_services() {
    let clickhouse = clickhouse_url();
    let ping = reqwest::get(format!("{clickhouse}/ping")).await;
    assert!(
        matches!(&ping, Ok(response) if response.status().is_success()),
        "ClickHouse does not answer at {clickhouse}: run `scripts/services.sh start` (and `eval \"$(scripts/services.sh env)\"`)"
    );
    let brokers = kafka_brokers();
    let first = brokers.split(',').next().unwrap_or_default().to_owned();
    let connected = tokio::net::TcpStream::connect(&first).await;
    assert!(
        connected.is_ok(),
        "Kafka does not answer at {brokers}: run `scripts/services.sh start`"
    );
}

/// A webhook receiver that records every Alertmanager payload it gets.
#[derive(Clone, Default)]
pub struct RecordingReceiver {
    pub payloads: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl RecordingReceiver {
    /// Serves on a free loopback port; returns the receiver and its URL.
    pub async fn start() -> (RecordingReceiver, String) {
        let receiver = RecordingReceiver::default();
        let payloads = Arc::clone(&receiver.payloads);
        let app = Router::new().route(
            "/alerts",
            post(move |Json(body): Json<serde_json::Value>| {
                let payloads = Arc::clone(&payloads);
                async move {
                    payloads.lock().unwrap().push(body);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, format!("http://{address}/alerts"))
    }

    /// Every alert received, flattened out of the payloads.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.payloads
            .lock()
            .unwrap()
            .iter()
            .flat_map(|payload| payload["alerts"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

/// Polls `check` every 200 ms until it returns true or `timeout` passes; returns whether it did.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
