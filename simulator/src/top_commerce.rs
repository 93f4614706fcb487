//! TOP listing and logistics methods on `/router/rest` (platform-apis.md §1.7.2, §1.7.3), run
//! after the router's common checks (app, throttle, format, signature, timestamp, version,
//! session) in [`crate::top`]; the session's shop is the seller.
//!
//! Contract:
//! - `taobao.items.onsale.get`: the seller's on-sale items. `fields` required (40);
//!   `page_no` >= 1, `page_size` 1..=200 (default 40), `page_no * page_size` <= 20,000 (the
//!   doc says 20k and 100k; we take the smaller), else 41 `isv.invalid-parameter:<name>`;
//!   `q` (title contains), `start_modified`/`end_modified` (GMT+8, inclusive);
//!   `order_by` `column:asc|desc` over list_time, delist_time, num, modified, sold_quantity
//!   (default `list_time:desc`, ties by num_iid descending).
//! - `taobao.items.inventory.get`: the same over items in the warehouse; `banner` (comma
//!   list) `for_shelved` (default = regular_shelved, never_on_shelf, off_shelf), `off_shelf`
//!   (delisted items), `sold_out`, `regular_shelved`, `never_on_shelf`,
//!   `violation_off_shelf` (the last three never match in the simulator); `page_no` 1..=101.
//! - `taobao.item.seller.get`: `fields` and `num_iid` required; a deleted item of the seller
//!   answers code 15 `isv.item-is-delete:invalid-numIid-or-iid`, any other unknown num_iid
//!   15 `isv.item-not-exist:invalid-numIid-or-iid`. `skus` is `{"sku":[…]}` (bare with
//!   `simplify=true`).
//! - `taobao.logistics.trace.search`: `tid` required; an order of the seller answers
//!   `out_sid`, `company_name`, `tid`, `status` and `trace_list.transit_step_info[]`
//!   (`status_time`, `status_desc`, `action`, oldest first). `status` is "对方已签收" once
//!   signed (documented) and otherwise our wording: "等待揽收", "运输中", "派送中", "疑难件",
//!   "退回中", "已退回" (uncertain, §8). Unknown tid: code 15
//!   `isv.logistics-trace-not-exist` (our choice; the sub_code is not documented).
//! - Item fields: num_iid, title, nick, price (yuan string), num (stock), approve_status
//!   (`onsale`/`instock`), list_time, delist_time, modified (GMT+8), sold_quantity, outer_id,
//!   type (`fixed`), skus (seller.get only: sku_id, properties, properties_name, quantity,
//!   price, modified). Unknown names are ignored.
//! - Envelopes like traderates: `{"<root>":{"items":{"item":[…]},"total_results":N,
//!   "request_id"}}`, empty lists left out; `simplify=true` gives the bare body with plain
//!   arrays.

use chrono::DateTime;
use serde_json::{json, Map, Value};

use crate::commerce::{ListingStatus, SimItem, SimParcel};
use crate::config::Api;
use crate::form::Params;
use crate::server::Inner;
use crate::timefmt::{format_gmt8, parse_gmt8};
use crate::top::TopError;
use crate::vocab;

/// The listing and logistics methods this module serves.
pub const METHODS: &[&str] = &[
    ITEMS_ONSALE_GET,
    ITEMS_INVENTORY_GET,
    ITEM_SELLER_GET,
    LOGISTICS_TRACE_SEARCH,
];
/// On-sale items of the seller.
pub const ITEMS_ONSALE_GET: &str = "taobao.items.onsale.get";
/// Items in the seller's warehouse.
pub const ITEMS_INVENTORY_GET: &str = "taobao.items.inventory.get";
/// One item of the seller, with SKUs.
pub const ITEM_SELLER_GET: &str = "taobao.item.seller.get";
/// The logistics trace of one order.
pub const LOGISTICS_TRACE_SEARCH: &str = "taobao.logistics.trace.search";

/// Largest `page_size` of the item lists.
pub const MAX_ITEMS_PAGE_SIZE: u64 = 200;
/// Largest `page_no * page_size` of `items.onsale.get`.
pub const MAX_ONSALE_DEPTH: u64 = 20_000;
/// Largest `page_no` of `items.inventory.get`.
pub const MAX_INVENTORY_PAGE_NO: u64 = 101;

fn missing(name: &str) -> TopError {
    TopError::with(40, "isv.missing-parameter", format!("{name} is required"))
}

fn invalid(name: &str, detail: impl Into<String>) -> TopError {
    TopError::with(41, format!("isv.invalid-parameter:{name}"), detail)
}

fn number(params: &Params, name: &str, default: u64) -> Result<u64, TopError> {
    match params.non_empty(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| invalid(name, format!("{name} must be a whole number"))),
    }
}

/// Answers one listing or logistics method for the session's shop.
pub(crate) fn respond(
    inner: &Inner,
    method: &str,
    shop_id: &str,
    params: &Params,
    request_id: &str,
    simplify: bool,
) -> Result<Value, TopError> {
    let nick = inner
        .with_shop(Api::Top, shop_id, |shop| shop.seller_nick.clone())
        .unwrap_or_default();
    let (root, mut body) = match method {
        ITEMS_ONSALE_GET | ITEMS_INVENTORY_GET => (
            if method == ITEMS_ONSALE_GET {
                "items_onsale_get_response"
            } else {
                "items_inventory_get_response"
            },
            list_items(inner, method, shop_id, &nick, params, simplify)?,
        ),
        ITEM_SELLER_GET => (
            "item_seller_get_response",
            seller_get(inner, shop_id, &nick, params, simplify)?,
        ),
        LOGISTICS_TRACE_SEARCH => (
            "logistics_trace_search_response",
            trace_search(inner, shop_id, params, simplify)?,
        ),
        _ => return Err(TopError::new(22)),
    };
    body.insert("request_id".to_owned(), Value::from(request_id));
    Ok(if simplify {
        Value::Object(body)
    } else {
        json!({ root: body })
    })
}

fn fields(params: &Params) -> Result<Vec<String>, TopError> {
    let fields = params
        .non_empty("fields")
        .ok_or_else(|| missing("fields"))?;
    Ok(fields
        .split(',')
        .map(|field| field.trim().to_owned())
        .filter(|field| !field.is_empty())
        .collect())
}

fn list_items(
    inner: &Inner,
    method: &str,
    shop_id: &str,
    nick: &str,
    params: &Params,
    simplify: bool,
) -> Result<Map<String, Value>, TopError> {
    let fields = fields(params)?;
    let page_no = number(params, "page_no", 1)?;
    let page_size = number(params, "page_size", 40)?;
    if page_no == 0 {
        return Err(invalid("page_no", "page_no must be >= 1"));
    }
    if page_size == 0 || page_size > MAX_ITEMS_PAGE_SIZE {
        return Err(invalid("page_size", "page_size must be 1..=200"));
    }
    let onsale = method == ITEMS_ONSALE_GET;
    if onsale && page_no * page_size > MAX_ONSALE_DEPTH {
        return Err(invalid("page_no", "page_no * page_size must be <= 20000"));
    }
    if !onsale && page_no > MAX_INVENTORY_PAGE_NO {
        return Err(invalid("page_no", "page_no must be 1..=101"));
    }
    let wanted: Vec<ListingStatus> = if onsale {
        vec![ListingStatus::OnSale]
    } else {
        let mut wanted = Vec::new();
        for banner in params
            .non_empty("banner")
            .unwrap_or("for_shelved")
            .split(',')
        {
            match banner.trim() {
                "for_shelved" | "off_shelf" => wanted.push(ListingStatus::Delisted),
                "sold_out" => wanted.push(ListingStatus::SoldOut),
                "regular_shelved" | "never_on_shelf" | "violation_off_shelf" => {}
                _ => return Err(invalid("banner", format!("unknown banner {banner:?}"))),
            }
        }
        wanted
    };
    let time = |name: &str| -> Result<Option<i64>, TopError> {
        params
            .non_empty(name)
            .map(|text| {
                parse_gmt8(text)
                    .map(|at| at.timestamp_millis())
                    .ok_or_else(|| invalid(name, format!("{name} must be yyyy-MM-dd HH:mm:ss")))
            })
            .transpose()
    };
    let start_modified = time("start_modified")?;
    let end_modified = time("end_modified")?;
    let (column, descending) = match params.non_empty("order_by") {
        None => ("list_time".to_owned(), true),
        Some(text) => {
            let (column, direction) = text.split_once(':').unwrap_or((text, "desc"));
            let known = [
                "list_time",
                "delist_time",
                "num",
                "modified",
                "sold_quantity",
            ];
            if !known.contains(&column) || !matches!(direction, "asc" | "desc") {
                return Err(invalid("order_by", "order_by must be column:asc|desc"));
            }
            (column.to_owned(), direction == "desc")
        }
    };
    let q = params.non_empty("q");
    let mut items: Vec<SimItem> = inner.with_commerce(|commerce| {
        commerce
            .shop(shop_id)
            .map(|shop| shop.items.clone())
            .unwrap_or_default()
    });
    items.retain(|item| {
        wanted.contains(&item.status)
            && q.is_none_or(|q| item.title.contains(q))
            && start_modified.is_none_or(|start| item.modified_ms >= start)
            && end_modified.is_none_or(|end| item.modified_ms <= end)
    });
    let key = |item: &SimItem| -> i64 {
        match column.as_str() {
            "delist_time" => item.delist_time_ms.unwrap_or(0),
            "num" => i64::try_from(item.stock()).unwrap_or(i64::MAX),
            "modified" => item.modified_ms,
            "sold_quantity" => i64::try_from(item.sold_quantity).unwrap_or(i64::MAX),
            _ => item.list_time_ms,
        }
    };
    items.sort_by(|a, b| {
        let order = (key(a), a.item_id).cmp(&(key(b), b.item_id));
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    let total = items.len();
    let skip = usize::try_from((page_no - 1) * page_size).unwrap_or(usize::MAX);
    let page: Vec<Value> = items
        .iter()
        .skip(skip)
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|item| item_json(item, nick, &fields, false, simplify))
        .collect();
    let mut body = Map::new();
    if simplify {
        body.insert("items".to_owned(), Value::Array(page));
    } else if !page.is_empty() {
        body.insert("items".to_owned(), json!({ "item": page }));
    }
    body.insert("total_results".to_owned(), Value::from(total));
    Ok(body)
}

fn seller_get(
    inner: &Inner,
    shop_id: &str,
    nick: &str,
    params: &Params,
    simplify: bool,
) -> Result<Map<String, Value>, TopError> {
    let fields = fields(params)?;
    let num_iid = params
        .non_empty("num_iid")
        .ok_or_else(|| missing("num_iid"))?;
    let num_iid: u64 = num_iid
        .trim()
        .parse()
        .map_err(|_| invalid("num_iid", "num_iid must be a number"))?;
    let item = inner.with_commerce(|commerce| {
        commerce
            .shop(shop_id)
            .and_then(|shop| shop.items.iter().find(|item| item.item_id == num_iid))
            .cloned()
    });
    match item {
        Some(item) if item.status != ListingStatus::Deleted => {
            let mut body = Map::new();
            body.insert(
                "item".to_owned(),
                item_json(&item, nick, &fields, true, simplify),
            );
            Ok(body)
        }
        Some(_) => Err(TopError::with(
            15,
            "isv.item-is-delete:invalid-numIid-or-iid",
            "the item has been deleted",
        )),
        None => Err(TopError::with(
            15,
            "isv.item-not-exist:invalid-numIid-or-iid",
            "no such item for this seller",
        )),
    }
}

fn gmt8_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(String::new, format_gmt8)
}

fn item_json(
    item: &SimItem,
    nick: &str,
    fields: &[String],
    with_skus: bool,
    simplify: bool,
) -> Value {
    let mut out = Map::new();
    for field in fields {
        let value = match field.as_str() {
            "num_iid" => Value::from(item.item_id),
            "title" => Value::from(item.title.clone()),
            "nick" => Value::from(nick),
            "price" => Value::from(vocab::yuan(item.price_fen())),
            "num" => Value::from(item.stock()),
            "approve_status" => Value::from(if item.status == ListingStatus::OnSale {
                "onsale"
            } else {
                "instock"
            }),
            "list_time" => Value::from(gmt8_ms(item.list_time_ms)),
            "delist_time" => match item.delist_time_ms {
                Some(ms) => Value::from(gmt8_ms(ms)),
                None => continue,
            },
            "modified" => Value::from(gmt8_ms(item.modified_ms)),
            "sold_quantity" => Value::from(item.sold_quantity),
            "outer_id" => Value::from(format!("SW-{}", item.item_id % 100_000)),
            "type" => Value::from("fixed"),
            "skus" if with_skus => {
                let skus: Vec<Value> = item
                    .skus
                    .iter()
                    .map(|sku| {
                        let properties = format!("1627207:{}", sku.sku_id % 100_000);
                        json!({
                            "sku_id": sku.sku_id,
                            "properties": properties,
                            "properties_name": format!("{properties}:{}", sku.properties_name),
                            "quantity": sku.stock,
                            "price": vocab::yuan(sku.price_fen),
                            "modified": gmt8_ms(item.modified_ms),
                        })
                    })
                    .collect();
                if simplify {
                    Value::Array(skus)
                } else {
                    json!({ "sku": skus })
                }
            }
            _ => continue,
        };
        out.insert(field.clone(), value);
    }
    Value::Object(out)
}

/// TOP's order logistics status text for a parcel.
pub(crate) fn top_status(parcel: &SimParcel) -> &'static str {
    match parcel.state() {
        None => "等待揽收",
        Some(3) => "对方已签收",
        Some(4) => "已退回",
        Some(5) => "派送中",
        Some(2) => "疑难件",
        Some(6 | 14) => "退回中",
        Some(_) => "运输中",
    }
}

fn trace_search(
    inner: &Inner,
    shop_id: &str,
    params: &Params,
    simplify: bool,
) -> Result<Map<String, Value>, TopError> {
    let tid = params.non_empty("tid").ok_or_else(|| missing("tid"))?;
    let tid: u64 = tid
        .trim()
        .parse()
        .map_err(|_| invalid("tid", "tid must be a number"))?;
    let parcel = inner
        .with_commerce(|commerce| commerce.parcel_by_tid(shop_id, tid).cloned())
        .ok_or_else(|| {
            TopError::with(
                15,
                "isv.logistics-trace-not-exist",
                "no logistics trace for this order",
            )
        })?;
    let steps: Vec<Value> = parcel
        .steps
        .iter()
        .map(|step| {
            json!({
                "status_time": step.time,
                "status_desc": step.context,
                "action": step.action,
            })
        })
        .collect();
    let mut body = Map::new();
    body.insert("out_sid".to_owned(), Value::from(parcel.waybill.clone()));
    body.insert(
        "company_name".to_owned(),
        Value::from(parcel.company_name.clone()),
    );
    body.insert("tid".to_owned(), Value::from(parcel.tid));
    body.insert("status".to_owned(), Value::from(top_status(&parcel)));
    if simplify {
        body.insert("trace_list".to_owned(), Value::Array(steps));
    } else if !steps.is_empty() {
        body.insert(
            "trace_list".to_owned(),
            json!({ "transit_step_info": steps }),
        );
    }
    Ok(body)
}
