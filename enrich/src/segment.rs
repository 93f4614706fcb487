//! Word segmentation behind our own trait.
//!
//! jieba-rs changes its constructors and return types between releases (0.11 returns
//! `Token`s from `cut`), so the rest of the crate sees only [`Segmenter`]. The jieba-rs version
//! is pinned in the workspace manifest.
//!
//! Building a `Jieba` with the default dictionary takes a noticeable fraction of a second and
//! tens of megabytes, so it is built once per process and shared through an `Arc`; only a
//! segmenter with a user dictionary gets its own instance.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::{Arc, LazyLock};

use jieba_rs::Jieba;

use crate::error::EnrichError;

/// Splits text into words.
///
/// Contract: `cut` is pure and thread-safe; the returned words, concatenated, give the input
/// back (no character is dropped or added).
pub trait Segmenter: Send + Sync {
    /// Returns the words of `text`, in order.
    fn cut<'a>(&self, text: &'a str) -> Vec<&'a str>;
}

/// The jieba-rs segmenter: accurate mode (`cut(text, hmm = true)`).
#[derive(Clone)]
pub struct JiebaSegmenter {
    jieba: Arc<Jieba>,
}

impl std::fmt::Debug for JiebaSegmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JiebaSegmenter")
    }
}

static DEFAULT_JIEBA: LazyLock<Arc<Jieba>> = LazyLock::new(|| Arc::new(Jieba::new()));

impl JiebaSegmenter {
    /// Returns the segmenter with jieba's built-in dictionary, shared by the whole process.
    pub fn shared_default() -> Self {
        JiebaSegmenter {
            jieba: Arc::clone(&DEFAULT_JIEBA),
        }
    }

    /// Builds a segmenter with jieba's built-in dictionary plus the words of
    /// `user_dictionary` (jieba's format: `word [freq] [tag]` per line, blank lines and lines
    /// starting with `#` ignored); without a path this is [`JiebaSegmenter::shared_default`].
    pub fn new(user_dictionary: Option<&Path>) -> Result<Self, EnrichError> {
        let Some(path) = user_dictionary else {
            return Ok(Self::shared_default());
        };
        let entries = read_user_dictionary(path)?;
        let mut jieba = Jieba::new();
        for entry in &entries {
            jieba.add_word(&entry.word, entry.freq, entry.tag.as_deref());
        }
        tracing::info!(
            path = %path.display(),
            words = entries.len(),
            "loaded user dictionary"
        );
        Ok(JiebaSegmenter {
            jieba: Arc::new(jieba),
        })
    }
}

impl Segmenter for JiebaSegmenter {
    fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut(text, true)
            .into_iter()
            .map(|token| token.word)
            .collect()
    }
}

/// One line of a user dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DictionaryEntry {
    pub(crate) word: String,
    pub(crate) freq: Option<usize>,
    pub(crate) tag: Option<String>,
}

fn read_user_dictionary(path: &Path) -> Result<Vec<DictionaryEntry>, EnrichError> {
    let read_error = |source| EnrichError::UserDictionaryRead {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut entries = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_error)?;
        if let Some(entry) =
            parse_dictionary_line(&line).map_err(|reason| EnrichError::UserDictionaryEntry {
                path: path.to_path_buf(),
                line: index + 1,
                reason,
            })?
        {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Parses `word [freq] [tag]`; `Ok(None)` for blank and comment lines.
pub(crate) fn parse_dictionary_line(line: &str) -> Result<Option<DictionaryEntry>, String> {
    let line = line.trim_start_matches('\u{feff}').trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut fields = line.split_whitespace();
    let Some(word) = fields.next() else {
        return Ok(None);
    };
    let mut freq = None;
    let mut tag = None;
    if let Some(second) = fields.next() {
        match second.parse::<usize>() {
            Ok(value) => {
                freq = Some(value);
                tag = fields.next().map(str::to_owned);
            }
            // jieba allows `word tag` without a frequency.
            Err(_) if second.chars().all(|c| c.is_ascii_alphabetic()) => {
                tag = Some(second.to_owned());
            }
            Err(_) => return Err(format!("frequency {second:?} is not a whole number")),
        }
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected field {extra:?} after the tag"));
    }
    Ok(Some(DictionaryEntry {
        word: word.to_owned(),
        freq,
        tag,
    }))
}
