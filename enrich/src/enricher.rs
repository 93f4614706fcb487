//! The text analysis and the record → event mapping: synchronous and pure.
//!
//! Contract of [`Enricher::enrich`]: the same record and `enriched_at_ms` always give the same
//! event (its `event_id` does not even depend on the time), so replays are harmless. Reviews
//! become `review.received` events with a [`TextAnalysis`]; shipments, listings and source
//! health pass through as `shipment.observed`, `listing.observed` and
//! `source_health.reported` without one.

use std::sync::Arc;

use schemas::model::event_types;
use schemas::{EnrichedEvent, EntityKind, RawRecord, TextAnalysis};

use crate::aspects::AspectMatcher;
use crate::config::EnrichConfig;
use crate::error::EnrichError;
use crate::keywords::KeywordMatcher;
use crate::segment::{JiebaSegmenter, Segmenter};
use crate::sentiment::{builtin_model, extract, Sentiment, SentimentModel};
use crate::text::{is_cjk_ideograph, is_word};

/// Segments text, finds keywords and maps raw records to enriched events.
#[derive(Clone)]
pub struct Enricher {
    segmenter: Arc<dyn Segmenter>,
    keywords: KeywordMatcher,
    sentiment: Sentiment,
    aspects: AspectMatcher,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("keywords", &self.keywords.len())
            .finish_non_exhaustive()
    }
}

impl Enricher {
    /// Builds the enricher of `config`: jieba (shared unless a user dictionary is set) and the
    /// keyword dictionary. Fails on an invalid config or an unreadable user dictionary.
    pub fn new(config: &EnrichConfig) -> Result<Enricher, EnrichError> {
        config.validate()?;
        let segmenter = JiebaSegmenter::new(config.user_dictionary.as_deref())?;
        Self::with_segmenter(Arc::new(segmenter), config)
    }

    /// Builds an enricher around another segmenter (tests, future models).
    pub fn with_segmenter(
        segmenter: Arc<dyn Segmenter>,
        config: &EnrichConfig,
    ) -> Result<Enricher, EnrichError> {
        config.validate()?;
        let model = match &config.sentiment_model {
            Some(path) => Arc::new(SentimentModel::load(path)?),
            None => builtin_model()?,
        };
        Ok(Enricher {
            segmenter,
            keywords: KeywordMatcher::new(config.effective_keywords())?,
            sentiment: Sentiment::new(model, config.neutral_min, config.neutral_max),
            aspects: AspectMatcher::builtin(),
        })
    }

    /// Analyses one text: language, tokens without whitespace or punctuation, keyword hits,
    /// P(positive) with its polarity, and the aspects mentioned with their own polarity.
    /// A text without any word gets no sentiment, polarity or aspects.
    pub fn analyze(&self, text: &str) -> TextAnalysis {
        let pieces = self.segmenter.cut(text);
        let features = extract(text, &pieces);
        let score = self.sentiment.score(&features);
        let aspects = match &score {
            Some(score) => self.aspects.find(text, &features, score, &self.sentiment),
            None => Vec::new(),
        };
        let tokens = pieces
            .into_iter()
            .filter(|token| is_word(token))
            .map(str::to_owned)
            .collect();
        TextAnalysis {
            lang: detect_lang(text).to_owned(),
            tokens,
            keywords: self.keywords.find(text),
            sentiment: score.as_ref().map(|score| score.probability),
            polarity: score.as_ref().map(|score| score.polarity),
            aspects,
        }
    }

    /// Maps a raw record to its enriched event; fails (bad data) when the entity field
    /// matching the record's kind is missing.
    pub fn enrich(
        &self,
        raw: &RawRecord,
        enriched_at_ms: i64,
    ) -> Result<EnrichedEvent, EnrichError> {
        let missing = || EnrichError::MissingEntity {
            event_id: raw.event_id.clone(),
            kind: raw.kind,
        };
        let (event_type, text) = match raw.kind {
            EntityKind::Review => {
                let review = raw.review.as_ref().ok_or_else(missing)?;
                let analysis = self.analyze(&review.content);
                let polarity = analysis
                    .polarity
                    .map_or("none", |polarity| polarity.as_str());
                crate::metrics::metrics()
                    .reviews_total
                    .with_label_values(&[polarity])
                    .inc();
                (event_types::REVIEW_RECEIVED, Some(analysis))
            }
            EntityKind::Shipment => {
                raw.shipment.as_ref().ok_or_else(missing)?;
                (event_types::SHIPMENT_OBSERVED, None)
            }
            EntityKind::Listing => {
                raw.listing.as_ref().ok_or_else(missing)?;
                (event_types::LISTING_OBSERVED, None)
            }
            EntityKind::SourceHealth => {
                raw.health.as_ref().ok_or_else(missing)?;
                (event_types::SOURCE_HEALTH_REPORTED, None)
            }
        };
        Ok(EnrichedEvent::from_raw(
            raw,
            event_type,
            enriched_at_ms,
            text,
        ))
    }
}

/// Returns `"zh"` when the text holds a CJK ideograph, else `"en"` (a placeholder until a
/// real language detector is needed).
pub fn detect_lang(text: &str) -> &'static str {
    if text.chars().any(is_cjk_ideograph) {
        "zh"
    } else {
        "en"
    }
}

#[cfg(test)]
mod tests;
