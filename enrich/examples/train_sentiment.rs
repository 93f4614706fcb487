//! Trains the sentiment model with the default settings, exactly as
//! `shopwatch train-sentiment --bits 20` does, without building the `shopwatch` binary.
//!
//! `cargo run --release -p enrich --example train_sentiment [-- DATA.jsonl OUT.bin]`

use enrich::segment::JiebaSegmenter;
use enrich::sentiment::train::{read_labeled_jsonl, train, TrainOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = args
        .next()
        .unwrap_or_else(|| "/work/shared/data/reviews-dev.jsonl".to_owned());
    let out = args
        .next()
        .unwrap_or_else(|| "enrich/models/sentiment.bin".to_owned());
    let (examples, skipped) = read_labeled_jsonl(&std::fs::read_to_string(&data)?);
    let options = TrainOptions::default();
    let segmenter = JiebaSegmenter::shared_default();
    let (model, report) = train(&examples, &segmenter, &options);
    let bytes = model.to_bytes();
    std::fs::write(&out, &bytes)?;
    println!(
        "{data}: {} labelled, {skipped} skipped; 2^{} features, {} epochs; wrote {out} ({} bytes)",
        examples.len(),
        options.bits,
        options.epochs,
        bytes.len()
    );
    for (name, evaluation) in [
        ("training", report.training),
        ("held-out", report.validation),
    ] {
        println!(
            "{name}: {} examples, accuracy {:.3}, NEG P {:.3} R {:.3} F1 {:.3}",
            evaluation.examples,
            evaluation.accuracy,
            evaluation.neg_precision,
            evaluation.neg_recall,
            evaluation.neg_f1
        );
    }
    Ok(())
}
