//! Avro schemas and the single-object codec.
//!
//! Every message on the bus is an Avro *single-object encoding* (Avro spec, "Single object
//! encoding"): the two marker bytes `C3 01`, the 8-byte CRC-64-AVRO (Rabin) fingerprint of the
//! writer schema's canonical form, then the binary datum. A reader looks the fingerprint up
//! among the schema versions it knows and resolves writer against reader schema, so a reader
//! with a newer schema (an added field with a default) reads old data, and data from an
//! unknown writer is rejected with a clear error instead of being misread.
//!
//! The `.avsc` files under `schemas/avro/` each define one named type; top-level schemas refer
//! to the others by full name (`shopwatch.Review`) and [`compose`] inlines the definitions, so
//! a type is written once.

use std::collections::HashMap;
use std::sync::LazyLock;

use apache_avro::rabin::Rabin;
use apache_avro::types::Value;
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use serde::Serialize;

const REVIEW: &str = include_str!("../../avro/review.avsc");
const SHIPMENT: &str = include_str!("../../avro/shipment.avsc");
const LISTING: &str = include_str!("../../avro/listing.avsc");
const SOURCE_HEALTH: &str = include_str!("../../avro/source_health.avsc");
const TEXT_ANALYSIS: &str = include_str!("../../avro/text_analysis.avsc");
/// `shopwatch.RawRecord` as written by this version, before composition.
pub const RAW_RECORD_V1: &str = include_str!("../../avro/raw_record.avsc");
/// `shopwatch.EnrichedEvent` as written by this version, before composition.
pub const ENRICHED_EVENT_V1: &str = include_str!("../../avro/enriched_event.avsc");

/// The named types top-level schemas may refer to.
const NAMED_TYPES: &[&str] = &[REVIEW, SHIPMENT, LISTING, SOURCE_HEALTH, TEXT_ANALYSIS];

/// The two marker bytes of Avro single-object encoding.
const MAGIC: [u8; 2] = [0xC3, 0x01];
const HEADER_LEN: usize = 10;

/// Why a message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("not an avro single-object message (expected marker c3 01, got {found})")]
    NotSingleObject { found: String },
    #[error("unknown writer schema fingerprint {fingerprint}")]
    UnknownWriterSchema { fingerprint: String },
    #[error("malformed avro datum: {reason}")]
    Malformed { reason: String },
    #[error("value does not fit schema {schema}: {reason}")]
    Encode { schema: String, reason: String },
    #[error("invalid schema: {reason}")]
    InvalidSchema { reason: String },
}

impl CodecError {
    fn malformed(error: impl std::fmt::Display) -> Self {
        CodecError::Malformed {
            reason: error.to_string(),
        }
    }
}

/// Inlines the named types that `main` refers to by full name, first use only.
pub fn compose(main: &str, named_types: &[&str]) -> Result<String, CodecError> {
    let invalid = |error: serde_json::Error| CodecError::InvalidSchema {
        reason: error.to_string(),
    };
    let mut definitions = HashMap::new();
    for text in named_types {
        let definition: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        let name = definition["name"].as_str().unwrap_or_default();
        let namespace = definition["namespace"].as_str().unwrap_or_default();
        definitions.insert(format!("{namespace}.{name}"), definition);
    }
    let mut root: serde_json::Value = serde_json::from_str(main).map_err(invalid)?;
    inline_references(&mut root, &mut definitions);
    Ok(root.to_string())
}

fn inline_references(
    node: &mut serde_json::Value,
    definitions: &mut HashMap<String, serde_json::Value>,
) {
    match node {
        serde_json::Value::String(name) => {
            if let Some(definition) = definitions.remove(name.as_str()) {
                *node = definition;
                inline_references(node, definitions);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                inline_references(item, definitions);
            }
        }
        serde_json::Value::Object(map) => {
            for (field, value) in map.iter_mut() {
                // Only type positions can hold references; names and docs are left alone.
                if matches!(field.as_str(), "type" | "items" | "values" | "fields") {
                    inline_references(value, definitions);
                }
            }
        }
        _ => {}
    }
}

/// Parses a top-level schema after composing in the shared named types.
pub fn parse_composed(main: &str) -> Result<Schema, CodecError> {
    let text = compose(main, NAMED_TYPES)?;
    Schema::parse_str(&text).map_err(|error| CodecError::InvalidSchema {
        reason: error.to_string(),
    })
}

/// Returns the 8-byte CRC-64-AVRO fingerprint of a schema's canonical form.
pub fn fingerprint(schema: &Schema) -> [u8; 8] {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    let mut out = [0u8; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

/// Encodes values with one writer schema and decodes any known version into one reader schema.
pub struct AvroCodec {
    name: &'static str,
    schema: Schema,
    fingerprint: [u8; 8],
    writers: HashMap<[u8; 8], Schema>,
}

impl std::fmt::Debug for AvroCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroCodec")
            .field("name", &self.name)
            .field("fingerprint", &hex::encode(self.fingerprint))
            .field("known_writers", &self.writers.len())
            .finish()
    }
}

impl AvroCodec {
    /// Builds a codec that writes `schema` and reads `schema` plus every one of `older`.
    pub fn new(name: &'static str, schema: Schema, older: Vec<Schema>) -> Self {
        let fingerprint = fingerprint(&schema);
        let mut writers: HashMap<[u8; 8], Schema> = older
            .into_iter()
            .map(|writer| (self::fingerprint(&writer), writer))
            .collect();
        writers.insert(fingerprint, schema.clone());
        AvroCodec {
            name,
            schema,
            fingerprint,
            writers,
        }
    }

    /// The codec for [`crate::RawRecord`].
    pub fn raw_record() -> &'static AvroCodec {
        static CODEC: LazyLock<AvroCodec> = LazyLock::new(|| {
            AvroCodec::new("shopwatch.RawRecord", builtin(RAW_RECORD_V1), Vec::new())
        });
        &CODEC
    }

    /// The codec for [`crate::EnrichedEvent`].
    pub fn enriched_event() -> &'static AvroCodec {
        static CODEC: LazyLock<AvroCodec> = LazyLock::new(|| {
            AvroCodec::new(
                "shopwatch.EnrichedEvent",
                builtin(ENRICHED_EVENT_V1),
                Vec::new(),
            )
        });
        &CODEC
    }

    /// Returns the schema this codec writes and reads into.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Returns the writer schema's fingerprint as 16 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }

    /// Encodes `value` as a single-object message.
    ///
    /// Serializes straight into the schema (no intermediate `Value`): every named type in the
    /// composed schemas is defined inline, so no reference needs resolving.
    pub fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        let mut message = Vec::with_capacity(256);
        message.extend_from_slice(&MAGIC);
        message.extend_from_slice(&self.fingerprint);
        apache_avro::write_avro_datum_ref(&self.schema, value, &mut message).map_err(|error| {
            CodecError::Encode {
                schema: self.name.to_owned(),
                reason: error.to_string(),
            }
        })?;
        Ok(message)
    }

    /// Decodes a single-object message written with any schema version this codec knows.
    pub fn decode<T: DeserializeOwned>(&self, message: &[u8]) -> Result<T, CodecError> {
        let value = self.decode_value(message)?;
        apache_avro::from_value(&value).map_err(CodecError::malformed)
    }

    /// Decodes into an Avro value resolved to this codec's schema.
    pub fn decode_value(&self, message: &[u8]) -> Result<Value, CodecError> {
        if message.len() < HEADER_LEN || message[..2] != MAGIC {
            let shown = message.len().min(2);
            return Err(CodecError::NotSingleObject {
                found: hex::encode(&message[..shown]),
            });
        }
        let mut writer_fingerprint = [0u8; 8];
        writer_fingerprint.copy_from_slice(&message[2..HEADER_LEN]);
        let writer = self.writers.get(&writer_fingerprint).ok_or_else(|| {
            CodecError::UnknownWriterSchema {
                fingerprint: hex::encode(writer_fingerprint),
            }
        })?;
        let mut datum = &message[HEADER_LEN..];
        // Resolution against the reader schema is only needed for another writer version;
        // it is costly (apache-avro clones the schemas per datum), so the common case of data
        // written with the current schema is read without it.
        let reader = (writer_fingerprint != self.fingerprint).then_some(&self.schema);
        let value = apache_avro::from_avro_datum(writer, &mut datum, reader)
            .map_err(CodecError::malformed)?;
        if !datum.is_empty() {
            return Err(CodecError::Malformed {
                reason: format!("{} trailing bytes after the datum", datum.len()),
            });
        }
        Ok(value)
    }
}

/// Parses a schema shipped with this crate; they are tested, so failure is a build bug.
fn builtin(main: &str) -> Schema {
    match parse_composed(main) {
        Ok(schema) => schema,
        Err(error) => panic!("built-in avro schema does not parse: {error}"),
    }
}

#[cfg(test)]
mod tests;
