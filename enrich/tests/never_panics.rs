//! Property test: `Enricher::analyze` never panics on any UTF-8 and keeps its invariants.

use enrich::{EnrichConfig, Enricher};
use proptest::prelude::*;
use std::sync::LazyLock;

static ENRICHER: LazyLock<Enricher> =
    LazyLock::new(|| Enricher::new(&EnrichConfig::default()).expect("default enricher"));

fn check(text: &str) {
    let analysis = ENRICHER.analyze(text);
    if let Some(sentiment) = analysis.sentiment {
        assert!((0.0..=1.0).contains(&sentiment), "{sentiment}");
        assert!(analysis.polarity.is_some());
    } else {
        assert!(analysis.aspects.is_empty());
    }
    for token in &analysis.tokens {
        assert!(!token.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_strings(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn review_like_mixtures(parts in prop::collection::vec(
        prop::sample::select(vec![
            "不", "没有", "很", "好", "差评", "破损", "但是", "，", "！！！", "😡", "👍", "\u{0}",
            "\u{7}", "\r\n", "\u{200d}", "🇨🇳", "包装", "物流", "a", "Ü", "\u{FEFF}", " ", "好好好",
        ]),
        0..200,
    )) {
        check(&parts.concat());
    }
}

#[test]
fn huge_and_control_texts() {
    let long: String = "东西不错，就是包装差点😡！".repeat(8_000); // > 100 KB
    assert!(long.len() > 100_000);
    check(&long);
    let controls: String = (0u32..0x20).filter_map(char::from_u32).collect();
    check(&controls);
    check("");
    check(&"🎉".repeat(30_000));
    check(&"不".repeat(50_000));
}
