//! The in-process bus of the embedded mode: a bounded log per topic with consumer groups.
//!
//! A `MemoryTopic` behaves like a one-partition Kafka topic that lives in memory: sinks append,
//! each consumer group reads the whole log at its own pace and acknowledges, and a slot is
//! freed once every group has acknowledged it. The log is **bounded** (`capacity` records):
//! a sink blocks while it is full, which is the backpressure of the embedded pipeline.
//!
//! Because nothing in memory survives a crash, a `MemorySink` created with
//! [`SinkAcks::WhenConsumed`] returns from `send_batch` only after **every consumer group has
//! acknowledged** the batch. Chained through the stages, ingest's cursor then advances only
//! after store and alerting finished the records: the same at-least-once guarantee the Kafka
//! bus gives, without a durable log in between.
//!
//! The topic ends when its last sink is dropped: sources drain what is left and then return
//! an empty batch.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::ack::OrderedAcks;
use crate::metrics::StageCounters;
use crate::{BusError, Position, Record, RecordSink, RecordSource};

const PARTITION: i32 = 0;

/// When a `MemorySink::send_batch` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkAcks {
    /// As soon as the batch is in the log (for tests of the log itself).
    WhenAppended,
    /// After every consumer group acknowledged the whole batch (the embedded pipeline).
    WhenConsumed,
}

#[derive(Debug)]
struct Group {
    fetch_offset: i64,
    committed: i64,
    acks: OrderedAcks,
}

#[derive(Debug, Default)]
struct State {
    log: VecDeque<Record>,
    base_offset: i64,
    next_offset: i64,
    groups: HashMap<String, Group>,
    open_sinks: usize,
    closed: bool,
}

impl State {
    fn min_committed(&self) -> Option<i64> {
        self.groups.values().map(|group| group.committed).min()
    }

    /// Drops the records every group has acknowledged (all of them when nobody listens).
    fn trim(&mut self) {
        let keep_from = self.min_committed().unwrap_or(self.next_offset);
        while self.base_offset < keep_from && !self.log.is_empty() {
            self.log.pop_front();
            self.base_offset += 1;
        }
    }
}

#[derive(Debug)]
struct Inner {
    name: String,
    capacity: usize,
    state: Mutex<State>,
    changed: Notify,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug elsewhere; the state itself stays
        // consistent (every mutation is a few lines without await), so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A bounded in-memory topic; cheap to clone (all clones are the same topic).
#[derive(Debug, Clone)]
pub struct MemoryTopic {
    inner: Arc<Inner>,
}

impl MemoryTopic {
    /// Creates a topic that holds at most `capacity` unacknowledged records.
    pub fn new(name: impl Into<String>, capacity: usize) -> Self {
        MemoryTopic {
            inner: Arc::new(Inner {
                name: name.into(),
                capacity: capacity.max(1),
                state: Mutex::new(State::default()),
                changed: Notify::new(),
            }),
        }
    }

    /// Returns the topic's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Joins consumer group `group`. A new group reads from the oldest record still held, so
    /// subscribe every group before the first record is sent; a group that existed resumes
    /// after its last acknowledged record.
    pub fn subscribe(&self, group: &str, counters: StageCounters) -> MemorySource {
        let mut state = self.inner.lock();
        let start = state.base_offset;
        state.groups.entry(group.to_owned()).or_insert(Group {
            fetch_offset: start,
            committed: start,
            acks: OrderedAcks::new(),
        });
        drop(state);
        MemorySource {
            inner: Arc::clone(&self.inner),
            group: group.to_owned(),
            shutdown: CancellationToken::new(),
            counters,
        }
    }

    /// Opens a sink. The topic ends when the last sink opened is dropped.
    pub fn sink(&self, acks: SinkAcks, counters: StageCounters) -> MemorySink {
        self.inner.lock().open_sinks += 1;
        MemorySink {
            inner: Arc::clone(&self.inner),
            acks,
            counters,
        }
    }

    /// Returns the number of records held (appended and not yet freed).
    pub fn len(&self) -> usize {
        self.inner.lock().log.len()
    }

    /// Returns true when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Appends to a `MemoryTopic`; see the module docs for when `send_batch` returns.
#[derive(Debug)]
pub struct MemorySink {
    inner: Arc<Inner>,
    acks: SinkAcks,
    counters: StageCounters,
}

impl std::fmt::Debug for StageCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StageCounters")
    }
}

#[async_trait]
impl RecordSink for MemorySink {
    async fn send_batch(&self, records: Vec<Record>) -> Result<(), BusError> {
        let mut last_offset = None;
        for mut record in records {
            let mut blocked_since: Option<Instant> = None;
            loop {
                let changed = self.inner.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let mut state = self.inner.lock();
                    if state.log.len() < self.inner.capacity {
                        let offset = state.next_offset;
                        record.position = Some(Position {
                            partition: PARTITION,
                            offset,
                        });
                        state.log.push_back(record);
                        state.next_offset += 1;
                        if state.groups.is_empty() {
                            state.trim();
                        }
                        last_offset = Some(offset);
                        break;
                    }
                }
                blocked_since.get_or_insert_with(Instant::now);
                changed.await;
            }
            if let Some(since) = blocked_since {
                self.counters.blocked(since.elapsed().as_secs_f64());
            }
        }
        self.inner.changed.notify_waiters();
        let Some(last_offset) = last_offset else {
            return Ok(());
        };
        if self.acks == SinkAcks::WhenConsumed {
            loop {
                let changed = self.inner.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if self
                    .inner
                    .lock()
                    .min_committed()
                    .is_none_or(|committed| committed > last_offset)
                {
                    break;
                }
                changed.await;
            }
        }
        Ok(())
    }

    fn topic(&self) -> &str {
        &self.inner.name
    }
}

impl Drop for MemorySink {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.open_sinks = state.open_sinks.saturating_sub(1);
        if state.open_sinks == 0 {
            state.closed = true;
        }
        drop(state);
        self.inner.changed.notify_waiters();
    }
}

/// Reads a `MemoryTopic` as one consumer group.
#[derive(Debug)]
pub struct MemorySource {
    inner: Arc<Inner>,
    group: String,
    shutdown: CancellationToken,
    counters: StageCounters,
}

impl MemorySource {
    /// Makes `next_batch` end (return an empty batch) once `shutdown` is cancelled, even
    /// while the topic is still open.
    pub fn with_shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }
}

#[async_trait]
impl RecordSource for MemorySource {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Record>, BusError> {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut guard = self.inner.lock();
                let state = &mut *guard;
                let group = state
                    .groups
                    .get_mut(&self.group)
                    .ok_or_else(|| BusError::fatal("consumer group left the topic"))?;
                if group.fetch_offset < state.next_offset {
                    let start = (group.fetch_offset - state.base_offset) as usize;
                    let batch: Vec<Record> = state
                        .log
                        .iter()
                        .skip(start)
                        .take(max.max(1))
                        .cloned()
                        .collect();
                    for record in &batch {
                        if let Some(position) = record.position {
                            group.acks.delivered(position);
                        }
                    }
                    group.fetch_offset += batch.len() as i64;
                    self.counters.received.inc_by(batch.len() as u64);
                    return Ok(batch);
                }
                if state.closed || self.shutdown.is_cancelled() {
                    return Ok(Vec::new());
                }
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = self.shutdown.cancelled() => {}
            }
        }
    }

    async fn ack(&mut self, positions: &[Position]) -> Result<(), BusError> {
        {
            let mut state = self.inner.lock();
            let group = state
                .groups
                .get_mut(&self.group)
                .ok_or_else(|| BusError::fatal("consumer group left the topic"))?;
            for position in positions {
                group.acks.acked(*position);
            }
            if let Some(next) = group.acks.release().first() {
                group.committed = group.committed.max(next.offset);
            }
            state.trim();
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn close(&mut self) -> Result<(), BusError> {
        Ok(())
    }

    fn topic(&self) -> &str {
        &self.inner.name
    }
}

impl Drop for MemorySource {
    fn drop(&mut self) {
        // Like a Kafka consumer group, the group outlives its member: what was delivered but
        // not acknowledged is delivered again to the next member that subscribes.
        let mut state = self.inner.lock();
        if let Some(group) = state.groups.get_mut(&self.group) {
            group.fetch_offset = group.committed;
            group.acks = OrderedAcks::new();
        }
        drop(state);
        self.inner.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests;
