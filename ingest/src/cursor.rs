//! Durable poll cursors: how far each shop's reviews were published, and which were.
//!
//! Contract:
//! - a [`Cursor`] is saved only after the review sink acknowledged every record of the
//!   windows it covers, so after a crash the poller re-fetches from the last saved watermark
//!   (minus the overlap) and loses nothing;
//! - it keeps the event ids published with `occurred_at ≥ watermark − overlap`, exactly the
//!   ones a later window can fetch again, so a replayed window (overlap, restart) publishes
//!   no duplicate; older ids are pruned;
//! - [`FileCursorStore`] writes one JSON file per source atomically (temp file, fsync, rename,
//!   directory fsync): a reader sees the old cursor or the new one, never half of one.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::CursorError;

/// Where one source (one shop on one API) stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// End of the last fully published window, UTC epoch milliseconds.
    pub watermark_ms: i64,
    /// Event ids published recently (occurred at or after `watermark − overlap`), with the
    /// time each fact occurred, to skip replays.
    #[serde(default)]
    pub recent_event_ids: BTreeMap<String, i64>,
}

impl Cursor {
    /// Returns true when `event_id` was already published.
    pub fn contains(&self, event_id: &str) -> bool {
        self.recent_event_ids.contains_key(event_id)
    }

    /// Records a published window ending at `end_ms` and its records, then prunes the ids no
    /// later window can fetch again.
    pub(crate) fn advance(
        &mut self,
        end_ms: i64,
        published: impl IntoIterator<Item = (String, i64)>,
        overlap_ms: i64,
    ) {
        self.watermark_ms = self.watermark_ms.max(end_ms);
        self.recent_event_ids.extend(published);
        let keep_from = self.watermark_ms.saturating_sub(overlap_ms);
        self.recent_event_ids
            .retain(|_, occurred_at_ms| *occurred_at_ms >= keep_from);
    }
}

/// Loads and saves cursors by source name.
#[async_trait]
pub trait CursorStore: Send + Sync {
    /// Returns the cursor of `source`, or `None` when it never saved one.
    async fn load(&self, source: &str) -> Result<Option<Cursor>, CursorError>;

    /// Replaces the cursor of `source`; durable when it returns `Ok`.
    async fn save(&self, source: &str, cursor: &Cursor) -> Result<(), CursorError>;
}

/// Cursors in memory, for tests and throwaway runs.
#[derive(Debug, Default)]
pub struct MemoryCursorStore {
    cursors: Mutex<HashMap<String, Cursor>>,
}

impl MemoryCursorStore {
    /// Returns an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the cursor of `source`, if saved.
    pub fn get(&self, source: &str) -> Option<Cursor> {
        self.lock().get(source).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cursor>> {
        // The map is consistent after every statement; a panic elsewhere does not corrupt it.
        self.cursors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl CursorStore for MemoryCursorStore {
    async fn load(&self, source: &str) -> Result<Option<Cursor>, CursorError> {
        Ok(self.get(source))
    }

    async fn save(&self, source: &str, cursor: &Cursor) -> Result<(), CursorError> {
        self.lock().insert(source.to_owned(), cursor.clone());
        Ok(())
    }
}

/// One JSON file per source in a directory, written atomically.
#[derive(Debug, Clone)]
pub struct FileCursorStore {
    dir: PathBuf,
}

impl FileCursorStore {
    /// Uses directory `dir`, creating it when missing.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, CursorError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|error| CursorError::Io {
            source_name: dir.display().to_string(),
            error,
        })?;
        Ok(FileCursorStore { dir })
    }

    /// Returns the file that holds `source`'s cursor.
    pub fn path_of(&self, source: &str) -> PathBuf {
        self.dir.join(file_name(source))
    }
}

/// A file name for `source`: its safe characters, plus a hash when any had to be replaced
/// (so two sources never share a file).
fn file_name(source: &str) -> String {
    let safe: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe == source && !source.starts_with('.') && !source.is_empty() {
        format!("{safe}.json")
    } else {
        let digest = Sha256::digest(source.as_bytes());
        format!("{safe}-{}.json", hex::encode(&digest[..4]))
    }
}

#[async_trait]
impl CursorStore for FileCursorStore {
    async fn load(&self, source: &str) -> Result<Option<Cursor>, CursorError> {
        let path = self.path_of(source);
        let name = source.to_owned();
        run_blocking(&name, move || {
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(error) => {
                    return Err(CursorError::Io {
                        source_name: path.display().to_string(),
                        error,
                    })
                }
            };
            serde_json::from_slice(&text)
                .map(Some)
                .map_err(|error| CursorError::Corrupt {
                    source_name: path.display().to_string(),
                    reason: error.to_string(),
                })
        })
        .await
    }

    async fn save(&self, source: &str, cursor: &Cursor) -> Result<(), CursorError> {
        let path = self.path_of(source);
        let dir = self.dir.clone();
        let text = serde_json::to_vec_pretty(cursor).map_err(|error| CursorError::Corrupt {
            source_name: source.to_owned(),
            reason: error.to_string(),
        })?;
        let name = source.to_owned();
        run_blocking(&name, move || {
            let io = |error| CursorError::Io {
                source_name: path.display().to_string(),
                error,
            };
            let mut temp = path.clone().into_os_string();
            temp.push(".tmp");
            let temp = PathBuf::from(temp);
            let mut file = std::fs::File::create(&temp).map_err(io)?;
            file.write_all(&text).map_err(io)?;
            file.sync_all().map_err(io)?;
            drop(file);
            std::fs::rename(&temp, &path).map_err(io)?;
            // Make the rename itself durable. Directories cannot be opened on every
            // platform; where they can, a failing sync is an error.
            if let Ok(directory) = std::fs::File::open(&dir) {
                directory.sync_all().map_err(io)?;
            }
            Ok(())
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    source_name: &str,
    work: impl FnOnce() -> Result<T, CursorError> + Send + 'static,
) -> Result<T, CursorError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join_error| {
            Err(CursorError::Io {
                source_name: source_name.to_owned(),
                error: std::io::Error::other(join_error.to_string()),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_forward_only_and_prunes_old_ids() {
        let mut cursor = Cursor::default();
        cursor.advance(10_000, [("a".into(), 4_000), ("b".into(), 9_000)], 5_000);
        assert_eq!(cursor.watermark_ms, 10_000);
        assert!(!cursor.contains("a"), "4,000 < 10,000 - 5,000: pruned");
        assert!(cursor.contains("b"));
        cursor.advance(8_000, [("c".into(), 7_500)], 5_000);
        assert_eq!(cursor.watermark_ms, 10_000, "never moves back");
        assert!(cursor.contains("c"));
        cursor.advance(20_000, Vec::new(), 5_000);
        assert!(cursor.recent_event_ids.is_empty());
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("top-taobao-tb-10001"), "top-taobao-tb-10001.json");
        let slash = file_name("aggregator-jd-a/b");
        let underscore = file_name("aggregator-jd-a_b");
        assert!(
            slash.starts_with("aggregator-jd-a_b-") && slash.ends_with(".json"),
            "{slash}"
        );
        assert_ne!(slash, underscore);
        assert!(!file_name("..").contains('/'));
        assert_ne!(file_name(".."), "...json");
    }

    #[tokio::test]
    async fn file_store_round_trips_and_overwrites_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCursorStore::new(dir.path().join("cursors")).unwrap();
        assert_eq!(store.load("top-taobao-1").await.unwrap(), None);
        let mut cursor = Cursor::default();
        cursor.advance(5_000, [("id-1".into(), 4_000)], 10_000);
        store.save("top-taobao-1", &cursor).await.unwrap();
        assert_eq!(
            store.load("top-taobao-1").await.unwrap(),
            Some(cursor.clone())
        );
        cursor.advance(9_000, [("id-2".into(), 8_000)], 10_000);
        store.save("top-taobao-1", &cursor).await.unwrap();
        let reopened = FileCursorStore::new(dir.path().join("cursors")).unwrap();
        assert_eq!(reopened.load("top-taobao-1").await.unwrap(), Some(cursor));
        let files: Vec<_> = std::fs::read_dir(dir.path().join("cursors"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            files,
            vec!["top-taobao-1.json".to_owned()],
            "no temp file left"
        );
    }

    #[tokio::test]
    async fn corrupt_file_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCursorStore::new(dir.path()).unwrap();
        std::fs::write(store.path_of("s"), b"{\"watermark_ms\":").unwrap();
        let error = store.load("s").await.unwrap_err();
        assert!(matches!(error, CursorError::Corrupt { .. }), "{error}");
    }
}
