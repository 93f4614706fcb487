use std::time::Duration;

use super::*;

fn counters() -> StageCounters {
    StageCounters::new("test")
}

fn record(key: &str) -> Record {
    Record::new(key, key.as_bytes().to_vec())
}

#[tokio::test]
async fn every_group_reads_everything_in_order() {
    let topic = MemoryTopic::new("t", 16);
    let mut store = topic.subscribe("store", counters());
    let mut alert = topic.subscribe("alert", counters());
    let sink = topic.sink(SinkAcks::WhenAppended, counters());
    sink.send_batch(vec![record("a"), record("b"), record("c")])
        .await
        .unwrap();
    drop(sink);
    for source in [&mut store, &mut alert] {
        let batch = source.next_batch(10).await.unwrap();
        let keys: Vec<&str> = batch.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(
            batch[2].position,
            Some(Position {
                partition: 0,
                offset: 2
            })
        );
        let positions: Vec<Position> = batch.iter().filter_map(|r| r.position).collect();
        source.ack(&positions).await.unwrap();
        // The topic is closed and drained: the source ends.
        assert!(source.next_batch(10).await.unwrap().is_empty());
    }
    assert!(topic.is_empty());
}

#[tokio::test]
async fn when_consumed_sink_waits_for_every_group() {
    let topic = MemoryTopic::new("t", 16);
    let mut fast = topic.subscribe("fast", counters());
    let mut slow = topic.subscribe("slow", counters());
    let sink = topic.sink(SinkAcks::WhenConsumed, counters());
    let send = tokio::spawn(async move { sink.send_batch(vec![record("a"), record("b")]).await });

    let batch = fast.next_batch(10).await.unwrap();
    fast.ack(&[batch[0].position.unwrap(), batch[1].position.unwrap()])
        .await
        .unwrap();
    let batch = slow.next_batch(10).await.unwrap();
    // Acknowledging only the second record releases nothing: order matters.
    slow.ack(&[batch[1].position.unwrap()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !send.is_finished(),
        "send returned before the slow group acked"
    );
    slow.ack(&[batch[0].position.unwrap()]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), send)
        .await
        .expect("send finishes once both groups acked")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn full_topic_blocks_the_sink_until_consumers_ack() {
    let topic = MemoryTopic::new("t", 2);
    let mut source = topic.subscribe("g", counters());
    let sink = topic.sink(SinkAcks::WhenAppended, counters());
    sink.send_batch(vec![record("a"), record("b")])
        .await
        .unwrap();
    let blocked = tokio::spawn(async move {
        sink.send_batch(vec![record("c")]).await.unwrap();
        sink
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!blocked.is_finished(), "a full topic must block the sink");
    assert_eq!(topic.len(), 2);

    let batch = source.next_batch(10).await.unwrap();
    assert_eq!(batch.len(), 2);
    source.ack(&[batch[0].position.unwrap()]).await.unwrap();
    let _sink = tokio::time::timeout(Duration::from_secs(5), blocked)
        .await
        .expect("one freed slot unblocks the sink")
        .unwrap();
    let batch = source.next_batch(10).await.unwrap();
    assert_eq!(batch[0].key, "c");
}

#[tokio::test]
async fn unacked_records_are_redelivered_to_a_new_member_of_the_group() {
    let topic = MemoryTopic::new("t", 8);
    let sink = topic.sink(SinkAcks::WhenAppended, counters());
    let mut first = topic.subscribe("g", counters());
    sink.send_batch(vec![record("a"), record("b")])
        .await
        .unwrap();
    let batch = first.next_batch(10).await.unwrap();
    first.ack(&[batch[0].position.unwrap()]).await.unwrap();
    // "Crash": the consumer goes away without acking b, and a new one joins the group.
    drop(first);
    let mut second = topic.subscribe("g", counters());
    drop(sink);
    let batch = second.next_batch(10).await.unwrap();
    let keys: Vec<&str> = batch.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["b"]);
}

#[tokio::test]
async fn shutdown_token_ends_an_open_topic() {
    let topic = MemoryTopic::new("t", 8);
    let _sink = topic.sink(SinkAcks::WhenAppended, counters());
    let shutdown = CancellationToken::new();
    let mut source = topic
        .subscribe("g", counters())
        .with_shutdown(shutdown.clone());
    let reader = tokio::spawn(async move { source.next_batch(10).await });
    shutdown.cancel();
    let batch = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(batch.is_empty());
}
