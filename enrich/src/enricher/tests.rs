use std::io::Write;

use schemas::{samples, KeywordHit};

use super::*;
use crate::config::KeywordEntry;

fn default_enricher() -> Enricher {
    Enricher::new(&EnrichConfig::default()).expect("default config builds")
}

fn hit(word: &str, category: &str) -> KeywordHit {
    KeywordHit {
        word: word.into(),
        category: category.into(),
    }
}

fn words(hits: &[KeywordHit]) -> Vec<&str> {
    hits.iter().map(|hit| hit.word.as_str()).collect()
}

#[test]
fn review_text_is_segmented_without_punctuation_and_keywords_found() {
    let analysis = default_enricher().analyze("快递太慢了，包装破损");
    assert_eq!(
        analysis,
        TextAnalysis {
            lang: "zh".into(),
            tokens: vec![
                "快递".into(),
                "太慢".into(),
                "了".into(),
                "包装".into(),
                "破损".into()
            ],
            keywords: vec![hit("破损", "default")],
            sentiment: None,
            polarity: None,
            aspects: Vec::new(),
        }
    );
}

#[test]
fn several_and_repeated_hits_are_reported_once_in_order_of_first_occurrence() {
    let analysis = default_enricher().analyze("垃圾！骗人的假货，差评差评");
    assert_eq!(
        analysis.tokens,
        ["垃圾", "骗人", "的", "假货", "差评", "差评"]
    );
    assert_eq!(
        analysis.keywords,
        vec![
            hit("垃圾", "default"),
            hit("骗人", "default"),
            hit("假货", "default"),
            hit("差评", "default"),
        ]
    );
}

#[test]
fn overlapping_keywords_are_both_reported() {
    let analysis = default_enricher().analyze("店家服务差评价也不回");
    assert_eq!(
        analysis.tokens,
        ["店家", "服务", "差", "评价", "也", "不", "回"]
    );
    assert_eq!(words(&analysis.keywords), ["服务差", "差评"]);
    // Two hits, one of them twice.
    let analysis = default_enricher().analyze("服务差，态度恶劣。服务差！");
    assert_eq!(words(&analysis.keywords), ["服务差", "态度恶劣"]);
}

#[test]
fn text_without_cjk_is_english_and_punctuation_only_tokens_are_dropped() {
    let enricher = default_enricher();
    let analysis = enricher.analyze("Great cup, fast shipping!");
    assert_eq!(analysis.lang, "en");
    assert_eq!(analysis.tokens, ["Great", "cup", "fast", "shipping"]);
    assert!(analysis.keywords.is_empty());

    let analysis = enricher.analyze("！！！ …… 。");
    assert_eq!(analysis.lang, "en");
    assert!(analysis.tokens.is_empty(), "{:?}", analysis.tokens);
    assert_eq!(enricher.analyze("").tokens, Vec::<String>::new());
}

#[test]
fn segmentation_keeps_every_character() {
    let segmenter = JiebaSegmenter::shared_default();
    for text in [
        "快递太慢了，包装破损😡 2 stars",
        "  空格  和\t制表符\n换行",
        "第一次买，客服态度恶劣！！！",
    ] {
        assert_eq!(segmenter.cut(text).concat(), text);
    }
}

#[test]
fn configured_keywords_replace_the_defaults_and_extra_entries_add_to_them() {
    let config = EnrichConfig {
        keywords: vec![KeywordEntry::new("漏水", "quality")],
        extra_keywords: vec![KeywordEntry::new("FAKE", "fraud")],
        ..EnrichConfig::default()
    };
    let enricher = Enricher::new(&config).unwrap();
    let analysis = enricher.analyze("杯子漏水，差评，this is a fake");
    // 差评 is a default keyword, which the configured list replaced.
    assert_eq!(
        analysis.keywords,
        vec![hit("漏水", "quality"), hit("FAKE", "fraud")]
    );

    // Extra entries keep the defaults; an extra entry re-categorises a known word.
    let config = EnrichConfig {
        extra_keywords: vec![
            KeywordEntry::new("漏水", "quality"),
            KeywordEntry::new("假货", "fraud"),
        ],
        ..EnrichConfig::default()
    };
    let analysis = Enricher::new(&config).unwrap().analyze("假货，漏水，差评");
    assert_eq!(
        analysis.keywords,
        vec![
            hit("假货", "fraud"),
            hit("漏水", "quality"),
            hit("差评", "default")
        ]
    );
}

#[test]
fn config_parses_from_toml_with_defaults_and_rejects_unknown_keys() {
    let config: EnrichConfig = toml::from_str(
        r#"
        max_batch = 64
        extra_keywords = [{ word = "漏水", category = "quality" }, { word = "掉色" }]
        "#,
    )
    .unwrap();
    assert_eq!(config.max_batch, 64);
    assert_eq!(config.keywords.len(), 9);
    assert_eq!(config.keywords[0], KeywordEntry::new("差评", "default"));
    assert_eq!(
        config.extra_keywords[1],
        KeywordEntry::new("掉色", "default")
    );
    assert_eq!(config.user_dictionary, None);

    let error = toml::from_str::<EnrichConfig>("max_batches = 1").unwrap_err();
    assert!(
        error.to_string().contains("unknown field `max_batches`"),
        "{error}"
    );
    assert_eq!(EnrichConfig::default().max_batch, 512);
}

#[test]
fn invalid_config_reports_every_problem() {
    let config = EnrichConfig {
        keywords: vec![KeywordEntry::new(" ", "default")],
        extra_keywords: vec![KeywordEntry::new("漏水", "")],
        max_batch: 0,
        ..EnrichConfig::default()
    };
    let error = Enricher::new(&config).unwrap_err();
    assert!(matches!(error, EnrichError::Config { .. }));
    assert_eq!(
        error.to_string(),
        "invalid enrich configuration: enrich.max_batch must be at least 1; \
         enrich.keywords[0].word is empty; enrich.extra_keywords[0].category is empty"
    );
}

#[test]
fn user_dictionary_words_stay_whole() {
    let text = "这个保温杯很好用";
    assert_eq!(
        default_enricher().analyze(text).tokens,
        ["这个", "保温杯", "很", "好", "用"]
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "# shop words\n很好用 2000 a\n\n保温杯盖").unwrap();
    let config = EnrichConfig {
        user_dictionary: Some(file.path().to_path_buf()),
        ..EnrichConfig::default()
    };
    let enricher = Enricher::new(&config).unwrap();
    assert_eq!(enricher.analyze(text).tokens, ["这个", "保温杯", "很好用"]);
}

#[test]
fn unreadable_or_malformed_user_dictionary_fails_with_its_line() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "很好用 100\n漏水 1x n").unwrap();
    let config = EnrichConfig {
        user_dictionary: Some(file.path().to_path_buf()),
        ..EnrichConfig::default()
    };
    match Enricher::new(&config).unwrap_err() {
        EnrichError::UserDictionaryEntry { line, reason, .. } => {
            assert_eq!(line, 2);
            assert_eq!(reason, "frequency \"1x\" is not a whole number");
        }
        other => panic!("unexpected error {other:?}"),
    }

    let config = EnrichConfig {
        user_dictionary: Some("/nonexistent/shopwatch/dict.txt".into()),
        ..EnrichConfig::default()
    };
    let error = Enricher::new(&config).unwrap_err();
    assert!(
        matches!(error, EnrichError::UserDictionaryRead { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable() && !error.is_bad_data());
}

#[test]
fn dictionary_lines_parse_like_jieba() {
    use crate::segment::{parse_dictionary_line, DictionaryEntry};
    let entry = |word: &str, freq: Option<usize>, tag: Option<&str>| DictionaryEntry {
        word: word.into(),
        freq,
        tag: tag.map(str::to_owned),
    };
    assert_eq!(
        parse_dictionary_line("云计算 5 n"),
        Ok(Some(entry("云计算", Some(5), Some("n"))))
    );
    assert_eq!(
        parse_dictionary_line("\u{feff}创新办"),
        Ok(Some(entry("创新办", None, None)))
    );
    assert_eq!(
        parse_dictionary_line("凱特琳 nz"),
        Ok(Some(entry("凱特琳", None, Some("nz"))))
    );
    assert_eq!(parse_dictionary_line("   "), Ok(None));
    assert_eq!(parse_dictionary_line("# comment"), Ok(None));
    assert!(parse_dictionary_line("a 1 n extra").is_err());
}

#[test]
fn review_becomes_review_received_with_text_analysis() {
    let raw = &samples::raw_records()[0];
    let event = default_enricher().enrich(raw, 1_767_240_009_000).unwrap();
    assert_eq!(event.event_type, "review.received");
    assert_eq!(event.source_event_id, raw.event_id);
    assert_eq!(
        event.event_id,
        schemas::ids::derived_id(&[&raw.event_id, "review.received"])
    );
    assert_eq!(event.enriched_at_ms, 1_767_240_009_000);
    assert_eq!(event.review, raw.review);
    let text = event.text.expect("reviews carry a text analysis");
    assert_eq!(text.tokens, ["快递", "太慢", "了", "包装", "破损"]);
    assert_eq!(text.keywords, vec![hit("破损", "default")]);
    assert_eq!(text.sentiment, None);
}

#[test]
fn other_kinds_pass_through_without_text() {
    let enricher = default_enricher();
    let records = samples::raw_records();
    let types: Vec<(String, bool)> = records
        .iter()
        .map(|raw| {
            let event = enricher.enrich(raw, 5).unwrap();
            assert_eq!(event.entity_key(), raw.entity_key());
            assert_eq!(
                (&event.shipment, &event.listing, &event.health),
                (&raw.shipment, &raw.listing, &raw.health)
            );
            (event.event_type, event.text.is_some())
        })
        .collect();
    assert_eq!(
        types,
        [
            ("review.received".to_owned(), true),
            ("shipment.observed".to_owned(), false),
            ("listing.observed".to_owned(), false),
            ("source_health.reported".to_owned(), false),
        ]
    );
}

#[test]
fn record_without_its_entity_is_bad_data() {
    let mut raw = samples::raw_records()[1].clone();
    raw.shipment = None;
    let error = default_enricher().enrich(&raw, 5).unwrap_err();
    assert!(error.is_bad_data());
    assert_eq!(
        error.to_string(),
        format!(
            "record {} of kind shipment carries no shipment entity",
            raw.event_id
        )
    );
}
