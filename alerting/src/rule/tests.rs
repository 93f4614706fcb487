use schemas::{samples, KeywordHit, Polarity, Rating, TextAnalysis};

use super::*;
use crate::alert::{format_alert_line, shanghai_time};

fn event(rating: Rating, score: Option<i32>, keywords: &[&str]) -> EnrichedEvent {
    let raw = &samples::raw_records()[0];
    let mut event = EnrichedEvent::from_raw(
        raw,
        event_types::REVIEW_RECEIVED,
        1_767_240_002_000,
        Some(TextAnalysis {
            lang: "zh".into(),
            tokens: Vec::new(),
            keywords: keywords
                .iter()
                .map(|word| KeywordHit {
                    word: (*word).into(),
                    category: "default".into(),
                })
                .collect(),
            sentiment: None,
            polarity: None,
            aspects: Vec::new(),
        }),
    );
    let review = event.review.as_mut().expect("sample has a review");
    review.rating = rating;
    review.score = score;
    event
}

/// rating, score, keyword hits, expected severity (`None`: no alert).
type Case = (
    Rating,
    Option<i32>,
    &'static [&'static str],
    Option<&'static str>,
);

fn severity(rule: &NegativeReviewRule, event: &EnrichedEvent) -> Option<String> {
    rule.evaluate(event)
        .map(|alert| alert.label(labels::SEVERITY).to_owned())
}

#[test]
fn truth_table_with_default_config() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let cases: &[Case] = &[
        (Rating::Bad, None, &[], Some("critical")),
        (Rating::Neutral, None, &[], Some("warning")),
        (Rating::Good, None, &[], None),
        (Rating::Good, Some(5), &[], None),
        (Rating::Good, Some(3), &[], None),
        (Rating::Good, Some(2), &[], Some("warning")),
        (Rating::Good, Some(1), &[], Some("critical")),
        (Rating::Neutral, Some(1), &[], Some("critical")),
        (Rating::Good, None, &["破损"], Some("warning")),
        (Rating::Good, Some(5), &["破损", "差评"], Some("warning")),
        (Rating::Bad, Some(4), &["破损"], Some("critical")),
    ];
    for (rating, score, keywords, expected) in cases {
        assert_eq!(
            severity(&rule, &event(*rating, *score, keywords)).as_deref(),
            *expected,
            "rating {rating} score {score:?} keywords {keywords:?}"
        );
    }
}

#[test]
fn only_review_received_events_fire() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let mut other = event(Rating::Bad, Some(1), &["破损"]);
    other.event_type = "review.updated".into();
    assert_eq!(rule.evaluate(&other), None);
    let mut without_review = event(Rating::Bad, None, &[]);
    without_review.review = None;
    assert_eq!(rule.evaluate(&without_review), None);
    let mut without_text = event(Rating::Good, None, &[]);
    without_text.text = None;
    assert_eq!(rule.evaluate(&without_text), None);
}

#[test]
fn configured_rule_changes_what_fires_and_how_severe() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig {
        ratings: vec![Rating::Bad],
        max_score: 0,
        min_keyword_hits: 2,
        critical_ratings: Vec::new(),
        critical_max_score: 0,
        ..NegativeReviewRuleConfig::default()
    });
    assert_eq!(severity(&rule, &event(Rating::Neutral, None, &[])), None);
    assert_eq!(severity(&rule, &event(Rating::Good, Some(1), &[])), None);
    assert_eq!(severity(&rule, &event(Rating::Good, None, &["破损"])), None);
    assert_eq!(
        severity(&rule, &event(Rating::Good, None, &["破损", "假货"])).as_deref(),
        Some("warning")
    );
    assert_eq!(
        severity(&rule, &event(Rating::Bad, Some(1), &[])).as_deref(),
        Some("warning")
    );

    let disabled = NegativeReviewRule::new(NegativeReviewRuleConfig {
        enabled: false,
        ..NegativeReviewRuleConfig::default()
    });
    assert_eq!(
        disabled.evaluate(&event(Rating::Bad, Some(1), &["破损"])),
        None
    );
}

#[test]
fn alert_carries_labels_annotations_and_a_stable_fingerprint() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let source = event(Rating::Bad, None, &["破损"]);
    let alert = rule.evaluate(&source).expect("bad review fires");
    let label_pairs: Vec<(&str, &str)> = alert
        .labels
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        label_pairs,
        [
            ("alertname", "NegativeReview"),
            ("item_id", "556677"),
            ("platform", "taobao"),
            ("rating", "bad"),
            ("severity", "critical"),
            ("shop_id", "123"),
        ]
    );
    assert_eq!(alert.annotation("summary"), "快递太慢了，包装破损");
    assert_eq!(
        alert.annotation("description"),
        "买家 张** 对商品「保温杯 500ml」(556677) 给出差评，命中关键词：破损"
    );
    assert_eq!(alert.annotation("keywords"), "破损");
    assert_eq!(alert.starts_at_ms, 1_767_240_000_000);
    assert_eq!(alert.review_created_at_ms, 1_767_240_000_000);
    assert_eq!(alert.event_id, source.event_id);

    assert_eq!(alert.fingerprint.len(), 16);
    assert!(alert.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        rule.evaluate(&source).unwrap().fingerprint,
        alert.fingerprint
    );
    assert_eq!(
        alert.fingerprint,
        crate::alert::fingerprint(&alert.labels, &alert.event_id)
    );
    assert_ne!(
        crate::alert::fingerprint(&alert.labels, "another-event"),
        alert.fingerprint
    );
    let warning = rule
        .evaluate(&event(Rating::Neutral, None, &["破损"]))
        .unwrap();
    assert_ne!(warning.fingerprint, alert.fingerprint);
}

#[test]
fn description_reads_well_without_title_or_item_and_masks_the_nick() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let mut source = event(Rating::Neutral, Some(2), &[]);
    let review = source.review.as_mut().unwrap();
    review.item_title = None;
    review.item_id = None;
    review.buyer_nick_masked = "李四光".into();
    review.follow_up = true;
    let alert = rule.evaluate(&source).unwrap();
    assert_eq!(
        alert.annotation("description"),
        "买家 李** 对订单 1001 给出中评（2 星）（追评）"
    );
    assert!(!alert.labels.contains_key("item_id"));
    assert!(!alert.annotations.contains_key("keywords"));
}

#[test]
fn alert_line_shows_shanghai_time() {
    // 2026-01-01T04:00:00Z is 12:00 in Shanghai (UTC+8, no DST).
    assert_eq!(shanghai_time(1_767_240_000_000), "2026-01-01 12:00:00 CST");
    // 17:00 UTC on New Year's Eve is already the next day in Shanghai.
    assert_eq!(shanghai_time(1_767_200_400_000), "2026-01-01 01:00:00 CST");
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let mut source = event(Rating::Bad, None, &["破损", "差评"]);
    source.review.as_mut().unwrap().content =
        "快递太慢了，包装破损，\n杯子还漏水，客服一直不回消息，真的非常失望，再也不会买了".into();
    let alert = rule.evaluate(&source).unwrap();
    assert_eq!(
        format_alert_line(&alert),
        format!(
            "2026-01-01 12:00:00 CST [critical] NegativeReview taobao/123 item 556677 差评 \
             \"快递太慢了，包装破损， 杯子还漏水，客服一直不回消息，真的…\" \
             keywords: 破损, 差评 fp:{}…",
            &alert.fingerprint[..8]
        )
    );
}

fn analysed(rating: Rating, sentiment: f64, polarity: Polarity) -> EnrichedEvent {
    let mut source = event(rating, None, &[]);
    let text = source.text.as_mut().expect("event has a text analysis");
    text.sentiment = Some(sentiment);
    text.polarity = Some(polarity);
    text.aspects = vec![
        schemas::AspectPolarity {
            aspect: "quality".into(),
            polarity: Polarity::Positive,
        },
        schemas::AspectPolarity {
            aspect: "logistics".into(),
            polarity: Polarity::Negative,
        },
        schemas::AspectPolarity {
            aspect: "packaging".into(),
            polarity: Polarity::Negative,
        },
    ];
    source
}

#[test]
fn negative_polarity_fires_as_warning_unless_turned_off() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let negative = analysed(Rating::Good, 0.12, Polarity::Negative);
    assert_eq!(severity(&rule, &negative).as_deref(), Some("warning"));
    assert_eq!(
        severity(&rule, &analysed(Rating::Good, 0.5, Polarity::Neutral)),
        None
    );
    assert_eq!(
        severity(&rule, &analysed(Rating::Good, 0.9, Polarity::Positive)),
        None
    );
    assert_eq!(
        severity(&rule, &analysed(Rating::Bad, 0.12, Polarity::Negative)).as_deref(),
        Some("critical")
    );
    let off =
        NegativeReviewRule::new(NegativeReviewRuleConfig::default()).with_negative_polarity(false);
    assert_eq!(severity(&off, &negative), None);
    assert_eq!(
        severity(&off, &analysed(Rating::Bad, 0.12, Polarity::Negative)).as_deref(),
        Some("critical")
    );
}

#[test]
fn alert_carries_polarity_sentiment_and_negative_aspects() {
    let rule = NegativeReviewRule::new(NegativeReviewRuleConfig::default());
    let alert = rule
        .evaluate(&analysed(Rating::Good, 0.123, Polarity::Negative))
        .expect("negative text fires");
    assert_eq!(alert.annotation(ANNOTATION_POLARITY), "neg");
    assert_eq!(alert.annotation(ANNOTATION_SENTIMENT), "0.12");
    assert_eq!(
        alert.annotation(ANNOTATION_NEGATIVE_ASPECTS),
        "logistics, packaging"
    );
    // Without an analysis there is nothing to annotate.
    let plain = rule.evaluate(&event(Rating::Bad, None, &[])).unwrap();
    assert!(!plain.annotations.contains_key(ANNOTATION_POLARITY));
    assert!(!plain.annotations.contains_key(ANNOTATION_NEGATIVE_ASPECTS));
}
