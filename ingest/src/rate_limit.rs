//! Client-side rate limiting: token buckets per app / per method / per shop (platform-apis §6).
//!
//! Contract: [`RateLimiter::acquire`] waits (tokio time, so `tokio::time::pause()` tests
//! are exact) until every bucket named by its quotas holds a token, then takes one from each
//! at once. A bucket of `count` calls per `per_secs` starts full (burst = `count`) and
//! refills continuously. One process-wide limiter ([`limiter`]) is shared by every shop, so
//! per-app and API-wide quotas hold across shops. Only PDD publishes numbers ([`pdd_quotas`]);
//! TOP, JD and Kuaidi100 publish none and rely on the throttle codes and announced bans.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A quota: `count` calls per `per_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quota {
    pub(crate) count: u32,
    pub(crate) per_secs: u64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    refill_per_sec: f64,
    updated: Instant,
}

impl Bucket {
    fn new(quota: Quota, now: Instant) -> Self {
        let capacity = f64::from(quota.count.max(1));
        Bucket {
            tokens: capacity,
            capacity,
            refill_per_sec: capacity / quota.per_secs.max(1) as f64,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        self.updated = now;
    }

    /// How long until one token is available.
    fn wait(&self) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.refill_per_sec)
        }
    }
}

/// Token buckets by key.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Waits for a token of every `(key, quota)` bucket and takes them; see the module docs.
    pub(crate) async fn acquire(&self, quotas: &[(String, Quota)]) {
        if quotas.is_empty() {
            return;
        }
        loop {
            let wait = {
                let now = Instant::now();
                // A poisoned lock only means a panic between plain arithmetic updates.
                let mut buckets = match self.buckets.lock() {
                    Ok(buckets) => buckets,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let mut wait = Duration::ZERO;
                for (key, quota) in quotas {
                    let bucket = buckets
                        .entry(key.clone())
                        .or_insert_with(|| Bucket::new(*quota, now));
                    bucket.refill(now);
                    wait = wait.max(bucket.wait());
                }
                if wait.is_zero() {
                    for (key, _) in quotas {
                        if let Some(bucket) = buckets.get_mut(key) {
                            bucket.tokens -= 1.0;
                        }
                    }
                    return;
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The process-wide limiter.
pub(crate) fn limiter() -> &'static RateLimiter {
    static LIMITER: LazyLock<RateLimiter> = LazyLock::new(RateLimiter::default);
    &LIMITER
}

/// PDD's published limits of `method` (§6): per shop, per app and API-wide buckets.
pub(crate) fn pdd_quotas(method: &str, client_id: &str, shop: &str) -> Vec<(String, Quota)> {
    let quota = |count, per_secs| Quota { count, per_secs };
    let per_shop = |count, per_secs| (format!("pdd/{method}/shop/{shop}"), quota(count, per_secs));
    let per_app = |count, per_secs| {
        (
            format!("pdd/{method}/app/{client_id}"),
            quota(count, per_secs),
        )
    };
    let total = |count, per_secs| (format!("pdd/{method}/total"), quota(count, per_secs));
    match method {
        "pdd.goods.list.get" => vec![per_shop(600, 60)],
        "pdd.goods.detail.get" => vec![per_shop(3_000, 60), total(3_000, 1)],
        "pdd.goods.information.get" => vec![per_shop(3_000, 60)],
        "pdd.goods.skus.get" => vec![total(1_000, 1)],
        "pdd.logistics.ordertrace.get" => vec![per_app(4_800, 20)],
        "pdd.logistics.companies.get" => vec![total(1_200, 10)],
        "pdd.order.number.list.increment.get" => vec![per_shop(3_000, 60)],
        "pdd.order.list.get" => vec![per_shop(6_000, 60), total(10_500, 10)],
        "pdd.order.information.get" => vec![per_shop(30_000, 60), total(2_000, 1)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_paces_at_its_rate() {
        let limiter = RateLimiter::default();
        let quotas = vec![(
            "k".to_owned(),
            Quota {
                count: 10,
                per_secs: 2,
            },
        )];
        let started = Instant::now();
        for _ in 0..10 {
            limiter.acquire(&quotas).await;
        }
        assert_eq!(
            Instant::now() - started,
            Duration::ZERO,
            "the burst is immediate"
        );
        let within = |expected_ms: u64| {
            let waited = Instant::now() - started;
            // The timer rounds sleeps up to whole milliseconds.
            assert!(
                waited >= Duration::from_millis(expected_ms - 1)
                    && waited <= Duration::from_millis(expected_ms + 6),
                "expected about {expected_ms} ms, waited {waited:?}"
            );
        };
        limiter.acquire(&quotas).await;
        within(200);
        for _ in 0..5 {
            limiter.acquire(&quotas).await;
        }
        within(1_200);
    }

    #[tokio::test(start_paused = true)]
    async fn every_named_bucket_must_have_a_token() {
        let limiter = RateLimiter::default();
        let shop_a = pdd_quotas("pdd.goods.detail.get", "1", "a");
        let shop_b = pdd_quotas("pdd.goods.detail.get", "1", "b");
        assert_eq!(shop_a.len(), 2);
        assert_eq!(shop_a[1].0, shop_b[1].0, "the API-wide bucket is shared");
        assert_ne!(shop_a[0].0, shop_b[0].0);
        let started = Instant::now();
        for _ in 0..3_000 {
            limiter.acquire(&shop_a).await;
        }
        assert_eq!(Instant::now() - started, Duration::ZERO);
        // Shop b has its own per-shop bucket but shares the exhausted 3,000/s total.
        limiter.acquire(&shop_b).await;
        let waited = Instant::now() - started;
        assert!(
            waited > Duration::ZERO && waited <= Duration::from_millis(2),
            "{waited:?}"
        );
        assert!(pdd_quotas("pdd.unknown", "1", "a").is_empty());
        assert_eq!(
            pdd_quotas("pdd.logistics.ordertrace.get", "7", "a"),
            vec![(
                "pdd/pdd.logistics.ordertrace.get/app/7".to_owned(),
                Quota {
                    count: 4_800,
                    per_secs: 20
                }
            )]
        );
    }
}
