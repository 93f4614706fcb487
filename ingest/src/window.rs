//! Poll windows: where the next one starts and ends, and how a full one is split.
//!
//! A window is a closed interval of whole UTC seconds `[start_secs, end_secs]`, sent as the
//! `start_date`/`end_date` pair. Contract:
//! - the next window starts `window_overlap_secs` before the previous window's end (the
//!   cursor's watermark), or `initial_lookback_secs` before now for a shop without a cursor,
//!   and ends `settle_secs` before now ([`next_window`]);
//! - both APIs return at most 1,500 ratings for one window whatever the paging, and allow
//!   `page_no ≤ 200`, `page_size ≤ 150`. A window that reports `total_results ≥ 1,500`, that
//!   gave 1,500 ratings (a `has_next` answer cannot tell whether the cap hid more), or whose
//!   next page would reach past 1,500, is split in halves ([`Window::split`]) and each half is
//!   fetched on its own, recursively, earliest first. A window of at most two seconds cannot
//!   shrink: what the platform returned for it is kept.
//! - halves share their middle second, so whether the platform treats `end_date` as inclusive
//!   or exclusive, no second is lost (ratings fetched twice are deduplicated by event id).

/// Most ratings the platforms return for one window.
pub(crate) const WINDOW_RECORD_CAP: u64 = 1_500;
/// Highest page number the platforms accept.
pub(crate) const MAX_PAGE_NO: u32 = 200;
/// Largest page size the platforms accept.
pub(crate) const MAX_PAGE_SIZE: u32 = 150;

/// A closed interval of whole UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start_secs: i64,
    pub(crate) end_secs: i64,
}

impl Window {
    /// Returns the two halves sharing the middle second, or `None` when the window is too
    /// short to shrink (at most two distinct seconds).
    pub(crate) fn split(self) -> Option<(Window, Window)> {
        if self.end_secs - self.start_secs < 2 {
            return None;
        }
        let middle = self.start_secs + (self.end_secs - self.start_secs) / 2;
        Some((
            Window {
                start_secs: self.start_secs,
                end_secs: middle,
            },
            Window {
                start_secs: middle,
                end_secs: self.end_secs,
            },
        ))
    }

    /// Returns the window end as epoch milliseconds, the cursor's watermark after it.
    pub(crate) fn end_ms(self) -> i64 {
        self.end_secs.saturating_mul(1000)
    }
}

/// The window settings, in seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowSettings {
    pub(crate) overlap_secs: u64,
    pub(crate) initial_lookback_secs: u64,
    pub(crate) settle_secs: u64,
}

/// Returns the next window to fetch, or `None` when it would be empty (settling).
pub(crate) fn next_window(
    watermark_ms: Option<i64>,
    now_ms: i64,
    settings: WindowSettings,
) -> Option<Window> {
    let start_ms = match watermark_ms {
        Some(watermark) => watermark.saturating_sub(secs_to_ms(settings.overlap_secs)),
        None => now_ms.saturating_sub(secs_to_ms(settings.initial_lookback_secs)),
    };
    let end_ms = now_ms.saturating_sub(secs_to_ms(settings.settle_secs));
    let window = Window {
        start_secs: start_ms.div_euclid(1000),
        end_secs: end_ms.div_euclid(1000),
    };
    (window.end_secs > window.start_secs).then_some(window)
}

/// Returns true when page `page_no` of `page_size` stays within the platform's caps.
pub(crate) fn page_within_caps(page_no: u32, page_size: u32) -> bool {
    (1..=MAX_PAGE_NO).contains(&page_no)
        && u64::from(page_no) * u64::from(page_size) <= WINDOW_RECORD_CAP
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: WindowSettings = WindowSettings {
        overlap_secs: 300,
        initial_lookback_secs: 86_400,
        settle_secs: 10,
    };

    #[test]
    fn first_window_looks_back_and_later_ones_overlap() {
        let now_ms = 1_767_225_600_500;
        assert_eq!(
            next_window(None, now_ms, SETTINGS),
            Some(Window {
                start_secs: 1_767_225_600 - 86_400,
                end_secs: 1_767_225_600 - 10,
            })
        );
        let watermark_ms = 1_767_225_000_000;
        assert_eq!(
            next_window(Some(watermark_ms), now_ms, SETTINGS),
            Some(Window {
                start_secs: 1_767_225_000 - 300,
                end_secs: 1_767_225_590,
            })
        );
        // Nothing new has settled yet.
        let settling = WindowSettings {
            overlap_secs: 0,
            ..SETTINGS
        };
        assert_eq!(next_window(Some(now_ms - 5_000), now_ms, settling), None);
    }

    #[test]
    fn split_halves_share_the_middle_second_and_always_shrink() {
        let window = Window {
            start_secs: 100,
            end_secs: 200,
        };
        let (left, right) = window.split().unwrap();
        assert_eq!(
            left,
            Window {
                start_secs: 100,
                end_secs: 150
            }
        );
        assert_eq!(
            right,
            Window {
                start_secs: 150,
                end_secs: 200
            }
        );
        let odd = Window {
            start_secs: 10,
            end_secs: 13,
        };
        assert_eq!(
            odd.split(),
            Some((
                Window {
                    start_secs: 10,
                    end_secs: 11
                },
                Window {
                    start_secs: 11,
                    end_secs: 13
                }
            ))
        );
        assert_eq!(
            Window {
                start_secs: 10,
                end_secs: 11
            }
            .split(),
            None
        );
        assert_eq!(
            Window {
                start_secs: 10,
                end_secs: 10
            }
            .split(),
            None
        );

        // Recursive splitting of a day terminates, covers every second, never grows.
        let mut stack = vec![Window {
            start_secs: 0,
            end_secs: 86_400,
        }];
        let mut leaves = Vec::new();
        while let Some(window) = stack.pop() {
            match window.split() {
                Some((left, right)) => {
                    assert!(left.end_secs - left.start_secs < window.end_secs - window.start_secs);
                    assert!(
                        right.end_secs - right.start_secs < window.end_secs - window.start_secs
                    );
                    stack.push(right);
                    stack.push(left);
                }
                None => leaves.push(window),
            }
        }
        assert_eq!(leaves.first().unwrap().start_secs, 0);
        assert_eq!(leaves.last().unwrap().end_secs, 86_400);
        for pair in leaves.windows(2) {
            assert_eq!(
                pair[0].end_secs, pair[1].start_secs,
                "earliest first, no gap"
            );
        }
    }

    #[test]
    fn page_caps() {
        assert!(page_within_caps(15, 100)); // 1,500
        assert!(!page_within_caps(16, 100)); // 1,600
        assert!(page_within_caps(10, 150));
        assert!(!page_within_caps(11, 150));
        assert!(page_within_caps(200, 7)); // 1,400
        assert!(!page_within_caps(201, 1));
        assert!(!page_within_caps(0, 40));
    }
}
