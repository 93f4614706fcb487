//! Criterion benches of the enrichment parts on the dev reviews (see benches/README.md).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use enrich::sentiment::extract;
use enrich::{EnrichConfig, Enricher, JiebaSegmenter, Segmenter};

const DEV_FILE: &str = "/work/shared/data/reviews-dev.jsonl";

fn texts() -> Vec<String> {
    let fallback = || {
        vec![
            "东西不错，就是包装差点".to_owned(),
            "快递太慢了，包装破损，差评".to_owned(),
            "质量很好，物流也快，客服态度好，下次还来".to_owned(),
        ]
    };
    let Ok(data) = std::fs::read_to_string(DEV_FILE) else {
        return fallback();
    };
    let texts: Vec<String> = data
        .lines()
        .take(2000)
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|value| value["text"].as_str().map(str::to_owned))
        .collect();
    if texts.is_empty() {
        fallback()
    } else {
        texts
    }
}

fn benches(c: &mut Criterion) {
    let texts = texts();
    let enricher = Enricher::new(&EnrichConfig::default()).expect("default enricher");
    let segmenter = JiebaSegmenter::shared_default();
    let mut group = c.benchmark_group("enrich");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.sample_size(10);
    group.bench_function("segmentation (jieba cut)", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(segmenter.cut(black_box(text)));
            }
        })
    });
    let cut: Vec<Vec<&str>> = texts.iter().map(|text| segmenter.cut(text)).collect();
    let matcher =
        enrich::keywords::KeywordMatcher::new(EnrichConfig::default().effective_keywords())
            .expect("default keywords");
    group.bench_function("keywords", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(matcher.find(black_box(text)));
            }
        })
    });
    group.bench_function("sentiment features + score", |b| {
        let model = enrich::sentiment::builtin_model().expect("built-in model");
        let sentiment = enrich::sentiment::Sentiment::new(model, 0.4, 0.6);
        b.iter(|| {
            for (text, tokens) in texts.iter().zip(&cut) {
                black_box(sentiment.score(&extract(text, tokens)));
            }
        })
    });
    group.bench_function("full analyze", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(enricher.analyze(black_box(text)));
            }
        })
    });
    group.finish();
}

criterion_group!(enrich_benches, benches);
criterion_main!(enrich_benches);
