use std::sync::{Arc, Mutex};

use super::*;
use crate::memory::{MemoryTopic, SinkAcks};

/// Fails the first `failures` calls, dead-letters payloads equal to "bad", records the rest.
struct FlakyHandler {
    failures: usize,
    calls: usize,
    handled: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl BatchHandler for FlakyHandler {
    async fn handle(&mut self, batch: &[Record]) -> Result<Vec<Verdict>, HandlerError> {
        self.calls += 1;
        if self.calls <= self.failures {
            return Err(HandlerError::transient("insert", "sink down"));
        }
        Ok(batch
            .iter()
            .map(|record| {
                if record.payload == b"bad" {
                    Verdict::DeadLetter("not decodable".into())
                } else {
                    self.handled.lock().unwrap().push(record.key.clone());
                    Verdict::Done
                }
            })
            .collect())
    }
}

fn options() -> DriveOptions {
    DriveOptions {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..DriveOptions::immediate("test", 100)
    }
}

#[tokio::test]
async fn retries_transient_failures_then_acks_and_dead_letters() {
    let input = MemoryTopic::new("in", 16);
    let dlq_topic = MemoryTopic::new("in.dlq", 16);
    let mut dlq_reader = dlq_topic.subscribe("check", StageCounters::new("test"));
    let dlq = dlq_topic.sink(SinkAcks::WhenAppended, StageCounters::new("test"));
    let mut source = input.subscribe("stage", StageCounters::new("test"));
    let producer = input.sink(SinkAcks::WhenConsumed, StageCounters::new("test"));

    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut handler = FlakyHandler {
        failures: 2,
        calls: 0,
        handled: Arc::clone(&handled),
    };
    let send = tokio::spawn(async move {
        producer
            .send_batch(vec![
                Record::new("a", b"ok".to_vec()),
                Record::new("b", b"bad".to_vec()),
                Record::new("c", b"ok".to_vec()),
            ])
            .await
    });
    let shutdown = CancellationToken::new();
    drive(&mut source, &mut handler, &dlq, &options(), &shutdown)
        .await
        .unwrap();
    // The producer only returns once the stage acked everything, dead letters included.
    send.await.unwrap().unwrap();
    assert_eq!(handler.calls, 3);
    assert_eq!(*handled.lock().unwrap(), ["a", "c"]);

    let dead = dlq_reader.next_batch(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, "b");
    assert_eq!(dead[0].payload, b"bad");
    assert_eq!(
        dead[0].header(crate::record::headers::DLQ_REASON),
        Some("not decodable")
    );
    assert_eq!(
        dead[0].header(crate::record::headers::DLQ_TOPIC),
        Some("in")
    );
    assert_eq!(
        dead[0].header(crate::record::headers::DLQ_OFFSET),
        Some("1")
    );
}

#[tokio::test]
async fn shutdown_during_retry_acks_nothing() {
    let input = MemoryTopic::new("in", 16);
    let mut source = input.subscribe("stage", StageCounters::new("test"));
    let producer = input.sink(SinkAcks::WhenAppended, StageCounters::new("test"));
    producer
        .send_batch(vec![Record::new("a", b"ok".to_vec())])
        .await
        .unwrap();
    let dlq = crate::file::FileSink::new("/nonexistent/never-written", "in.dlq");
    let mut handler = FlakyHandler {
        failures: usize::MAX,
        calls: 0,
        handled: Arc::default(),
    };
    let shutdown = CancellationToken::new();
    let cancel = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        cancel.cancel();
    });
    drive(&mut source, &mut handler, &dlq, &options(), &shutdown)
        .await
        .unwrap();
    assert!(handler.calls >= 2);
    drop(source);
    // The unacked record is delivered again to the group's next member.
    let mut again = input.subscribe("stage", StageCounters::new("test"));
    drop(producer);
    let batch = again.next_batch(10).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].key, "a");
}

#[tokio::test]
async fn fatal_errors_stop_the_stage() {
    struct Fatal;
    #[async_trait]
    impl BatchHandler for Fatal {
        async fn handle(&mut self, _: &[Record]) -> Result<Vec<Verdict>, HandlerError> {
            Err(HandlerError::fatal("config", "table schema mismatch"))
        }
    }
    let input = MemoryTopic::new("in", 16);
    let mut source = input.subscribe("stage", StageCounters::new("test"));
    let producer = input.sink(SinkAcks::WhenAppended, StageCounters::new("test"));
    producer
        .send_batch(vec![Record::new("a", b"ok".to_vec())])
        .await
        .unwrap();
    let dlq = crate::file::FileSink::new("/nonexistent/never-written", "in.dlq");
    let error = drive(
        &mut source,
        &mut Fatal,
        &dlq,
        &options(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code, "config");
}

#[tokio::test]
async fn gathers_up_to_max_records_within_max_wait() {
    let input = MemoryTopic::new("in", 64);
    let mut source = input.subscribe("stage", StageCounters::new("test"));
    let producer = input.sink(SinkAcks::WhenAppended, StageCounters::new("test"));
    for key in ["a", "b", "c"] {
        producer
            .send_batch(vec![Record::new(key, b"ok".to_vec())])
            .await
            .unwrap();
    }
    let options = DriveOptions {
        max_records: 2,
        max_wait: Duration::from_millis(50),
        ..options()
    };
    let first = gather(&mut source, &options).await.unwrap();
    assert_eq!(first.len(), 2);
    let second = gather(&mut source, &options).await.unwrap();
    assert_eq!(second.len(), 1, "max_wait ends a batch that cannot fill");
}

#[test]
fn backoff_grows_and_is_capped() {
    let initial = Duration::from_millis(100);
    let max = Duration::from_secs(2);
    let first = backoff_delay(initial, max, 0);
    assert!(first >= Duration::from_millis(75) && first <= Duration::from_millis(125));
    let third = backoff_delay(initial, max, 2);
    assert!(third >= Duration::from_millis(300) && third <= Duration::from_millis(500));
    assert!(backoff_delay(initial, max, 30) <= max);
}
