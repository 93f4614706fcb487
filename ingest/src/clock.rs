//! Wall-clock time and the platforms' GMT+8 timestamp format.
//!
//! Both review APIs speak `yyyy-MM-dd HH:mm:ss` in China Standard Time (UTC+8, no daylight
//! saving), at one-second resolution. Inside the crate time is UTC epoch milliseconds or
//! seconds; [`format_gmt8`] and [`parse_gmt8_ms`] convert at the boundary. The current time
//! comes from a [`Clock`] so tests can set it.

use chrono::{DateTime, NaiveDateTime};

/// Seconds China Standard Time is ahead of UTC.
const GMT8_OFFSET_SECS: i64 = 8 * 3600;
const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A source of the current time.
pub(crate) trait Clock: Send + Sync + 'static {
    /// Returns the current UTC time in epoch milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// Formats UTC epoch seconds as a GMT+8 `yyyy-MM-dd HH:mm:ss` string.
pub(crate) fn format_gmt8(epoch_secs: i64) -> String {
    match DateTime::from_timestamp(epoch_secs.saturating_add(GMT8_OFFSET_SECS), 0) {
        Some(shifted) => shifted.naive_utc().format(FORMAT).to_string(),
        // Outside chrono's range (±262,000 years): clamp rather than fail; never hit by
        // windows computed from a real clock.
        None => "1970-01-01 08:00:00".to_owned(),
    }
}

/// Parses a GMT+8 `yyyy-MM-dd HH:mm:ss` string into UTC epoch milliseconds.
pub(crate) fn parse_gmt8_ms(text: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), FORMAT).ok()?;
    Some(naive.and_utc().timestamp_millis() - GMT8_OFFSET_SECS * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt8_round_trips_and_is_eight_hours_ahead() {
        // 2026-01-01 00:00:00 UTC is 08:00:00 in Beijing.
        let epoch = 1_767_225_600;
        assert_eq!(format_gmt8(epoch), "2026-01-01 08:00:00");
        assert_eq!(parse_gmt8_ms("2026-01-01 08:00:00"), Some(epoch * 1000));
        assert_eq!(
            parse_gmt8_ms("2026-01-01 07:59:59"),
            Some(epoch * 1000 - 1000)
        );
        assert_eq!(
            parse_gmt8_ms("2016-01-01 12:00:00"),
            Some(1_451_620_800_000)
        );
        assert_eq!(parse_gmt8_ms("2026-01-01T08:00:00"), None);
        assert_eq!(parse_gmt8_ms("2026-02-30 08:00:00"), None);
        assert_eq!(parse_gmt8_ms(""), None);
    }
}
