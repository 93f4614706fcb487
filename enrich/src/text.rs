//! Character classes shared by the analysis: punctuation, CJK ideographs and emoji.
//!
//! Contract: pure predicates over `char`s and `&str`s, no allocation.

/// Returns true for a CJK ideograph.
pub fn is_cjk_ideograph(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'     // CJK Unified Ideographs
        | '\u{3400}'..='\u{4DBF}'   // Extension A
        | '\u{F900}'..='\u{FAFF}'   // Compatibility Ideographs
        | '\u{20000}'..='\u{2FA1F}' // Extensions B–F and Compatibility Supplement
    )
}

/// Returns true for an emoji or pictograph.
pub fn is_emoji(c: char) -> bool {
    matches!(c,
        '\u{1F300}'..='\u{1FAFF}' // pictographs, emoticons, transport, supplemental symbols
        | '\u{2600}'..='\u{27BF}' // miscellaneous symbols and dingbats
    )
}

/// Returns false for tokens made only of whitespace and punctuation.
pub fn is_word(token: &str) -> bool {
    !token
        .chars()
        .all(|c| c.is_whitespace() || is_punctuation(c))
}

/// Returns true for ASCII and CJK punctuation.
pub fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A1}' | '\u{00A7}' | '\u{00AB}' | '\u{00B6}' | '\u{00B7}' | '\u{00BB}' | '\u{00BF}'
            | '\u{2010}'..='\u{2027}'   // dashes, quotes, bullets, ellipsis
            | '\u{2030}'..='\u{205E}'   // per mille, primes, more punctuation
            | '\u{3001}'..='\u{3003}'   // 、。〃
            | '\u{3008}'..='\u{3011}'   // 〈〉《》「」『』【】
            | '\u{3014}'..='\u{301F}'   // 〔〕〖〗〘〙〚〛〜〝〞〟
            | '\u{30FB}'                // ・
            | '\u{FE10}'..='\u{FE19}'   // vertical forms
            | '\u{FE30}'..='\u{FE4F}'   // CJK compatibility forms
            | '\u{FE50}'..='\u{FE6B}'   // small form variants
            | '\u{FF01}'..='\u{FF0F}'   // ！＂＃＄％＆＇（）＊＋，－．／
            | '\u{FF1A}'..='\u{FF20}'   // ：；＜＝＞？＠
            | '\u{FF3B}'..='\u{FF40}'   // ［＼］＾＿｀
            | '\u{FF5B}'..='\u{FF65}'   // ｛｜｝～｟｠｡｢｣､･
        )
}

/// Returns true unless the match `start..end` of `text` begins or ends with an ASCII letter
/// or digit that continues into a neighbouring ASCII letter or digit ("late" in "chocolate").
/// Matches of CJK words are always on a boundary.
pub fn on_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let alnum = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphanumeric);
    let starts_inside = start > 0 && alnum(start) && alnum(start - 1);
    let ends_inside = end > start && alnum(end - 1) && alnum(end);
    !starts_inside && !ends_inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries_only_constrain_ascii_letters_and_digits() {
        let text = "chocolate late 破损";
        let late = text.find("late").unwrap();
        assert!(!on_word_boundaries(text, late, late + 4));
        let second = text.rfind("late").unwrap();
        assert!(on_word_boundaries(text, second, second + 4));
        let cjk = text.find("破损").unwrap();
        assert!(on_word_boundaries(text, cjk, cjk + "破损".len()));
        assert!(on_word_boundaries("不破损", 3, 9));
    }

    #[test]
    fn character_classes() {
        assert!(is_cjk_ideograph('好'));
        assert!(!is_cjk_ideograph('a'));
        assert!(is_emoji('😡') && is_emoji('👍') && !is_emoji('好'));
        assert!(!is_word("，！ "));
        assert!(is_word("好"));
    }
}
