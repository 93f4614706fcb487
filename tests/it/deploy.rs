//! The deployment files are valid: `docker-compose.yml` passes docker-compose's own check, every
//! ClickHouse panel query of the Grafana dashboard runs against the tables the store creates,
//! the Prometheus config and the dashboard's PromQL pass `promtool`, and
//! `deploy/config/shopwatch.toml` is a valid config that polls the simulator service with
//! credentials the simulator accepts.
//!
//! Needs `docker-compose` (Debian package `docker-compose`, 1.29: no Docker engine needed),
//! `promtool` (Debian package `prometheus`) and ClickHouse at `CLICKHOUSE_URL`. A missing tool
//! fails the test with the command that installs it. The same dashboard queries are run on a
//! current ClickHouse by `deploy/grafana/check_dashboard_modern.py` (chDB).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use schemas::{
    event_types, EnrichedEvent, Entity, Platform, Provenance, Rating, RawRecord, Secret,
    TextAnalysis,
};
use serde_json::Value;
use store::EventStore;

use crate::common;

const CLICKHOUSE_DATASOURCE: &str = "grafana-clickhouse-datasource";
const PROMETHEUS_DATASOURCE: &str = "prometheus";

/// The shopwatch roles, each a compose service with its own `/metrics` on :9898.
const ROLES: [&str; 4] = ["ingest", "enrich", "store", "alert"];

/// `created_at_ms` of the review in `schemas::samples::enriched_events()`.
const SAMPLE_CREATED_MS: i64 = 1_767_240_000_000;

fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Runs `program args…`; a program that is not installed fails the test with `install_hint`.
fn run_tool(program: &str, args: &[&str], install_hint: &str) -> Output {
    match Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed: run `{install_hint}`")
        }
        Err(error) => panic!("cannot run `{program}`: {error}"),
    }
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn docker_compose(args: &[&str]) -> Output {
    let compose_file = repo_root().join("docker-compose.yml");
    let compose_file = compose_file.to_string_lossy().into_owned();
    let mut all = vec!["-f", compose_file.as_str()];
    all.extend_from_slice(args);
    run_tool("docker-compose", &all, "apt-get install docker-compose")
}

#[test]
fn compose_file_passes_docker_compose_config() {
    let check = docker_compose(&["config", "-q"]);
    assert!(
        check.status.success(),
        "docker-compose config -q rejected docker-compose.yml:\n{}",
        describe(&check)
    );

    let listed = docker_compose(&["config", "--services"]);
    assert!(listed.status.success(), "{}", describe(&listed));
    let services: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let expected: BTreeSet<String> = [
        "kafka",
        "clickhouse",
        "simulator",
        "prometheus",
        "grafana",
        "ingest",
        "enrich",
        "store",
        "alert",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(services, expected);

    // Each role runs its own subcommand on the mounted config; the simulator listens where the
    // shops in deploy/config/shopwatch.toml poll it.
    let resolved = docker_compose(&["config"]);
    assert!(resolved.status.success(), "{}", describe(&resolved));
    let resolved = String::from_utf8_lossy(&resolved.stdout).into_owned();
    let compose = read("docker-compose.yml");
    for role in ROLES {
        let command =
            format!("command: [\"{role}\", \"--config\", \"/etc/shopwatch/shopwatch.toml\"]");
        assert!(
            compose.contains(&command),
            "no `{command}` in docker-compose.yml"
        );
    }
    assert!(compose.contains("command: [\"simulate\", \"--listen\", \"0.0.0.0:8080\"]"));
    assert_eq!(
        resolved
            .matches("deploy/config/shopwatch.toml:/etc/shopwatch/shopwatch.toml:ro")
            .count(),
        ROLES.len(),
        "every role mounts the config:\n{resolved}"
    );
    assert!(resolved.contains("image: apache/kafka:3.9.1"), "{resolved}");
    assert!(resolved.contains("KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:9092"));
    assert!(resolved.contains("GF_INSTALL_PLUGINS: grafana-clickhouse-datasource"));
    assert!(resolved.contains("dockerfile: deploy/Dockerfile"));
}

#[test]
fn prometheus_config_passes_promtool_and_scrapes_every_role() {
    let output = run_tool(
        "promtool",
        &["check", "config", "deploy/prometheus/prometheus.yml"],
        "apt-get install prometheus",
    );
    assert!(
        output.status.success(),
        "promtool rejected deploy/prometheus/prometheus.yml:\n{}",
        describe(&output)
    );
    let config = read("deploy/prometheus/prometheus.yml");
    for role in ROLES {
        assert!(
            config.contains(&format!("\"{role}:9898\"")),
            "prometheus.yml does not scrape {role}:9898"
        );
    }
}

#[test]
fn shopwatch_toml_is_the_distributed_stack_on_the_simulator() {
    let text = read("deploy/config/shopwatch.toml");
    // Not Config::load: that would also apply this process's SHOPWATCH_* variables.
    let config = shopwatch::config::Config::parse(&text, &BTreeMap::new())
        .unwrap_or_else(|error| panic!("deploy/config/shopwatch.toml: {error:#}"));
    config
        .validate()
        .unwrap_or_else(|error| panic!("deploy/config/shopwatch.toml: {error:#}"));

    assert_eq!(config.data_dir, Path::new("/var/lib/shopwatch"));
    assert_eq!(config.metrics.listen.to_string(), "0.0.0.0:9898");
    assert_eq!(config.topic_prefix, "shopwatch");
    let kafka = config.kafka.as_ref().expect("[kafka] is configured");
    assert_eq!(kafka.brokers, "kafka:9092");
    let clickhouse = config
        .clickhouse
        .as_ref()
        .expect("[clickhouse] is configured");
    assert_eq!(clickhouse.url, "http://clickhouse:8123");
    assert_eq!(clickhouse.database, "shopwatch");
    assert_eq!(clickhouse.user, "shopwatch");
    assert!(
        clickhouse.password.is_none(),
        "the password comes from SHOPWATCH_CLICKHOUSE__PASSWORD, not the file"
    );
    assert!(config.alerting.webhooks.is_empty());

    // Exactly the shops the simulator serves by default, with credentials it accepts.
    let expected = shopwatch::demo::ingest_shops_for(
        &simulator::SimulatorConfig::default(),
        "http://simulator:8080",
    );
    assert_eq!(expected.len(), 3);
    assert_eq!(
        shop_summaries(&config.ingest.shops),
        shop_summaries(&expected)
    );
}

/// One line per shop with everything that must match, secrets included.
fn shop_summaries(shops: &[ingest::ShopConfig]) -> Vec<String> {
    let secret = |secret: &Secret| secret.expose().to_owned();
    let mut lines: Vec<String> = shops
        .iter()
        .map(|shop| {
            let api = match &shop.api {
                ingest::ApiConfig::Top(top) => format!(
                    "top {} {} {} {} {:?} {}",
                    top.endpoint,
                    top.app_key,
                    secret(&top.app_secret),
                    secret(&top.session),
                    top.sign_method,
                    top.simplify
                ),
                ingest::ApiConfig::Aggregator(aggregator) => format!(
                    "aggregator {} {} {:?}",
                    aggregator.endpoint,
                    secret(&aggregator.token),
                    aggregator.vvtype
                ),
                other => format!("{other:?}"),
            };
            format!("{} {} {api}", shop.platform.as_str(), shop.shop_id)
        })
        .collect();
    lines.sort();
    lines
}

/// One query of a dashboard panel.
struct PanelQuery {
    title: String,
    datasource: String,
    text: String,
}

/// Every query of the dashboard, with the data source type of its target (or its panel).
fn dashboard_queries() -> Vec<PanelQuery> {
    let dashboard: Value = serde_json::from_str(&read("deploy/grafana/dashboards/shopwatch.json"))
        .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut queries = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let datasource = target["datasource"]["type"]
                .as_str()
                .or_else(|| panel["datasource"]["type"].as_str())
                .unwrap_or_default()
                .to_owned();
            let text = match datasource.as_str() {
                CLICKHOUSE_DATASOURCE => target["rawSql"].as_str(),
                PROMETHEUS_DATASOURCE => target["expr"].as_str(),
                _ => None,
            };
            let text = text
                .unwrap_or_else(|| panic!("panel {title:?}: target of {datasource:?} has no query"))
                .to_owned();
            queries.push(PanelQuery {
                title: title.clone(),
                datasource,
                text,
            });
        }
    }
    queries
}

#[test]
fn dashboard_uses_the_provisioned_data_sources() {
    let provisioned = read("deploy/grafana/provisioning/datasources/datasources.yml");
    let dashboard: Value = serde_json::from_str(&read("deploy/grafana/dashboards/shopwatch.json"))
        .expect("the dashboard is JSON");
    let mut uids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        uids.insert(
            panel["datasource"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        for target in panel["targets"].as_array().expect("targets") {
            uids.insert(
                target["datasource"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        uids,
        BTreeSet::from([
            "shopwatch-clickhouse".to_owned(),
            "shopwatch-prometheus".to_owned()
        ])
    );
    for uid in &uids {
        assert!(
            provisioned.contains(&format!("uid: {uid}")),
            "data source {uid} is not provisioned"
        );
    }
    assert!(provisioned.contains(&format!("type: {CLICKHOUSE_DATASOURCE}")));
    let providers = read("deploy/grafana/provisioning/dashboards/dashboards.yml");
    assert!(providers.contains("path: /etc/grafana/dashboards"));
    assert!(read("docker-compose.yml")
        .contains("./deploy/grafana/dashboards:/etc/grafana/dashboards:ro"));
}

/// Replaces the ClickHouse data source's macros the way the plugin expands them
/// (grafana-clickhouse-datasource `pkg/macros`): `$__timeFilter(col)`, `$__fromTime`,
/// `$__toTime`, `$__interval_s`.
fn expand_clickhouse_macros(sql: &str, from_s: i64, to_s: i64, interval_s: u64) -> String {
    const TIME_FILTER: &str = "$__timeFilter(";
    let mut expanded = String::new();
    let mut rest = sql;
    while let Some(start) = rest.find(TIME_FILTER) {
        expanded.push_str(&rest[..start]);
        let after = &rest[start + TIME_FILTER.len()..];
        let end = after.find(')').expect("$__timeFilter( is closed");
        let column = after[..end].trim();
        expanded.push_str(&format!(
            "{column} >= toDateTime({from_s}) AND {column} <= toDateTime({to_s})"
        ));
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);
    let expanded = expanded
        .replace("$__interval_s", &interval_s.to_string())
        .replace("$__fromTime", &format!("toDateTime({from_s})"))
        .replace("$__toTime", &format!("toDateTime({to_s})"));
    assert!(
        !expanded.contains("$__"),
        "a macro this test does not expand is left in:\n{expanded}"
    );
    expanded
}

/// Runs `sql` over ClickHouse's HTTP interface in `database`; returns the JSON result's rows.
async fn run_clickhouse_query(
    http: &reqwest::Client,
    url: &str,
    database: &str,
    sql: &str,
) -> Result<Vec<serde_json::Map<String, Value>>, String> {
    let response = http
        .post(format!("{url}/"))
        .query(&[("database", database)])
        .body(format!("{sql}\nFORMAT JSON"))
        .send()
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|error| error.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {body}"));
    }
    let parsed: Value =
        serde_json::from_str(&body).map_err(|error| format!("not JSON ({error}): {body}"))?;
    Ok(parsed["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| row.as_object().cloned())
        .collect())
}

/// A JSON cell as text: ClickHouse quotes 64-bit integers, so compare numbers as text.
fn cell(row: &serde_json::Map<String, Value>, column: &str) -> String {
    match row.get(column) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => panic!("no column {column:?} in {row:?}"),
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.parse::<f64>().ok() == Some(0.0),
        _ => false,
    }
}

#[tokio::test]
async fn dashboard_clickhouse_queries_run_on_the_store_tables() {
    let url = common::clickhouse_url();
    let http = reqwest::Client::new();
    let ping = http.get(format!("{url}/ping")).send().await;
    assert!(
        matches!(&ping, Ok(response) if response.status().is_success()),
        "ClickHouse does not answer at {url}: run `scripts/services.sh start`"
    );

    let mut config = store::ClickHouseConfig::new(url.clone());
    config.database = common::unique_name("deploy_dashboard");
    let mut store = store::ClickHouseStore::connect(&config)
        .await
        .expect("connect to ClickHouse");
    // Checked into `failures` rather than asserted, so the database is dropped either way.
    let failures = match fill_with_samples(&mut store).await {
        Err(failure) => vec![failure],
        Ok(()) => {
            let queries: Vec<PanelQuery> = dashboard_queries()
                .into_iter()
                .filter(|query| query.datasource == CLICKHOUSE_DATASOURCE)
                .collect();
            check_clickhouse_panels(&http, &url, store.database(), &queries).await
        }
    };
    store.drop_database().await.expect("drop the test database");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Creates the store's tables and inserts [`sample_events`]: two reviews.
async fn fill_with_samples(store: &mut store::ClickHouseStore) -> Result<(), String> {
    store
        .migrate()
        .await
        .map_err(|error| format!("migrate: {error}"))?;
    let events = sample_events();
    let inserted = store
        .insert(&events)
        .await
        .map_err(|error| format!("insert: {error}"))?;
    let reviews = store
        .count("reviews")
        .await
        .map_err(|error| format!("count: {error}"))?;
    if (inserted, reviews) != (events.len(), 2) {
        return Err(format!(
            "stored {inserted} events and {reviews} reviews, expected {} and 2",
            events.len()
        ));
    }
    Ok(())
}

/// One event of each kind from `schemas::samples`, the review as a `review.received` event
/// (bad, Taobao, keyword 破损), plus a good Pinduoduo review created at the same time.
fn sample_events() -> Vec<EnrichedEvent> {
    let mut events: Vec<EnrichedEvent> = schemas::samples::raw_records()
        .iter()
        .zip(schemas::samples::enriched_events())
        .map(|(raw, sample)| match sample.review {
            Some(_) => EnrichedEvent::from_raw(
                raw,
                event_types::REVIEW_RECEIVED,
                sample.enriched_at_ms,
                sample.text.clone(),
            ),
            None => sample,
        })
        .collect();
    let mut review = schemas::samples::review();
    review.order_id = "2002".into();
    review.sub_order_id = None;
    review.rating = Rating::Good;
    review.content = "质量很好，物流也快".into();
    review.reply = None;
    let good = RawRecord::new(
        Provenance {
            platform: Platform::Pinduoduo,
            shop_id: "123".into(),
            entity_id: "2002".into(),
            version: "1".into(),
            source: "aggregator:traderates".into(),
            occurred_at_ms: SAMPLE_CREATED_MS,
            observed_at_ms: SAMPLE_CREATED_MS + 1_000,
            payload: "{}".into(),
        },
        Entity::Review(review),
    );
    let text = TextAnalysis {
        lang: "zh".into(),
        tokens: vec!["质量".into(), "很好".into()],
        keywords: Vec::new(),
        sentiment: None,
        polarity: None,
        aspects: Vec::new(),
    };
    events.push(EnrichedEvent::from_raw(
        &good,
        event_types::REVIEW_RECEIVED,
        SAMPLE_CREATED_MS + 2_000,
        Some(text),
    ));
    events
}

/// What a ClickHouse panel must show for [`sample_events`].
struct Expectation {
    title: &'static str,
    rows: usize,
    /// A column of the first row and its value, as text.
    column: &'static str,
    value: &'static str,
}

/// Runs each query over a range holding the sample reviews and over one before them; returns
/// what went wrong, so the caller can drop the database first.
async fn check_clickhouse_panels(
    http: &reqwest::Client,
    url: &str,
    database: &str,
    queries: &[PanelQuery],
) -> Vec<String> {
    let expectation = |title, rows, column, value| Expectation {
        title,
        rows,
        column,
        value,
    };
    let expectations = [
        // One bucket, two platforms, ordered by platform.
        expectation("Reviews per platform", 2, "platform", "pinduoduo"),
        expectation("Share of bad and neutral reviews", 1, "bad", "0.5"),
        expectation(
            "Share of bad and neutral reviews over time",
            1,
            "bad",
            "0.5",
        ),
        expectation("Top keyword hits", 1, "keyword", "破损"),
        expectation(
            "Latest negative reviews",
            1,
            "content",
            "快递太慢了，包装破损",
        ),
    ];
    let mut failures = Vec::new();
    let titles: BTreeSet<&str> = queries.iter().map(|query| query.title.as_str()).collect();
    for Expectation { title, .. } in &expectations {
        if !titles.contains(title) {
            failures.push(format!("the dashboard has no ClickHouse panel {title:?}"));
        }
    }

    let created_s = SAMPLE_CREATED_MS / 1000;
    for query in queries {
        let title = &query.title;
        let around = expand_clickhouse_macros(&query.text, created_s - 3600, created_s + 3600, 60);
        match run_clickhouse_query(http, url, database, &around).await {
            Err(error) => failures.push(format!("panel {title:?} failed: {error}\n{around}")),
            Ok(rows) if rows.is_empty() => {
                failures.push(format!("panel {title:?} found no rows:\n{around}"))
            }
            Ok(rows) => {
                for expected in expectations.iter().filter(|e| e.title == title) {
                    let found = cell(&rows[0], expected.column);
                    if rows.len() != expected.rows || found != expected.value {
                        failures.push(format!(
                            "panel {title:?}: {} row(s) with {} = {found:?} first, expected {} \
                             with {:?}: {rows:?}",
                            rows.len(),
                            expected.column,
                            expected.rows,
                            expected.value
                        ));
                    }
                }
            }
        }
        // The time filter applies: a range before the sample finds nothing (an aggregate over
        // no rows gives one row of zeros).
        let before = expand_clickhouse_macros(&query.text, created_s - 7200, created_s - 3600, 60);
        match run_clickhouse_query(http, url, database, &before).await {
            Err(error) => failures.push(format!("panel {title:?} failed: {error}\n{before}")),
            Ok(rows) => {
                let empty = rows.is_empty() || (rows.len() == 1 && rows[0].values().all(is_zero));
                if !empty {
                    failures.push(format!(
                        "panel {title:?} ignores the time range: {rows:?}\n{before}"
                    ));
                }
            }
        }
    }
    failures
}

/// Names of `shopwatch_*` metrics in a PromQL expression, without histogram suffixes.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(start) = rest.find("shopwatch_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every `.rs` file's text under `dir`.
fn rust_sources(dir: &Path, texts: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, texts);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            texts.push(std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

#[test]
fn dashboard_promql_passes_promtool_and_names_registered_metrics() {
    let queries: Vec<PanelQuery> = dashboard_queries()
        .into_iter()
        .filter(|query| query.datasource == PROMETHEUS_DATASOURCE)
        .collect();

    let used: BTreeSet<String> = queries
        .iter()
        .flat_map(|query| metric_names(&query.text))
        .collect();
    for required in [
        "shopwatch_records_received_total",
        "shopwatch_records_sent_total",
        "shopwatch_errors_total",
        "shopwatch_kafka_consumer_lag_messages",
        "shopwatch_alert_latency_seconds",
    ] {
        assert!(
            used.contains(required),
            "no panel shows {required}: {used:?}"
        );
    }
    // Each name is registered somewhere in the workspace's code, so a typo cannot hide.
    let mut sources = Vec::new();
    for crate_dir in ["bus", "ingest", "enrich", "store", "alerting", "shopwatch"] {
        rust_sources(&repo_root().join(crate_dir).join("src"), &mut sources);
    }
    for name in &used {
        let quoted = format!("\"{name}\"");
        assert!(
            sources.iter().any(|source| source.contains(&quoted)),
            "the dashboard uses {name}, which no crate registers"
        );
    }

    // promtool parses PromQL when checking rules: one recording rule per panel query, with
    // Grafana's interval variables replaced. JSON is YAML, so no YAML writer is needed.
    let rules: Vec<Value> = queries
        .iter()
        .enumerate()
        .map(|(index, query)| {
            let expr = query
                .text
                .replace("$__rate_interval", "1m")
                .replace("$__interval", "1m")
                .replace("$__range", "1h");
            serde_json::json!({ "record": format!("dashboard:query_{index}"), "expr": expr })
        })
        .collect();
    let rules_count = rules.len();
    let document = serde_json::json!({ "groups": [{ "name": "dashboard", "rules": rules }] });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dashboard-rules.yml");
    std::fs::write(&path, document.to_string()).expect("write rules");
    let output = run_tool(
        "promtool",
        &["check", "rules", &path.to_string_lossy()],
        "apt-get install prometheus",
    );
    assert!(
        output.status.success(),
        "promtool rejected the dashboard's PromQL:\n{}",
        describe(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("SUCCESS: {rules_count} rules found")),
        "{stdout}"
    );
}

#[test]
fn macro_expansion_matches_the_plugin() {
    let sql = "SELECT toDateTime(intDiv(x, 1000 * $__interval_s) * $__interval_s) AS time \
               FROM t WHERE $__timeFilter(created_at) AND y > $__fromTime";
    assert_eq!(
        expand_clickhouse_macros(sql, 100, 200, 60),
        "SELECT toDateTime(intDiv(x, 1000 * 60) * 60) AS time FROM t WHERE created_at >= \
         toDateTime(100) AND created_at <= toDateTime(200) AND y > toDateTime(100)"
    );
    assert_eq!(
        metric_names("histogram_quantile(0.5, sum by (le) (rate(shopwatch_a_seconds_bucket[1m]))) + shopwatch_b_total"),
        BTreeSet::from(["shopwatch_a_seconds".to_owned(), "shopwatch_b_total".to_owned()])
    );
}
