//! The event types that cross stage boundaries.
//!
//! Closed vocabularies (platform, kind, rating, statuses) are Rust enums that travel as
//! lowercase strings, so the Avro schemas stay strings and adding a variant never breaks an
//! old reader's schema resolution. Money is integer fen, times are UTC epoch milliseconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{derived_id, EntityKey};
use crate::EpochMillis;

/// Error for a string that is not in a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} {value:?}")]
pub struct UnknownVariant {
    pub vocabulary: &'static str,
    pub value: String,
}

/// Declares a string-valued enum: `as_str`, `FromStr`, `Display`, serde as a string.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $vocabulary:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Returns the wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant { vocabulary: $vocabulary, value: value.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownVariant;
            fn try_from(value: String) -> Result<Self, Self::Error> { value.parse() }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String { value.as_str().to_owned() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// A marketplace a shop sells on.
    Platform, "platform" {
        Taobao = "taobao",
        Tmall = "tmall",
        Pinduoduo = "pinduoduo",
        Jd = "jd",
        Douyin = "douyin",
        Kuaishou = "kuaishou",
        Dangdang = "dangdang",
        Alibaba1688 = "1688",
        Taogongchang = "taogongchang",
        Xiaohongshu = "xiaohongshu",
        Youzan = "youzan",
        Weidian = "weidian",
    }
);

string_enum!(
    /// What an entity is.
    EntityKind, "entity kind" {
        Review = "review",
        Shipment = "shipment",
        Listing = "listing",
        SourceHealth = "source_health",
    }
);

string_enum!(
    /// A review's overall rating as the platforms report it.
    Rating, "rating" {
        Good = "good",
        Neutral = "neutral",
        Bad = "bad",
    }
);

string_enum!(
    /// One normalized parcel status across Kuaidi100, TOP, PDD, JD and AfterShip.
    ShipmentStatus, "shipment status" {
        Pending = "pending",
        InfoReceived = "info_received",
        Collected = "collected",
        InTransit = "in_transit",
        OutForDelivery = "out_for_delivery",
        Delivered = "delivered",
        FailedAttempt = "failed_attempt",
        Exception = "exception",
        Rejected = "rejected",
        Returning = "returning",
        Returned = "returned",
        Lost = "lost",
        Customs = "customs",
        Expired = "expired",
        Unknown = "unknown",
    }
);

string_enum!(
    /// Where a listing stands.
    ListingStatus, "listing status" {
        OnSale = "on_sale",
        Delisted = "delisted",
        SoldOut = "sold_out",
        Deleted = "deleted",
        PendingReview = "pending_review",
        Unknown = "unknown",
    }
);

string_enum!(
    /// What is wrong (or right again) with a data source.
    HealthCondition, "health condition" {
        Ok = "ok",
        Throttled = "throttled",
        TokenExpired = "token_expired",
        Unauthorized = "unauthorized",
        QuotaExhausted = "quota_exhausted",
        ApiFailing = "api_failing",
        PushDown = "push_down",
        ConfigError = "config_error",
    }
);

string_enum!(
    /// A review's sentiment class.
    Polarity, "polarity" {
        Negative = "neg",
        Neutral = "neutral",
        Positive = "pos",
    }
);

/// A buyer's review of one (sub-)order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub order_id: String,
    #[serde(default)]
    pub sub_order_id: Option<String>,
    #[serde(default)]
    pub item_id: Option<String>,
    #[serde(default)]
    pub item_title: Option<String>,
    #[serde(default)]
    pub item_price_fen: Option<i64>,
    pub buyer_nick_masked: String,
    pub rater_role: String,
    pub rating: Rating,
    #[serde(default)]
    pub score: Option<i32>,
    pub content: String,
    #[serde(default)]
    pub reply: Option<String>,
    pub created_at_ms: EpochMillis,
    #[serde(default)]
    pub follow_up: bool,
    #[serde(default)]
    pub valid_score: Option<bool>,
}

/// One line of a parcel's trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub at_ms: EpochMillis,
    pub description: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub raw_status: Option<String>,
}

/// A snapshot of one parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub waybill_no: String,
    pub carrier_code: String,
    #[serde(default)]
    pub carrier_name: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    pub status: ShipmentStatus,
    #[serde(default)]
    pub raw_status: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
    pub last_event_at_ms: EpochMillis,
}

/// One SKU of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sku {
    pub sku_id: String,
    #[serde(default)]
    pub properties: Option<String>,
    #[serde(default)]
    pub price_fen: Option<i64>,
    #[serde(default)]
    pub stock: Option<i64>,
}

/// A snapshot of one item on sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub item_id: String,
    #[serde(default)]
    pub title: Option<String>,
    pub status: ListingStatus,
    #[serde(default)]
    pub raw_status: Option<String>,
    #[serde(default)]
    pub price_fen: Option<i64>,
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub skus: Vec<Sku>,
    #[serde(default)]
    pub modified_at_ms: Option<EpochMillis>,
}

/// The state of one data source for one shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    pub source: String,
    pub condition: HealthCondition,
    #[serde(default)]
    pub error_code: Option<String>,
    pub message: String,
    #[serde(default)]
    pub action_required: bool,
    #[serde(default)]
    pub retry_after_secs: Option<i64>,
    #[serde(default)]
    pub authorize_url: Option<String>,
}

/// One keyword found in a text, with its dictionary category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordHit {
    pub word: String,
    pub category: String,
}

/// The polarity of one aspect (logistics, quality, …) a review talks about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AspectPolarity {
    pub aspect: String,
    pub polarity: Polarity,
}

/// What enrich found in a review's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextAnalysis {
    pub lang: String,
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<KeywordHit>,
    /// Probability that the text is positive; `None` until a model produced it.
    #[serde(default)]
    pub sentiment: Option<f64>,
    #[serde(default)]
    pub polarity: Option<Polarity>,
    #[serde(default)]
    pub aspects: Vec<AspectPolarity>,
}

/// The entity a record carries: exactly one per record, matching its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    Review(Review),
    Shipment(Shipment),
    Listing(Listing),
    SourceHealth(SourceHealth),
}

impl Entity {
    /// Returns the kind of this entity.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Review(_) => EntityKind::Review,
            Entity::Shipment(_) => EntityKind::Shipment,
            Entity::Listing(_) => EntityKind::Listing,
            Entity::SourceHealth(_) => EntityKind::SourceHealth,
        }
    }
}

/// One fact fetched or pushed from a platform (topic `shopwatch.raw.<kind>s`).
///
/// Exactly one of `review`, `shipment`, `listing`, `health` is set, matching `kind`;
/// build records with [`RawRecord::new`] and read the entity with [`RawRecord::entity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRecord {
    pub event_id: String,
    pub platform: Platform,
    pub shop_id: String,
    pub kind: EntityKind,
    pub entity_id: String,
    pub source: String,
    pub occurred_at_ms: EpochMillis,
    pub observed_at_ms: EpochMillis,
    pub payload: String,
    #[serde(default)]
    pub review: Option<Review>,
    #[serde(default)]
    pub shipment: Option<Shipment>,
    #[serde(default)]
    pub listing: Option<Listing>,
    #[serde(default)]
    pub health: Option<SourceHealth>,
}

/// Where a raw record came from and when: everything but the entity itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub platform: Platform,
    pub shop_id: String,
    pub entity_id: String,
    /// The platform's version of the fact; feeds the event id.
    pub version: String,
    pub source: String,
    pub occurred_at_ms: EpochMillis,
    pub observed_at_ms: EpochMillis,
    pub payload: String,
}

impl RawRecord {
    /// Builds a record whose kind, entity field and event id agree by construction.
    pub fn new(provenance: Provenance, entity: Entity) -> Self {
        let key = EntityKey {
            platform: provenance.platform,
            shop_id: provenance.shop_id.clone(),
            kind: entity.kind(),
            entity_id: provenance.entity_id.clone(),
        };
        let mut record = RawRecord {
            event_id: crate::ids::event_id(&key, &provenance.version),
            platform: provenance.platform,
            shop_id: provenance.shop_id,
            kind: entity.kind(),
            entity_id: provenance.entity_id,
            source: provenance.source,
            occurred_at_ms: provenance.occurred_at_ms,
            observed_at_ms: provenance.observed_at_ms,
            payload: provenance.payload,
            review: None,
            shipment: None,
            listing: None,
            health: None,
        };
        match entity {
            Entity::Review(review) => record.review = Some(review),
            Entity::Shipment(shipment) => record.shipment = Some(shipment),
            Entity::Listing(listing) => record.listing = Some(listing),
            Entity::SourceHealth(health) => record.health = Some(health),
        }
        record
    }

    /// Returns the entity key, which is also the Kafka message key.
    pub fn entity_key(&self) -> EntityKey {
        EntityKey {
            platform: self.platform,
            shop_id: self.shop_id.clone(),
            kind: self.kind,
            entity_id: self.entity_id.clone(),
        }
    }

    /// Returns the entity, or `None` when the field matching `kind` is missing (a record
    /// from a buggy or foreign producer: the caller dead-letters it).
    pub fn entity(&self) -> Option<Entity> {
        match self.kind {
            EntityKind::Review => self.review.clone().map(Entity::Review),
            EntityKind::Shipment => self.shipment.clone().map(Entity::Shipment),
            EntityKind::Listing => self.listing.clone().map(Entity::Listing),
            EntityKind::SourceHealth => self.health.clone().map(Entity::SourceHealth),
        }
    }
}

/// What enrich emits (topic `shopwatch.events`): the entity plus what was found in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedEvent {
    pub event_id: String,
    pub source_event_id: String,
    pub event_type: String,
    pub platform: Platform,
    pub shop_id: String,
    pub kind: EntityKind,
    pub entity_id: String,
    pub occurred_at_ms: EpochMillis,
    pub observed_at_ms: EpochMillis,
    pub enriched_at_ms: EpochMillis,
    #[serde(default)]
    pub review: Option<Review>,
    #[serde(default)]
    pub shipment: Option<Shipment>,
    #[serde(default)]
    pub listing: Option<Listing>,
    #[serde(default)]
    pub health: Option<SourceHealth>,
    #[serde(default)]
    pub text: Option<TextAnalysis>,
}

/// Event types enrich emits; the alert rules and the store key on these strings.
pub mod event_types {
    /// A review was seen for the first time.
    pub const REVIEW_RECEIVED: &str = "review.received";
    /// A shipment snapshot was seen.
    pub const SHIPMENT_OBSERVED: &str = "shipment.observed";
    /// A listing snapshot was seen.
    pub const LISTING_OBSERVED: &str = "listing.observed";
    /// A source reported its health.
    pub const SOURCE_HEALTH_REPORTED: &str = "source_health.reported";
}

impl EnrichedEvent {
    /// Builds the event of type `event_type` derived from `raw`, with a deterministic id.
    pub fn from_raw(
        raw: &RawRecord,
        event_type: &str,
        enriched_at_ms: EpochMillis,
        text: Option<TextAnalysis>,
    ) -> Self {
        EnrichedEvent {
            event_id: derived_id(&[&raw.event_id, event_type]),
            source_event_id: raw.event_id.clone(),
            event_type: event_type.to_owned(),
            platform: raw.platform,
            shop_id: raw.shop_id.clone(),
            kind: raw.kind,
            entity_id: raw.entity_id.clone(),
            occurred_at_ms: raw.occurred_at_ms,
            observed_at_ms: raw.observed_at_ms,
            enriched_at_ms,
            review: raw.review.clone(),
            shipment: raw.shipment.clone(),
            listing: raw.listing.clone(),
            health: raw.health.clone(),
            text,
        }
    }

    /// Returns the entity key, which is also the Kafka message key.
    pub fn entity_key(&self) -> EntityKey {
        EntityKey {
            platform: self.platform,
            shop_id: self.shop_id.clone(),
            kind: self.kind,
            entity_id: self.entity_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip_through_their_spelling() {
        for platform in Platform::ALL {
            assert_eq!(platform.as_str().parse::<Platform>(), Ok(*platform));
        }
        for status in ShipmentStatus::ALL {
            assert_eq!(status.as_str().parse::<ShipmentStatus>(), Ok(*status));
        }
        let error = "amazon".parse::<Platform>().unwrap_err();
        assert_eq!(error.to_string(), "unknown platform \"amazon\"");
    }

    #[test]
    fn new_record_sets_the_entity_field_matching_its_kind() {
        let health = SourceHealth {
            source: "top".into(),
            condition: HealthCondition::TokenExpired,
            error_code: Some("27".into()),
            message: "Invalid Session".into(),
            action_required: true,
            retry_after_secs: None,
            authorize_url: None,
        };
        let record = RawRecord::new(
            Provenance {
                platform: Platform::Taobao,
                shop_id: "123".into(),
                entity_id: "top".into(),
                version: "1".into(),
                source: "top:taobao.traderates.get".into(),
                occurred_at_ms: 1,
                observed_at_ms: 2,
                payload: "{}".into(),
            },
            Entity::SourceHealth(health.clone()),
        );
        assert_eq!(record.kind, EntityKind::SourceHealth);
        assert_eq!(record.entity(), Some(Entity::SourceHealth(health)));
        assert_eq!(
            record.entity_key().to_string(),
            "taobao/123/source_health/top"
        );
    }
}
