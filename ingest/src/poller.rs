//! The per-shop poll loop: window → pages → records → sink → cursor, then wait.
//!
//! Contract:
//! - one [`ShopPoller`] per shop, each in its own task; a failing shop backs off on its own
//!   and never delays another;
//! - a poll fetches the next window ([`crate::window`]), splitting it while it holds 1,500
//!   ratings or more; each leaf window, earliest first, is published and then checkpointed:
//!   records not already published (cursor ids, or earlier in the same window) go to the
//!   review sink in one batch, and the cursor is saved only after `send_batch` returned `Ok`;
//! - on any error nothing of the failed window is checkpointed; the error is logged with
//!   structured fields, counted, and the shop retries after a delay chosen by its class
//!   (backoff with jitter, the platform's announced ban, or the slow action-required retry);
//! - a change of the shop's source health is published once to the health sink;
//! - shutdown is checked before every request and interrupts waits and in-flight requests;
//!   it never interrupts a sink send or a cursor save.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bus::metrics::StageCounters;
use bus::stage::backoff_delay;
use bus::Record;
use rand::Rng;
use schemas::{AvroCodec, RawRecord};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::config::{IngestConfig, ShopConfig};
use crate::cursor::{Cursor, CursorStore};
use crate::error::{ErrorClass, IngestError, Result};
use crate::health::HealthTracker;
use crate::metrics::metrics;
use crate::platforms::trade_rate::{to_raw_record, RecordOrigin};
use crate::platforms::{JsonObject, PageQuery, ReviewApi};
use crate::window::{next_window, page_within_caps, Window, WindowSettings, WINDOW_RECORD_CAP};
use crate::IngestSinks;

/// How a poll ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollOutcome {
    /// Every window up to now was fetched and published.
    Done,
    /// Shutdown was requested; the cursor holds what was completed.
    Stopped,
}

/// What fetching one window gave.
enum WindowFetch {
    Complete(Vec<JsonObject>),
    Overflow,
    Stopped,
}

/// Timing settings of a poller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollSettings {
    pub(crate) window: WindowSettings,
    pub(crate) page_size: u32,
    pub(crate) poll_interval: Duration,
    pub(crate) retry_initial_backoff: Duration,
    pub(crate) retry_max_backoff: Duration,
    pub(crate) action_required_retry: Duration,
}

impl PollSettings {
    pub(crate) fn from_config(config: &IngestConfig) -> Self {
        PollSettings {
            window: WindowSettings {
                overlap_secs: config.window_overlap_secs,
                initial_lookback_secs: config.initial_lookback_secs,
                settle_secs: config.settle_secs,
            },
            page_size: config.page_size,
            poll_interval: Duration::from_secs(config.poll_interval_secs),
            retry_initial_backoff: Duration::from_millis(config.retry_initial_backoff_ms),
            retry_max_backoff: Duration::from_secs(config.retry_max_backoff_secs),
            action_required_retry: Duration::from_secs(config.action_required_retry_secs),
        }
    }

    fn overlap_ms(&self) -> i64 {
        i64::try_from(self.window.overlap_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }
}

/// Returns how long a poller waits after `error` on retry number `attempt` (from 0): the
/// platform's announced ban plus jitter, exponential backoff with jitter for transient
/// errors, or `action_required_retry` for errors a person must fix. Shared by the review,
/// listing and shipment pollers.
pub(crate) fn retry_delay(settings: &PollSettings, error: &IngestError, attempt: u32) -> Duration {
    match error {
        IngestError::Throttled {
            retry_after_secs: Some(secs),
            ..
        } if *secs > 0 => {
            // Honour the ban, plus a little jitter so shops sharing an app spread out.
            let jitter_ms = rand::thread_rng()
                .gen_range(0..=settings.retry_initial_backoff.as_millis().min(1_000) as u64 / 4);
            Duration::from_secs(*secs) + Duration::from_millis(jitter_ms)
        }
        _ => match error.class() {
            ErrorClass::Retry => backoff_delay(
                settings.retry_initial_backoff,
                settings.retry_max_backoff,
                attempt,
            ),
            ErrorClass::RefreshToken | ErrorClass::StopAndAlert | ErrorClass::FixConfig => {
                settings.action_required_retry
            }
        },
    }
}

/// Counts of one poller, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PollStats {
    pub(crate) polls_ok: u64,
    pub(crate) errors: u64,
    pub(crate) published: u64,
    pub(crate) duplicates: u64,
    pub(crate) bad_rates: u64,
    pub(crate) requests: u64,
    pub(crate) splits: u64,
}

/// Polls one shop; see the module docs.
pub(crate) struct ShopPoller {
    shop_id: String,
    cursor_name: String,
    origin: RecordOrigin,
    api: Arc<dyn ReviewApi>,
    sinks: IngestSinks,
    cursors: Arc<dyn CursorStore>,
    clock: Arc<dyn Clock>,
    settings: PollSettings,
    /// The last cursor saved or loaded; `None` until loaded.
    cursor: Option<Option<Cursor>>,
    health: HealthTracker,
    counters: StageCounters,
    pub(crate) stats: PollStats,
}

/// Returns the cursor name of a shop on an API: `<api>-<platform>-<shop_id>`.
pub(crate) fn cursor_name(api: &str, shop: &ShopConfig) -> String {
    format!("{api}-{}-{}", shop.platform, shop.shop_id)
}

impl ShopPoller {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        shop: &ShopConfig,
        api: Arc<dyn ReviewApi>,
        settings: PollSettings,
        api_failing_after_errors: u32,
        sinks: IngestSinks,
        cursors: Arc<dyn CursorStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ShopPoller {
            shop_id: shop.shop_id.clone(),
            cursor_name: cursor_name(api.api(), shop),
            origin: RecordOrigin {
                platform: shop.platform,
                shop_id: shop.shop_id.clone(),
                source: api.source(),
            },
            health: HealthTracker::new(
                api.api(),
                api.source(),
                shop.platform,
                shop.shop_id.clone(),
                api_failing_after_errors,
            ),
            api,
            sinks,
            cursors,
            clock,
            settings,
            cursor: None,
            counters: StageCounters::new("ingest"),
            stats: PollStats::default(),
        }
    }

    /// Polls until `shutdown`, waiting `poll_interval` between polls or the error's delay.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        info!(
            api = self.api.api(),
            platform = self.origin.platform.as_str(),
            shop_id = %self.shop_id,
            "poller started"
        );
        let mut attempt = 0u32;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let outcome = self.poll_once(&shutdown).await;
            let delay = match outcome {
                Ok(PollOutcome::Stopped) => break,
                Ok(PollOutcome::Done) => {
                    attempt = 0;
                    self.settings.poll_interval
                }
                Err(error) => {
                    let delay = self.delay_after(&error, attempt);
                    attempt = attempt.saturating_add(1);
                    self.record_error(&error, delay);
                    delay
                }
            };
            self.report_health().await;
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        info!(
            api = self.api.api(),
            platform = self.origin.platform.as_str(),
            shop_id = %self.shop_id,
            published = self.stats.published,
            "poller stopped"
        );
    }

    /// Fetches and publishes everything from the cursor up to now, once. Updates the
    /// health tracker on success; errors are left to the caller ([`Self::record_error`]).
    pub(crate) async fn poll_once(&mut self, shutdown: &CancellationToken) -> Result<PollOutcome> {
        let watermark = self.load_cursor().await?.map(|cursor| cursor.watermark_ms);
        let now_ms = self.clock.now_ms();
        let Some(window) = next_window(watermark, now_ms, self.settings.window) else {
            self.finish_ok();
            return Ok(PollOutcome::Done);
        };
        let mut pending = vec![window];
        while let Some(window) = pending.pop() {
            match self.fetch_window(window, shutdown).await? {
                WindowFetch::Stopped => return Ok(PollOutcome::Stopped),
                WindowFetch::Overflow => {
                    // `fetch_window` reports an overflow only for splittable windows.
                    if let Some((left, right)) = window.split() {
                        self.stats.splits += 1;
                        metrics()
                            .window_splits
                            .with_label_values(&[self.api.api()])
                            .inc();
                        debug!(
                            api = self.api.api(),
                            shop_id = %self.shop_id,
                            start_secs = window.start_secs,
                            end_secs = window.end_secs,
                            "window holds 1,500 ratings or more, splitting"
                        );
                        pending.push(right);
                        pending.push(left);
                    }
                }
                WindowFetch::Complete(rates) => self.publish_window(window, rates).await?,
            }
        }
        self.finish_ok();
        Ok(PollOutcome::Done)
    }

    fn finish_ok(&mut self) {
        self.stats.polls_ok += 1;
        self.health.on_success(self.clock.now_ms());
    }

    async fn load_cursor(&mut self) -> Result<Option<&Cursor>> {
        if self.cursor.is_none() {
            let loaded = self.cursors.load(&self.cursor_name).await?;
            self.cursor = Some(loaded);
        }
        Ok(self.cursor.as_ref().and_then(Option::as_ref))
    }

    async fn fetch_window(
        &mut self,
        window: Window,
        shutdown: &CancellationToken,
    ) -> Result<WindowFetch> {
        let page_size = self.settings.page_size;
        let splittable = window.split().is_some();
        let mut rates = Vec::new();
        let mut page_no = 1;
        loop {
            if shutdown.is_cancelled() {
                return Ok(WindowFetch::Stopped);
            }
            let query = PageQuery {
                window,
                page_no,
                page_size,
            };
            self.stats.requests += 1;
            let page = tokio::select! {
                page = self.api.fetch_page(&query) => page?,
                _ = shutdown.cancelled() => return Ok(WindowFetch::Stopped),
            };
            if page_no == 1
                && splittable
                && page
                    .total_results
                    .is_some_and(|total| total >= WINDOW_RECORD_CAP)
            {
                return Ok(WindowFetch::Overflow);
            }
            let received = page.rates.len();
            self.counters.received.inc_by(received as u64);
            rates.extend(page.rates);
            // A window that gave the cap may have hidden more: the platforms stop at 1,500
            // and a `has_next` answer cannot tell.
            if splittable && rates.len() as u64 >= WINDOW_RECORD_CAP {
                return Ok(WindowFetch::Overflow);
            }
            let more = match (page.has_next, page.total_results) {
                (Some(has_next), _) => has_next,
                (None, Some(total)) => u64::from(page_no) * u64::from(page_size) < total,
                (None, None) => received >= page_size as usize,
            };
            if !more || received == 0 {
                return Ok(WindowFetch::Complete(rates));
            }
            if !page_within_caps(page_no + 1, page_size) {
                if splittable {
                    return Ok(WindowFetch::Overflow);
                }
                warn!(
                    api = self.api.api(),
                    shop_id = %self.shop_id,
                    start_secs = window.start_secs,
                    end_secs = window.end_secs,
                    fetched = rates.len(),
                    "window of at most two seconds holds more than the platform returns; keeping what it returned"
                );
                return Ok(WindowFetch::Complete(rates));
            }
            page_no += 1;
        }
    }

    async fn publish_window(&mut self, window: Window, rates: Vec<JsonObject>) -> Result<()> {
        let observed_at_ms = self.clock.now_ms();
        let mut cursor = self.cursor.clone().flatten().unwrap_or_default();
        let mut seen = HashSet::new();
        let mut fresh: Vec<RawRecord> = Vec::new();
        let (mut duplicates, mut bad) = (0u64, 0u64);
        for rate in &rates {
            match to_raw_record(rate, &self.origin, observed_at_ms) {
                Ok(record) => {
                    if cursor.contains(&record.event_id) || !seen.insert(record.event_id.clone()) {
                        duplicates += 1;
                    } else {
                        fresh.push(record);
                    }
                }
                Err(error) => {
                    bad += 1;
                    warn!(
                        error = %error,
                        api = self.api.api(),
                        shop_id = %self.shop_id,
                        "rating skipped"
                    );
                }
            }
        }
        fresh.sort_by_key(|record| record.occurred_at_ms);
        crate::snapshot_loop::publish(self.sinks.reviews.as_ref(), &fresh).await?;
        self.counters.sent.inc_by(fresh.len() as u64);
        self.counters.skipped.inc_by(duplicates);
        if bad > 0 {
            self.counters.dead_lettered.inc_by(bad);
            self.counters.error("bad_rating");
        }
        self.stats.published += fresh.len() as u64;
        self.stats.duplicates += duplicates;
        self.stats.bad_rates += bad;
        cursor.advance(
            window.end_ms(),
            fresh
                .iter()
                .map(|record| (record.event_id.clone(), record.occurred_at_ms)),
            self.settings.overlap_ms(),
        );
        // In memory first: the records are delivered, so this process must not send them
        // again even if the save below fails (a crash before the next save replays them,
        // and downstream deduplicates).
        self.cursor = Some(Some(cursor.clone()));
        self.cursors.save(&self.cursor_name, &cursor).await?;
        debug!(
            api = self.api.api(),
            shop_id = %self.shop_id,
            published = fresh.len(),
            duplicates,
            watermark_ms = cursor.watermark_ms,
            "window published"
        );
        Ok(())
    }

    /// Returns how long to wait after `error` on retry number `attempt` (from 0).
    pub(crate) fn delay_after(&self, error: &IngestError, attempt: u32) -> Duration {
        retry_delay(&self.settings, error, attempt)
    }

    /// Logs and counts `error`, and feeds it to the health tracker.
    pub(crate) fn record_error(&mut self, error: &IngestError, retry_in: Duration) {
        self.stats.errors += 1;
        let label = error.metric_label();
        metrics()
            .poll_errors
            .with_label_values(&[self.api.api(), label])
            .inc();
        self.counters.error(label);
        warn!(
            error = %error,
            api = self.api.api(),
            platform = self.origin.platform.as_str(),
            shop_id = %self.shop_id,
            error_class = label,
            action = error.class().as_str(),
            retry_in_ms = retry_in.as_millis() as u64,
            "poll failed"
        );
        self.health
            .on_error(error, self.clock.now_ms(), retry_in.as_secs().max(1));
    }

    /// Publishes the health record of a changed condition; a failure is retried next time.
    pub(crate) async fn report_health(&mut self) {
        let Some(record) = self.health.pending(self.clock.now_ms()) else {
            return;
        };
        let condition = self.health.condition();
        let encoded = match AvroCodec::raw_record().encode(&record) {
            Ok(encoded) => encoded,
            Err(error) => {
                warn!(error = %error, api = self.api.api(), "health record not encodable");
                return;
            }
        };
        let batch = vec![Record::new(record.entity_key().to_string(), encoded)];
        match self.sinks.health.send_batch(batch).await {
            Ok(()) => {
                self.health.mark_reported(condition);
                info!(
                    api = self.api.api(),
                    platform = self.origin.platform.as_str(),
                    shop_id = %self.shop_id,
                    condition = condition.as_str(),
                    "source health reported"
                );
            }
            Err(error) => warn!(
                error = %error,
                api = self.api.api(),
                shop_id = %self.shop_id,
                "health record not delivered, will retry"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
