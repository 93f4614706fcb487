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

use crate::config::EnrichConfig;
use crate::error::EnrichError;
use crate::keywords::KeywordMatcher;
use crate::segment::{JiebaSegmenter, Segmenter};

/// Segments text, finds keywords and maps raw records to enriched events.
#[derive(Clone)]
pub struct Enricher {
    segmenter: Arc<dyn Segmenter>,
    keywords: KeywordMatcher,
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
        Ok(Enricher {
            segmenter,
            keywords: KeywordMatcher::new(config.effective_keywords())?,
        })
    }

    /// Analyses one text: language, tokens without whitespace or punctuation, and keyword
    /// hits. Sentiment, polarity and aspects stay empty until a model produces them.
    pub fn analyze(&self, text: &str) -> TextAnalysis {
        let tokens = self
            .segmenter
            .cut(text)
            .into_iter()
            .filter(|token| is_word(token))
            .map(str::to_owned)
            .collect();
        TextAnalysis {
            lang: detect_lang(text).to_owned(),
            tokens,
            keywords: self.keywords.find(text),
            sentiment: None,
            polarity: None,
            aspects: Vec::new(),
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
                (
                    event_types::REVIEW_RECEIVED,
                    Some(self.analyze(&review.content)),
                )
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

fn is_cjk_ideograph(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'     // CJK Unified Ideographs
        | '\u{3400}'..='\u{4DBF}'   // Extension A
        | '\u{F900}'..='\u{FAFF}'   // Compatibility Ideographs
        | '\u{20000}'..='\u{2FA1F}' // Extensions B–F and Compatibility Supplement
    )
}

/// Returns false for tokens made only of whitespace and punctuation.
fn is_word(token: &str) -> bool {
    !token
        .chars()
        .all(|c| c.is_whitespace() || is_punctuation(c))
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A1}' | '\u{00A7}' | '\u{00AB}' | '\u{00B6}' | '\u{00B7}' | '\u{00BB}' | '\u{00BF}'
            | '\u{2010}'..='\u{2027}'   // dashes, quotes, bullets, ellipsis
            | '\u{2030}'..='\u{205E}'   // per mille, primes, more punctuation
            | '\u{3001}'..='\u{3003}'   // 、。〃
            | '\u{3008}'..='\u{3011}'   // 〈〉《》「」『』【】
            | '\u{3014}'..='\u{301F}'   // 〔〕〖〗〘〙〚〛〜〝〞〟
            | '\u{30FB}'                // ・
            | '\u{FE10}'..='\u{FE19}'   // vertical forms
            | '\u{FE30}'..='\u{FE4F}'   // CJK compatibility forms
            | '\u{FE50}'..='\u{FE6B}'   // small form variants
            | '\u{FF01}'..='\u{FF0F}'   // ！＂＃＄％＆＇（）＊＋，－．／
            | '\u{FF1A}'..='\u{FF20}'   // ：；＜＝＞？＠
            | '\u{FF3B}'..='\u{FF40}'   // ［＼］＾＿｀
            | '\u{FF5B}'..='\u{FF65}'   // ｛｜｝～｟｠｡｢｣､･
        )
}

#[cfg(test)]
mod tests;
