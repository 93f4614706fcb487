//! The platforms' time format: `yyyy-MM-dd HH:mm:ss` in GMT+8 (China has no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

fn gmt8() -> FixedOffset {
    // 8 * 3600 is well inside the ±86,400 s range `east_opt` accepts.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is a valid offset"))
}

/// Formats an instant as a GMT+8 platform time string.
pub(crate) fn format_gmt8(instant: DateTime<Utc>) -> String {
    instant.with_timezone(&gmt8()).format(FORMAT).to_string()
}

/// Parses a GMT+8 platform time string; `None` when it is not exactly that format.
pub(crate) fn parse_gmt8(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), FORMAT).ok()?;
    gmt8()
        .from_local_datetime(&naive)
        .single()
        .map(|local| local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_gmt8() {
        let instant = Utc.with_ymd_and_hms(2016, 1, 1, 4, 0, 0).unwrap();
        assert_eq!(format_gmt8(instant), "2016-01-01 12:00:00");
        assert_eq!(parse_gmt8("2016-01-01 12:00:00"), Some(instant));
        assert_eq!(parse_gmt8("2016-01-01T12:00:00"), None);
        assert_eq!(parse_gmt8("1451620800000"), None);
    }
}
