//! Keyword hits from a dictionary, found with aho-corasick.
//!
//! Contract: every dictionary word occurring in the text is reported once, in the order of its
//! first occurrence (partly overlapping words are all reported, the longer one first when two
//! start at the same place; a word wholly inside a longer hit, 破损 in 包装破损, is not). ASCII letters match case-insensitively; the hit carries the
//! dictionary's spelling. ASCII words match whole words only ("late" not in "chocolate"). An occurrence preceded by a negator in the same clause (不破损,
//! 没有破损; see [`crate::negation`]) is not a hit; another occurrence of the word may be.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use schemas::KeywordHit;

use crate::config::KeywordEntry;
use crate::error::EnrichError;
use crate::negation::is_negated;
use crate::text::on_word_boundaries;

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
            .kind(Some(AhoCorasickKind::DFA))
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
        let found: Vec<(usize, usize, usize)> = automaton
            .find_overlapping_iter(text)
            .filter(|found| on_word_boundaries(text, found.start(), found.end()))
            .filter(|found| !is_negated(text, found.start()))
            .map(|found| (found.start(), found.end(), found.pattern().as_usize()))
            .collect();
        let mut first_seen: Vec<Option<(usize, usize)>> = vec![None; self.entries.len()];
        for &(start, end, pattern) in &found {
            // A word inside a longer hit (破损 in 包装破损) is the same mention.
            let inside_longer = found.iter().any(|&(other_start, other_end, _)| {
                other_start <= start && end <= other_end && other_end - other_start > end - start
            });
            let slot = &mut first_seen[pattern];
            if slot.is_none() && !inside_longer {
                *slot = Some((start, end - start));
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
