//! The Kafka bus: `KafkaSink` (idempotent producer) and `KafkaSource` (consumer group with
//! at-least-once offset storage), on rdkafka / librdkafka.
//!
//! librdkafka behaviour this module relies on:
//! - The producer runs with `enable.idempotence=true` (which implies `acks=all` and in-order,
//!   exactly-once delivery per partition within one producer session); `send_batch` enqueues
//!   every record and then awaits every delivery report, so `Ok` means the broker has them.
//!   A full local queue (`QueueFull`) is waited out, not reported (Arroyo does the same).
//! - The consumer runs with `enable.auto.offset.store=false` and `enable.auto.commit=true`:
//!   only offsets *we* store are committed, in the background and at revocation. `ack` stores,
//!   per partition, the offset after the longest acknowledged prefix (`OrderedAcks`) through
//!   `rd_kafka_offsets_store`, which takes the next offset to consume as-is (unlike the
//!   per-message `rd_kafka_offset_store`, which adds one). `close` commits synchronously.
//! - Consumer lag comes from librdkafka's statistics callback (`statistics.interval.ms`),
//!   as `shopwatch_kafka_consumer_lag_messages{topic,partition}`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::ack::OrderedAcks;
use crate::metrics::{metrics, StageCounters};
use crate::{BusError, Position, Record, RecordSink, RecordSource};

/// The `[kafka]` config section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port]`. Use `127.0.0.1` rather than `localhost`.
    pub brokers: String,
    /// Partitions of the topics shopwatch creates when they are missing.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor of the topics shopwatch creates.
    #[serde(default = "default_replication_factor")]
    pub replication_factor: i32,
    /// Consumer session timeout; a dead consumer's partitions move after this long.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// How long a produce may take before it fails (then the whole batch is retried).
    #[serde(default = "default_message_timeout_ms")]
    pub message_timeout_ms: u64,
    /// Extra librdkafka settings passed through as-is (e.g. security.protocol).
    #[serde(default)]
    pub librdkafka: BTreeMap<String, String>,
}

fn default_partitions() -> i32 {
    3
}
fn default_replication_factor() -> i32 {
    1
}
fn default_session_timeout_ms() -> u64 {
    10_000
}
fn default_message_timeout_ms() -> u64 {
    30_000
}

impl KafkaConfig {
    /// A config for `brokers` with every other field at its default.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            partitions: default_partitions(),
            replication_factor: default_replication_factor(),
            session_timeout_ms: default_session_timeout_ms(),
            message_timeout_ms: default_message_timeout_ms(),
            librdkafka: BTreeMap::new(),
        }
    }

    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("broker.address.family", "v4");
        for (key, value) in &self.librdkafka {
            config.set(key, value);
        }
        config
    }
}

fn classify(error: KafkaError) -> BusError {
    let fatal = matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::SaslAuthenticationFailed
                | RDKafkaErrorCode::InvalidConfig
                | RDKafkaErrorCode::MessageSizeTooLarge
        )
    );
    if fatal {
        BusError::fatal(error)
    } else {
        BusError::transient(error)
    }
}

/// Creates the topics that are missing; existing ones are left alone.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str]) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> =
        config.client_config().create().map_err(BusError::fatal)?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            NewTopic::new(
                topic,
                config.partitions,
                TopicReplication::Fixed(config.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(classify)?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::fatal(format!(
                    "cannot create topic {topic}: {code}"
                )))
            }
        }
    }
    Ok(())
}

/// Produces to one topic with an idempotent producer.
pub struct KafkaSink {
    producer: FutureProducer,
    topic: String,
    counters: StageCounters,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("topic", &self.topic)
            .finish()
    }
}

impl KafkaSink {
    /// Creates a producer for `topic`.
    pub fn new(
        config: &KafkaConfig,
        topic: impl Into<String>,
        counters: StageCounters,
    ) -> Result<Self, BusError> {
        let producer: FutureProducer = config
            .client_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", config.message_timeout_ms.to_string())
            .create()
            .map_err(BusError::fatal)?;
        Ok(KafkaSink {
            producer,
            topic: topic.into(),
            counters,
        })
    }

    /// Waits until every queued message was delivered or `timeout` passed.
    pub fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        self.producer.flush(timeout).map_err(classify)
    }
}

#[async_trait]
impl RecordSink for KafkaSink {
    async fn send_batch(&self, records: Vec<Record>) -> Result<(), BusError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in &records {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (key, value) in &record.headers {
                headers = headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                });
            }
            let mut message = FutureRecord::to(&self.topic)
                .key(record.key.as_bytes())
                .payload(&record.payload)
                .headers(headers);
            loop {
                match self.producer.send_result(message) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        message = back;
                        let started = std::time::Instant::now();
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        self.counters.blocked(started.elapsed().as_secs_f64());
                    }
                    Err((error, _)) => return Err(classify(error)),
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(classify(error)),
                Err(_canceled) => return Err(BusError::transient("producer was dropped")),
            }
        }
        Ok(())
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}

/// Publishes consumer lag from librdkafka's statistics and remembers revoked partitions, so
/// the source forgets their in-flight positions (a partition that comes back starts afresh
/// from its committed offset).
#[derive(Default)]
pub struct LagContext {
    revoked: std::sync::Mutex<Vec<i32>>,
}

impl LagContext {
    fn take_revoked(&self) -> Vec<i32> {
        let mut revoked = self
            .revoked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *revoked)
    }
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        for (topic_name, topic) in &statistics.topics {
            for (partition, stats) in &topic.partitions {
                if *partition < 0 || stats.consumer_lag < 0 {
                    continue;
                }
                metrics()
                    .consumer_lag
                    .with_label_values(&[topic_name.as_str(), &partition.to_string()])
                    .set(stats.consumer_lag);
            }
        }
    }
}

impl ConsumerContext for LagContext {
    fn pre_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Revoke(partitions) = rebalance {
            let mut revoked = self
                .revoked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            revoked.extend(
                partitions
                    .elements()
                    .iter()
                    .map(|element| element.partition()),
            );
        }
    }
}

/// Consumes one topic as a member of a consumer group.
pub struct KafkaSource {
    consumer: StreamConsumer<LagContext>,
    topic: String,
    acks: OrderedAcks,
    shutdown: CancellationToken,
    counters: StageCounters,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("topic", &self.topic)
            .finish()
    }
}

impl KafkaSource {
    /// Subscribes to `topic` in consumer group `group`. A new group starts at the earliest
    /// offset; `next_batch` ends once `shutdown` is cancelled.
    pub fn new(
        config: &KafkaConfig,
        topic: impl Into<String>,
        group: &str,
        shutdown: CancellationToken,
        counters: StageCounters,
    ) -> Result<Self, BusError> {
        let topic = topic.into();
        let consumer: StreamConsumer<LagContext> = config
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", config.session_timeout_ms.to_string())
            .set("statistics.interval.ms", "5000")
            .create_with_context(LagContext::default())
            .map_err(BusError::fatal)?;
        consumer.subscribe(&[&topic]).map_err(classify)?;
        Ok(KafkaSource {
            consumer,
            topic,
            acks: OrderedAcks::new(),
            shutdown,
            counters,
        })
    }
}

impl KafkaSource {
    /// Drops the in-flight positions of partitions this member lost in a rebalance: acks for
    /// them must not store offsets any more (their new owner reads from the last commit).
    fn forget_revoked(&mut self) {
        for partition in self.consumer.context().take_revoked() {
            self.acks.forget_partition(partition);
        }
    }
}

#[async_trait]
impl RecordSource for KafkaSource {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Record>, BusError> {
        let mut batch = Vec::with_capacity(max.max(1));
        let mut errors_in_a_row: u32 = 0;
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(batch),
                message = self.consumer.recv() => match message {
                    Ok(message) => {
                        batch.push(message_to_record(&message));
                        break;
                    }
                    Err(error) => {
                        // librdkafka reports conditions it recovers from by itself (broker
                        // down, transport failure) through the consumer; only fatal ones end
                        // the stage. Keep waiting, with a growing pause so a dead broker does
                        // not spin.
                        let error = classify(error);
                        if !error.is_retryable() {
                            return Err(error);
                        }
                        if errors_in_a_row == 0 {
                            tracing::warn!(error = %error, topic = %self.topic, "kafka consumer error, waiting for recovery");
                        }
                        let pause = crate::stage::backoff_delay(
                            Duration::from_millis(100),
                            Duration::from_secs(5),
                            errors_in_a_row,
                        );
                        errors_in_a_row = errors_in_a_row.saturating_add(1);
                        tokio::select! {
                            _ = self.shutdown.cancelled() => return Ok(batch),
                            _ = tokio::time::sleep(pause) => {}
                        }
                    }
                },
            }
        }
        while batch.len() < max {
            // Take only what librdkafka already has queued; never wait for more here.
            match self.consumer.recv().now_or_never() {
                Some(Ok(message)) => batch.push(message_to_record(&message)),
                Some(Err(error)) => {
                    tracing::warn!(error = %error, topic = %self.topic, "kafka consume error");
                    break;
                }
                None => break,
            }
        }
        self.forget_revoked();
        for record in &batch {
            if let Some(position) = record.position {
                self.acks.delivered(position);
            }
        }
        self.counters.received.inc_by(batch.len() as u64);
        Ok(batch)
    }

    async fn ack(&mut self, positions: &[Position]) -> Result<(), BusError> {
        self.forget_revoked();
        for position in positions {
            self.acks.acked(*position);
        }
        let released = self.acks.release();
        if released.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for position in &released {
            list.add_partition_offset(
                &self.topic,
                position.partition,
                Offset::Offset(position.offset),
            )
            .map_err(classify)?;
        }
        if let Err(error) = self.consumer.store_offsets(&list) {
            // A partition revoked since delivery: its new owner reads it again from the last
            // commit, and the sinks deduplicate. Nothing to do here.
            tracing::debug!(error = %error, topic = %self.topic, "offset not stored");
        }
        Ok(())
    }

    async fn close(&mut self) -> Result<(), BusError> {
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => Ok(()),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}

fn message_to_record<M: Message>(message: &M) -> Record {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| {
                    let value = header
                        .value
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    (header.key.to_owned(), value.into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        key: message
            .key()
            .map(|key| String::from_utf8_lossy(key).into_owned())
            .unwrap_or_default(),
        payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        headers,
        position: Some(Position {
            partition: message.partition(),
            offset: message.offset(),
        }),
    }
}
