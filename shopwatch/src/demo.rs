//! `shopwatch demo`: the simulator and the whole pipeline in one process, printing alerts.
//!
//! The simulator serves the TOP router and the review aggregator on a free loopback port;
//! the embedded pipeline polls it for every simulated shop with the platforms' documentation
//! credentials, and every alert is printed as one line (times in Asia/Shanghai). At the end
//! a summary gives what was stored and the review-to-alert latency of the reviews written
//! while the demo ran.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alerting::{format_alert_line, Alert, AlertObserver, WebhookConfig};
use anyhow::Context;
use ingest::{AggregatorConfig, ApiConfig, ShopConfig, SignMethod, TopConfig};
use simulator::{Api, Simulator, SimulatorConfig};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// What `shopwatch demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Stop after this long; `None` runs until Ctrl-C.
    pub duration: Option<Duration>,
    /// Alertmanager-style webhook receivers to POST every alert to.
    pub webhooks: Vec<String>,
    /// Keep the data here; `None` uses a temporary directory removed at the end.
    pub data_dir: Option<PathBuf>,
    /// Where to serve `/metrics`.
    pub metrics_listen: SocketAddr,
}

/// What the demo saw.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub reviews_stored: u64,
    pub alerts: usize,
    /// Review created → alert printed, for reviews written after the demo started, sorted.
    pub live_latencies: Vec<Duration>,
    pub dead_letters: usize,
}

/// Returns ingest's shop list for every shop of a simulator serving at `base_url`, with
/// credentials the simulator accepts.
pub fn ingest_shops_for(simulator: &SimulatorConfig, base_url: &str) -> Vec<ShopConfig> {
    let base_url = base_url.trim_end_matches('/');
    let credentials = &simulator.credentials;
    simulator
        .shops
        .iter()
        .filter_map(|shop| {
            let api = match shop.api {
                Api::Top => credentials.top_apps.iter().find_map(|app| {
                    let session = app
                        .sessions
                        .iter()
                        .find(|session| session.shop_id == shop.shop_id && !session.expired)?;
                    Some(ApiConfig::Top(TopConfig {
                        endpoint: format!("{base_url}/router/rest"),
                        app_key: app.app_key.clone(),
                        app_secret: app.app_secret.clone(),
                        session: session.session.clone(),
                        sign_method: SignMethod::default(),
                        simplify: false,
                        listings: false,
                        waybills: Vec::new(),
                        calls_per_sec: None,
                    }))
                }),
                Api::Aggregator => credentials.aggregator_tokens.iter().find_map(|token| {
                    token.shop_ids.contains(&shop.shop_id).then(|| {
                        ApiConfig::Aggregator(AggregatorConfig {
                            endpoint: format!("{base_url}/tool/erps/traderates"),
                            token: token.token.clone(),
                            vvtype: None,
                        })
                    })
                }),
            }?;
            Some(ShopConfig {
                platform: shop.platform,
                shop_id: shop.shop_id.clone(),
                api,
            })
        })
        .collect()
}

/// Returns a pipeline config that polls a simulator at `base_url` briskly.
pub fn config_for_simulator(simulator: &SimulatorConfig, base_url: &str) -> Config {
    let mut config = Config::default();
    config.ingest.shops = ingest_shops_for(simulator, base_url);
    config.ingest.poll_interval_secs = 1;
    config.ingest.window_overlap_secs = 60;
    config.ingest.initial_lookback_secs =
        u64::from(simulator.history_minutes).saturating_mul(60) + 600;
    config
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

/// Prints each alert and remembers the latency of live reviews.
struct PrintingObserver {
    started_ms: i64,
    seen: Mutex<(usize, Vec<Duration>)>,
}

impl AlertObserver for PrintingObserver {
    fn alert_sent(&self, alert: &Alert) {
        println!("{}", format_alert_line(alert));
        let latency_ms = now_ms() - alert.review_created_at_ms;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.0 += 1;
        if alert.review_created_at_ms >= self.started_ms && latency_ms >= 0 {
            seen.1.push(Duration::from_millis(latency_ms as u64));
        }
    }
}

/// Runs the demo until `options.duration` passes or `shutdown` is cancelled.
pub async fn run_demo(
    options: DemoOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<DemoSummary> {
    let temporary = match options.data_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("cannot create a temporary data directory")?),
    };
    let data_dir = match (&options.data_dir, &temporary) {
        (Some(dir), _) => dir.clone(),
        (None, Some(temporary)) => temporary.path().to_path_buf(),
        (None, None) => unreachable!("one of the two is set above"),
    };

    let simulator_config = SimulatorConfig::default();
    let simulator =
        Simulator::new(simulator_config.clone()).context("cannot build the simulator")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind the simulator")?;
    let simulator_address = listener.local_addr()?;
    let simulator_shutdown = CancellationToken::new();
    let simulator_task = {
        let simulator = simulator.clone();
        let token = simulator_shutdown.clone();
        tokio::spawn(async move { simulator.serve(listener, token).await })
    };

    let base_url = format!("http://{simulator_address}");
    let mut config = config_for_simulator(&simulator_config, &base_url);
    config.data_dir = data_dir.clone();
    config.alerting.webhooks = options.webhooks.iter().map(WebhookConfig::new).collect();
    config.validate()?;

    let metrics_address =
        crate::telemetry::serve_metrics(options.metrics_listen, simulator_shutdown.clone()).await?;
    println!(
        "shopwatch demo: simulator at {base_url} ({} shops), metrics at http://{metrics_address}/metrics, data in {}",
        config.ingest.shops.len(),
        data_dir.display()
    );
    match options.duration {
        Some(duration) => println!(
            "running for {}; alerts follow (Ctrl-C stops)",
            humantime::format_duration(duration)
        ),
        None => println!("running until Ctrl-C; alerts follow"),
    }

    let observer = Arc::new(PrintingObserver {
        started_ms: now_ms(),
        seen: Mutex::new((0, Vec::new())),
    });
    if let Some(duration) = options.duration {
        let token = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            token.cancel();
        });
    }
    let pipeline = crate::roles::run_embedded(
        &config,
        Some(Arc::clone(&observer) as Arc<dyn AlertObserver>),
        shutdown,
    )
    .await;
    simulator_shutdown.cancel();
    let _ = simulator_task.await;
    pipeline?;

    let (alerts, mut live_latencies) = {
        let seen = observer
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (seen.0, seen.1.clone())
    };
    live_latencies.sort_unstable();
    let reviews_stored = store::SqliteStore::open(&data_dir.join("shopwatch.db"))
        .and_then(|stored| stored.count(store::tables::REVIEWS))
        .unwrap_or_default();
    let dead_letters = std::fs::read_to_string(data_dir.join("dead-letters.jsonl"))
        .map(|text| text.lines().count())
        .unwrap_or_default();
    let summary = DemoSummary {
        reviews_stored,
        alerts,
        live_latencies,
        dead_letters,
    };
    print_summary(&summary, simulator.reviews().len());
    Ok(summary)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied()
}

fn print_summary(summary: &DemoSummary, simulated: usize) {
    println!(
        "summary: {simulated} reviews simulated, {} stored, {} alerts, {} dead letters",
        summary.reviews_stored, summary.alerts, summary.dead_letters
    );
    let latencies = &summary.live_latencies;
    match (
        percentile(latencies, 0.5),
        percentile(latencies, 0.95),
        latencies.last(),
    ) {
        (Some(p50), Some(p95), Some(max)) => println!(
            "review-to-alert latency of {} live reviews: p50 {:.2}s, p95 {:.2}s, max {:.2}s",
            latencies.len(),
            p50.as_secs_f64(),
            p95.as_secs_f64(),
            max.as_secs_f64()
        ),
        _ => println!("no live review was alerted yet (run longer for latency figures)"),
    }
}
