//! The `[enrich]` configuration section.
//!
//! Contract: every field has a default, unknown keys are rejected, and [`EnrichConfig::validate`]
//! reports every problem at once, naming the key.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::EnrichError;

/// The category of the built-in keyword list and of entries that name none.
pub const DEFAULT_CATEGORY: &str = "default";

/// Words of the built-in keyword list (category [`DEFAULT_CATEGORY`]).
pub const DEFAULT_KEYWORDS: &[&str] = &[
    "差评",
    "垃圾",
    "骗人",
    "破损",
    "发错",
    "少发",
    "服务差",
    "态度恶劣",
    "假货",
];

/// Settings of the enrich stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// The keyword dictionary. Setting it replaces the built-in list
    /// (差评 垃圾 骗人 破损 发错 少发 服务差 态度恶劣 假货, category "default").
    #[serde(default = "default_keywords")]
    pub keywords: Vec<KeywordEntry>,
    /// Entries added to `keywords`; an entry whose word is already there changes its category.
    #[serde(default)]
    pub extra_keywords: Vec<KeywordEntry>,
    /// A user dictionary in jieba's format (`word [freq] [tag]` per line) whose words the
    /// segmenter keeps whole. Without a frequency, jieba's suggested frequency is used.
    #[serde(default)]
    pub user_dictionary: Option<PathBuf>,
    /// The most records enriched (and sent on) in one batch.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

/// One dictionary word and the category reported with its hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordEntry {
    /// The word, matched literally (ASCII letters case-insensitively).
    pub word: String,
    /// The category reported in `KeywordHit::category`.
    #[serde(default = "default_category")]
    pub category: String,
}

impl KeywordEntry {
    /// Builds an entry.
    pub fn new(word: impl Into<String>, category: impl Into<String>) -> Self {
        KeywordEntry {
            word: word.into(),
            category: category.into(),
        }
    }
}

fn default_keywords() -> Vec<KeywordEntry> {
    DEFAULT_KEYWORDS
        .iter()
        .map(|word| KeywordEntry::new(*word, DEFAULT_CATEGORY))
        .collect()
}

fn default_category() -> String {
    DEFAULT_CATEGORY.to_owned()
}

fn default_max_batch() -> usize {
    512
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            keywords: default_keywords(),
            extra_keywords: Vec::new(),
            user_dictionary: None,
            max_batch: default_max_batch(),
        }
    }
}

impl EnrichConfig {
    /// Checks the settings and reports every problem at once.
    pub fn validate(&self) -> Result<(), EnrichError> {
        let mut problems = Vec::new();
        if self.max_batch == 0 {
            problems.push("enrich.max_batch must be at least 1".to_owned());
        }
        for (field, entries) in [
            ("keywords", &self.keywords),
            ("extra_keywords", &self.extra_keywords),
        ] {
            for (index, entry) in entries.iter().enumerate() {
                if entry.word.trim().is_empty() {
                    problems.push(format!("enrich.{field}[{index}].word is empty"));
                }
                if entry.category.trim().is_empty() {
                    problems.push(format!("enrich.{field}[{index}].category is empty"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EnrichError::Config {
                reason: problems.join("; "),
            })
        }
    }

    /// Returns the effective dictionary: `keywords` then `extra_keywords`, one entry per
    /// word (a later entry's category wins, the word keeps its first place).
    pub fn effective_keywords(&self) -> Vec<KeywordEntry> {
        let mut merged: Vec<KeywordEntry> = Vec::new();
        for entry in self.keywords.iter().chain(&self.extra_keywords) {
            match merged.iter_mut().find(|known| known.word == entry.word) {
                Some(known) => known.category.clone_from(&entry.category),
                None => merged.push(entry.clone()),
            }
        }
        merged
    }
}
