//! The root configuration: one TOML file plus `SHOPWATCH_…` environment overrides.
//!
//! Load order is defaults < file < environment. An environment variable
//! `SHOPWATCH_A__B__C=value` sets key `a.b.c` (lower-cased; `__` separates levels); the value
//! is read as a TOML scalar when it parses as one (`42`, `true`) and as a string otherwise.
//! Each section's struct lives in its crate and rejects unknown keys. Secrets are written as
//! `{ env = "NAME" }` or `{ file = "PATH" }` (see `schemas::Secret`) and never printed.
//!
//! Which bus and store a role uses follows from what is configured: with `[kafka]` the
//! stages talk over Kafka, without it `run` wires them in one process; with `[clickhouse]`
//! events go to ClickHouse, without it to the embedded SQLite file in `data_dir`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded store, cursors, notification log and dead letters live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// How long shutdown waits for stages to drain before aborting them.
    #[serde(default = "default_shutdown_grace_period_secs")]
    pub shutdown_grace_period_secs: u64,
    /// Capacity (records) of each in-process queue in the embedded mode.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Prefix of topic names (`<prefix>.raw.reviews`, …) and consumer group ids.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// The `/metrics` endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Kafka; when absent, `run` uses the in-process bus.
    #[serde(default)]
    pub kafka: Option<bus::kafka::KafkaConfig>,
    /// ClickHouse; when absent, events are stored in `data_dir/shopwatch.db` (SQLite).
    #[serde(default)]
    pub clickhouse: Option<store::ClickHouseConfig>,
    /// Shops to poll and how.
    #[serde(default)]
    pub ingest: ingest::IngestConfig,
    /// Segmentation and keywords.
    #[serde(default)]
    pub enrich: enrich::EnrichConfig,
    /// Alert rules and receivers.
    #[serde(default)]
    pub alerting: alerting::AlertingConfig,
}

/// The `[metrics]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the `/metrics` endpoint; `127.0.0.1:0` picks a free port.
    #[serde(default = "default_metrics_listen")]
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: default_metrics_listen(),
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("shopwatch-data")
}
fn default_shutdown_grace_period_secs() -> u64 {
    30
}
fn default_queue_capacity() -> usize {
    1024
}
fn default_topic_prefix() -> String {
    "shopwatch".into()
}
fn default_metrics_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9898))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: default_data_dir(),
            shutdown_grace_period_secs: default_shutdown_grace_period_secs(),
            queue_capacity: default_queue_capacity(),
            topic_prefix: default_topic_prefix(),
            metrics: MetricsConfig::default(),
            kafka: None,
            clickhouse: None,
            ingest: ingest::IngestConfig::default(),
            enrich: enrich::EnrichConfig::default(),
            alerting: alerting::AlertingConfig::default(),
        }
    }
}

const ENV_PREFIX: &str = "SHOPWATCH_";

impl Config {
    /// Loads `path` (if given) with the process environment's overrides, then validates.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?,
            None => String::new(),
        };
        let environment: BTreeMap<String, String> = std::env::vars().collect();
        let config = Config::parse(&text, &environment)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses config text with overrides from `environment` (passed in so tests can inject
    /// it); does not validate.
    pub fn parse(text: &str, environment: &BTreeMap<String, String>) -> anyhow::Result<Config> {
        let mut root: toml::Table =
            toml::from_str(text).context("config file is not valid TOML")?;
        for (name, value) in environment {
            // Log-format and the like are read elsewhere; only nested keys are overrides.
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if matches!(path, "LOG" | "LOG_FORMAT") {
                continue;
            }
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            set_path(&mut root, &keys, parse_scalar(value))
                .with_context(|| format!("cannot apply environment override {name}"))?;
        }
        let config: Config = toml::Value::Table(root)
            .try_into()
            .context("invalid configuration")?;
        Ok(config)
    }

    /// Checks cross-field rules and every section; reports all problems at once.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        if let Err(ingest_problems) = self.ingest.validate() {
            problems.extend(ingest_problems.into_iter().map(|p| format!("ingest: {p}")));
        }
        if let Err(error) = self.enrich.validate() {
            problems.push(format!("enrich: {error}"));
        }
        if let Err(error) = self.alerting.validate() {
            problems.push(format!("alerting: {error}"));
        }
        if let Some(clickhouse) = &self.clickhouse {
            if let Err(error) = clickhouse.validate() {
                problems.push(format!("clickhouse: {error}"));
            }
        }
        if let Some(kafka) = &self.kafka {
            if kafka.brokers.trim().is_empty() {
                problems.push("kafka.brokers: must name at least one broker".into());
            }
        }
        if self.queue_capacity == 0 {
            problems.push("queue_capacity: must be at least 1".into());
        }
        if self.topic_prefix.is_empty()
            || !self
                .topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            problems.push(
                "topic_prefix: use letters, digits, '.', '_' or '-' (Kafka topic rules)".into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!(
                "configuration has {} problem(s):\n  - {}",
                problems.len(),
                problems.join("\n  - ")
            )
        }
    }

    /// The topic names of this deployment.
    pub fn topics(&self) -> bus::topics::TopicNames {
        bus::topics::TopicNames::with_prefix(&self.topic_prefix)
    }

    /// The consumer group id of `role`.
    pub fn group_id(&self, role: &str) -> String {
        format!("{}-{role}", self.topic_prefix)
    }
}

fn parse_scalar(text: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {text}")) {
        Ok(mut table) => match table.remove("v") {
            Some(
                value @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            ) => value,
            _ => toml::Value::String(text.to_owned()),
        },
        Err(_) => toml::Value::String(text.to_owned()),
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> anyhow::Result<()> {
    let Some((last, parents)) = keys.split_last() else {
        bail!("empty key");
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(inner) => inner,
            _ => bail!("key {key} is not a table"),
        };
    }
    current.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests;
