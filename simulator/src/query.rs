//! The review search both APIs share: parameter parsing, filtering, ordering, the 1,500-per-
//! window cap, paging and `fields` projection.
//!
//! Contract:
//! - Filters: `rate_type`/`role` (every generated review is `get`/`buyer`, so other valid
//!   combinations match nothing), `result`, `tid` (matches the parent or the child order id),
//!   `num_iid`, and the window `start_date <= created <= end_date` (both ends inclusive, either
//!   may be absent).
//! - Order: newest first, ties broken by the larger tid first.
//! - Cap: only the first [`WINDOW_CAP`] matches of a query are reachable through paging;
//!   `total_results` still counts every match, and `has_next` is false on the page that
//!   reaches the cap.
//! - Projection: only the requested known TradeRate fields appear; unknown names are ignored;
//!   `reply` is absent when the seller has not replied. Ids are JSON numbers, `item_price` a
//!   yuan string, `created` a GMT+8 string.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use schemas::Rating;

use crate::form::Params;
use crate::timefmt::{format_gmt8, parse_gmt8};
use crate::vocab;
use crate::world::{ShopState, StoredReview};

/// The most records a single window query yields across all its pages.
pub const WINDOW_CAP: usize = 1500;
/// The largest `page_no` either API accepts.
pub const MAX_PAGE_NO: u32 = 200;
/// The largest `page_size` either API accepts.
pub const MAX_PAGE_SIZE: u32 = 150;
/// `page_size` when the request has none.
pub const DEFAULT_PAGE_SIZE: u32 = 40;

/// The TradeRate fields the simulator knows.
pub const TRADE_RATE_FIELDS: &[&str] = &[
    "tid",
    "oid",
    "role",
    "nick",
    "result",
    "created",
    "rated_nick",
    "item_title",
    "item_price",
    "content",
    "reply",
    "num_iid",
    "valid_score",
];

/// Why the parameters cannot run a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamError {
    /// A required parameter is absent or blank.
    Missing { name: &'static str },
    /// A parameter does not parse or is out of range (number, date, page bounds).
    Malformed { name: &'static str, detail: String },
    /// A parameter parses but names no valid value (role, rate type, result, tid).
    BadValue { name: &'static str, detail: String },
}

impl ParamError {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ParamError::Missing { name }
            | ParamError::Malformed { name, .. }
            | ParamError::BadValue { name, .. } => name,
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            ParamError::Missing { name } => format!("missing required parameter {name}"),
            ParamError::Malformed { name, detail } | ParamError::BadValue { name, detail } => {
                format!("invalid parameter {name}: {detail}")
            }
        }
    }
}

/// A parsed search request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchQuery {
    pub(crate) fields: Vec<&'static str>,
    pub(crate) matches_generated: bool,
    pub(crate) result: Option<Rating>,
    pub(crate) page_no: u32,
    pub(crate) page_size: u32,
    pub(crate) start: Option<DateTime<Utc>>,
    pub(crate) end: Option<DateTime<Utc>>,
    pub(crate) tid: Option<u64>,
    pub(crate) num_iid: Option<u64>,
    pub(crate) use_has_next: bool,
}

impl SearchQuery {
    /// Parses the business parameters common to both APIs.
    pub(crate) fn parse(params: &Params) -> Result<SearchQuery, ParamError> {
        let fields_text = params
            .non_empty("fields")
            .ok_or(ParamError::Missing { name: "fields" })?;
        let rate_type = params
            .non_empty("rate_type")
            .ok_or(ParamError::Missing { name: "rate_type" })?;
        let role = params
            .non_empty("role")
            .ok_or(ParamError::Missing { name: "role" })?;
        let fields: Vec<&'static str> = TRADE_RATE_FIELDS
            .iter()
            .copied()
            .filter(|known| fields_text.split(',').any(|asked| asked.trim() == *known))
            .collect();
        if fields.is_empty() {
            return Err(ParamError::Malformed {
                name: "fields",
                detail: format!("no known TradeRate field in {fields_text:?}"),
            });
        }
        let rate_type = match rate_type.trim() {
            "get" => true,
            "give" => false,
            other => {
                return Err(ParamError::BadValue {
                    name: "rate_type",
                    detail: format!("{other:?} is not get or give"),
                })
            }
        };
        let role_is_buyer = match role.trim() {
            "buyer" => true,
            "seller" => false,
            other => {
                return Err(ParamError::BadValue {
                    name: "role",
                    detail: format!("{other:?} is not buyer or seller"),
                })
            }
        };
        let result = match params.non_empty("result").map(str::trim) {
            None => None,
            Some("good") => Some(Rating::Good),
            Some("neutral") => Some(Rating::Neutral),
            Some("bad") => Some(Rating::Bad),
            Some(other) => {
                return Err(ParamError::BadValue {
                    name: "result",
                    detail: format!("{other:?} is not good, neutral or bad"),
                })
            }
        };
        let page_no = bounded(params, "page_no", 1, MAX_PAGE_NO)?;
        let page_size = bounded(params, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let start = date(params, "start_date")?;
        let end = date(params, "end_date")?;
        let tid = match params.non_empty("tid") {
            None => None,
            Some(text) => Some(
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| ParamError::BadValue {
                        name: "tid",
                        detail: format!("{text:?} is not an order id"),
                    })?,
            ),
        };
        let num_iid = match params.non_empty("num_iid") {
            None => None,
            Some(text) => Some(
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| ParamError::Malformed {
                        name: "num_iid",
                        detail: format!("{text:?} is not a number"),
                    })?,
            ),
        };
        let use_has_next = match params.non_empty("use_has_next").map(str::trim) {
            None => false,
            Some(text) if text.eq_ignore_ascii_case("true") => true,
            Some(text) if text.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(ParamError::Malformed {
                    name: "use_has_next",
                    detail: format!("{other:?} is not true or false"),
                })
            }
        };
        Ok(SearchQuery {
            fields,
            // Generated reviews are buyers' reviews the seller received: rate_type=get, role=buyer.
            matches_generated: rate_type && role_is_buyer,
            result,
            page_no,
            page_size,
            start,
            end,
            tid,
            num_iid,
            use_has_next,
        })
    }
}

fn bounded(params: &Params, name: &'static str, default: u32, max: u32) -> Result<u32, ParamError> {
    let Some(text) = params.non_empty(name) else {
        return Ok(default);
    };
    let value = text
        .trim()
        .parse::<u32>()
        .map_err(|_| ParamError::Malformed {
            name,
            detail: format!("{text:?} is not a positive integer"),
        })?;
    if value == 0 || value > max {
        return Err(ParamError::Malformed {
            name,
            detail: format!("{value} is outside 1..={max}"),
        });
    }
    Ok(value)
}

fn date(params: &Params, name: &'static str) -> Result<Option<DateTime<Utc>>, ParamError> {
    params
        .non_empty(name)
        .map(|text| {
            parse_gmt8(text).ok_or_else(|| ParamError::Malformed {
                name,
                detail: format!("{text:?} is not yyyy-MM-dd HH:mm:ss"),
            })
        })
        .transpose()
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchPage {
    /// The projected TradeRates of the page, newest first.
    pub(crate) trade_rates: Vec<Value>,
    /// Every match of the query, beyond the cap too.
    pub(crate) total_results: usize,
    /// Whether the next page would return anything.
    pub(crate) has_next: bool,
}

/// Runs `query` over `shop`'s reviews.
pub(crate) fn search(shop: &ShopState, query: &SearchQuery) -> SearchPage {
    let mut matches: Vec<&StoredReview> = if query.matches_generated {
        shop.reviews
            .iter()
            .filter(|review| query.result.is_none_or(|result| review.result == result))
            .filter(|review| query.start.is_none_or(|start| review.created >= start))
            .filter(|review| query.end.is_none_or(|end| review.created <= end))
            .filter(|review| {
                query
                    .tid
                    .is_none_or(|tid| review.tid == tid || review.oid == tid)
            })
            .filter(|review| {
                query
                    .num_iid
                    .is_none_or(|num_iid| review.num_iid == num_iid)
            })
            .collect()
    } else {
        Vec::new()
    };
    matches.sort_unstable_by(|a, b| b.created.cmp(&a.created).then(b.tid.cmp(&a.tid)));
    let total_results = matches.len();
    let reachable = total_results.min(WINDOW_CAP);
    let offset = (query.page_no as usize - 1) * query.page_size as usize;
    let end = (offset + query.page_size as usize).min(reachable);
    let trade_rates = if offset < end {
        matches[offset..end]
            .iter()
            .map(|review| project(shop, review, &query.fields))
            .collect()
    } else {
        Vec::new()
    };
    SearchPage {
        trade_rates,
        total_results,
        has_next: end < reachable,
    }
}

fn project(shop: &ShopState, review: &StoredReview, fields: &[&'static str]) -> Value {
    let mut object = Map::new();
    for &field in fields {
        let value = match field {
            "tid" => Value::from(review.tid),
            "oid" => Value::from(review.oid),
            "role" => Value::from("buyer"),
            "nick" => Value::from(review.nick.clone()),
            "result" => Value::from(review.result.as_str()),
            "created" => Value::from(format_gmt8(review.created)),
            "rated_nick" => Value::from(shop.seller_nick.clone()),
            "item_title" => Value::from(review.item_title.clone()),
            "item_price" => Value::from(vocab::yuan(review.item_price_fen)),
            "content" => Value::from(review.content.clone()),
            "reply" => match &review.reply {
                Some(reply) => Value::from(reply.clone()),
                None => continue,
            },
            "num_iid" => Value::from(review.num_iid),
            "valid_score" => Value::from(review.valid_score),
            _ => continue,
        };
        object.insert(field.to_owned(), value);
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests;
