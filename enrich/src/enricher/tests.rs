use std::io::Write;

use schemas::{samples, AspectPolarity, KeywordHit, Polarity};

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

fn aspect(name: &str, polarity: Polarity) -> AspectPolarity {
    AspectPolarity {
        aspect: name.into(),
        polarity,
    }
}

fn words(hits: &[KeywordHit]) -> Vec<&str> {
    hits.iter().map(|hit| hit.word.as_str()).collect()
}

#[test]
fn review_text_is_segmented_without_punctuation_and_keywords_found() {
    let analysis = default_enricher().analyze("快递太慢了，包装破损");
    assert_eq!(analysis.lang, "zh");
    assert_eq!(analysis.tokens, ["快递", "太慢", "了", "包装", "破损"]);
    // 破损 lies inside the longer hit 包装破损: one mention, one hit.
    assert_eq!(
        analysis.keywords,
        vec![hit("快递太慢", "logistics"), hit("包装破损", "packaging")]
    );
    assert_eq!(analysis.polarity, Some(Polarity::Negative));
    assert!(
        analysis.sentiment.unwrap() < 0.2,
        "{:?}",
        analysis.sentiment
    );
    assert_eq!(
        analysis.aspects,
        vec![
            aspect("logistics", Polarity::Negative),
            aspect("packaging", Polarity::Negative)
        ]
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
            hit("垃圾", "general"),
            hit("骗人", "general"),
            hit("假货", "counterfeit"),
            hit("差评", "general"),
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
            hit("差评", "general")
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
    assert_eq!(config.keywords, EnrichConfig::default().keywords);
    assert_eq!(config.keywords[0], KeywordEntry::new("差评", "general"));
    assert_eq!((config.neutral_min, config.neutral_max), (0.4, 0.6));
    assert_eq!(config.sentiment_model, None);
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
    assert_eq!(
        text.keywords,
        vec![hit("快递太慢", "logistics"), hit("包装破损", "packaging")]
    );
    assert_eq!(text.polarity, Some(Polarity::Negative));
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

#[test]
fn every_default_keyword_of_the_user_list_has_a_builtin_category() {
    let config = EnrichConfig::default();
    for word in crate::config::DEFAULT_KEYWORDS {
        let entry = config
            .keywords
            .iter()
            .find(|entry| entry.word == *word)
            .unwrap_or_else(|| panic!("{word} missing"));
        assert_ne!(entry.category, crate::config::DEFAULT_CATEGORY, "{word}");
    }
}

#[test]
fn negated_keywords_are_not_hits_and_categories_are_reported() {
    let enricher = default_enricher();
    assert_eq!(enricher.analyze("包装很好，不破损").keywords, vec![]);
    assert_eq!(enricher.analyze("没有破损，也没有少发").keywords, vec![]);
    assert_eq!(
        enricher.analyze("没有破损，但是发错了颜色").keywords,
        vec![hit("发错", "logistics")]
    );
    assert_eq!(
        enricher.analyze("衣服偏小，色差严重，客服不理人").keywords,
        vec![
            hit("偏小", "size"),
            hit("色差", "description"),
            hit("不理人", "service")
        ]
    );
    // A negated first occurrence does not hide a later plain one.
    assert_eq!(
        words(&enricher.analyze("不是假货吗？就是假货").keywords),
        ["假货"]
    );
}

#[test]
fn short_reviews_get_the_expected_polarity() {
    let enricher = default_enricher();
    for (text, expected) in [
        ("差评", Polarity::Negative),
        ("物流快", Polarity::Positive),
        ("不好用", Polarity::Negative),
        ("很好吃，下次还点", Polarity::Positive),
        ("太难吃了，再也不点了", Polarity::Negative),
        ("送餐太慢，饭都凉了", Polarity::Negative),
        ("质量很好，物流也快，客服态度好", Polarity::Positive),
        ("假货，和专柜的不一样", Polarity::Negative),
        ("衣服偏小，色差严重", Polarity::Negative),
        ("价格实惠，性价比高", Polarity::Positive),
        ("😡😡", Polarity::Negative),
        ("👍👍", Polarity::Positive),
    ] {
        let analysis = enricher.analyze(text);
        assert_eq!(
            analysis.polarity,
            Some(expected),
            "{text}: {:?}",
            analysis.sentiment
        );
    }
}

#[test]
fn aspects_get_the_polarity_of_their_own_clause() {
    let enricher = default_enricher();
    assert_eq!(
        enricher.analyze("东西不错，就是包装差点").aspects,
        vec![
            aspect("quality", Polarity::Positive),
            aspect("packaging", Polarity::Negative)
        ]
    );
    assert_eq!(
        enricher.analyze("味道不错，但是送得太慢了").aspects,
        vec![
            aspect("quality", Polarity::Positive),
            aspect("logistics", Polarity::Negative)
        ]
    );
    assert_eq!(
        enricher.analyze("质量很好，物流也快，客服态度好").aspects,
        vec![
            aspect("quality", Polarity::Positive),
            aspect("logistics", Polarity::Positive),
            aspect("service", Polarity::Positive)
        ]
    );
}

#[test]
fn texts_without_words_get_no_sentiment() {
    let analysis = default_enricher().analyze("！！ 。。");
    assert_eq!(analysis.sentiment, None);
    assert_eq!(analysis.polarity, None);
    assert_eq!(analysis.aspects, vec![]);
}

#[test]
fn neutral_band_is_validated_and_applied() {
    let config = EnrichConfig {
        neutral_min: 0.7,
        neutral_max: 0.6,
        ..EnrichConfig::default()
    };
    assert!(Enricher::new(&config).is_err());
    let wide = EnrichConfig {
        neutral_min: 0.0,
        neutral_max: 1.0,
        ..EnrichConfig::default()
    };
    let analysis = Enricher::new(&wide).unwrap().analyze("差评");
    assert_eq!(analysis.polarity, Some(Polarity::Neutral));
}

#[test]
fn a_configured_model_file_overrides_the_builtin_model() {
    let always_negative = crate::sentiment::SentimentModel::from_weights(1, -10.0, vec![0.0; 2])
        .unwrap()
        .to_bytes();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&always_negative).unwrap();
    let config = EnrichConfig {
        sentiment_model: Some(file.path().to_path_buf()),
        ..EnrichConfig::default()
    };
    let analysis = Enricher::new(&config).unwrap().analyze("非常好，很满意");
    assert_eq!(analysis.polarity, Some(Polarity::Negative));
    assert!(analysis.sentiment.unwrap() < 0.001);

    let missing = EnrichConfig {
        sentiment_model: Some("/nonexistent/model.bin".into()),
        ..EnrichConfig::default()
    };
    let error = Enricher::new(&missing).unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/model.bin"),
        "{error}"
    );
}

#[test]
fn english_reviews_get_stemmed_features_keywords_and_aspects() {
    let enricher = default_enricher();
    let analysis = enricher.analyze("The box was crushed and the item is broken. Not good.");
    assert_eq!(analysis.lang, "en");
    assert_eq!(
        analysis.keywords,
        vec![hit("crushed", "packaging"), hit("broken", "quality")]
    );
    assert_eq!(analysis.polarity, Some(Polarity::Negative));
    assert_eq!(
        analysis.aspects,
        vec![
            aspect("packaging", Polarity::Negative),
            aspect("quality", Polarity::Negative)
        ]
    );
    let praise = enricher.analyze("Great cup, fast shipping!");
    assert_eq!(praise.polarity, Some(Polarity::Positive));
    assert_eq!(
        praise.aspects,
        vec![aspect("logistics", Polarity::Positive)]
    );
    assert_eq!(
        enricher.analyze("It is FAKE, don't buy").polarity,
        Some(Polarity::Negative)
    );
}

#[test]
fn ascii_keywords_match_whole_words_only() {
    let config = EnrichConfig {
        extra_keywords: vec![KeywordEntry::new("late", "logistics")],
        ..EnrichConfig::default()
    };
    let enricher = Enricher::new(&config).unwrap();
    assert_eq!(enricher.analyze("I love the chocolate").keywords, vec![]);
    assert_eq!(
        enricher.analyze("chocolate arrived late!").keywords,
        vec![hit("late", "logistics")]
    );
    assert_eq!(crate::sentiment::features::english_stem("Shipping"), "ship");
}

#[test]
fn enriched_reviews_are_counted_by_polarity() {
    let counter = crate::metrics::metrics()
        .reviews_total
        .with_label_values(&["neg"]);
    let before = counter.get();
    // The first sample review reads 快递太慢了，包装破损: negative.
    default_enricher()
        .enrich(&samples::raw_records()[0], 1)
        .unwrap();
    assert!(counter.get() > before);
}
