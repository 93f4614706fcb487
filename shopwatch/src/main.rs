//! The shopwatch command line. Thin: parsing here, everything else in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shopwatch::config::Config;
use shopwatch::roles::Role;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "shopwatch",
    version,
    about = "Watches shops on Chinese marketplaces: reviews into ClickHouse and alerts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the simulator and every stage in one process, printing each alert.
    Demo {
        /// Stop after this long (e.g. 30s, 5m); default: until Ctrl-C.
        #[arg(long = "for", value_parser = humantime::parse_duration)]
        duration: Option<Duration>,
        /// Also POST every alert to this Alertmanager-style webhook (repeatable).
        #[arg(long)]
        webhook: Vec<String>,
        /// Keep data here instead of a temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where to serve /metrics.
        #[arg(long, default_value = "127.0.0.1:0")]
        metrics_listen: SocketAddr,
    },
    /// Runs every stage: on Kafka when [kafka] is configured, else in one process.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Runs the ingest stage on Kafka.
    Ingest {
        #[arg(long)]
        config: PathBuf,
    },
    /// Runs the enrich stage on Kafka (--config), or enriches a JSON-lines file (--input).
    Enrich {
        /// Config file of the Kafka stage (also used by batch mode, for the [enrich] section).
        #[arg(long, required_unless_present = "input")]
        config: Option<PathBuf>,
        /// Batch mode: JSON lines with at least `id` and `text`.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Batch mode: where to write the enriched lines (default: stdout).
        #[arg(long, requires = "input")]
        output: Option<PathBuf>,
        /// Batch mode: worker threads (default: all cores).
        #[arg(long, requires = "input")]
        threads: Option<usize>,
    },
    /// Trains the sentiment model from labelled reviews (reproducible).
    TrainSentiment {
        /// Labelled JSON lines (`id`, `text`, `label` = pos/neg).
        #[arg(long, default_value = shopwatch::train::DEFAULT_DATA)]
        data: PathBuf,
        /// Where to write the model (enrich compiles in enrich/models/sentiment.bin).
        #[arg(long, default_value = shopwatch::train::DEFAULT_OUT)]
        out: PathBuf,
        /// Passes over the data.
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Hash bits (the model has 2^bits weights).
        #[arg(long, default_value_t = 20)]
        bits: u32,
        /// AdaGrad learning rate.
        #[arg(long, default_value_t = 0.05)]
        learning_rate: f32,
        /// L2 penalty per update.
        #[arg(long, default_value_t = 1e-4)]
        l2: f32,
    },
    /// Runs the store stage on Kafka.
    Store {
        #[arg(long)]
        config: PathBuf,
    },
    /// Runs the alert stage on Kafka.
    Alert {
        #[arg(long)]
        config: PathBuf,
    },
    /// Serves the platform simulator.
    Simulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Simulator config (TOML); default: the documented demo world.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Benchmarks (results printed, nothing asserted).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Kafka → ClickHouse throughput of the store stage.
    Store {
        /// How many review events.
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Kafka bootstrap servers.
        #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:19092")]
        kafka: String,
        /// ClickHouse HTTP URL.
        #[arg(long, env = "CLICKHOUSE_URL", default_value = "http://127.0.0.1:18123")]
        clickhouse: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Loads and validates a config file, reporting every problem.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let result = runtime.block_on(async {
        let signal = shopwatch::shutdown::cancel_on_signal(shutdown.clone());
        let result = run(cli.command, shutdown.clone()).await;
        shutdown.cancel();
        let signal_code = signal.await.ok().flatten();
        (result, signal_code)
    });
    match result {
        (Err(error), _) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
        (Ok(()), Some(code)) => ExitCode::from(code as u8),
        (Ok(()), None) => ExitCode::SUCCESS,
    }
}

async fn run(command: Command, shutdown: CancellationToken) -> anyhow::Result<()> {
    match command {
        Command::Demo {
            duration,
            webhook,
            data_dir,
            metrics_listen,
        } => {
            shopwatch::telemetry::init_logging("warn", false);
            let options = shopwatch::demo::DemoOptions {
                duration,
                webhooks: webhook,
                data_dir,
                metrics_listen,
            };
            shopwatch::demo::run_demo(options, shutdown).await?;
            Ok(())
        }
        Command::Run { config } => {
            let config = load(&config)?;
            let metrics =
                shopwatch::telemetry::serve_metrics(config.metrics.listen, shutdown.clone())
                    .await?;
            tracing::info!(%metrics, "serving /metrics");
            if config.kafka.is_some() {
                shopwatch::roles::run_on_kafka(&config, &Role::ALL, None, shutdown).await
            } else {
                shopwatch::roles::run_embedded(&config, None, shutdown).await
            }
        }
        Command::Ingest { config } => run_role(&config, Role::Ingest, shutdown).await,
        Command::Enrich {
            config,
            input: Some(input),
            output,
            threads,
        } => {
            let enrich_config = match config {
                Some(path) => Config::load(Some(&path))?.enrich,
                None => enrich::EnrichConfig::default(),
            };
            let options = shopwatch::batch::BatchOptions {
                input,
                output,
                threads,
            };
            tokio::task::spawn_blocking(move || {
                shopwatch::batch::run_batch(&enrich_config, &options)
            })
            .await??;
            Ok(())
        }
        Command::Enrich {
            config: Some(config),
            ..
        } => run_role(&config, Role::Enrich, shutdown).await,
        Command::Enrich { .. } => anyhow::bail!("shopwatch enrich needs --config or --input"),
        Command::TrainSentiment {
            data,
            out,
            epochs,
            bits,
            learning_rate,
            l2,
        } => {
            let command = shopwatch::train::TrainCommand {
                data,
                out,
                options: enrich::sentiment::train::TrainOptions {
                    epochs,
                    bits,
                    learning_rate,
                    l2,
                    ..Default::default()
                },
            };
            let report = tokio::task::spawn_blocking(move || shopwatch::train::run_train(&command))
                .await??;
            print!("{report}");
            Ok(())
        }
        Command::Store { config } => run_role(&config, Role::Store, shutdown).await,
        Command::Alert { config } => run_role(&config, Role::Alert, shutdown).await,
        Command::Simulate { listen, config } => {
            shopwatch::telemetry::init_logging("info", false);
            let simulator_config = match config {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    toml::from_str(&text)
                        .with_context(|| format!("invalid simulator config {}", path.display()))?
                }
                None => simulator::SimulatorConfig::default(),
            };
            let simulator = simulator::Simulator::new(simulator_config)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("simulator listening on http://{}", listener.local_addr()?);
            simulator.serve(listener, shutdown).await?;
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Store {
                    events,
                    kafka,
                    clickhouse,
                },
        } => {
            shopwatch::telemetry::init_logging("warn", false);
            shopwatch::bench::store_bench(&kafka, &clickhouse, events).await?;
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            let loaded = Config::load(Some(&config))?;
            let mode = match (&loaded.kafka, &loaded.clickhouse) {
                (Some(_), Some(_)) => "Kafka + ClickHouse",
                (Some(_), None) => "Kafka + embedded store",
                (None, Some(_)) => "in-process bus + ClickHouse",
                (None, None) => "embedded (in-process bus + SQLite)",
            };
            println!(
                "{}: ok; {mode}; {} shop(s), {} webhook(s)",
                config.display(),
                loaded.ingest.shops.len(),
                loaded.alerting.webhooks.len()
            );
            Ok(())
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    shopwatch::telemetry::init_logging("info", true);
    Config::load(Some(path))
}

async fn run_role(
    path: &std::path::Path,
    role: Role,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = load(path)?;
    let metrics =
        shopwatch::telemetry::serve_metrics(config.metrics.listen, shutdown.clone()).await?;
    tracing::info!(%metrics, role = ?role, "serving /metrics");
    shopwatch::roles::run_on_kafka(&config, &[role], None, shutdown).await
}
