//! `shopwatch train-sentiment`: trains the sentiment model from labelled reviews and writes
//! the model file that `enrich` compiles in (`enrich/models/sentiment.bin`).
//!
//! Contract: deterministic (hash split on the id, fixed seed): the same data gives the same
//! file. Prints the held-out figures next to SnowNLP's reference figures.

use std::path::{Path, PathBuf};

use anyhow::Context;
use enrich::segment::JiebaSegmenter;
use enrich::sentiment::train::{read_labeled_jsonl, train, Evaluation, TrainOptions};

/// Where the command reads and writes by default (relative to the workspace root).
pub const DEFAULT_DATA: &str = "/work/shared/data/reviews-dev.jsonl";
/// The model file `enrich` compiles in.
pub const DEFAULT_OUT: &str = "enrich/models/sentiment.bin";

/// Options of `shopwatch train-sentiment`.
#[derive(Debug, Clone)]
pub struct TrainCommand {
    /// Labelled JSON lines (`id`, `text`, `label` = pos/neg).
    pub data: PathBuf,
    /// Where to write the model.
    pub out: PathBuf,
    /// Training settings.
    pub options: TrainOptions,
}

/// Trains, writes the model and returns the printed report.
pub fn run_train(command: &TrainCommand) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(&command.data)
        .with_context(|| format!("cannot read {}", command.data.display()))?;
    let (data, skipped) = read_labeled_jsonl(&text);
    anyhow::ensure!(
        !data.is_empty(),
        "no labelled line in {}",
        command.data.display()
    );
    let segmenter = JiebaSegmenter::shared_default();
    let (model, report) = train(&data, &segmenter, &command.options);
    let bytes = model.to_bytes();
    write_model(&command.out, &bytes)?;
    let mut out = String::new();
    out.push_str(&format!(
        "data: {} ({} labelled lines, {skipped} skipped)\ntrained on {} + {} lexicon examples, {} epochs, 2^{} hashed features\n",
        command.data.display(),
        data.len(),
        report.train_examples,
        report.lexicon_examples,
        command.options.epochs,
        command.options.bits,
    ));
    out.push_str(&format!(
        "model: {} ({} bytes)\n\n",
        command.out.display(),
        bytes.len()
    ));
    out.push_str("| method | examples | accuracy | NEG precision | NEG recall | NEG F1 |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    out.push_str(&row("shopwatch, training part", &report.training));
    out.push_str(&row(
        &format!(
            "shopwatch, held-out {}% (by id hash)",
            command.options.holdout_percent
        ),
        &report.validation,
    ));
    out.push_str("| SnowNLP 0.12.3 NB, held-out part of the same corpus (data README) | – | 0.769 | 0.748 | 0.838 | 0.790 |\n");
    out.push_str("| SnowNLP 0.12.3 stock, independent e-commerce + takeaway (data README) | – | 0.836 | 0.842 | 0.853 | 0.847 |\n");
    Ok(out)
}

fn row(name: &str, evaluation: &Evaluation) -> String {
    format!(
        "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
        evaluation.examples,
        evaluation.accuracy,
        evaluation.neg_precision,
        evaluation.neg_recall,
        evaluation.neg_f1
    )
}

fn write_model(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_writes_a_loadable_model_and_reports_the_figures() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("reviews.jsonl");
        let lines: String = (0..60)
            .map(|i| {
                let (text, label) = if i % 2 == 0 {
                    ("质量很好，很满意", "pos")
                } else {
                    ("质量太差，很失望", "neg")
                };
                format!("{{\"id\":\"r{i}\",\"text\":\"{text}\",\"label\":\"{label}\"}}\n")
            })
            .collect();
        std::fs::write(&data, lines).unwrap();
        let out = dir.path().join("models/sentiment.bin");
        let command = TrainCommand {
            data,
            out: out.clone(),
            options: TrainOptions {
                bits: 10,
                epochs: 2,
                ..TrainOptions::default()
            },
        };
        let report = run_train(&command).unwrap();
        assert!(report.contains("60 labelled lines, 0 skipped"), "{report}");
        assert!(report.contains("held-out 20%"), "{report}");
        assert!(report.contains("| SnowNLP 0.12.3 NB"), "{report}");
        let model = enrich::sentiment::SentimentModel::load(&out).unwrap();
        assert_eq!(model.bits(), 10);
    }
}
