use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use clickhouse::test::{self, handlers};

use crate::test_support::sample_events;

use super::*;

async fn mocked_store(mock: &test::Mock) -> ClickHouseStore {
    mocked_store_with_lookups(mock, mock.url()).await
}

/// A store whose queries and inserts go to `mock` and whose id lookups (plain HTTP, which the
/// mock cannot parse) go to `lookup_url`.
async fn mocked_store_with_lookups(mock: &test::Mock, lookup_url: &str) -> ClickHouseStore {
    mock.add(handlers::provide(["18.16.1".to_owned()]));
    let root = Client::default().with_mock(mock).with_validation(false);
    let mut config = ClickHouseConfig::new(lookup_url);
    config.user = "writer".into();
    config.password = Some(schemas::Secret::new("hunter2"));
    ClickHouseStore::with_client(root, &config).await.unwrap()
}

/// One lookup request as the fake server saw it.
#[derive(Debug, Clone)]
struct SeenLookup {
    params: HashMap<String, String>,
    authorization: String,
    body: String,
}

impl SeenLookup {
    /// The table the query reads, `events` or `reviews`.
    fn table(&self) -> &'static str {
        table_of(&self.params)
    }
}

fn table_of(params: &HashMap<String, String>) -> &'static str {
    let query = params.get("query").map(String::as_str).unwrap_or_default();
    if query.starts_with("SELECT event_id FROM events ") {
        "events"
    } else if query.starts_with("SELECT event_id FROM reviews ") {
        "reviews"
    } else {
        "unknown"
    }
}

#[derive(Default)]
struct FakeState {
    /// Per table, the answers to its next lookups.
    answers: HashMap<&'static str, VecDeque<(StatusCode, String)>>,
    seen: Vec<SeenLookup>,
}

/// A stand-in for the lookup side of ClickHouse's HTTP interface: records each request and
/// answers with the next status and body queued for the table its query reads (the store
/// looks both tables up at once, in no fixed order).
struct FakeLookups {
    url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeLookups {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = axum::Router::new()
            .route("/", axum::routing::post(answer))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeLookups { url, state }
    }

    /// Queues the answer to the next lookup in `table`.
    fn answer(&self, table: &'static str, status: StatusCode, body: impl Into<String>) {
        self.state
            .lock()
            .unwrap()
            .answers
            .entry(table)
            .or_default()
            .push_back((status, body.into()));
    }

    fn seen(&self) -> Vec<SeenLookup> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The only lookup seen for `table`.
    fn seen_for(&self, table: &str) -> SeenLookup {
        let seen: Vec<SeenLookup> = self
            .seen()
            .into_iter()
            .filter(|lookup| lookup.table() == table)
            .collect();
        assert_eq!(seen.len(), 1, "{seen:?}");
        seen[0].clone()
    }
}

async fn answer(
    State(state): State<Arc<Mutex<FakeState>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let mut state = state.lock().unwrap();
    let table = table_of(&params);
    state.seen.push(SeenLookup {
        params,
        authorization: headers
            .get("authorization")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body,
    });
    state
        .answers
        .get_mut(table)
        .and_then(VecDeque::pop_front)
        .unwrap_or((StatusCode::IM_A_TEAPOT, "no answer queued".into()))
}

#[tokio::test]
async fn connect_asks_the_server_version() {
    let mock = test::Mock::new();
    let store = mocked_store(&mock).await;
    assert_eq!(store.server_version(), "18.16.1");
    assert_eq!(store.database(), "shopwatch");
}

#[tokio::test]
async fn migrate_creates_database_tables_and_records_the_version() {
    let mock = test::Mock::new();
    let mut store = mocked_store(&mock).await;
    let create_database = mock.add(handlers::record_ddl());
    let create_migrations = mock.add(handlers::record_ddl());
    mock.add(handlers::provide([0u32]));
    let create_events = mock.add(handlers::record_ddl());
    let create_reviews = mock.add(handlers::record_ddl());
    let record_version = mock.add(handlers::record_ddl());
    store.migrate().await.unwrap();

    assert_eq!(
        create_database.query().await,
        "CREATE DATABASE IF NOT EXISTS shopwatch"
    );
    assert!(create_migrations
        .query()
        .await
        .contains("CREATE TABLE IF NOT EXISTS schema_migrations"));
    let events = create_events.query().await;
    assert!(
        events.contains("CREATE TABLE IF NOT EXISTS events"),
        "{events}"
    );
    assert!(events.contains("ReplacingMergeTree()"), "{events}");
    let reviews = create_reviews.query().await;
    assert!(
        reviews.contains("CREATE TABLE IF NOT EXISTS reviews"),
        "{reviews}"
    );
    assert_eq!(
        record_version.query().await,
        "INSERT INTO schema_migrations (version, description, applied_at) \
         VALUES (1, 'events and reviews', now())"
    );
}

#[tokio::test]
async fn migrate_skips_applied_versions_and_refuses_newer_ones() {
    let mock = test::Mock::new();
    let mut store = mocked_store(&mock).await;
    mock.add(handlers::record_ddl());
    mock.add(handlers::record_ddl());
    mock.add(handlers::provide([1u32]));
    store.migrate().await.unwrap();

    mock.add(handlers::record_ddl());
    mock.add(handlers::record_ddl());
    mock.add(handlers::provide([7u32]));
    let error = store.migrate().await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(
        error
            .to_string()
            .contains("schema version 7, newer than this build's 1"),
        "{error}"
    );
}

#[tokio::test]
async fn lookups_send_the_keys_as_external_data() {
    let events = sample_events();
    let lookups = FakeLookups::start().await;
    let all_ids: String = events
        .iter()
        .map(|event| format!("{}\n", event.event_id))
        .collect();
    lookups.answer("events", StatusCode::OK, all_ids);
    lookups.answer(
        "reviews",
        StatusCode::OK,
        format!("{}\n", events[0].event_id),
    );
    let mock = test::Mock::new();
    let mut store = mocked_store_with_lookups(&mock, &lookups.url).await;
    // Everything is stored already; no handler for an insert: one would fail the call.
    assert_eq!(store.insert(&events).await.unwrap(), 0);

    assert_eq!(lookups.seen().len(), 2);
    let events_lookup = lookups.seen_for("events");
    assert_eq!(
        events_lookup.params["query"],
        "SELECT event_id FROM events \
         WHERE (platform, shop_id, kind, entity_id, event_id) IN keys FORMAT TabSeparated"
    );
    assert_eq!(
        events_lookup.params["keys_structure"],
        "platform String, shop_id String, kind String, entity_id String, event_id String"
    );
    assert_eq!(events_lookup.params["keys_format"], "TabSeparated");
    assert_eq!(events_lookup.params["database"], "shopwatch");
    assert_eq!(events_lookup.params.len(), 4, "{:?}", events_lookup.params);
    // Basic auth of writer:hunter2; the password never goes into the URL.
    assert_eq!(events_lookup.authorization, "Basic d3JpdGVyOmh1bnRlcjI=");
    assert!(
        events_lookup.body.contains("name=\"keys\""),
        "{}",
        events_lookup.body
    );
    let rows = rows::rows(&events).unwrap();
    assert!(
        events_lookup.body.contains(&format!(
            "\r\n\r\n{}\r\n--",
            lookup::event_keys(&rows.events)
        )),
        "{}",
        events_lookup.body
    );

    let reviews_lookup = lookups.seen_for("reviews");
    assert_eq!(
        reviews_lookup.params["query"],
        "SELECT event_id FROM reviews WHERE (platform, shop_id, created_at, event_id) IN \
         (SELECT platform, shop_id, toDateTime(intDiv(created_at_ms, 1000)), event_id FROM keys) \
         FORMAT TabSeparated"
    );
    assert_eq!(
        reviews_lookup.params["keys_structure"],
        "platform String, shop_id String, created_at_ms Int64, event_id String"
    );
    assert!(
        reviews_lookup.body.contains(&format!(
            "\r\n\r\ntaobao\t123\t1767240000000\t{}\n\r\n--",
            events[0].event_id
        )),
        "{}",
        reviews_lookup.body
    );
}

#[tokio::test]
async fn insert_writes_only_the_events_not_stored_yet() {
    // Shipment, listing and source health: no review rows, so only `events` is written.
    let events = sample_events()[1..].to_vec();
    let lookups = FakeLookups::start().await;
    // `events` already holds the shipment.
    lookups.answer(
        "events",
        StatusCode::OK,
        format!("{}\n", events[0].event_id),
    );
    let mock = test::Mock::new();
    let mut store = mocked_store_with_lookups(&mock, &lookups.url).await;
    let inserted_events = mock.add(handlers::record::<EventRow>());

    assert_eq!(store.insert(&events).await.unwrap(), 2);

    // No review keys: no `reviews` lookup.
    assert_eq!(lookups.seen().len(), 1);
    let written: Vec<EventRow> = inserted_events.collect().await;
    assert_eq!(
        written,
        vec![
            rows::event_row(&events[1]).unwrap(),
            rows::event_row(&events[2]).unwrap()
        ]
    );
}

#[tokio::test]
async fn insert_writes_only_the_reviews_not_stored_yet() {
    let events = sample_events();
    let lookups = FakeLookups::start().await;
    // `events` holds them all, `reviews` nothing: a retry after the reviews insert failed.
    let all_ids: String = events
        .iter()
        .map(|event| format!("{}\n", event.event_id))
        .collect();
    lookups.answer("events", StatusCode::OK, all_ids);
    lookups.answer("reviews", StatusCode::OK, "");
    let mock = test::Mock::new();
    let mut store = mocked_store_with_lookups(&mock, &lookups.url).await;
    let inserted_reviews = mock.add(handlers::record::<ReviewRow>());

    assert_eq!(store.insert(&events).await.unwrap(), 0);

    let reviews: Vec<ReviewRow> = inserted_reviews.collect().await;
    assert_eq!(reviews, vec![rows::review_row(&events[0]).unwrap()]);
}

#[tokio::test]
async fn an_empty_batch_asks_nothing() {
    let lookups = FakeLookups::start().await;
    let mock = test::Mock::new();
    let mut store = mocked_store_with_lookups(&mock, &lookups.url).await;
    assert_eq!(store.insert(&[]).await.unwrap(), 0);
    assert!(lookups.seen().is_empty());
}

#[tokio::test]
async fn lookup_errors_are_classified_like_every_other_request() {
    // No reviews: one lookup per insert call.
    let events = sample_events()[1..].to_vec();
    let lookups = FakeLookups::start().await;
    lookups.answer(
        "events",
        StatusCode::SERVICE_UNAVAILABLE,
        "Code: 252, e.displayText() = DB::Exception: Too many parts",
    );
    lookups.answer("events", StatusCode::BAD_GATEWAY, "");
    lookups.answer(
        "events",
        StatusCode::NOT_FOUND,
        "Code: 60, e.displayText() = DB::Exception: Table shopwatch.events doesn't exist., \
         e.what() = DB::Exception\n",
    );
    lookups.answer(
        "events",
        StatusCode::UNAUTHORIZED,
        "Code: 193, e.displayText() = DB::Exception: Wrong password for user writer",
    );
    let mock = test::Mock::new();
    let mut store = mocked_store_with_lookups(&mock, &lookups.url).await;

    let overloaded = store.insert(&events).await.unwrap_err();
    assert!(overloaded.is_retryable(), "{overloaded}");
    let bad_gateway = store.insert(&events).await.unwrap_err();
    assert!(bad_gateway.is_retryable(), "{bad_gateway}");
    assert!(
        bad_gateway
            .to_string()
            .ends_with("bad response: 502 Bad Gateway"),
        "{bad_gateway}"
    );
    let missing = store.insert(&events).await.unwrap_err();
    assert!(matches!(missing, StoreError::Rejected { .. }), "{missing}");
    assert_eq!(
        missing.to_string(),
        format!(
            "clickhouse rejected the request: lookup of stored event ids at {} failed: \
             bad response: Code: 60, e.displayText() = DB::Exception: Table shopwatch.events \
             doesn't exist., e.what() = DB::Exception",
            lookups.url
        )
    );
    let wrong_password = store.insert(&events).await.unwrap_err();
    assert!(
        matches!(wrong_password, StoreError::Rejected { .. }),
        "{wrong_password}"
    );
    assert!(!wrong_password.to_string().contains("hunter2"));
    assert_eq!(lookups.seen().len(), 4);
}

#[tokio::test]
async fn a_lookup_server_that_is_down_is_unavailable() {
    let mock = test::Mock::new();
    let mut store = mocked_store_with_lookups(&mock, "http://127.0.0.1:1").await;
    let error = store.insert(&sample_events()).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().starts_with(
            "clickhouse unavailable: lookup of stored event ids at http://127.0.0.1:1 failed: \
             network error"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn server_errors_are_classified() {
    let mock = test::Mock::new();
    let store = mocked_store(&mock).await;
    mock.add(handlers::failure(test::status::SERVICE_UNAVAILABLE));
    let error = store.count("events").await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        error
            .to_string()
            .contains("count at http://mocked.clickhouse.test"),
        "{error}"
    );

    let error = store.count("no_such_table").await.unwrap_err();
    assert!(matches!(error, StoreError::UnknownTable { .. }), "{error}");
}

#[test]
fn error_codes_of_both_server_generations() {
    assert_eq!(
        error_code("Code: 60, e.displayText() = DB::Exception: Table x.y doesn't exist., e.what() = DB::Exception"),
        Some(60)
    );
    assert_eq!(
        error_code(
            "Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)"
        ),
        Some(516)
    );
    assert_eq!(error_code("Service Unavailable"), None);
}

#[test]
fn classification_by_code() {
    use clickhouse::error::Error;
    let url = "http://127.0.0.1:18123";
    let fatal = classify(
        url,
        "insert",
        &Error::BadResponse("Code: 193, e.displayText() = DB::Exception: Wrong password".into()),
    );
    assert!(matches!(fatal, StoreError::Rejected { .. }), "{fatal}");
    let overloaded = classify(
        url,
        "insert",
        &Error::BadResponse("Code: 252. DB::Exception: Too many parts (300)".into()),
    );
    assert!(overloaded.is_retryable(), "{overloaded}");
    let down = classify(url, "insert", &Error::Network("connection refused".into()));
    assert!(down.is_retryable());
    assert_eq!(
        down.to_string(),
        "clickhouse unavailable: insert at http://127.0.0.1:18123 failed: \
         network error: connection refused"
    );
    let mismatch = classify(url, "select", &Error::NotEnoughData);
    assert!(matches!(mismatch, StoreError::Rejected { .. }));
}

#[test]
fn literals_and_urls() {
    assert_eq!(string_literal(r"it's a \ test"), r"'it\'s a \\ test'");
    assert_eq!(string_literal("nul\0"), r"'nul\0'");
    assert_eq!(
        redacted_url("http://user:secret@db.example:8123"),
        "http://***@db.example:8123"
    );
    assert_eq!(
        redacted_url("http://127.0.0.1:8123"),
        "http://127.0.0.1:8123"
    );
}
