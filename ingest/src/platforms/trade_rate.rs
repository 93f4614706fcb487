//! One TradeRate (either API) → one review `RawRecord`.
//!
//! Contract of [`to_raw_record`]:
//! - `entity_id` is `oid` when present, else `tid`; the event id's version is
//!   `created` + `/` + `role`, so a follow-up review (new `created`) is a new fact and a
//!   replayed one is the same fact;
//! - `occurred_at_ms` is `created` read as GMT+8; `item_price` (a yuan decimal string) becomes
//!   fen exactly, from the digits, never through a float ([`yuan_to_fen`]);
//! - the buyer's nick (`nick` of a buyer's rating, `rated_nick` of a seller's) is masked with
//!   `schemas::privacy::mask_nick`, and mobile numbers in `content`/`reply` with
//!   `mask_phone_numbers`, in the `Review` and in `payload`; every other member of `payload` is
//!   the platform's JSON verbatim;
//! - a rating without `tid`, a readable `created` or a known `result` is a [`BadRate`].

use schemas::privacy::{mask_nick, mask_phone_numbers};
use schemas::{Entity, Platform, Provenance, Rating, RawRecord, Review};

use super::JsonObject;
use crate::clock::parse_gmt8_ms;

/// Why a rating cannot become a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable rating: {0}")]
pub(crate) struct BadRate(pub(crate) String);

/// Who the records belong to and where they came from.
#[derive(Debug, Clone)]
pub(crate) struct RecordOrigin {
    pub(crate) platform: Platform,
    pub(crate) shop_id: String,
    pub(crate) source: &'static str,
}

/// Builds the review record of `rate`; see the module docs.
pub(crate) fn to_raw_record(
    rate: &JsonObject,
    origin: &RecordOrigin,
    observed_at_ms: i64,
) -> Result<RawRecord, BadRate> {
    let tid = rate
        .text("tid")
        .ok_or_else(|| BadRate("no tid".to_owned()))?;
    let oid = rate.text("oid").filter(|oid| oid != "0");
    let created = rate
        .text("created")
        .ok_or_else(|| BadRate(format!("tid {tid}: no created time")))?;
    let created_at_ms = parse_gmt8_ms(&created)
        .ok_or_else(|| BadRate(format!("tid {tid}: unreadable created time {created:?}")))?;
    let result = rate
        .text("result")
        .ok_or_else(|| BadRate(format!("tid {tid}: no result")))?;
    let rating: Rating = result
        .parse()
        .map_err(|_| BadRate(format!("tid {tid}: unknown result {result:?}")))?;
    let role = rate.text("role").unwrap_or_else(|| "buyer".to_owned());
    let buyer_field = if role == "seller" {
        "rated_nick"
    } else {
        "nick"
    };
    let buyer_nick_masked = rate
        .text(buyer_field)
        .map(|nick| mask_nick(&nick))
        .unwrap_or_default();
    let content = rate.text("content").map(|text| mask_phone_numbers(&text));
    let reply = rate.text("reply").map(|text| mask_phone_numbers(&text));
    let item_price_fen = rate
        .text("item_price")
        .and_then(|price| yuan_to_fen(&price));

    let payload = rate.to_json_replacing(|name, raw| {
        let text = || serde_json::from_str::<String>(raw.get()).ok();
        match name {
            _ if name == buyer_field => text().map(|nick| mask_nick(&nick)),
            "content" | "reply" => text()
                .map(|value| mask_phone_numbers(&value))
                .filter(|masked| Some(masked) != text().as_ref()),
            _ => None,
        }
    });

    let review = Review {
        order_id: tid.clone(),
        sub_order_id: oid.clone(),
        item_id: rate.text("num_iid"),
        item_title: rate.text("item_title"),
        item_price_fen,
        buyer_nick_masked,
        rater_role: role.clone(),
        rating,
        score: None,
        content: content.unwrap_or_default(),
        reply,
        created_at_ms,
        follow_up: false,
        valid_score: rate.boolean("valid_score"),
    };
    Ok(RawRecord::new(
        Provenance {
            platform: origin.platform,
            shop_id: origin.shop_id.clone(),
            entity_id: oid.unwrap_or(tid),
            version: format!("{created}/{role}"),
            source: origin.source.to_owned(),
            occurred_at_ms: created_at_ms,
            observed_at_ms,
            payload,
        },
        Entity::Review(review),
    ))
}

/// Converts a yuan amount written in decimal ("200.07", "12.5", "3") to fen, exactly.
///
/// Returns `None` for anything else: signs, exponents, empty parts, or a third decimal that
/// is not zero (which fen cannot represent).
pub(crate) fn yuan_to_fen(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|byte| byte.is_ascii_digit())
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    if fraction.len() > 2 && fraction[2..].bytes().any(|byte| byte != b'0') {
        return None;
    }
    let mut cents = 0i64;
    for (index, byte) in fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(2)
        .enumerate()
    {
        let digit = i64::from(byte - b'0');
        cents += if index == 0 { digit * 10 } else { digit };
    }
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}
