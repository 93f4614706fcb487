//! TOP listings and logistics traces (platform-apis §1.7.2, §1.7.3) for the shared
//! listing and shipment pollers.
//!
//! Listings ([`ListingApi`]): one poll reads
//! - `taobao.items.onsale.get` (on-sale items; `page_size` 200, at most
//!   `page_no * page_size` = 20,000 items, the smaller of the two documented caps),
//! - `taobao.items.inventory.get` with `banner=sold_out`, then `banner=for_shelved`
//!   (warehouse items; at most 101 pages of 200),
//!
//! and calls `taobao.item.seller.get` (SKUs) only for an item that is new or whose `modified`
//! changed since the previous poll, so an unchanged catalogue costs just the list pages. An
//! item listed before and now in no list is asked for with `item.seller.get`: code 15
//! `isv.item-is-delete:invalid-numIid-or-iid` gives a `deleted` listing (`raw_status`
//! `isv.item-is-delete`), remembered and repeated on later polls without another call;
//! `isv.item-not-exist` drops the item (the poller then publishes it as `absent`). A
//! catalogue deeper than the paging caps is read up to the caps only (logged).
//!
//! Status ([`top_item_status`]): `approve_status` `onsale` → on sale (sold out when `num` is
//! 0); the `sold_out` banner → sold out; `instock` → delisted (sold out when `num` is 0 and
//! the banner is unknown).
//!
//! Traces ([`ShipmentApi`]): one `taobao.logistics.trace.search` per configured waybill, with
//! its `order_id` as `tid`; `trace_list.transit_step_info[]` (`status_time`, `status_desc`,
//! `action`) become the checkpoints and the node `action` of the latest gives the status
//! (`shipment_status::from_node_action`). An order without a trace answers code 15
//! `isv.logistics-trace-not-exist` in the simulator; that sub_code is not documented
//! (uncertain, §8), so any `isv.*` sub_code containing `not-exist` counts as "no trace yet".

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use schemas::{Listing, ListingStatus, Sku};
use serde_json::value::RawValue;
use tracing::warn;

use super::top::{classify, TopClient, TopErrorBody, API};
use super::trade_rate::yuan_to_fen;
use super::JsonObject;
use crate::clock::parse_gmt8_ms;
use crate::error::{IngestError, Result};
use crate::listings::{ListingApi, ListingSnapshot};
use crate::shipments::{trace_shipment, ShipmentApi, ShipmentSnapshot, TraceNode};

/// The `source` of listing records.
pub(crate) const LISTING_SOURCE: &str = "top:taobao.items.onsale.get";
/// The `source` of shipment records.
pub(crate) const SHIPMENT_SOURCE: &str = "top:taobao.logistics.trace.search";
const ITEMS_ONSALE_GET: &str = "taobao.items.onsale.get";
const ITEMS_INVENTORY_GET: &str = "taobao.items.inventory.get";
const ITEM_SELLER_GET: &str = "taobao.item.seller.get";
const LOGISTICS_TRACE_SEARCH: &str = "taobao.logistics.trace.search";
const LIST_FIELDS: &str = "num_iid,title,price,num,approve_status,modified";
const SELLER_FIELDS: &str = "num_iid,title,price,num,approve_status,modified,skus";
/// Items per list page (the documented maximum).
pub(crate) const ITEMS_PAGE_SIZE: u32 = 200;
/// Deepest `page_no * page_size` of `items.onsale.get`.
pub(crate) const ONSALE_MAX_DEPTH: u32 = 20_000;
/// Largest `page_no` of `items.inventory.get`.
pub(crate) const INVENTORY_MAX_PAGE_NO: u32 = 101;

/// Which list an item was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shelf {
    /// `items.onsale.get`.
    OnSale,
    /// `items.inventory.get` with `banner=sold_out`.
    SoldOut,
    /// `items.inventory.get` with `banner=for_shelved`.
    ForShelved,
    /// Only `item.seller.get` (the item left every list).
    Unknown,
}

/// What the listing poll keeps between polls; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct ListingMemory {
    /// Item id → (`modified` text, SKUs) of its last `item.seller.get`.
    skus: HashMap<String, (Option<String>, Vec<Sku>)>,
    /// Items the platform reported deleted, with the snapshot published for them.
    deleted: HashMap<String, ListingSnapshot>,
}

/// Maps `approve_status`, `num` and the list an item came from to a listing status.
pub(crate) fn top_item_status(
    approve_status: &str,
    num: Option<i64>,
    shelf: Shelf,
) -> ListingStatus {
    match (approve_status, shelf) {
        (_, Shelf::SoldOut) => ListingStatus::SoldOut,
        ("onsale", _) if num == Some(0) => ListingStatus::SoldOut,
        ("onsale", _) => ListingStatus::OnSale,
        ("instock", Shelf::Unknown) if num == Some(0) => ListingStatus::SoldOut,
        ("instock", _) => ListingStatus::Delisted,
        _ => ListingStatus::Unknown,
    }
}

/// Reads a list that is either a bare array or TOP's double wrap `{"<inner>":[…]}`; absent,
/// `null` and `{}` mean empty.
pub(crate) fn parse_wrapped_list(
    raw: Option<&RawValue>,
    inner: &str,
) -> std::result::Result<Vec<JsonObject>, String> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(Vec::new());
    }
    if text.starts_with('[') {
        return serde_json::from_str(text).map_err(|error| format!("bad {inner} list: {error}"));
    }
    let wrapper = JsonObject::parse(text).map_err(|error| format!("bad {inner} list: {error}"))?;
    match wrapper.get(inner) {
        Some(list) => parse_wrapped_list(Some(list), inner),
        None if wrapper.is_empty() => Ok(Vec::new()),
        None => Err(format!("list is neither an array nor {{\"{inner}\":[…]}}")),
    }
}

/// Normalizes one item of a list or of `item.seller.get`.
pub(crate) fn item_snapshot(
    item: &JsonObject,
    shelf: Shelf,
    skus: Vec<Sku>,
) -> std::result::Result<ListingSnapshot, String> {
    let item_id = item.text("num_iid").ok_or("item without num_iid")?;
    let approve_status = item.text("approve_status");
    let stock: Option<i64> = item.text("num").and_then(|num| num.parse().ok());
    Ok(ListingSnapshot {
        listing: Listing {
            item_id,
            title: item.text("title"),
            status: top_item_status(approve_status.as_deref().unwrap_or_default(), stock, shelf),
            raw_status: approve_status,
            price_fen: item.text("price").and_then(|price| yuan_to_fen(&price)),
            stock,
            skus,
            modified_at_ms: item.text("modified").and_then(|text| parse_gmt8_ms(&text)),
        },
        payload: item.to_json_replacing(|_, _| None),
    })
}

/// Reads the SKUs of an `item.seller.get` item (`{"sku":[…]}`, or bare when simplified).
pub(crate) fn item_skus(item: &JsonObject) -> std::result::Result<Vec<Sku>, String> {
    Ok(parse_wrapped_list(item.get("skus"), "sku")?
        .iter()
        .filter_map(|sku| {
            Some(Sku {
                sku_id: sku.text("sku_id")?,
                properties: sku
                    .text("properties_name")
                    .or_else(|| sku.text("properties")),
                price_fen: sku.text("price").and_then(|price| yuan_to_fen(&price)),
                stock: sku.text("quantity").and_then(|stock| stock.parse().ok()),
            })
        })
        .collect())
}

/// The answer of `item.seller.get` for one item.
enum SellerItem {
    Found(JsonObject),
    Deleted(TopErrorBody),
    Missing,
}

fn bad(reason: String) -> IngestError {
    IngestError::BadResponse { api: API, reason }
}

impl TopClient {
    /// Reads every page of one item list, up to `max_page_no`.
    async fn list_items(
        &self,
        method: &'static str,
        root: &str,
        banner: Option<&'static str>,
        max_page_no: u32,
    ) -> Result<Vec<JsonObject>> {
        let mut items = Vec::new();
        for page_no in 1..=max_page_no {
            let mut params = vec![
                ("fields", LIST_FIELDS.to_owned()),
                ("page_no", page_no.to_string()),
                ("page_size", ITEMS_PAGE_SIZE.to_string()),
            ];
            if let Some(banner) = banner {
                params.push(("banner", banner.to_owned()));
            }
            let inner = self
                .call(method, root, params)
                .await?
                .map_err(|error| classify(&error))?;
            let page = parse_wrapped_list(inner.get("items"), "item").map_err(bad)?;
            let received = page.len();
            items.extend(page);
            let total = inner.unsigned("total_results").unwrap_or(0);
            if received < ITEMS_PAGE_SIZE as usize
                || u64::from(page_no) * u64::from(ITEMS_PAGE_SIZE) >= total
            {
                break;
            }
            if page_no == max_page_no {
                warn!(
                    method,
                    total_results = total,
                    read = items.len(),
                    "catalogue deeper than the paging cap; the rest is not listed"
                );
            }
        }
        Ok(items)
    }

    /// Calls `item.seller.get` for `item_id`; see the module docs.
    async fn seller_item(&self, item_id: &str) -> Result<SellerItem> {
        let params = vec![
            ("fields", SELLER_FIELDS.to_owned()),
            ("num_iid", item_id.to_owned()),
        ];
        match self
            .call(ITEM_SELLER_GET, "item_seller_get_response", params)
            .await?
        {
            Ok(inner) => match inner.object("item") {
                Some(item) => {
                    Ok(SellerItem::Found(item.map_err(|error| {
                        bad(format!("malformed item: {error}"))
                    })?))
                }
                None => Ok(SellerItem::Missing),
            },
            Err(error) if error.sub_code.starts_with("isv.item-is-delete") => {
                Ok(SellerItem::Deleted(error))
            }
            Err(error) if error.sub_code.starts_with("isv.item-not-exist") => {
                Ok(SellerItem::Missing)
            }
            Err(error) => Err(classify(&error)),
        }
    }
}

fn deleted_snapshot(item_id: &str, error: &TopErrorBody) -> ListingSnapshot {
    ListingSnapshot {
        listing: Listing {
            item_id: item_id.to_owned(),
            title: None,
            status: ListingStatus::Deleted,
            raw_status: Some("isv.item-is-delete".to_owned()),
            price_fen: None,
            stock: None,
            skus: Vec::new(),
            modified_at_ms: None,
        },
        payload: serde_json::json!({
            "num_iid": item_id,
            "sub_code": error.sub_code,
            "sub_msg": error.sub_msg,
        })
        .to_string(),
    }
}

#[async_trait]
impl ListingApi for TopClient {
    fn api(&self) -> &'static str {
        API
    }

    fn listing_source(&self) -> &'static str {
        LISTING_SOURCE
    }

    async fn fetch_listings(&self) -> Result<Vec<ListingSnapshot>> {
        let mut listed: Vec<(JsonObject, Shelf)> = Vec::new();
        let onsale = self
            .list_items(
                ITEMS_ONSALE_GET,
                "items_onsale_get_response",
                None,
                ONSALE_MAX_DEPTH / ITEMS_PAGE_SIZE,
            )
            .await?;
        listed.extend(onsale.into_iter().map(|item| (item, Shelf::OnSale)));
        for (banner, shelf) in [
            ("sold_out", Shelf::SoldOut),
            ("for_shelved", Shelf::ForShelved),
        ] {
            let items = self
                .list_items(
                    ITEMS_INVENTORY_GET,
                    "items_inventory_get_response",
                    Some(banner),
                    INVENTORY_MAX_PAGE_NO,
                )
                .await?;
            listed.extend(items.into_iter().map(|item| (item, shelf)));
        }
        let mut memory = self.listing_memory.lock().await;
        let mut seen = HashSet::new();
        let mut snapshots = Vec::with_capacity(listed.len());
        let mut skus_now = HashMap::new();
        for (item, shelf) in &listed {
            let item_id = item
                .text("num_iid")
                .ok_or_else(|| bad("item without num_iid".into()))?;
            if !seen.insert(item_id.clone()) {
                continue;
            }
            let modified = item.text("modified");
            let skus = match memory.skus.get(&item_id) {
                Some((known, skus)) if *known == modified => skus.clone(),
                _ => match self.seller_item(&item_id).await? {
                    SellerItem::Found(full) => item_skus(&full).map_err(bad)?,
                    SellerItem::Deleted(error) => {
                        let snapshot = deleted_snapshot(&item_id, &error);
                        memory.deleted.insert(item_id.clone(), snapshot);
                        continue;
                    }
                    SellerItem::Missing => continue,
                },
            };
            memory.deleted.remove(&item_id);
            skus_now.insert(item_id.clone(), (modified, skus.clone()));
            snapshots.push(item_snapshot(item, *shelf, skus).map_err(bad)?);
        }
        let vanished: Vec<String> = memory
            .skus
            .keys()
            .filter(|item_id| !seen.contains(*item_id))
            .cloned()
            .collect();
        for item_id in vanished {
            match self.seller_item(&item_id).await? {
                SellerItem::Found(full) => {
                    let skus = item_skus(&full).map_err(bad)?;
                    skus_now.insert(item_id.clone(), (full.text("modified"), skus.clone()));
                    snapshots.push(item_snapshot(&full, Shelf::Unknown, skus).map_err(bad)?);
                    seen.insert(item_id);
                }
                SellerItem::Deleted(error) => {
                    memory
                        .deleted
                        .insert(item_id.clone(), deleted_snapshot(&item_id, &error));
                }
                SellerItem::Missing => {}
            }
        }
        memory.skus = skus_now;
        snapshots.extend(
            memory
                .deleted
                .iter()
                .filter(|(item_id, _)| !seen.contains(*item_id))
                .map(|(_, snapshot)| snapshot.clone()),
        );
        Ok(snapshots)
    }
}

#[async_trait]
impl ShipmentApi for TopClient {
    fn api(&self) -> &'static str {
        API
    }

    fn shipment_source(&self) -> &'static str {
        SHIPMENT_SOURCE
    }

    async fn fetch_shipments(&self) -> Result<Vec<ShipmentSnapshot>> {
        let mut snapshots = Vec::with_capacity(self.config().waybills.len());
        for waybill in &self.config().waybills {
            // `validate` requires a numeric order id for every TOP waybill.
            let Some(tid) = waybill.order_id.clone() else {
                continue;
            };
            let inner = match self
                .call(
                    LOGISTICS_TRACE_SEARCH,
                    "logistics_trace_search_response",
                    vec![("tid", tid)],
                )
                .await?
            {
                Ok(inner) => inner,
                Err(error)
                    if error.sub_code.starts_with("isv.")
                        && error.sub_code.contains("not-exist") =>
                {
                    continue
                }
                Err(error) => return Err(classify(&error)),
            };
            let steps =
                parse_wrapped_list(inner.get("trace_list"), "transit_step_info").map_err(bad)?;
            let nodes = steps
                .iter()
                .filter_map(|step| {
                    Some(TraceNode {
                        at_ms: parse_gmt8_ms(&step.text("status_time")?)?,
                        description: step.text("status_desc").unwrap_or_default(),
                        location: None,
                        action: step.text("action"),
                    })
                })
                .collect();
            let payload = inner.to_json_replacing(|_, _| None);
            snapshots.extend(trace_shipment(waybill, nodes, payload));
        }
        Ok(snapshots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approve_status_and_shelf_map_to_listing_status() {
        let cases = [
            ("onsale", Some(3), Shelf::OnSale, ListingStatus::OnSale),
            ("onsale", Some(0), Shelf::OnSale, ListingStatus::SoldOut),
            ("instock", Some(0), Shelf::SoldOut, ListingStatus::SoldOut),
            (
                "instock",
                Some(0),
                Shelf::ForShelved,
                ListingStatus::Delisted,
            ),
            (
                "instock",
                Some(4),
                Shelf::ForShelved,
                ListingStatus::Delisted,
            ),
            ("instock", Some(0), Shelf::Unknown, ListingStatus::SoldOut),
            ("instock", Some(2), Shelf::Unknown, ListingStatus::Delisted),
            ("", None, Shelf::ForShelved, ListingStatus::Unknown),
        ];
        for (approve, num, shelf, status) in cases {
            assert_eq!(
                top_item_status(approve, num, shelf),
                status,
                "{approve} {num:?} {shelf:?}"
            );
        }
    }

    #[test]
    fn lists_are_read_bare_or_double_wrapped() {
        let wrapped =
            JsonObject::parse(r#"{"items":{"item":[{"num_iid":1},{"num_iid":2}]}}"#).unwrap();
        assert_eq!(
            parse_wrapped_list(wrapped.get("items"), "item")
                .unwrap()
                .len(),
            2
        );
        let bare = JsonObject::parse(r#"{"items":[{"num_iid":1}]}"#).unwrap();
        assert_eq!(
            parse_wrapped_list(bare.get("items"), "item").unwrap().len(),
            1
        );
        let empty = JsonObject::parse(r#"{"items":{}}"#).unwrap();
        assert!(parse_wrapped_list(empty.get("items"), "item")
            .unwrap()
            .is_empty());
        assert!(parse_wrapped_list(None, "item").unwrap().is_empty());
        let wrong = JsonObject::parse(r#"{"items":{"x":[]}}"#).unwrap();
        assert!(parse_wrapped_list(wrong.get("items"), "item").is_err());
    }

    #[test]
    fn an_item_with_skus_is_normalized() {
        let item = JsonObject::parse(
            r#"{"num_iid":42,"title":"杯子","price":"12.50","num":7,"approve_status":"onsale",
            "modified":"2026-01-02 08:00:00","skus":{"sku":[{"sku_id":9,"properties_name":"1627207:9:红",
            "quantity":7,"price":"12.50"}]}}"#,
        )
        .unwrap();
        let skus = item_skus(&item).unwrap();
        assert_eq!(
            skus,
            vec![Sku {
                sku_id: "9".into(),
                properties: Some("1627207:9:红".into()),
                price_fen: Some(1250),
                stock: Some(7),
            }]
        );
        let snapshot = item_snapshot(&item, Shelf::OnSale, skus).unwrap();
        let listing = snapshot.listing;
        assert_eq!(listing.item_id, "42");
        assert_eq!(listing.status, ListingStatus::OnSale);
        assert_eq!(listing.raw_status.as_deref(), Some("onsale"));
        assert_eq!(listing.price_fen, Some(1250));
        assert_eq!(listing.stock, Some(7));
        // 2026-01-02 08:00:00 GMT+8 = 2026-01-02T00:00:00Z.
        assert_eq!(listing.modified_at_ms, Some(1_767_312_000_000));
    }
}
