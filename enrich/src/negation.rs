//! The negation check shared by the keyword matcher, the sentiment features and the aspects.
//!
//! Contract: [`is_negated`] looks at the few characters just before a match, inside the same
//! clause (it stops at punctuation), and says whether a negator (不/没/没有/无/别/非/未…) stands
//! there. Look-alikes such as 非常, 无论 and 不错 are not negators.

use crate::lexicon::{NEGATORS, NOT_NEGATORS};
use crate::text::is_punctuation;

/// How many characters before a match are searched for a negator.
pub const NEGATION_WINDOW_CHARS: usize = 4;

/// Returns true when a negator stands within [`NEGATION_WINDOW_CHARS`] characters before
/// byte offset `start` of `text`, in the same clause.
pub fn is_negated(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else {
        return false;
    };
    let mut window_start = start;
    for (taken, (offset, c)) in before.char_indices().rev().enumerate() {
        if taken == NEGATION_WINDOW_CHARS || c.is_whitespace() || is_punctuation(c) {
            break;
        }
        window_start = offset;
    }
    // Allocation-free: a negator occurrence in the window counts unless a look-alike
    // (searched from the window's start into the match, e.g. 不错) covers its first byte.
    let window = &before[window_start..];
    let from_window = &text[window_start..];
    window.char_indices().any(|(at, _)| {
        NEGATORS
            .iter()
            .any(|negator| window[at..].starts_with(negator))
            && !covered_by_look_alike(from_window, at)
    })
}

fn covered_by_look_alike(text: &str, at: usize) -> bool {
    text.char_indices()
        .take_while(|(start, _)| *start <= at)
        .any(|(start, _)| {
            NOT_NEGATORS.iter().any(|look_alike| {
                text[start..].starts_with(look_alike) && at < start + look_alike.len()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negated(text: &str, word: &str) -> bool {
        let start = text.find(word).expect("word in text");
        is_negated(text, start)
    }

    #[test]
    fn negators_before_a_word_negate_it() {
        assert!(negated("不破损", "破损"));
        assert!(negated("没有破损", "破损"));
        assert!(negated("包装完好，无任何破损", "破损"));
        assert!(negated("一点也不好吃", "好吃"));
    }

    #[test]
    fn look_alikes_clause_breaks_and_distance_do_not_negate() {
        assert!(!negated("非常好吃", "好吃"));
        assert!(!negated("无论如何都破损", "破损"));
        assert!(!negated("不错，破损了", "破损"));
        assert!(!negated("没想到这次居然破损", "破损"));
        assert!(!negated("破损", "破损"));
    }
}
