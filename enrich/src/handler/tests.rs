use bus::memory::{MemorySource, MemoryTopic, SinkAcks};
use bus::record::headers;
use schemas::{samples, EnrichedEvent};

use super::*;

fn counters() -> StageCounters {
    StageCounters::new("enrich_test")
}

fn enricher() -> Arc<Enricher> {
    Arc::new(Enricher::new(&EnrichConfig::default()).expect("default config builds"))
}

fn encoded(raw: &RawRecord) -> Record {
    Record::new(
        raw.entity_key().to_string(),
        AvroCodec::raw_record().encode(raw).expect("sample encodes"),
    )
}

/// Reads everything a finished topic holds and decodes it.
async fn read_events(source: &mut MemorySource) -> Vec<(String, EnrichedEvent)> {
    let mut events = Vec::new();
    loop {
        let batch = source.next_batch(100).await.unwrap();
        if batch.is_empty() {
            return events;
        }
        let positions: Vec<_> = batch.iter().filter_map(|record| record.position).collect();
        for record in batch {
            let event: EnrichedEvent = AvroCodec::enriched_event().decode(&record.payload).unwrap();
            events.push((record.key, event));
        }
        source.ack(&positions).await.unwrap();
    }
}

#[tokio::test]
async fn garbage_is_dead_lettered_and_the_rest_reaches_the_sink() {
    let events = MemoryTopic::new("shopwatch.events", 16);
    let mut reader = events.subscribe("check", counters());
    let sink: Arc<dyn RecordSink> = Arc::new(events.sink(SinkAcks::WhenAppended, counters()));
    let mut handler = EnrichHandler::new(enricher(), sink);

    let raws = samples::raw_records();
    let mut missing_review = raws[0].clone();
    missing_review.review = None;
    let batch = vec![
        encoded(&raws[0]),
        Record::new("junk", b"not avro at all".to_vec()),
        encoded(&raws[1]),
        encoded(&missing_review),
    ];
    let verdicts = handler.handle(&batch).await.unwrap();
    assert_eq!(verdicts.len(), 4);
    assert_eq!(verdicts[0], Verdict::Done);
    assert!(
        matches!(&verdicts[1], Verdict::DeadLetter(reason) if reason.starts_with("undecodable raw record: not an avro single-object message")),
        "{:?}",
        verdicts[1]
    );
    assert_eq!(verdicts[2], Verdict::Done);
    assert_eq!(
        verdicts[3],
        Verdict::DeadLetter(format!(
            "record {} of kind review carries no review entity",
            raws[0].event_id
        ))
    );

    drop(handler); // the last sink: the topic ends once drained
    let received = read_events(&mut reader).await;
    assert_eq!(received.len(), 2);
    let (key, review) = &received[0];
    assert_eq!(key, "taobao/123/review/1001-1");
    assert_eq!(review.event_type, "review.received");
    assert_eq!(review.source_event_id, raws[0].event_id);
    let text = review.text.as_ref().expect("review analysed");
    assert_eq!(text.tokens, ["快递", "太慢", "了", "包装", "破损"]);
    assert_eq!(text.keywords[0].word, "快递太慢");
    assert_eq!(text.polarity, Some(schemas::Polarity::Negative));
    let (key, shipment) = &received[1];
    assert_eq!(key, "taobao/123/shipment/YT1234567890");
    assert_eq!(shipment.event_type, "shipment.observed");
    assert_eq!(shipment.text, None);
}

#[tokio::test]
async fn run_enriches_a_topic_and_dead_letters_with_reason() {
    let raw_topic = MemoryTopic::new("shopwatch.raw.reviews", 16);
    let mut source = raw_topic.subscribe("enrich", counters());
    let events = MemoryTopic::new("shopwatch.events", 16);
    let mut reader = events.subscribe("check", counters());
    let dlq = MemoryTopic::new("shopwatch.raw.reviews.dlq", 16);
    let mut dlq_reader = dlq.subscribe("check", counters());

    let input = raw_topic.sink(SinkAcks::WhenAppended, counters());
    let mut records: Vec<Record> = samples::raw_records().iter().map(encoded).collect();
    records.insert(2, Record::new("junk", vec![0xC3, 0x01, 1, 2]));
    input.send_batch(records).await.unwrap();
    drop(input);

    let sink: Arc<dyn RecordSink> = Arc::new(events.sink(SinkAcks::WhenAppended, counters()));
    let dead_letters = dlq.sink(SinkAcks::WhenAppended, counters());
    let config = EnrichConfig {
        max_batch: 2,
        ..EnrichConfig::default()
    };
    run(
        enricher(),
        &mut source,
        sink,
        &dead_letters,
        &config,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    drop(dead_letters);

    // Everything was acknowledged: the input topic holds nothing any more.
    assert!(raw_topic.is_empty());
    let types: Vec<String> = read_events(&mut reader)
        .await
        .into_iter()
        .map(|(_, event)| event.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "review.received",
            "shipment.observed",
            "listing.observed",
            "source_health.reported"
        ]
    );
    let dead = dlq_reader.next_batch(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, "junk");
    assert_eq!(dead[0].header(headers::DLQ_STAGE), Some("enrich"));
    assert_eq!(
        dead[0].header(headers::DLQ_TOPIC),
        Some("shopwatch.raw.reviews")
    );
    assert!(dead[0]
        .header(headers::DLQ_REASON)
        .is_some_and(|reason| reason.starts_with("undecodable raw record")));
}

struct DownSink;

#[async_trait]
impl RecordSink for DownSink {
    async fn send_batch(&self, _records: Vec<Record>) -> Result<(), bus::BusError> {
        Err(bus::BusError::Transient {
            reason: "broker unreachable".into(),
        })
    }

    fn topic(&self) -> &str {
        "down"
    }
}

#[tokio::test]
async fn a_failing_sink_fails_the_batch_as_retryable() {
    let mut handler = EnrichHandler::new(enricher(), Arc::new(DownSink));
    let batch = vec![encoded(&samples::raw_records()[0])];
    let error = handler.handle(&batch).await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.code, "bus");
    assert_eq!(
        error.reason,
        "bus temporarily unavailable: broker unreachable"
    );
}
