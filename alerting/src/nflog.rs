//! The notification log: what was sent to which receiver, kept durably in SQLite.
//!
//! One row per (event id, receiver) with a state:
//! - `sending`: written **before** the POST; left behind by a crash or an unreachable
//!   receiver. Such alerts are sent again ([`NotificationLog::pending`] at startup, or when
//!   the event is replayed): at-least-once, with the same fingerprint.
//! - `sent`: written after the receiver's 2xx; the event is never sent to that receiver again.
//! - `failed`: the receiver rejected the alert permanently (4xx); it is not retried.
//!
//! Every write is its own transaction with `synchronous=FULL`, so a row survives a crash the
//! moment the call returns. Calls block on disk I/O: async callers run them on
//! `spawn_blocking`. The connection sits behind a mutex, so the log is `Sync`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::alert::Alert;
use crate::error::AlertingError;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notifications (
    event_id      TEXT    NOT NULL,
    receiver      TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    fingerprint   TEXT    NOT NULL,
    alert_json    TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    sent_at_ms    INTEGER,
    last_error    TEXT,
    PRIMARY KEY (event_id, receiver)
);
CREATE INDEX IF NOT EXISTS notifications_state ON notifications (state);
";

/// Where one notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationState {
    /// About to be sent, or the send's outcome is unknown.
    Sending,
    /// The receiver accepted it.
    Sent,
    /// The receiver rejected it permanently.
    Failed,
}

impl NotificationState {
    /// Returns the stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Sending => "sending",
            NotificationState::Sent => "sent",
            NotificationState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, AlertingError> {
        match text {
            "sending" => Ok(NotificationState::Sending),
            "sent" => Ok(NotificationState::Sent),
            "failed" => Ok(NotificationState::Failed),
            other => Err(AlertingError::LogCorrupt {
                reason: format!("unknown state {other:?}"),
            }),
        }
    }

    /// Returns true for `sent` and `failed`: nothing more will be sent.
    pub fn is_final(self) -> bool {
        !matches!(self, NotificationState::Sending)
    }
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationEntry {
    pub event_id: String,
    pub receiver: String,
    pub state: NotificationState,
    pub fingerprint: String,
    /// POSTs started (`sending` writes).
    pub attempts: u32,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// The durable notification log.
pub struct NotificationLog {
    connection: Mutex<Connection>,
}

impl std::fmt::Debug for NotificationLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NotificationLog")
    }
}

impl NotificationLog {
    /// Opens (creating if needed) the log in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Self, AlertingError> {
        let connection = Connection::open(path)?;
        // WAL keeps readers off the writer's back; FULL syncs every commit.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        Self::init(connection)
    }

    /// Opens a log that lives only as long as this value (tests, dry runs).
    pub fn in_memory() -> Result<Self, AlertingError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(connection: Connection) -> Result<Self, AlertingError> {
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(AlertingError::LogCorrupt {
                reason: format!(
                    "schema version {version} is newer than this build understands ({SCHEMA_VERSION})"
                ),
            });
        }
        connection.execute_batch(SCHEMA)?;
        connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(NotificationLog {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (each statement is
        // atomic), so the connection is still usable.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the row of (`event_id`, `receiver`).
    pub fn entry(
        &self,
        event_id: &str,
        receiver: &str,
    ) -> Result<Option<NotificationEntry>, AlertingError> {
        let connection = self.lock();
        let row = connection
            .query_row(
                "SELECT event_id, receiver, state, fingerprint, attempts, created_at_ms,
                        updated_at_ms, sent_at_ms, last_error
                 FROM notifications WHERE event_id = ?1 AND receiver = ?2",
                params![event_id, receiver],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, u32>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, i64>(6)?,
                        row.get::<_, Option<i64>>(7)?,
                        row.get::<_, Option<String>>(8)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(
                event_id,
                receiver,
                state,
                fingerprint,
                attempts,
                created_at_ms,
                updated_at_ms,
                sent_at_ms,
                last_error,
            )| {
                Ok(NotificationEntry {
                    event_id,
                    receiver,
                    state: NotificationState::parse(&state)?,
                    fingerprint,
                    attempts,
                    created_at_ms,
                    updated_at_ms,
                    sent_at_ms,
                    last_error,
                })
            },
        )
        .transpose()
    }

    /// Returns the state of (`event_id`, `receiver`), `None` when never attempted.
    pub fn state(
        &self,
        event_id: &str,
        receiver: &str,
    ) -> Result<Option<NotificationState>, AlertingError> {
        Ok(self.entry(event_id, receiver)?.map(|entry| entry.state))
    }

    /// Returns true when any receiver has a row for `event_id`.
    pub fn has_event(&self, event_id: &str) -> Result<bool, AlertingError> {
        let connection = self.lock();
        let found = connection
            .query_row(
                "SELECT 1 FROM notifications WHERE event_id = ?1 LIMIT 1",
                params![event_id],
                |_| Ok(()),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// Records that `alert` is about to be POSTed to `receiver` (state `sending`, one more
    /// attempt). A row already `sent` or `failed` is left as it is.
    pub fn begin_send(
        &self,
        alert: &Alert,
        receiver: &str,
        now_ms: i64,
    ) -> Result<(), AlertingError> {
        let alert_json =
            serde_json::to_string(alert).map_err(|error| AlertingError::LogCorrupt {
                reason: format!("alert does not serialize: {error}"),
            })?;
        self.lock().execute(
            "INSERT INTO notifications
                 (event_id, receiver, state, fingerprint, alert_json, attempts,
                  created_at_ms, updated_at_ms)
             VALUES (?1, ?2, 'sending', ?3, ?4, 1, ?5, ?5)
             ON CONFLICT (event_id, receiver) DO UPDATE SET
                 attempts = attempts + 1,
                 fingerprint = excluded.fingerprint,
                 alert_json = excluded.alert_json,
                 updated_at_ms = excluded.updated_at_ms
             WHERE state = 'sending'",
            params![
                alert.event_id,
                receiver,
                alert.fingerprint,
                alert_json,
                now_ms
            ],
        )?;
        Ok(())
    }

    /// Records that `receiver` accepted the alert of `event_id`.
    pub fn mark_sent(
        &self,
        event_id: &str,
        receiver: &str,
        now_ms: i64,
    ) -> Result<(), AlertingError> {
        self.lock().execute(
            "UPDATE notifications SET state = 'sent', sent_at_ms = ?3, updated_at_ms = ?3
             WHERE event_id = ?1 AND receiver = ?2",
            params![event_id, receiver, now_ms],
        )?;
        Ok(())
    }

    /// Records that `receiver` rejected the alert of `event_id` for good.
    pub fn mark_failed(
        &self,
        event_id: &str,
        receiver: &str,
        now_ms: i64,
        reason: &str,
    ) -> Result<(), AlertingError> {
        self.lock().execute(
            "UPDATE notifications SET state = 'failed', last_error = ?4, updated_at_ms = ?3
             WHERE event_id = ?1 AND receiver = ?2 AND state = 'sending'",
            params![event_id, receiver, now_ms, reason],
        )?;
        Ok(())
    }

    /// Notes a failed attempt that will be retried (the row stays `sending`).
    pub fn note_error(
        &self,
        event_id: &str,
        receiver: &str,
        now_ms: i64,
        reason: &str,
    ) -> Result<(), AlertingError> {
        self.lock().execute(
            "UPDATE notifications SET last_error = ?4, updated_at_ms = ?3
             WHERE event_id = ?1 AND receiver = ?2 AND state = 'sending'",
            params![event_id, receiver, now_ms, reason],
        )?;
        Ok(())
    }

    /// Records, in one step, that `alert` reached a local receiver (such as the observer)
    /// that cannot fail.
    pub fn record_delivered(
        &self,
        alert: &Alert,
        receiver: &str,
        now_ms: i64,
    ) -> Result<(), AlertingError> {
        self.begin_send(alert, receiver, now_ms)?;
        self.mark_sent(&alert.event_id, receiver, now_ms)
    }

    /// Returns the alerts still `sending`, oldest first, with their receiver.
    pub fn pending(&self) -> Result<Vec<(String, Alert)>, AlertingError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT receiver, alert_json FROM notifications
             WHERE state = 'sending' ORDER BY created_at_ms, event_id, receiver",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(receiver, json)| {
                let alert: Alert =
                    serde_json::from_str(&json).map_err(|error| AlertingError::LogCorrupt {
                        reason: format!("stored alert does not parse: {error}"),
                    })?;
                Ok((receiver, alert))
            })
            .collect()
    }

    /// Returns how many rows are in `state`.
    pub fn count(&self, state: NotificationState) -> Result<u64, AlertingError> {
        let count: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM notifications WHERE state = ?1",
            params![state.as_str()],
            |row| row.get(0),
        )?;
        Ok(count.max(0) as u64)
    }
}

#[cfg(test)]
mod tests;
