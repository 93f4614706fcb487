//! Single-core throughput and memory of the enrichment, for the issue-4 note.
//!
//! `cargo run --release -p enrich --example throughput [-- FILE.jsonl]` (default: the dev
//! file). Prints reviews/s and chars/s of a bare jieba cut and of the full `analyze`
//! (segmentation + keywords + sentiment + aspects), best of 3 passes on one thread, and the
//! resident memory (VmRSS) before and after loading the models.

use std::time::Instant;

use enrich::{EnrichConfig, Enricher, JiebaSegmenter, Segmenter};

fn vm_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn best_of_3(label: &str, texts: &[String], mut work: impl FnMut(&str) -> usize) {
    let chars: usize = texts.iter().map(|text| text.chars().count()).sum();
    let mut best = f64::MAX;
    let mut sink = 0usize;
    for _ in 0..3 {
        let started = Instant::now();
        for text in texts {
            sink = sink.wrapping_add(work(text));
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "{label:<28} {:>10.0} reviews/s {:>6.2} M chars/s  ({} reviews, {:.3} s, checksum {sink})",
        texts.len() as f64 / best,
        chars as f64 / best / 1e6,
        texts.len(),
        best
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/work/shared/data/reviews-dev.jsonl".to_owned());
    let data = std::fs::read_to_string(&path)?;
    let texts: Vec<String> = data
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|value| value["text"].as_str().map(str::to_owned))
        .collect();
    let before = vm_rss_kb();
    let enricher = Enricher::new(&EnrichConfig::default())?;
    enricher.analyze("预热：加载模型");
    let after = vm_rss_kb();
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "VmRSS before load {} MB, after {} MB (models + dictionaries: {} MB)",
            before / 1024,
            after / 1024,
            (after.saturating_sub(before)) / 1024
        );
    }
    let segmenter = JiebaSegmenter::shared_default();
    best_of_3("jieba-rs cut (hmm) alone", &texts, |text| {
        segmenter.cut(text).len()
    });
    let matcher =
        enrich::keywords::KeywordMatcher::new(EnrichConfig::default().effective_keywords())?;
    best_of_3("keywords alone", &texts, |text| matcher.find(text).len());
    best_of_3("cut + sentiment features", &texts, |text| {
        enrich::sentiment::extract(text, &segmenter.cut(text))
            .clauses
            .len()
    });
    best_of_3("full analyze", &texts, |text| {
        let analysis = enricher.analyze(text);
        analysis.tokens.len() + analysis.aspects.len()
    });
    Ok(())
}
