//! Masking of buyer identifiers.
//!
//! Buyer nicknames and phone numbers never leave ingest in the clear: a nickname keeps its
//! first character (`张**`), a mainland mobile number its first three and last four digits
//! (`138****5678`). Masking is idempotent, so masking already-masked data changes nothing.

/// Masks a buyer nickname: the first character is kept, the rest becomes `**`.
///
/// Platforms that already mask (TOP returns `t***1` for some apps) are masked again to the
/// same shape, so the output never depends on what the platform did. An empty nick stays
/// empty.
pub fn mask_nick(nick: &str) -> String {
    let mut chars = nick.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => format!("{first}**"),
    }
}

/// Masks every 11-digit mainland mobile number in `text` as `138****5678`.
pub fn mask_phone_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < chars.len() {
        if is_mobile_at(&chars, index) {
            out.extend(&chars[index..index + 3]);
            out.push_str("****");
            out.extend(&chars[index + 7..index + 11]);
            index += 11;
        } else {
            out.push(chars[index]);
            index += 1;
        }
    }
    out
}

fn is_mobile_at(chars: &[char], start: usize) -> bool {
    let end = start + 11;
    if end > chars.len() {
        return false;
    }
    let digit_before = start > 0 && chars[start - 1].is_ascii_digit();
    let digit_after = end < chars.len() && chars[end].is_ascii_digit();
    chars[start] == '1'
        && ('3'..='9').contains(&chars[start + 1])
        && chars[start..end].iter().all(char::is_ascii_digit)
        && !digit_before
        && !digit_after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_keeps_first_character_only() {
        assert_eq!(mask_nick("张三丰"), "张**");
        assert_eq!(mask_nick("tb_buyer01"), "t**");
        assert_eq!(mask_nick(""), "");
        assert_eq!(mask_nick(&mask_nick("张三丰")), "张**");
    }

    #[test]
    fn phone_numbers_are_masked_in_running_text() {
        assert_eq!(
            mask_phone_numbers("电话13812345678请联系"),
            "电话138****5678请联系"
        );
        // 12 digits are not a phone number; neither is a number starting 12.
        assert_eq!(mask_phone_numbers("138123456789"), "138123456789");
        assert_eq!(mask_phone_numbers("12812345678"), "12812345678");
    }
}
