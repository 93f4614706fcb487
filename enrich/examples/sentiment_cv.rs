//! Model selection for the sentiment model: k-fold cross-validation inside the training part
//! of the dev file (the held-out part is never read). Prints one line per candidate.
//!
//! `cargo run --release -p enrich --example sentiment_cv [-- DATA.jsonl]`

use enrich::segment::JiebaSegmenter;
use enrich::sentiment::train::{cross_validate, read_labeled_jsonl, TrainOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/work/shared/data/reviews-dev.jsonl".to_owned());
    let (data, _) = read_labeled_jsonl(&std::fs::read_to_string(path)?);
    let base = TrainOptions::default();
    let mut candidates = Vec::new();
    // The grid is edited by hand between runs; this one compares hash sizes, the lexicon
    // repeats and NB weighting around the defaults.
    // The grid is edited by hand between runs; this one compares hash sizes, the lexicon
    // repeats and NB weighting around the defaults.
    for bits in [18u32, 20] {
        for lexicon_repeats in [0usize, 1, 2] {
            for nb_alpha in [0.0f32, 1.0] {
                candidates.push(TrainOptions {
                    bits,
                    lexicon_repeats,
                    nb_alpha,
                    ..base.clone()
                });
            }
        }
    }
    let segmenter = JiebaSegmenter::shared_default();
    let results = cross_validate(&data, &segmenter, &candidates, 5);
    for (options, evaluation) in candidates.iter().zip(results) {
        println!(
            "bits {} epochs {} lr {} l2 {} lexrep {} nb {}: acc {:.4} negP {:.4} negR {:.4} negF1 {:.4}",
            options.bits,
            options.epochs,
            options.learning_rate,
            options.l2,
            options.lexicon_repeats,
            options.nb_alpha,
            evaluation.accuracy,
            evaluation.neg_precision,
            evaluation.neg_recall,
            evaluation.neg_f1
        );
    }
    Ok(())
}
