use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[test]
fn empty_file_gives_the_embedded_defaults() {
    let config = Config::parse("", &BTreeMap::new()).unwrap();
    assert!(config.kafka.is_none());
    assert!(config.clickhouse.is_none());
    assert_eq!(config.topics().raw_reviews, "shopwatch.raw.reviews");
    assert_eq!(config.group_id("store"), "shopwatch-store");
    config.validate().unwrap();
}

#[test]
fn environment_overrides_the_file() {
    let text = r#"
        topic_prefix = "a"
        [kafka]
        brokers = "127.0.0.1:1"
    "#;
    let config = Config::parse(
        text,
        &env(&[
            ("SHOPWATCH_KAFKA__BROKERS", "127.0.0.1:19092"),
            ("SHOPWATCH_QUEUE_CAPACITY", "7"),
            ("SHOPWATCH_TOPIC_PREFIX", "test-1"),
            ("SHOPWATCH_LOG", "debug"),
            ("PATH", "/bin"),
        ]),
    )
    .unwrap();
    assert_eq!(config.kafka.as_ref().unwrap().brokers, "127.0.0.1:19092");
    assert_eq!(config.queue_capacity, 7);
    assert_eq!(config.topics().events, "test-1.events");
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let error = Config::parse("kafak = 1", &BTreeMap::new()).unwrap_err();
    assert!(format!("{error:#}").contains("kafak"), "{error:#}");
    let error = Config::parse("[ingest]\npoll_intervall_secs = 1", &BTreeMap::new()).unwrap_err();
    assert!(
        format!("{error:#}").contains("poll_intervall_secs"),
        "{error:#}"
    );
}

#[test]
fn validation_reports_every_problem_at_once() {
    let text = r#"
        queue_capacity = 0
        topic_prefix = "bad prefix"
        [kafka]
        brokers = " "
    "#;
    let config = Config::parse(text, &BTreeMap::new()).unwrap();
    let message = config.validate().unwrap_err().to_string();
    assert!(message.contains("3 problem(s)"), "{message}");
    assert!(message.contains("queue_capacity"), "{message}");
    assert!(message.contains("topic_prefix"), "{message}");
    assert!(message.contains("kafka.brokers"), "{message}");
}

#[test]
fn secrets_are_not_printed_in_debug() {
    let text = r#"
        [[ingest.shops]]
        platform = "taobao"
        shop_id = "tb-1"
        api = "top"
        endpoint = "http://127.0.0.1:1/router/rest"
        app_key = "12345678"
        app_secret = "helloworld-secret-value"
        session = "session-secret-value"
    "#;
    let config = Config::parse(text, &BTreeMap::new()).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("helloworld-secret-value"), "{shown}");
    assert!(!shown.contains("session-secret-value"), "{shown}");
}
