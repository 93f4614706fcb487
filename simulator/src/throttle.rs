//! Token buckets keyed by caller, with an optional ban once a bucket runs dry.
//!
//! Contract: a bucket starts full (`burst` tokens) and refills at `per_sec` tokens per second
//! on the tokio clock (so tests can pause time). A call takes one token. With a ban configured,
//! the call that finds the bucket empty starts a ban of `ban` and every call during the ban is
//! refused with the whole seconds left (at least 1), without taking tokens.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The outcome of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The call may proceed.
    Allowed,
    /// The call is refused; `ban_secs_left` is how long the caller should wait.
    Refused { ban_secs_left: u64 },
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    banned_until: Option<Instant>,
}

/// Token buckets per caller key.
#[derive(Debug)]
pub(crate) struct Throttle {
    per_sec: f64,
    burst: f64,
    ban: Duration,
    buckets: HashMap<String, Bucket>,
}

impl Throttle {
    /// A throttle allowing `per_sec` calls per second with bursts of `burst`; `ban` of zero
    /// refuses only the calls that find the bucket empty.
    pub(crate) fn new(per_sec: f64, burst: u32, ban: Duration) -> Throttle {
        Throttle {
            per_sec,
            burst: f64::from(burst.max(1)),
            ban,
            buckets: HashMap::new(),
        }
    }

    /// Charges one call of `key` at `now`.
    pub(crate) fn admit(&mut self, key: &str, now: Instant) -> Admission {
        let burst = self.burst;
        let bucket = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
            banned_until: None,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(burst);
        bucket.updated = now;
        if let Some(until) = bucket.banned_until {
            if now < until {
                return Admission::Refused {
                    ban_secs_left: ceil_secs(until - now),
                };
            }
            bucket.banned_until = None;
        }
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Admission::Allowed;
        }
        if self.ban.is_zero() {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_sec);
            return Admission::Refused {
                ban_secs_left: ceil_secs(wait),
            };
        }
        bucket.banned_until = Some(now + self.ban);
        Admission::Refused {
            ban_secs_left: ceil_secs(self.ban),
        }
    }
}

fn ceil_secs(duration: Duration) -> u64 {
    let whole = duration.as_secs();
    let secs = if duration.subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_ban_then_refill() {
        let mut throttle = Throttle::new(20.0, 3, Duration::from_secs(2));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.admit("app", start), Admission::Allowed);
        }
        assert_eq!(
            throttle.admit("app", start),
            Admission::Refused { ban_secs_left: 2 }
        );
        // Another key has its own bucket.
        assert_eq!(throttle.admit("other", start), Admission::Allowed);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(
            throttle.admit("app", Instant::now()),
            Admission::Refused { ban_secs_left: 1 }
        );
        tokio::time::advance(Duration::from_millis(600)).await;
        // The ban is over and the bucket refilled meanwhile (capped at the burst).
        for _ in 0..3 {
            assert_eq!(throttle.admit("app", Instant::now()), Admission::Allowed);
        }
        assert!(matches!(
            throttle.admit("app", Instant::now()),
            Admission::Refused { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn without_ban_only_the_excess_is_refused() {
        let mut throttle = Throttle::new(10.0, 10, Duration::ZERO);
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(throttle.admit("token", now), Admission::Allowed);
        }
        assert_eq!(
            throttle.admit("token", now),
            Admission::Refused { ban_secs_left: 1 }
        );
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(throttle.admit("token", Instant::now()), Admission::Allowed);
        assert!(matches!(
            throttle.admit("token", Instant::now()),
            Admission::Refused { .. }
        ));
    }
}
