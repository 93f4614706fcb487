//! The unit the bus carries.

/// Where a consumed record sits in its topic; `None` on records about to be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// One message: a key (the entity key, which picks the partition), an encoded payload and
/// string headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub position: Option<Position>,
}

/// Header names the bus itself writes.
pub mod headers {
    /// Why a record was dead-lettered.
    pub const DLQ_REASON: &str = "shopwatch.dlq.reason";
    /// The topic it was read from.
    pub const DLQ_TOPIC: &str = "shopwatch.dlq.topic";
    /// Its partition there.
    pub const DLQ_PARTITION: &str = "shopwatch.dlq.partition";
    /// Its offset there.
    pub const DLQ_OFFSET: &str = "shopwatch.dlq.offset";
    /// The stage that gave up on it.
    pub const DLQ_STAGE: &str = "shopwatch.dlq.stage";
}

impl Record {
    /// Builds a record to produce.
    pub fn new(key: impl Into<String>, payload: Vec<u8>) -> Self {
        Record {
            key: key.into(),
            payload,
            headers: Vec::new(),
            position: None,
        }
    }

    /// Returns the first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the record to send to the dead-letter topic: same key and payload, the
    /// reason and origin in headers, so nothing of the bad record is lost.
    pub fn to_dead_letter(&self, topic: &str, stage: &str, reason: &str) -> Record {
        let mut headers = self.headers.clone();
        headers.push((headers::DLQ_REASON.into(), reason.into()));
        headers.push((headers::DLQ_TOPIC.into(), topic.into()));
        headers.push((headers::DLQ_STAGE.into(), stage.into()));
        if let Some(position) = self.position {
            headers.push((
                headers::DLQ_PARTITION.into(),
                position.partition.to_string(),
            ));
            headers.push((headers::DLQ_OFFSET.into(), position.offset.to_string()));
        }
        Record {
            key: self.key.clone(),
            payload: self.payload.clone(),
            headers,
            position: None,
        }
    }
}
