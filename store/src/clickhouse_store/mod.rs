//! `ClickHouseStore`: the `events` and `reviews` tables in ClickHouse.
//!
//! **Two server generations.** Tests here run Debian's ClickHouse 18.16 (2018); production
//! runs a current release. The DDL uses only what both understand: `ReplacingMergeTree()`,
//! `Int64` epoch milliseconds with a server-computed `DateTime` column (`MATERIALIZED`) for
//! partitioning and ordering, `Nullable`, `Array(String)`; no TTL, CODEC, DateTime64, Map or
//! Bool. The client runs with validation off (18.16 knows neither the setting nor the
//! `RowBinaryWithNamesAndTypes` format validation uses) and sends no settings.
//!
//! **Idempotency.** 18.16 has no insert deduplication for non-replicated tables, so `insert`
//! first asks which of the batch's event ids each table already holds (by the full sorting
//! key, so the lookup reads only the granules that can hold them; one request per table with
//! the keys as external data, see the `lookup` module) and inserts only the others. The two
//! tables are looked up and written concurrently, each deduplicated on its own: after a
//! failure either may hold rows of the batch the other lacks, until the batch's retry
//! completes it.
//! `ReplacingMergeTree` ordered by the ids is the safety net should two writers race; with a
//! single writer per partition (one consumer group) `count()` equals the number of distinct
//! events without `FINAL`.
//!
//! **Migrations.** `schema_migrations` (a `ReplacingMergeTree` on `version`) lists applied
//! versions; every statement is `IF NOT EXISTS`, so a migration interrupted halfway is
//! completed by the next `migrate`. Modern-only extras would go into a migration gated on
//! [`ClickHouseStore::server_version`]; there are none yet.
//!
//! **Failures.** Every request has a deadline (`request_timeout_secs`). Network errors,
//! timeouts and server errors that may pass (overload, too many parts, memory) are
//! [`StoreError::Unavailable`]; authentication, unknown database or table, syntax and type
//! errors are [`StoreError::Rejected`].

mod lookup;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clickhouse::{Client, Compression, RowOwned, RowWrite};
use schemas::EnrichedEvent;

use crate::config::ClickHouseConfig;
use crate::error::{Result, StoreError};
use crate::event_store::EventStore;
use crate::metrics;
use crate::rows::{self, EventRow, ReviewRow};
use crate::tables;
use lookup::{Lookup, LookupClient};

const BACKEND: &str = "clickhouse";

/// One schema version: what it does and its statements (each idempotent, one per request).
struct Migration {
    version: u32,
    description: &'static str,
    statements: &'static [&'static str],
}

const CREATE_MIGRATIONS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     UInt32,
    description String,
    applied_at  DateTime
) ENGINE = ReplacingMergeTree()
ORDER BY version";

const CREATE_EVENTS: &str = "
CREATE TABLE IF NOT EXISTS events (
    event_id        String,
    source_event_id String,
    event_type      String,
    platform        String,
    shop_id         String,
    kind            String,
    entity_id       String,
    occurred_at_ms  Int64,
    observed_at_ms  Int64,
    enriched_at_ms  Int64,
    entity_json     String,
    analysis_json   String,
    occurred_at     DateTime MATERIALIZED toDateTime(intDiv(occurred_at_ms, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (platform, shop_id, kind, entity_id, event_id)";

const CREATE_REVIEWS: &str = "
CREATE TABLE IF NOT EXISTS reviews (
    event_id           String,
    platform           String,
    shop_id            String,
    order_id           String,
    sub_order_id       String,
    item_id            String,
    item_title         String,
    item_price_fen     Nullable(Int64),
    buyer_nick_masked  String,
    rating             String,
    score              Nullable(Int32),
    content            String,
    reply              String,
    created_at_ms      Int64,
    follow_up          UInt8,
    tokens             Array(String),
    keyword_words      Array(String),
    keyword_categories Array(String),
    aspect_names       Array(String),
    aspect_polarities  Array(String),
    sentiment          Nullable(Float64),
    polarity           Nullable(String),
    lang               String,
    enriched_at_ms     Int64,
    created_at         DateTime MATERIALIZED toDateTime(intDiv(created_at_ms, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(created_at)
ORDER BY (platform, shop_id, created_at, event_id)";

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "events and reviews",
    statements: &[CREATE_EVENTS, CREATE_REVIEWS],
}];

const EVENT_COLUMNS: &str = "event_id, source_event_id, event_type, platform, shop_id, kind, \
    entity_id, occurred_at_ms, observed_at_ms, enriched_at_ms, entity_json, analysis_json";

const REVIEW_COLUMNS: &str = "event_id, platform, shop_id, order_id, sub_order_id, item_id, \
    item_title, item_price_fen, buyer_nick_masked, rating, score, content, reply, created_at_ms, \
    follow_up, tokens, keyword_words, keyword_categories, aspect_names, aspect_polarities, \
    sentiment, polarity, lang, enriched_at_ms";

/// The event store of the distributed mode.
#[derive(Clone)]
pub struct ClickHouseStore {
    /// Without a database: for `CREATE DATABASE` and `version()`.
    root: Client,
    /// With `database` selected: everything else.
    client: Client,
    /// The id lookups (external data over plain HTTP).
    lookups: LookupClient,
    database: String,
    url: String,
    request_timeout: Duration,
    server_version: String,
}

impl std::fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
}

impl ClickHouseStore {
    /// Connects to the server of `config` and asks its version; fails with a retryable
    /// [`StoreError::Unavailable`] when it does not answer. Call [`EventStore::migrate`] next:
    /// the database may not exist yet.
    pub async fn connect(config: &ClickHouseConfig) -> Result<Self> {
        config.validate()?;
        let mut root = Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_validation(false)
            .with_compression(Compression::Lz4);
        if let Some(password) = &config.password {
            root = root.with_password(password.expose());
        }
        Self::with_client(root, config).await
    }

    /// Builds the store on a prepared client (the mock server's in unit tests).
    async fn with_client(root: Client, config: &ClickHouseConfig) -> Result<Self> {
        let lookups = LookupClient::new(
            &config.url,
            &config.database,
            &config.user,
            config.password.clone(),
        )?;
        let mut store = ClickHouseStore {
            lookups,
            client: root.clone().with_database(&config.database),
            root,
            database: config.database.clone(),
            url: redacted_url(&config.url),
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            server_version: String::new(),
        };
        let query = store.root.query_raw("SELECT version()");
        store.server_version = store
            .timed("version query", query.fetch_one::<String>())
            .await?;
        tracing::info!(
            url = %store.url,
            database = %store.database,
            server_version = %store.server_version,
            "connected to clickhouse"
        );
        Ok(store)
    }

    /// The server's version string, e.g. `18.16.1`.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// The database the tables live in.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// A client with the store's database selected, for queries of tests and checks.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Returns the number of rows in `table` (`events`, `reviews` or `schema_migrations`),
    /// without `FINAL`: duplicates this crate failed to prevent would show.
    pub async fn count(&self, table: &str) -> Result<u64> {
        let table = tables::known(table)?;
        let query = self
            .client
            .query_raw(&format!("SELECT count() FROM {table}"));
        self.timed("count", query.fetch_one::<u64>()).await
    }

    /// Returns every `events` row, ordered by `event_id` (for tests and checks).
    pub async fn events(&self) -> Result<Vec<EventRow>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY event_id");
        let query = self.client.query_raw(&sql);
        self.timed("select events", query.fetch_all::<EventRow>())
            .await
    }

    /// Returns every `reviews` row, ordered by `event_id` (for tests and checks).
    pub async fn reviews(&self) -> Result<Vec<ReviewRow>> {
        let sql = format!("SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY event_id");
        let query = self.client.query_raw(&sql);
        self.timed("select reviews", query.fetch_all::<ReviewRow>())
            .await
    }

    /// Drops the store's database with everything in it (test clean-up).
    pub async fn drop_database(&self) -> Result<()> {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.database);
        self.timed("drop database", self.root.query_raw(&sql).execute())
            .await
    }

    /// Returns the event ids among `keys` (a keys file of `lookup`) that its table already
    /// holds, in one request.
    async fn stored_ids(&self, lookup: &Lookup, keys: String) -> Result<HashSet<String>> {
        self.timed(
            "lookup of stored event ids",
            self.lookups.stored_ids(lookup, keys),
        )
        .await
    }

    /// Inserts `rows` into `table` in one INSERT; returns once the server confirmed it.
    async fn write<T>(&self, table: &'static str, rows: &[&T]) -> Result<()>
    where
        T: RowOwned + RowWrite,
    {
        if rows.is_empty() {
            return Ok(());
        }
        let client = &self.client;
        let insert = async move {
            let mut insert = client.insert::<T>(table).await?;
            for row in rows {
                insert.write(*row).await?;
            }
            insert.end().await
        };
        self.timed("insert", insert).await
    }

    /// Runs one request with the store's deadline and classifies its error.
    async fn timed<T>(
        &self,
        what: &str,
        request: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.request_timeout, request).await {
            Ok(result) => result.map_err(|error| classify(&self.url, what, &error)),
            Err(_elapsed) => Err(StoreError::Unavailable {
                backend: BACKEND,
                reason: format!(
                    "{what} at {} timed out after {}s",
                    self.url,
                    self.request_timeout.as_secs()
                ),
            }),
        }
    }

    async fn execute(&self, what: &str, client: &Client, sql: &str) -> Result<()> {
        self.timed(what, client.query_raw(sql).execute()).await
    }
}

#[async_trait]
impl EventStore for ClickHouseStore {
    async fn migrate(&mut self) -> Result<()> {
        let create_database = format!("CREATE DATABASE IF NOT EXISTS {}", self.database);
        self.execute("create database", &self.root, &create_database)
            .await?;
        self.execute(
            "create schema_migrations",
            &self.client,
            CREATE_MIGRATIONS_TABLE,
        )
        .await?;
        let query = self
            .client
            .query_raw("SELECT toUInt32(max(version)) FROM schema_migrations");
        let current = self
            .timed("schema version query", query.fetch_one::<u32>())
            .await?;
        let latest = MIGRATIONS.last().map_or(0, |migration| migration.version);
        if current > latest {
            return Err(StoreError::Rejected {
                backend: BACKEND,
                reason: format!(
                    "database {} has schema version {current}, newer than this build's {latest}; \
                     run a newer shopwatch",
                    self.database
                ),
            });
        }
        for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
            for statement in migration.statements {
                self.execute("migration", &self.client, statement).await?;
            }
            let record = format!(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES ({}, {}, now())",
                migration.version,
                string_literal(migration.description)
            );
            self.execute("record migration", &self.client, &record)
                .await?;
            tracing::info!(
                backend = BACKEND,
                database = %self.database,
                version = migration.version,
                description = migration.description,
                "schema migration applied"
            );
        }
        Ok(())
    }

    async fn insert(&mut self, events: &[EnrichedEvent]) -> Result<usize> {
        let started = Instant::now();
        let result = self.insert_new(events).await;
        metrics::metrics()
            .insert_duration
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

impl ClickHouseStore {
    async fn insert_new(&self, events: &[EnrichedEvent]) -> Result<usize> {
        let started = Instant::now();
        let rows = rows::rows(events)?;
        let rows_ms = millis_since(started);

        // The tables are independent, so both are looked up and written at once. Should one
        // fail (or the process die) after the other was written, the retry of the batch finds
        // the written rows and completes the rest: each table is deduplicated on its own.
        let (events_outcome, reviews_outcome) = tokio::try_join!(
            self.store_new(
                tables::EVENTS,
                &lookup::EVENTS,
                lookup::event_keys(&rows.events),
                &rows.events,
                |row| &row.event_id,
                rows.duplicate_events,
            ),
            self.store_new(
                tables::REVIEWS,
                &lookup::REVIEWS,
                lookup::review_keys(&rows.reviews),
                &rows.reviews,
                |row| &row.event_id,
                rows.duplicate_reviews,
            ),
        )?;
        tracing::debug!(
            backend = BACKEND,
            events = rows.events.len(),
            new_events = events_outcome.inserted,
            new_reviews = reviews_outcome.inserted,
            rows_ms,
            events_lookup_ms = events_outcome.lookup_ms,
            events_insert_ms = events_outcome.insert_ms,
            reviews_lookup_ms = reviews_outcome.lookup_ms,
            reviews_insert_ms = reviews_outcome.insert_ms,
            "batch stored"
        );
        Ok(events_outcome.inserted)
    }

    /// Looks up which of `rows` (described by `keys`, a keys file of `lookup`) `table`
    /// holds, inserts the others and counts both in the metrics; `duplicates` is the number
    /// of the batch's own duplicates dropped before.
    async fn store_new<T>(
        &self,
        table: &'static str,
        lookup: &Lookup,
        keys: String,
        rows: &[T],
        event_id: fn(&T) -> &String,
        duplicates: usize,
    ) -> Result<TableOutcome>
    where
        T: RowOwned + RowWrite,
    {
        let started = Instant::now();
        let stored = self.stored_ids(lookup, keys).await?;
        let new_rows: Vec<&T> = rows
            .iter()
            .filter(|row| !stored.contains(event_id(row)))
            .collect();
        let lookup_ms = millis_since(started);
        let started = Instant::now();
        self.write(table, &new_rows).await?;
        metrics::record_rows(table, new_rows.len(), stored.len() + duplicates);
        Ok(TableOutcome {
            inserted: new_rows.len(),
            lookup_ms,
            insert_ms: millis_since(started),
        })
    }
}

/// What [`ClickHouseStore::store_new`] did to one table.
struct TableOutcome {
    inserted: usize,
    lookup_ms: f64,
    insert_ms: f64,
}

fn millis_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// A ClickHouse string literal: single quotes, with `\` and `'` escaped.
fn string_literal(value: &str) -> String {
    let mut literal = String::with_capacity(value.len() + 2);
    literal.push('\'');
    for c in value.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '\0' => literal.push_str("\\0"),
            _ => literal.push(c),
        }
    }
    literal.push('\'');
    literal
}

/// The URL without credentials, for logs and error messages.
fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// ClickHouse error codes retrying cannot fix: authentication and access, unknown database,
/// table or column, syntax and type errors, and data our own rows failed to match.
const FATAL_CODES: &[u32] = &[
    16,  // NO_SUCH_COLUMN_IN_TABLE
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    33,  // CANNOT_READ_ALL_DATA
    36,  // BAD_ARGUMENTS
    43,  // ILLEGAL_TYPE_OF_ARGUMENT
    44,  // ILLEGAL_COLUMN
    47,  // UNKNOWN_IDENTIFIER
    53,  // TYPE_MISMATCH
    60,  // UNKNOWN_TABLE
    62,  // SYNTAX_ERROR
    81,  // UNKNOWN_DATABASE
    115, // UNKNOWN_SETTING
    164, // READONLY
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    195, // IP_ADDRESS_NOT_ALLOWED
    497, // ACCESS_DENIED
    516, // AUTHENTICATION_FAILED
];

/// Returns the ClickHouse error code of a server message (`Code: 60, e.displayText() = …`
/// from 18.x, `Code: 60. DB::Exception: …` from current releases).
fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + "Code: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Classifies a client error; see the module docs.
fn classify(url: &str, what: &str, error: &clickhouse::error::Error) -> StoreError {
    use clickhouse::error::Error;

    let mut reason = format!("{what} at {url} failed: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        // Variants like `Network` already print their source; add only what is new.
        let text = cause.to_string();
        if !reason.contains(&text) {
            let _ = write!(reason, ": {text}");
        }
        source = cause.source();
    }
    let retryable = match error {
        Error::Network(_) | Error::TimedOut | Error::Decompression(_) => true,
        Error::BadResponse(message) => {
            !matches!(error_code(message), Some(code) if FATAL_CODES.contains(&code))
        }
        _ => false,
    };
    if retryable {
        StoreError::Unavailable {
            backend: BACKEND,
            reason,
        }
    } else {
        StoreError::Rejected {
            backend: BACKEND,
            reason,
        }
    }
}

#[cfg(test)]
mod tests;
