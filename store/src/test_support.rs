//! Events for the unit tests of this crate.

use schemas::{event_types, samples, EnrichedEvent};

/// The four sample events (review, shipment, listing, source health), the review one as a
/// `review.received` event.
pub(crate) fn sample_events() -> Vec<EnrichedEvent> {
    let raws = samples::raw_records();
    let mut events = samples::enriched_events();
    events[0] = EnrichedEvent::from_raw(
        &raws[0],
        event_types::REVIEW_RECEIVED,
        1_767_240_002_000,
        events[0].text.clone(),
    );
    events
}

/// `count` distinct `review.received` events for one shop, ids `…-0`, `…-1`, …
pub(crate) fn many_reviews(count: usize) -> Vec<EnrichedEvent> {
    let template = sample_events().remove(0);
    (0..count)
        .map(|index| {
            let mut event = template.clone();
            event.event_id = format!("{}-{index}", template.event_id);
            event.entity_id = format!("{}-{index}", template.entity_id);
            if let Some(review) = event.review.as_mut() {
                review.created_at_ms += index as i64 * 60_000;
            }
            event
        })
        .collect()
}
