//! `shopwatch bench store`: Kafka → ClickHouse throughput of the store stage.
//!
//! Produces `events` enriched review events (real enrichment of varied review texts) to a
//! fresh topic, then runs the store stage exactly as the `store` role does (Kafka consumer
//! group, `drive` with the ClickHouse batching settings, `ClickHouseStore`) into a fresh
//! database and measures the time until every row is in ClickHouse. Prints produce and store
//! rates; a benchmark, not a test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bus::kafka::{ensure_topics, KafkaConfig, KafkaSink, KafkaSource};
use bus::metrics::StageCounters;
use bus::{Record, RecordSink};
use schemas::{
    event_types, AvroCodec, EnrichedEvent, Entity, Platform, Provenance, Rating, RawRecord, Review,
};
use store::EventStore as _;
use tokio_util::sync::CancellationToken;

/// What `bench store` measured.
#[derive(Debug, Clone)]
pub struct StoreBenchResult {
    pub events: usize,
    pub produce: Duration,
    pub store: Duration,
}

const TEXTS: &[&str] = &[
    "快递太慢了，包装也破损了，差评",
    "质量很好，做工精细，物流也快，五星好评",
    "客服态度恶劣，问什么都不回，再也不买了",
    "东西不错，就是包装差点，总体满意",
    "发错货了，联系客服说给补发，等了一周还没到",
    "假货，和专柜的完全不一样，骗人",
    "价格实惠，性价比高，下次还来",
    "尺码偏小，建议买大一号，颜色和图片一样",
];

fn events(count: usize) -> anyhow::Result<Vec<EnrichedEvent>> {
    let enricher = enrich::Enricher::new(&enrich::EnrichConfig::default())?;
    let base_ms = 1_767_240_000_000_i64;
    (0..count)
        .map(|index| {
            let text = TEXTS[index % TEXTS.len()];
            let created_at_ms = base_ms + index as i64 * 1_000;
            let review = Review {
                order_id: format!("{}", 4_000_000_000_000_000_000_i64 + index as i64),
                sub_order_id: Some(format!("{index}")),
                item_id: Some(format!("{}", 500_000 + index % 97)),
                item_title: Some("保温杯 500ml 不锈钢".into()),
                item_price_fen: Some(12_850),
                buyer_nick_masked: "张**".into(),
                rater_role: "buyer".into(),
                rating: if index % 3 == 0 {
                    Rating::Bad
                } else {
                    Rating::Good
                },
                score: None,
                content: format!("{text}（{index}）"),
                reply: None,
                created_at_ms,
                follow_up: false,
                valid_score: Some(true),
            };
            let raw = RawRecord::new(
                Provenance {
                    platform: Platform::Taobao,
                    shop_id: format!("bench-{}", index % 10),
                    entity_id: format!("{index}"),
                    version: created_at_ms.to_string(),
                    source: "bench".into(),
                    occurred_at_ms: created_at_ms,
                    observed_at_ms: created_at_ms + 500,
                    payload: format!("{{\"content\":\"{text}\"}}"),
                },
                Entity::Review(review),
            );
            let enriched = enricher.enrich(&raw, created_at_ms + 800)?;
            debug_assert_eq!(enriched.event_type, event_types::REVIEW_RECEIVED);
            Ok(enriched)
        })
        .collect()
}

/// Runs the store benchmark against `brokers` and `clickhouse_url`.
pub async fn store_bench(
    brokers: &str,
    clickhouse_url: &str,
    count: usize,
) -> anyhow::Result<StoreBenchResult> {
    let run_id = format!("bench_{}", std::process::id());
    let kafka = KafkaConfig::new(brokers);
    let topic = format!("{run_id}.events");
    ensure_topics(&kafka, &[topic.as_str()])
        .await
        .with_context(|| format!("cannot create topic {topic} on {brokers}"))?;
    let mut clickhouse = store::ClickHouseConfig::new(clickhouse_url);
    clickhouse.database = run_id.clone();
    let mut event_store = store::ClickHouseStore::connect(&clickhouse).await?;
    event_store.migrate().await?;
    let reader = event_store.clone();

    println!("preparing {count} enriched review events…");
    let codec = AvroCodec::enriched_event();
    let records = events(count)?
        .iter()
        .map(|event| {
            Ok(Record::new(
                event.entity_key().to_string(),
                codec.encode(event)?,
            ))
        })
        .collect::<anyhow::Result<Vec<Record>>>()?;

    let sink = KafkaSink::new(&kafka, topic.clone(), StageCounters::new("bench"))?;
    let started = Instant::now();
    for chunk in records.chunks(10_000) {
        sink.send_batch(chunk.to_vec()).await?;
    }
    let produce = started.elapsed();
    println!(
        "produced {count} events to Kafka in {:.2}s ({:.0} events/s)",
        produce.as_secs_f64(),
        count as f64 / produce.as_secs_f64()
    );

    let shutdown = CancellationToken::new();
    let mut source = KafkaSource::new(
        &kafka,
        topic.clone(),
        &format!("{run_id}-store"),
        shutdown.clone(),
        StageCounters::new(store::STAGE),
    )?;
    let dead_letters: Arc<dyn RecordSink> = Arc::new(bus::file::FileSink::new(
        std::env::temp_dir().join(format!("{run_id}-dlq.jsonl")),
        "bench.dlq",
    ));
    let options = store::drive_options(&clickhouse);
    let started = Instant::now();
    let stage = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            let mut handler = store::StoreHandler::new(Box::new(event_store));
            bus::stage::drive(
                &mut source,
                &mut handler,
                dead_letters.as_ref(),
                &options,
                &shutdown,
            )
            .await
        }
    });
    let deadline = started + Duration::from_secs(600);
    let mut first_row: Option<Duration> = None;
    loop {
        let stored = reader
            .count(store::tables::REVIEWS)
            .await
            .unwrap_or_default();
        if stored > 0 && first_row.is_none() {
            first_row = Some(started.elapsed());
        }
        if stored >= count as u64 {
            break;
        }
        if Instant::now() > deadline {
            shutdown.cancel();
            bail!("only {stored} of {count} rows reached ClickHouse within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store_elapsed = started.elapsed();
    shutdown.cancel();
    stage
        .await?
        .map_err(|error| anyhow::anyhow!("store stage failed: {error}"))?;
    println!(
        "stored {count} reviews Kafka → ClickHouse in {:.2}s ({:.0} rows/s, consumer + decode + dedup lookup + insert of events and reviews)",
        store_elapsed.as_secs_f64(),
        count as f64 / store_elapsed.as_secs_f64()
    );
    if let Some(first_row) = first_row {
        let steady = store_elapsed.saturating_sub(first_row);
        println!(
            "  of which {:.2}s until the first insert landed (consumer group join, first batch); after that {:.0} rows/s",
            first_row.as_secs_f64(),
            count as f64 / steady.as_secs_f64().max(0.001)
        );
    }
    reader.drop_database().await?;
    Ok(StoreBenchResult {
        events: count,
        produce,
        store: store_elapsed,
    })
}
