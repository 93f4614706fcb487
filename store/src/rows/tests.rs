use schemas::{samples, Listing, Polarity, Review, Shipment, SourceHealth};

use super::*;

fn events() -> Vec<EnrichedEvent> {
    crate::test_support::sample_events()
}

#[test]
fn every_kind_gets_an_events_row_with_its_entity_as_json() {
    let events = events();
    let rows = rows(&events).unwrap();
    assert_eq!(rows.events.len(), 4);
    assert_eq!(rows.duplicate_events, 0);
    assert_eq!(rows.duplicate_reviews, 0);
    let kinds: Vec<&str> = rows.events.iter().map(|row| row.kind.as_str()).collect();
    assert_eq!(kinds, ["review", "shipment", "listing", "source_health"]);

    let review: Review = serde_json::from_str(&rows.events[0].entity_json).unwrap();
    assert_eq!(review, samples::review());
    let shipment: Shipment = serde_json::from_str(&rows.events[1].entity_json).unwrap();
    assert_eq!(shipment, samples::shipment());
    let listing: Listing = serde_json::from_str(&rows.events[2].entity_json).unwrap();
    assert_eq!(listing, samples::listing());
    let health: SourceHealth = serde_json::from_str(&rows.events[3].entity_json).unwrap();
    assert_eq!(health, samples::source_health());

    let first = &rows.events[0];
    assert_eq!(first.event_id, events[0].event_id);
    assert_eq!(first.source_event_id, events[0].source_event_id);
    assert_eq!(first.event_type, "review.received");
    assert_eq!(first.platform, "taobao");
    assert_eq!(first.shop_id, "123");
    assert_eq!(first.entity_id, "1001-1");
    assert_eq!(first.occurred_at_ms, 1_767_240_000_000);
    assert_eq!(first.observed_at_ms, 1_767_240_001_500);
    assert_eq!(first.enriched_at_ms, 1_767_240_002_000);
    let analysis: schemas::TextAnalysis = serde_json::from_str(&first.analysis_json).unwrap();
    assert_eq!(Some(analysis), events[0].text);
    // Events without a text analysis store an empty string.
    assert_eq!(rows.events[1].analysis_json, "");
}

#[test]
fn only_review_received_events_get_a_reviews_row() {
    let events = events();
    let rows = rows(&events).unwrap();
    assert_eq!(rows.reviews.len(), 1);
    // The sample events other than the first are `test.event`; a review event of another
    // type (e.g. a reply update) is in `events` only.
    let other_type = &samples::enriched_events()[0];
    assert_eq!(review_row(other_type), None);
}

#[test]
fn review_columns_come_from_the_review_and_its_analysis() {
    let mut event = events().remove(0);
    if let Some(text) = event.text.as_mut() {
        text.sentiment = Some(0.125);
        text.polarity = Some(Polarity::Negative);
    }
    let row = review_row(&event).unwrap();
    assert_eq!(
        row,
        ReviewRow {
            event_id: event.event_id.clone(),
            platform: "taobao".into(),
            shop_id: "123".into(),
            order_id: "1001".into(),
            sub_order_id: "1001-1".into(),
            item_id: "556677".into(),
            item_title: "保温杯 500ml".into(),
            item_price_fen: Some(12_850),
            buyer_nick_masked: "张**".into(),
            rating: "bad".into(),
            score: None,
            content: "快递太慢了，包装破损".into(),
            reply: "亲，非常抱歉".into(),
            created_at_ms: 1_767_240_000_000,
            follow_up: 0,
            tokens: vec!["快递".into(), "太慢".into(), "包装".into(), "破损".into()],
            keyword_words: vec!["破损".into()],
            keyword_categories: vec!["default".into()],
            aspect_names: vec!["packaging".into()],
            aspect_polarities: vec!["neg".into()],
            sentiment: Some(0.125),
            polarity: Some("neg".into()),
            lang: "zh".into(),
            enriched_at_ms: 1_767_240_002_000,
        }
    );

    // Without an analysis and with the optional review fields absent.
    event.text = None;
    if let Some(review) = event.review.as_mut() {
        review.sub_order_id = None;
        review.item_price_fen = None;
        review.reply = None;
        review.follow_up = true;
        review.score = Some(5);
    }
    let row = review_row(&event).unwrap();
    assert_eq!(row.sub_order_id, "");
    assert_eq!(row.item_price_fen, None);
    assert_eq!(row.reply, "");
    assert_eq!(row.follow_up, 1);
    assert_eq!(row.score, Some(5));
    assert!(row.tokens.is_empty());
    assert_eq!(row.sentiment, None);
    assert_eq!(row.polarity, None);
    assert_eq!(row.lang, "");
}

#[test]
fn duplicates_inside_a_batch_are_dropped_and_counted() {
    let mut batch = events();
    batch.push(batch[0].clone());
    batch.push(batch[2].clone());
    let rows = rows(&batch).unwrap();
    assert_eq!(rows.events.len(), 4);
    assert_eq!(rows.reviews.len(), 1);
    assert_eq!(rows.duplicate_events, 2);
    assert_eq!(rows.duplicate_reviews, 1);
}

#[test]
fn events_without_their_entity_are_bad_data() {
    let mut event = events().remove(1);
    event.shipment = None;
    let error = check(&event).unwrap_err();
    assert!(error.is_bad_data());
    assert_eq!(
        error.to_string(),
        format!(
            "bad event {}: kind shipment but no shipment entity",
            event.event_id
        )
    );
    // One bad event fails the whole batch before anything is built.
    let mut batch = events();
    batch.push(event);
    assert!(rows(&batch).unwrap_err().is_bad_data());

    let mut wrong_kind = events().remove(3);
    wrong_kind.event_type = event_types::REVIEW_RECEIVED.into();
    assert!(check(&wrong_kind).unwrap_err().is_bad_data());

    let mut no_id = events().remove(0);
    no_id.event_id.clear();
    assert_eq!(
        check(&no_id).unwrap_err().to_string(),
        "bad event : empty event_id"
    );
}
