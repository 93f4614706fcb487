//! Keyword hits from a dictionary, found with aho-corasick.
//!
//! Contract: every dictionary word occurring in the text is reported once, in the order of its
//! first occurrence (overlapping words are all reported, the longer one first when two start
//! at the same place). ASCII letters match case-insensitively; the hit carries the
//! dictionary's spelling.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use schemas::KeywordHit;

use crate::config::KeywordEntry;
use crate::error::EnrichError;

/// A compiled keyword dictionary.
#[derive(Debug, Clone)]
pub struct KeywordMatcher {
    automaton: Option<AhoCorasick>,
    entries: Vec<KeywordEntry>,
}

impl KeywordMatcher {
    /// Compiles `entries` (one per word, as `EnrichConfig::effective_keywords` returns them).
    pub fn new(entries: Vec<KeywordEntry>) -> Result<Self, EnrichError> {
        if entries.is_empty() {
            return Ok(KeywordMatcher {
                automaton: None,
                entries,
            });
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .build(entries.iter().map(|entry| entry.word.as_str()))
            .map_err(|error| EnrichError::Config {
                reason: format!("keyword dictionary does not compile: {error}"),
            })?;
        Ok(KeywordMatcher {
            automaton: Some(automaton),
            entries,
        })
    }

    /// Returns the number of words in the dictionary.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true when the dictionary holds no word.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Returns the distinct dictionary words in `text`, by first occurrence.
    pub fn find(&self, text: &str) -> Vec<KeywordHit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let mut first_seen: Vec<Option<(usize, usize)>> = vec![None; self.entries.len()];
        for found in automaton.find_overlapping_iter(text) {
            let slot = &mut first_seen[found.pattern().as_usize()];
            if slot.is_none() {
                *slot = Some((found.start(), found.len()));
            }
        }
        let mut hits: Vec<(usize, usize, usize)> = first_seen
            .iter()
            .enumerate()
            .filter_map(|(index, seen)| seen.map(|(start, len)| (start, len, index)))
            .collect();
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        hits.into_iter()
            .map(|(_, _, index)| KeywordHit {
                word: self.entries[index].word.clone(),
                category: self.entries[index].category.clone(),
            })
            .collect()
    }
}
