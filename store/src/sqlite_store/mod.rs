//! `SqliteStore`: the `events` and `reviews` tables in one SQLite file (the embedded mode).
//!
//! - `event_id` is the primary key of both tables and rows go in with `INSERT OR IGNORE`, so
//!   storing an event twice changes nothing; one `insert` is one transaction.
//! - The file runs in WAL mode with `synchronous=FULL`: a committed insert survives a crash
//!   or a power cut, so the caller may acknowledge its records once `insert` returned.
//! - Arrays (`tokens`, `keyword_words`, …) are JSON arrays in TEXT columns; every other
//!   column has the value and meaning it has in ClickHouse (see [`crate::rows`]).
//! - The connection sits behind a mutex and every call of the async trait runs on
//!   `spawn_blocking`, so the runtime's workers never wait on the disk.
//! - Schema versions are rows of `schema_migrations`; `migrate` applies the missing ones in
//!   one `BEGIN IMMEDIATE` transaction, so concurrent starts do not race.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use schemas::EnrichedEvent;

use crate::error::{Result, StoreError};
use crate::event_store::EventStore;
use crate::metrics;
use crate::rows::{self, EventRow, ReviewRow, Rows};
use crate::tables;

const BACKEND: &str = "sqlite";

/// One schema version: what it does and the statements that get there (each idempotent).
struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "events and reviews",
    sql: "
CREATE TABLE IF NOT EXISTS events (
    event_id        TEXT    NOT NULL PRIMARY KEY,
    source_event_id TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    platform        TEXT    NOT NULL,
    shop_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    entity_id       TEXT    NOT NULL,
    occurred_at_ms  INTEGER NOT NULL,
    observed_at_ms  INTEGER NOT NULL,
    enriched_at_ms  INTEGER NOT NULL,
    entity_json     TEXT    NOT NULL,
    analysis_json   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_entity
    ON events (platform, shop_id, kind, entity_id, occurred_at_ms);
CREATE INDEX IF NOT EXISTS events_by_time ON events (occurred_at_ms);
CREATE TABLE IF NOT EXISTS reviews (
    event_id           TEXT    NOT NULL PRIMARY KEY,
    platform           TEXT    NOT NULL,
    shop_id            TEXT    NOT NULL,
    order_id           TEXT    NOT NULL,
    sub_order_id       TEXT    NOT NULL,
    item_id            TEXT    NOT NULL,
    item_title         TEXT    NOT NULL,
    item_price_fen     INTEGER,
    buyer_nick_masked  TEXT    NOT NULL,
    rating             TEXT    NOT NULL,
    score              INTEGER,
    content            TEXT    NOT NULL,
    reply              TEXT    NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    follow_up          INTEGER NOT NULL,
    tokens             TEXT    NOT NULL,
    keyword_words      TEXT    NOT NULL,
    keyword_categories TEXT    NOT NULL,
    aspect_names       TEXT    NOT NULL,
    aspect_polarities  TEXT    NOT NULL,
    sentiment          REAL,
    polarity           TEXT,
    lang               TEXT    NOT NULL,
    enriched_at_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_shop_time ON reviews (platform, shop_id, created_at_ms);
",
}];

const CREATE_MIGRATIONS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_migrations (
    version       INTEGER NOT NULL PRIMARY KEY,
    description   TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL
)";

const INSERT_EVENT: &str = "
INSERT OR IGNORE INTO events (
    event_id, source_event_id, event_type, platform, shop_id, kind, entity_id,
    occurred_at_ms, observed_at_ms, enriched_at_ms, entity_json, analysis_json
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const INSERT_REVIEW: &str = "
INSERT OR IGNORE INTO reviews (
    event_id, platform, shop_id, order_id, sub_order_id, item_id, item_title, item_price_fen,
    buyer_nick_masked, rating, score, content, reply, created_at_ms, follow_up, tokens,
    keyword_words, keyword_categories, aspect_names, aspect_polarities, sentiment, polarity,
    lang, enriched_at_ms
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
          ?19, ?20, ?21, ?22, ?23, ?24)";

/// The event store of the embedded mode.
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`; `:memory:` opens a private in-memory
    /// database. Call [`EventStore::migrate`] before inserting.
    pub fn open(path: &Path) -> Result<Self> {
        let connection = Connection::open(path).map_err(|error| StoreError::Config {
            reason: format!("cannot open sqlite database {}: {error}", path.display()),
        })?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(sqlite_error)?;
        // `journal_mode` answers with the resulting mode (`memory` for in-memory databases).
        let _mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(sqlite_error)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite_error)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Returns the number of rows in `table` (`events`, `reviews` or `schema_migrations`).
    pub fn count(&self, table: &str) -> Result<u64> {
        let table = tables::known(table)?;
        let connection = lock(&self.connection);
        let count: i64 = connection
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .map_err(sqlite_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Returns every `events` row, ordered by `event_id` (for tests and checks).
    pub fn events(&self) -> Result<Vec<EventRow>> {
        let connection = lock(&self.connection);
        let mut statement = connection
            .prepare(
                "SELECT event_id, source_event_id, event_type, platform, shop_id, kind, entity_id,
                        occurred_at_ms, observed_at_ms, enriched_at_ms, entity_json, analysis_json
                 FROM events ORDER BY event_id",
            )
            .map_err(sqlite_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok(EventRow {
                    event_id: row.get(0)?,
                    source_event_id: row.get(1)?,
                    event_type: row.get(2)?,
                    platform: row.get(3)?,
                    shop_id: row.get(4)?,
                    kind: row.get(5)?,
                    entity_id: row.get(6)?,
                    occurred_at_ms: row.get(7)?,
                    observed_at_ms: row.get(8)?,
                    enriched_at_ms: row.get(9)?,
                    entity_json: row.get(10)?,
                    analysis_json: row.get(11)?,
                })
            })
            .map_err(sqlite_error)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sqlite_error)
    }

    /// Returns every `reviews` row, ordered by `event_id` (for tests and checks).
    pub fn reviews(&self) -> Result<Vec<ReviewRow>> {
        let connection = lock(&self.connection);
        let mut statement = connection
            .prepare(
                "SELECT event_id, platform, shop_id, order_id, sub_order_id, item_id, item_title,
                        item_price_fen, buyer_nick_masked, rating, score, content, reply,
                        created_at_ms, follow_up, tokens, keyword_words, keyword_categories,
                        aspect_names, aspect_polarities, sentiment, polarity, lang, enriched_at_ms
                 FROM reviews ORDER BY event_id",
            )
            .map_err(sqlite_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok(ReviewRow {
                    event_id: row.get(0)?,
                    platform: row.get(1)?,
                    shop_id: row.get(2)?,
                    order_id: row.get(3)?,
                    sub_order_id: row.get(4)?,
                    item_id: row.get(5)?,
                    item_title: row.get(6)?,
                    item_price_fen: row.get(7)?,
                    buyer_nick_masked: row.get(8)?,
                    rating: row.get(9)?,
                    score: row.get(10)?,
                    content: row.get(11)?,
                    reply: row.get(12)?,
                    created_at_ms: row.get(13)?,
                    follow_up: row.get(14)?,
                    tokens: json_column(row, 15)?,
                    keyword_words: json_column(row, 16)?,
                    keyword_categories: json_column(row, 17)?,
                    aspect_names: json_column(row, 18)?,
                    aspect_polarities: json_column(row, 19)?,
                    sentiment: row.get(20)?,
                    polarity: row.get(21)?,
                    lang: row.get(22)?,
                    enriched_at_ms: row.get(23)?,
                })
            })
            .map_err(sqlite_error)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sqlite_error)
    }

    /// Runs `work` on the blocking pool with the connection locked.
    async fn blocking<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || work(&mut lock(&connection)))
            .await
            .map_err(|error| StoreError::Rejected {
                backend: BACKEND,
                reason: format!("sqlite task failed: {error}"),
            })?
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn migrate(&mut self) -> Result<()> {
        self.blocking(migrate).await
    }

    async fn insert(&mut self, events: &[EnrichedEvent]) -> Result<usize> {
        let started = Instant::now();
        let rows = rows::rows(events)?;
        let result = self
            .blocking(move |connection| insert_rows(connection, &rows))
            .await;
        metrics::metrics()
            .insert_duration
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

fn migrate(connection: &mut Connection) -> Result<()> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    transaction
        .execute_batch(CREATE_MIGRATIONS_TABLE)
        .map_err(sqlite_error)?;
    let current: i64 = transaction
        .query_row("SELECT max(version) FROM schema_migrations", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(sqlite_error)?
        .flatten()
        .unwrap_or(0);
    let latest = MIGRATIONS.last().map_or(0, |migration| migration.version);
    if current > latest {
        return Err(StoreError::Rejected {
            backend: BACKEND,
            reason: format!(
                "database schema version {current} is newer than this build's {latest}; \
                 run a newer shopwatch"
            ),
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        transaction
            .execute_batch(migration.sql)
            .map_err(sqlite_error)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, description, applied_at_ms)
                 VALUES (?1, ?2, ?3)",
                params![migration.version, migration.description, now_ms()],
            )
            .map_err(sqlite_error)?;
        tracing::info!(
            backend = BACKEND,
            version = migration.version,
            description = migration.description,
            "schema migration applied"
        );
    }
    transaction.commit().map_err(sqlite_error)
}

fn insert_rows(connection: &mut Connection, rows: &Rows) -> Result<usize> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    let mut new_events = 0;
    let mut new_reviews = 0;
    {
        let mut statement = transaction
            .prepare_cached(INSERT_EVENT)
            .map_err(sqlite_error)?;
        for row in &rows.events {
            new_events += statement
                .execute(params![
                    row.event_id,
                    row.source_event_id,
                    row.event_type,
                    row.platform,
                    row.shop_id,
                    row.kind,
                    row.entity_id,
                    row.occurred_at_ms,
                    row.observed_at_ms,
                    row.enriched_at_ms,
                    row.entity_json,
                    row.analysis_json,
                ])
                .map_err(sqlite_error)?;
        }
        let mut statement = transaction
            .prepare_cached(INSERT_REVIEW)
            .map_err(sqlite_error)?;
        for row in &rows.reviews {
            new_reviews += statement
                .execute(params![
                    row.event_id,
                    row.platform,
                    row.shop_id,
                    row.order_id,
                    row.sub_order_id,
                    row.item_id,
                    row.item_title,
                    row.item_price_fen,
                    row.buyer_nick_masked,
                    row.rating,
                    row.score,
                    row.content,
                    row.reply,
                    row.created_at_ms,
                    row.follow_up,
                    json_text(&row.tokens),
                    json_text(&row.keyword_words),
                    json_text(&row.keyword_categories),
                    json_text(&row.aspect_names),
                    json_text(&row.aspect_polarities),
                    row.sentiment,
                    row.polarity,
                    row.lang,
                    row.enriched_at_ms,
                ])
                .map_err(sqlite_error)?;
        }
    }
    transaction.commit().map_err(sqlite_error)?;
    metrics::record_rows(
        tables::EVENTS,
        new_events,
        rows.events.len() - new_events + rows.duplicate_events,
    );
    metrics::record_rows(
        tables::REVIEWS,
        new_reviews,
        rows.reviews.len() - new_reviews + rows.duplicate_reviews,
    );
    Ok(new_events)
}

/// Locks the connection; a panic while it was held rolled its transaction back (the
/// `Transaction` guard's drop), so the connection is still usable.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn json_text(values: &[String]) -> String {
    // Serializing strings to JSON cannot fail.
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

fn json_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Classifies a SQLite error: a busy or locked database, a full disk and I/O errors may pass
/// on retry; everything else is a problem with the file or the schema.
fn sqlite_error(error: rusqlite::Error) -> StoreError {
    let retryable = matches!(
        error.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::OutOfMemory
        )
    );
    if retryable {
        StoreError::Unavailable {
            backend: BACKEND,
            reason: error.to_string(),
        }
    } else {
        StoreError::Rejected {
            backend: BACKEND,
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
