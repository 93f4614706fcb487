//! How an `EnrichedEvent` becomes table rows; both backends take their values from here.
//!
//! - `events`: one [`EventRow`] per event, with the entity and the text analysis as JSON text
//!   (`entity_json`, `analysis_json`; the latter is `""` when there is none).
//! - `reviews`: one [`ReviewRow`] per `review.received` event. Optional text fields of the
//!   review (`sub_order_id`, `item_id`, `item_title`, `reply`) are stored as `""` when absent,
//!   optional numbers as NULL. Keywords and aspects become parallel arrays
//!   (`keyword_words[i]` belongs to `keyword_categories[i]`).
//!
//! Times stay epoch milliseconds (`Int64`); ClickHouse derives its `DateTime` columns from
//! them on the server.

use std::collections::HashSet;

use schemas::{event_types, EnrichedEvent, EntityKind};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// One row of `events`. Field names are the column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct EventRow {
    pub event_id: String,
    pub source_event_id: String,
    pub event_type: String,
    pub platform: String,
    pub shop_id: String,
    pub kind: String,
    pub entity_id: String,
    pub occurred_at_ms: i64,
    pub observed_at_ms: i64,
    pub enriched_at_ms: i64,
    /// The review, shipment, listing or source health as JSON.
    pub entity_json: String,
    /// The `TextAnalysis` as JSON, `""` when the event has none.
    pub analysis_json: String,
}

/// One row of `reviews`. Field names are the column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct ReviewRow {
    pub event_id: String,
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    pub sub_order_id: String,
    pub item_id: String,
    pub item_title: String,
    pub item_price_fen: Option<i64>,
    pub buyer_nick_masked: String,
    pub rating: String,
    pub score: Option<i32>,
    pub content: String,
    pub reply: String,
    pub created_at_ms: i64,
    /// 1 for a follow-up review (追评), else 0.
    pub follow_up: u8,
    pub tokens: Vec<String>,
    pub keyword_words: Vec<String>,
    pub keyword_categories: Vec<String>,
    pub aspect_names: Vec<String>,
    pub aspect_polarities: Vec<String>,
    /// Probability that the text is positive; NULL until a model produced it.
    pub sentiment: Option<f64>,
    /// `neg`, `neutral` or `pos`; NULL when unknown.
    pub polarity: Option<String>,
    /// Language of the text, `""` when the event has no text analysis.
    pub lang: String,
    pub enriched_at_ms: i64,
}

/// The rows of one batch, without duplicate event ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub events: Vec<EventRow>,
    pub reviews: Vec<ReviewRow>,
    /// Events dropped because an earlier event of the same batch had the same id.
    pub duplicate_events: usize,
    /// Of those, the ones that would have had a `reviews` row.
    pub duplicate_reviews: usize,
}

/// Checks that `event` can be stored: it has an id, and carries the entity its kind names.
pub fn check(event: &EnrichedEvent) -> Result<()> {
    if event.event_id.is_empty() {
        return Err(StoreError::bad_data("", "empty event_id"));
    }
    let has_entity = match event.kind {
        EntityKind::Review => event.review.is_some(),
        EntityKind::Shipment => event.shipment.is_some(),
        EntityKind::Listing => event.listing.is_some(),
        EntityKind::SourceHealth => event.health.is_some(),
    };
    if !has_entity {
        return Err(StoreError::bad_data(
            &event.event_id,
            format!("kind {} but no {} entity", event.kind, event.kind),
        ));
    }
    if event.event_type == event_types::REVIEW_RECEIVED && event.kind != EntityKind::Review {
        return Err(StoreError::bad_data(
            &event.event_id,
            format!("{} event of kind {}", event.event_type, event.kind),
        ));
    }
    Ok(())
}

/// Builds the rows of `events`, keeping the first of several events with one id.
pub fn rows(events: &[EnrichedEvent]) -> Result<Rows> {
    let mut seen = HashSet::with_capacity(events.len());
    let mut rows = Rows::default();
    for event in events {
        check(event)?;
        if !seen.insert(event.event_id.as_str()) {
            rows.duplicate_events += 1;
            if event.event_type == event_types::REVIEW_RECEIVED {
                rows.duplicate_reviews += 1;
            }
            continue;
        }
        rows.events.push(event_row(event)?);
        if let Some(review) = review_row(event) {
            rows.reviews.push(review);
        }
    }
    Ok(rows)
}

/// Builds the `events` row of a checked event.
pub fn event_row(event: &EnrichedEvent) -> Result<EventRow> {
    let entity_json = match event.kind {
        EntityKind::Review => to_json(event, &event.review)?,
        EntityKind::Shipment => to_json(event, &event.shipment)?,
        EntityKind::Listing => to_json(event, &event.listing)?,
        EntityKind::SourceHealth => to_json(event, &event.health)?,
    };
    let analysis_json = match &event.text {
        Some(text) => to_json(event, text)?,
        None => String::new(),
    };
    Ok(EventRow {
        event_id: event.event_id.clone(),
        source_event_id: event.source_event_id.clone(),
        event_type: event.event_type.clone(),
        platform: event.platform.as_str().to_owned(),
        shop_id: event.shop_id.clone(),
        kind: event.kind.as_str().to_owned(),
        entity_id: event.entity_id.clone(),
        occurred_at_ms: event.occurred_at_ms,
        observed_at_ms: event.observed_at_ms,
        enriched_at_ms: event.enriched_at_ms,
        entity_json,
        analysis_json,
    })
}

/// Builds the `reviews` row of a `review.received` event; `None` for every other event.
pub fn review_row(event: &EnrichedEvent) -> Option<ReviewRow> {
    if event.event_type != event_types::REVIEW_RECEIVED {
        return None;
    }
    let review = event.review.as_ref()?;
    let text = event.text.as_ref();
    let keywords = text
        .map(|text| text.keywords.as_slice())
        .unwrap_or_default();
    let aspects = text.map(|text| text.aspects.as_slice()).unwrap_or_default();
    Some(ReviewRow {
        event_id: event.event_id.clone(),
        platform: event.platform.as_str().to_owned(),
        shop_id: event.shop_id.clone(),
        order_id: review.order_id.clone(),
        sub_order_id: review.sub_order_id.clone().unwrap_or_default(),
        item_id: review.item_id.clone().unwrap_or_default(),
        item_title: review.item_title.clone().unwrap_or_default(),
        item_price_fen: review.item_price_fen,
        buyer_nick_masked: review.buyer_nick_masked.clone(),
        rating: review.rating.as_str().to_owned(),
        score: review.score,
        content: review.content.clone(),
        reply: review.reply.clone().unwrap_or_default(),
        created_at_ms: review.created_at_ms,
        follow_up: u8::from(review.follow_up),
        tokens: text.map(|text| text.tokens.clone()).unwrap_or_default(),
        keyword_words: keywords.iter().map(|hit| hit.word.clone()).collect(),
        keyword_categories: keywords.iter().map(|hit| hit.category.clone()).collect(),
        aspect_names: aspects.iter().map(|aspect| aspect.aspect.clone()).collect(),
        aspect_polarities: aspects
            .iter()
            .map(|aspect| aspect.polarity.as_str().to_owned())
            .collect(),
        sentiment: text.and_then(|text| text.sentiment),
        polarity: text
            .and_then(|text| text.polarity)
            .map(|polarity| polarity.as_str().to_owned()),
        lang: text.map(|text| text.lang.clone()).unwrap_or_default(),
        enriched_at_ms: event.enriched_at_ms,
    })
}

fn to_json<T: Serialize>(event: &EnrichedEvent, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| {
        StoreError::bad_data(&event.event_id, format!("not serializable: {error}"))
    })
}

#[cfg(test)]
mod tests;
