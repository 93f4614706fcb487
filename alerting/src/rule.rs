//! The negative-review rule.
//!
//! Contract: [`NegativeReviewRule::evaluate`] is pure. It fires for a `review.received` event
//! whose rating is one of `ratings`, or whose star score (when present) is at most
//! `max_score`, or whose text has at least `min_keyword_hits` keyword hits. The alert is
//! `critical` when the rating is one of `critical_ratings` or the score is at most
//! `critical_max_score`, else `warning`. It also fires (as `warning`, unless the rating or
//! score makes it critical) when enrich's sentiment model gave the text polarity `neg`; turn
//! that off with [`NegativeReviewRule::with_negative_polarity`]. When the text was analysed,
//! the alert carries the `polarity`, `sentiment` (P(positive), two decimals) and
//! `negative_aspects` annotations. Other events never fire.

use std::collections::BTreeMap;

use schemas::model::event_types;
use schemas::privacy::mask_nick;
use schemas::{EnrichedEvent, Polarity, Review, TextAnalysis};

use crate::alert::{annotations, fingerprint, labels, rating_word, Alert};
use crate::config::NegativeReviewRuleConfig;

/// The `rule` label of `shopwatch_alerts_emitted_total`.
pub const RULE_NAME: &str = "negative_review";
/// The `alertname` label of its alerts.
pub const ALERT_NAME: &str = "NegativeReview";

/// Annotation: the text's polarity (`neg`, `neutral`, `pos`).
pub const ANNOTATION_POLARITY: &str = "polarity";
/// Annotation: P(positive) of the text, two decimals.
pub const ANNOTATION_SENTIMENT: &str = "sentiment";
/// Annotation: the aspects with polarity `neg`, comma-separated.
pub const ANNOTATION_NEGATIVE_ASPECTS: &str = "negative_aspects";

/// Decides whether an event is a negative review worth an alert.
#[derive(Debug, Clone)]
pub struct NegativeReviewRule {
    config: NegativeReviewRuleConfig,
}

impl NegativeReviewRule {
    /// Builds the rule from its config.
    pub fn new(config: NegativeReviewRuleConfig) -> Self {
        NegativeReviewRule { config }
    }

    /// Sets whether a text with polarity `neg` fires on its own (config `negative_polarity`).
    pub fn with_negative_polarity(mut self, fire: bool) -> Self {
        self.config.negative_polarity = fire;
        self
    }

    /// Returns the alert `event` fires, if any.
    pub fn evaluate(&self, event: &EnrichedEvent) -> Option<Alert> {
        if !self.config.enabled || event.event_type != event_types::REVIEW_RECEIVED {
            return None;
        }
        let review = event.review.as_ref()?;
        let keywords: Vec<&str> = event
            .text
            .as_ref()
            .map(|text| text.keywords.iter().map(|hit| hit.word.as_str()).collect())
            .unwrap_or_default();
        let score_fires = |limit: i32| review.score.is_some_and(|score| score <= limit);
        let negative_text = self.config.negative_polarity
            && event
                .text
                .as_ref()
                .is_some_and(|text| text.polarity == Some(Polarity::Negative));
        let fires = self.config.ratings.contains(&review.rating)
            || score_fires(self.config.max_score)
            || (self.config.min_keyword_hits > 0 && keywords.len() >= self.config.min_keyword_hits)
            || negative_text;
        if !fires {
            return None;
        }
        let critical = self.config.critical_ratings.contains(&review.rating)
            || score_fires(self.config.critical_max_score);
        let severity = if critical { "critical" } else { "warning" };
        Some(build_alert(event, review, severity, &keywords))
    }
}

fn build_alert(event: &EnrichedEvent, review: &Review, severity: &str, keywords: &[&str]) -> Alert {
    let mut alert_labels = BTreeMap::new();
    alert_labels.insert(labels::ALERTNAME.to_owned(), ALERT_NAME.to_owned());
    alert_labels.insert(
        labels::PLATFORM.to_owned(),
        event.platform.as_str().to_owned(),
    );
    alert_labels.insert(labels::SHOP_ID.to_owned(), event.shop_id.clone());
    alert_labels.insert(labels::SEVERITY.to_owned(), severity.to_owned());
    if let Some(item_id) = &review.item_id {
        alert_labels.insert(labels::ITEM_ID.to_owned(), item_id.clone());
    }
    alert_labels.insert(labels::RATING.to_owned(), review.rating.as_str().to_owned());

    let mut alert_annotations = BTreeMap::new();
    alert_annotations.insert(annotations::SUMMARY.to_owned(), review.content.clone());
    alert_annotations.insert(
        annotations::DESCRIPTION.to_owned(),
        describe(review, keywords),
    );
    if !keywords.is_empty() {
        alert_annotations.insert(annotations::KEYWORDS.to_owned(), keywords.join(", "));
    }
    if let Some(text) = &event.text {
        annotate_sentiment(text, &mut alert_annotations);
    }
    Alert {
        fingerprint: fingerprint(&alert_labels, &event.event_id),
        labels: alert_labels,
        annotations: alert_annotations,
        starts_at_ms: review.created_at_ms,
        event_id: event.event_id.clone(),
        review_created_at_ms: review.created_at_ms,
    }
}

fn annotate_sentiment(text: &TextAnalysis, alert_annotations: &mut BTreeMap<String, String>) {
    if let Some(polarity) = text.polarity {
        alert_annotations.insert(ANNOTATION_POLARITY.to_owned(), polarity.as_str().to_owned());
    }
    if let Some(sentiment) = text.sentiment {
        alert_annotations.insert(ANNOTATION_SENTIMENT.to_owned(), format!("{sentiment:.2}"));
    }
    let negative: Vec<&str> = text
        .aspects
        .iter()
        .filter(|aspect| aspect.polarity == Polarity::Negative)
        .map(|aspect| aspect.aspect.as_str())
        .collect();
    if !negative.is_empty() {
        alert_annotations.insert(ANNOTATION_NEGATIVE_ASPECTS.to_owned(), negative.join(", "));
    }
}

/// `买家 张** 对商品「保温杯 500ml」(556677) 给出差评（2 星），命中关键词：破损`
fn describe(review: &Review, keywords: &[&str]) -> String {
    let nick = mask_nick(&review.buyer_nick_masked);
    let buyer = if nick.is_empty() {
        "买家".to_owned()
    } else {
        format!("买家 {nick}")
    };
    let subject = match (&review.item_title, &review.item_id) {
        (Some(title), Some(item_id)) => format!("商品「{title}」({item_id})"),
        (Some(title), None) => format!("商品「{title}」"),
        (None, Some(item_id)) => format!("商品 {item_id}"),
        (None, None) => format!("订单 {}", review.order_id),
    };
    let mut sentence = format!(
        "{buyer} 对{subject} 给出{}",
        rating_word(review.rating.as_str())
    );
    if let Some(score) = review.score {
        sentence.push_str(&format!("（{score} 星）"));
    }
    if review.follow_up {
        sentence.push_str("（追评）");
    }
    if !keywords.is_empty() {
        sentence.push_str(&format!("，命中关键词：{}", keywords.join("、")));
    }
    sentence
}

#[cfg(test)]
mod tests;
