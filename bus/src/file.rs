//! A sink that appends records to a JSON-lines file: the embedded mode's dead-letter queue.
//!
//! Each line holds the key, the headers, the payload as hex (it may not be UTF-8: it was
//! undecodable) and, for reading, the payload as lossy UTF-8. `send_batch` returns after the
//! lines are flushed and synced, so a dead letter is as durable as a Kafka one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::{BusError, Record, RecordSink};

/// Appends records to one file.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    topic: String,
    lock: Mutex<()>,
}

impl FileSink {
    /// Creates a sink appending to `path` (created on first write), named `topic` in logs.
    pub fn new(path: impl AsRef<Path>, topic: impl Into<String>) -> Self {
        FileSink {
            path: path.as_ref().to_path_buf(),
            topic: topic.into(),
            lock: Mutex::new(()),
        }
    }

    /// Returns the file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, records: &[Record]) -> std::io::Result<()> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        for record in records {
            let headers: serde_json::Map<String, serde_json::Value> = record
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
                .collect();
            let line = serde_json::json!({
                "key": record.key,
                "headers": headers,
                "payload_hex": hex::encode(&record.payload),
                "payload_text": String::from_utf8_lossy(&record.payload),
            });
            writeln!(file, "{line}")?;
        }
        file.sync_data()
    }
}

#[async_trait]
impl RecordSink for FileSink {
    async fn send_batch(&self, records: Vec<Record>) -> Result<(), BusError> {
        self.append(&records).map_err(|error| {
            BusError::transient(format!("cannot append to {}: {error}", self.path.display()))
        })
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}
