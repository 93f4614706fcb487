//! Entity keys and deterministic event ids.
//!
//! An entity key names one thing a platform knows about (`taobao/123/review/9876`); it is the
//! Kafka message key, so every snapshot of one entity lands in one partition in order.
//! An event id names one *fact* about that entity: the same platform data always yields the
//! same id, so a replayed window or a retried send is recognised by every sink.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::model::{EntityKind, Platform};

/// `platform/shop_id/kind/entity_id`: the identity of one entity across all stages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityKey {
    pub platform: Platform,
    pub shop_id: String,
    pub kind: EntityKind,
    pub entity_id: String,
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.platform.as_str(),
            self.shop_id,
            self.kind.as_str(),
            self.entity_id
        )
    }
}

/// Returns the event id of the fact `version` about the entity `key`.
///
/// `version` is whatever the platform uses to tell two states of the entity apart (a review's
/// creation time, a trace's last checkpoint, a listing's modification time). The id is the
/// first 128 bits of a SHA-256 over the parts, separated by a byte that cannot occur in them,
/// as 32 lowercase hex digits.
pub fn event_id(key: &EntityKey, version: &str) -> String {
    derived_id(&[
        key.platform.as_str(),
        &key.shop_id,
        key.kind.as_str(),
        &key.entity_id,
        version,
    ])
}

/// Returns a deterministic id for a value derived from other ids (e.g. an enriched event
/// from its raw record and event type).
pub fn derived_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update([0x1f]);
        }
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EntityKey {
        EntityKey {
            platform: Platform::Taobao,
            shop_id: "123".into(),
            kind: EntityKind::Review,
            entity_id: "9876".into(),
        }
    }

    #[test]
    fn key_displays_as_slash_path() {
        assert_eq!(key().to_string(), "taobao/123/review/9876");
    }

    #[test]
    fn event_id_is_deterministic_and_sensitive_to_every_part() {
        let base = event_id(&key(), "2026-01-01 10:00:00");
        assert_eq!(base, event_id(&key(), "2026-01-01 10:00:00"));
        assert_eq!(base.len(), 32);
        assert_ne!(base, event_id(&key(), "2026-01-01 10:00:01"));
        let mut other = key();
        other.shop_id = "124".into();
        assert_ne!(base, event_id(&other, "2026-01-01 10:00:00"));
        // The separator keeps "1" + "23" apart from "12" + "3".
        assert_ne!(derived_id(&["1", "23"]), derived_id(&["12", "3"]));
    }
}
