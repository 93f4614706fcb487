//! The normalized event model that every stage speaks, and its wire format.
//!
//! # Layout
//! - [`model`]: the event types (`RawRecord`, `EnrichedEvent` and the entity kinds
//!   `Review`, `Shipment`, `Listing`, `SourceHealth`) and their closed vocabularies.
//! - [`ids`]: entity keys (`platform/shop_id/kind/entity_id`) and deterministic event ids.
//! - [`avro`]: the Avro schemas under `schemas/avro/` and the single-object codec, in which
//!   every message names its writer schema by fingerprint.
//! - [`privacy`]: masking of buyer identifiers, applied before a record leaves ingest.
//!
//! **Invariant:** this crate does no I/O. It is pure data and pure functions, so every
//! other crate can depend on it without linking a client library.

pub mod avro;
pub mod ids;
pub mod model;
pub mod privacy;
pub mod samples;
pub mod secret;

pub use avro::{AvroCodec, CodecError};
pub use ids::{event_id, EntityKey};
pub use model::*;
pub use secret::Secret;

/// Milliseconds since the Unix epoch, the one time unit on the wire.
pub type EpochMillis = i64;
