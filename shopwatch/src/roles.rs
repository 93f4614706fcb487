//! The stages as roles: on Kafka (one or several per process) or all in one process on the
//! in-process bus (`embedded`). Both wire the same stage code; only the bus and the store
//! differ.
//!
//! | role     | reads                         | writes                                   |
//! |----------|-------------------------------|------------------------------------------|
//! | ingest   | platform APIs                 | raw reviews/shipments/listings/health    |
//! | enrich   | raw topics (group `-enrich`)  | events topic, `<raw>.dlq`                |
//! | store    | events (group `-store`)       | ClickHouse or SQLite, `events.dlq`       |
//! | alert    | events (group `-alert`)       | webhooks, notification log, `events.dlq` |
//!
//! **Invariant:** every consumer is subscribed before the first record is produced (this
//! matters for the in-process bus, where a group only sees what is still held).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bus::file::FileSink;
use bus::kafka::{ensure_topics, KafkaConfig, KafkaSink, KafkaSource};
use bus::memory::{MemoryTopic, SinkAcks};
use bus::metrics::StageCounters;
use bus::stage::{drive, DriveOptions};
use bus::topics::dead_letter;
use bus::{RecordSink, RecordSource};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::shutdown::Stages;

/// One stage run as a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Ingest,
    Enrich,
    Store,
    Alert,
}

impl Role {
    /// Every role, in pipeline order.
    pub const ALL: [Role; 4] = [Role::Ingest, Role::Enrich, Role::Store, Role::Alert];

    fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Enrich => "enrich",
            Role::Store => "store",
            Role::Alert => "alert",
        }
    }
}

/// Receives every alert the alert stage sent (the demo prints them).
pub type Observer = Option<Arc<dyn alerting::AlertObserver>>;

/// Runs every stage in this process on the in-process bus, storing into SQLite (or
/// ClickHouse if configured), until `shutdown` and the drain that follows.
pub async fn run_embedded(
    config: &Config,
    observer: Observer,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    prepare_data_dir(config)?;
    let topics = config.topics();
    let capacity = config.queue_capacity;
    let raw_reviews = MemoryTopic::new(&topics.raw_reviews, capacity);
    let raw_shipments = MemoryTopic::new(&topics.raw_shipments, capacity);
    let raw_listings = MemoryTopic::new(&topics.raw_listings, capacity);
    let raw_health = MemoryTopic::new(&topics.raw_health, capacity);
    let events = MemoryTopic::new(&topics.events, capacity);
    let dead_letters: Arc<dyn RecordSink> = Arc::new(FileSink::new(
        config.data_dir.join("dead-letters.jsonl"),
        "dead-letters",
    ));

    let mut stages = Stages::new();
    let enricher = build_enricher(config)?;
    for raw in [&raw_reviews, &raw_shipments, &raw_listings, &raw_health] {
        let source = raw.subscribe(&config.group_id("enrich"), counters(enrich::STAGE));
        let sink = events.sink(SinkAcks::WhenConsumed, counters(enrich::STAGE));
        stages.spawn(
            format!("enrich {}", raw.name()),
            enrich_stage(
                Arc::clone(&enricher),
                Box::new(source),
                Arc::new(sink),
                Arc::clone(&dead_letters),
                config.clone(),
                shutdown.clone(),
            ),
        );
    }
    let store_source = events.subscribe(&config.group_id("store"), counters(store::STAGE));
    let (event_store, store_options) = build_store(config).await?;
    stages.spawn(
        "store",
        store_stage(
            event_store,
            store_options,
            Box::new(store_source),
            Arc::clone(&dead_letters),
            shutdown.clone(),
        ),
    );
    let alert_source = events.subscribe(&config.group_id("alert"), counters(alerting::STAGE));
    stages.spawn(
        "alert",
        alert_stage(
            config.clone(),
            observer,
            Box::new(alert_source),
            Arc::clone(&dead_letters),
            shutdown.clone(),
        ),
    );
    drop(events);

    let sinks = ingest::IngestSinks {
        reviews: Arc::new(raw_reviews.sink(SinkAcks::WhenConsumed, counters("ingest"))),
        shipments: Arc::new(raw_shipments.sink(SinkAcks::WhenConsumed, counters("ingest"))),
        listings: Arc::new(raw_listings.sink(SinkAcks::WhenConsumed, counters("ingest"))),
        health: Arc::new(raw_health.sink(SinkAcks::WhenConsumed, counters("ingest"))),
    };
    stages.spawn(
        "ingest",
        ingest_stage(config.clone(), sinks, shutdown.clone()),
    );

    stages
        .supervise(
            &shutdown,
            Duration::from_secs(config.shutdown_grace_period_secs),
        )
        .await
}

/// Runs `roles` in this process on Kafka until `shutdown` and the drain that follows.
pub async fn run_on_kafka(
    config: &Config,
    roles: &[Role],
    observer: Observer,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(kafka) = config.kafka.clone() else {
        let names: Vec<&str> = roles.iter().map(|role| role.name()).collect();
        bail!(
            "role(s) {} need Kafka: add a [kafka] section with brokers (or SHOPWATCH_KAFKA__BROKERS), \
             or use `shopwatch run` without [kafka] to run everything in one process",
            names.join(", ")
        );
    };
    prepare_data_dir(config)?;
    let topics = config.topics();
    let all_topics = topics.all();
    let topic_refs: Vec<&str> = all_topics.iter().map(String::as_str).collect();
    ensure_topics(&kafka, &topic_refs)
        .await
        .with_context(|| format!("cannot prepare topics on {}", kafka.brokers))?;

    let mut stages = Stages::new();
    for role in roles {
        match role {
            Role::Ingest => {
                let sink = |topic: &str| -> anyhow::Result<Arc<dyn RecordSink>> {
                    Ok(Arc::new(KafkaSink::new(&kafka, topic, counters("ingest"))?))
                };
                let sinks = ingest::IngestSinks {
                    reviews: sink(&topics.raw_reviews)?,
                    shipments: sink(&topics.raw_shipments)?,
                    listings: sink(&topics.raw_listings)?,
                    health: sink(&topics.raw_health)?,
                };
                stages.spawn(
                    "ingest",
                    ingest_stage(config.clone(), sinks, shutdown.clone()),
                );
            }
            Role::Enrich => {
                let enricher = build_enricher(config)?;
                for raw in [
                    &topics.raw_reviews,
                    &topics.raw_shipments,
                    &topics.raw_listings,
                    &topics.raw_health,
                ] {
                    let source = KafkaSource::new(
                        &kafka,
                        raw.as_str(),
                        &config.group_id("enrich"),
                        shutdown.clone(),
                        counters(enrich::STAGE),
                    )?;
                    let sink = KafkaSink::new(&kafka, &topics.events, counters(enrich::STAGE))?;
                    stages.spawn(
                        format!("enrich {raw}"),
                        enrich_stage(
                            Arc::clone(&enricher),
                            Box::new(source),
                            Arc::new(sink),
                            kafka_dead_letters(&kafka, raw, enrich::STAGE)?,
                            config.clone(),
                            shutdown.clone(),
                        ),
                    );
                }
            }
            Role::Store => {
                let source = KafkaSource::new(
                    &kafka,
                    topics.events.as_str(),
                    &config.group_id("store"),
                    shutdown.clone(),
                    counters(store::STAGE),
                )?;
                let (event_store, options) = build_store(config).await?;
                stages.spawn(
                    "store",
                    store_stage(
                        event_store,
                        options,
                        Box::new(source),
                        kafka_dead_letters(&kafka, &topics.events, store::STAGE)?,
                        shutdown.clone(),
                    ),
                );
            }
            Role::Alert => {
                let source = KafkaSource::new(
                    &kafka,
                    topics.events.as_str(),
                    &config.group_id("alert"),
                    shutdown.clone(),
                    counters(alerting::STAGE),
                )?;
                stages.spawn(
                    "alert",
                    alert_stage(
                        config.clone(),
                        observer.clone(),
                        Box::new(source),
                        kafka_dead_letters(&kafka, &topics.events, alerting::STAGE)?,
                        shutdown.clone(),
                    ),
                );
            }
        }
    }
    stages
        .supervise(
            &shutdown,
            Duration::from_secs(config.shutdown_grace_period_secs),
        )
        .await
}

fn counters(stage: &'static str) -> StageCounters {
    StageCounters::new(stage)
}

fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create data_dir {} (set data_dir or --data-dir)",
            config.data_dir.display()
        )
    })
}

fn kafka_dead_letters(
    kafka: &KafkaConfig,
    topic: &str,
    stage: &'static str,
) -> anyhow::Result<Arc<dyn RecordSink>> {
    Ok(Arc::new(KafkaSink::new(
        kafka,
        dead_letter(topic),
        counters(stage),
    )?))
}

fn build_enricher(config: &Config) -> anyhow::Result<Arc<enrich::Enricher>> {
    let enricher = enrich::Enricher::new(&config.enrich).context("cannot build the enricher")?;
    Ok(Arc::new(enricher))
}

async fn build_store(
    config: &Config,
) -> anyhow::Result<(Box<dyn store::EventStore>, DriveOptions)> {
    use store::EventStore as _;
    match &config.clickhouse {
        Some(clickhouse) => {
            let mut event_store = store::ClickHouseStore::connect(clickhouse)
                .await
                .with_context(|| format!("cannot connect to ClickHouse at {}", clickhouse.url))?;
            event_store
                .migrate()
                .await
                .context("cannot create or migrate the ClickHouse tables")?;
            Ok((Box::new(event_store), store::drive_options(clickhouse)))
        }
        None => {
            let path = config.data_dir.join("shopwatch.db");
            let mut event_store = store::SqliteStore::open(&path)
                .with_context(|| format!("cannot open the embedded store {}", path.display()))?;
            event_store
                .migrate()
                .await
                .context("cannot create or migrate the embedded store's tables")?;
            let options = DriveOptions {
                max_records: 2_000,
                max_wait: Duration::from_millis(100),
                ..DriveOptions::immediate(store::STAGE, 2_000)
            };
            Ok((Box::new(event_store), options))
        }
    }
}

async fn ingest_stage(
    config: Config,
    sinks: ingest::IngestSinks,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let cursors = ingest::FileCursorStore::new(config.data_dir.join("cursors"))
        .context("cannot open the cursor directory")?;
    ingest::run(config.ingest, sinks, Arc::new(cursors), shutdown).await?;
    Ok(())
}

async fn enrich_stage(
    enricher: Arc<enrich::Enricher>,
    mut source: Box<dyn RecordSource>,
    sink: Arc<dyn RecordSink>,
    dead_letters: Arc<dyn RecordSink>,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    enrich::run(
        enricher,
        source.as_mut(),
        sink,
        dead_letters.as_ref(),
        &config.enrich,
        &shutdown,
    )
    .await?;
    Ok(())
}

async fn store_stage(
    event_store: Box<dyn store::EventStore>,
    options: DriveOptions,
    mut source: Box<dyn RecordSource>,
    dead_letters: Arc<dyn RecordSink>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut handler = store::StoreHandler::new(event_store);
    drive(
        source.as_mut(),
        &mut handler,
        dead_letters.as_ref(),
        &options,
        &shutdown,
    )
    .await?;
    Ok(())
}

async fn alert_stage(
    config: Config,
    observer: Observer,
    mut source: Box<dyn RecordSource>,
    dead_letters: Arc<dyn RecordSink>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let path = config.data_dir.join("notifications.db");
    let log = alerting::NotificationLog::open(&path)
        .with_context(|| format!("cannot open the notification log {}", path.display()))?;
    alerting::run(
        &config.alerting,
        log,
        observer,
        source.as_mut(),
        dead_letters.as_ref(),
        &shutdown,
    )
    .await?;
    Ok(())
}
