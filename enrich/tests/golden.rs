//! Golden-file test: pins tokens, keywords, polarity and aspects of fixed reviews.
//!
//! Input: `tests/golden/reviews.jsonl`; expected: `tests/golden/reviews.expected.jsonl`
//! (the batch output without `sentiment`, whose exact float would make the file brittle;
//! polarity pins it to its band). Regenerate after an intended change with
//! `BLESS=1 cargo test -p enrich --test golden` and review the diff.

use std::path::Path;

use enrich::batch::enrich_lines;
use enrich::{EnrichConfig, Enricher};

fn actual() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let input = std::fs::read_to_string(dir.join("reviews.jsonl")).expect("golden input");
    let enricher = Enricher::new(&EnrichConfig::default()).expect("default enricher");
    let mut output = Vec::new();
    let mut errors = Vec::new();
    let summary = enrich_lines(
        &enricher,
        input.as_bytes(),
        &mut output,
        &mut errors,
        2,
        &mut |_| {},
    )
    .expect("in-memory batch");
    assert_eq!(summary.bad, 0, "{}", String::from_utf8_lossy(&errors));
    String::from_utf8(output)
        .expect("utf-8 output")
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).expect("json line");
            if let Some(object) = value.as_object_mut() {
                object.remove("sentiment");
            }
            format!("{value}\n")
        })
        .collect()
}

#[test]
fn golden_reviews_keep_their_analysis() {
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/reviews.expected.jsonl");
    let actual = actual();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&expected_path, &actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .expect("golden file exists (generate it with BLESS=1)");
    for (number, (got, want)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "golden line {}", number + 1);
    }
    assert_eq!(actual.lines().count(), expected.lines().count());
}
