//! TMC, the Taobao message service, in HTTP pull mode (platform-apis.md §1.8):
//! `taobao.tmc.messages.consume` and `taobao.tmc.messages.confirm` on `/router/rest`.
//!
//! Contract:
//! - Every change of a shop served by TOP becomes messages for each TOP app holding a
//!   session for that shop (no `taobao.tmc.user.permit` call needed; one group per app, so
//!   `group_name` is accepted and ignored): a new buyer review → `taobao_trade_TradeRated`;
//!   an order → `taobao_item_ItemStockChanged` (+ `taobao_item_ItemZeroStock` when the item
//!   sells out); a parcel scan → `taobao_logistics_LogsticDetailTrace` (sic); delist →
//!   `taobao_item_ItemDownshelf` (num_iid only, as the newest doc says); relist →
//!   `taobao_item_ItemUpshelf`; restock → `taobao_item_ItemStockChanged` then
//!   `taobao_item_ItemUpshelf`; reprice → `taobao_item_ItemUpdate` (`changed_fields`
//!   `price`); sell-out → `taobao_item_ItemZeroStock`; delete → `taobao_item_ItemDelete`.
//!   `content` is a JSON string with the documented fields; prices are yuan strings.
//! - `consume` (`quantity` 10..=200, default 100; else 41
//!   `isv.invalid-parameter:quantity`) hands out, oldest first, the app's unconfirmed
//!   messages never delivered or delivered more than `tmc.redelivery_secs` ago (the real
//!   interval is not documented). Answer: `{"tmc_messages_consume_response":{"messages":
//!   {"tmc_message":[{user_id, user_nick, content, id, pub_time, pub_app_key, topic}]},
//!   "request_id"}}`, `messages` left out when empty (bare array with `simplify=true`).
//! - `confirm` (`s_message_ids`, comma list of at most 200 ids; missing → 40) marks the
//!   app's messages confirmed: `{"tmc_messages_confirm_response":{"is_success":true,…}}`.
//!   Unknown ids are ignored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::commerce::{Change, Commerce, ListingChange};
use crate::vocab;

/// Consumes messages.
pub const CONSUME: &str = "taobao.tmc.messages.consume";
/// Confirms consumed messages.
pub const CONFIRM: &str = "taobao.tmc.messages.confirm";

/// One TMC message as the simulator knows it (ground truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTmcMessage {
    /// 64-bit message id.
    pub id: u64,
    /// The app the message is for.
    pub app_key: String,
    /// The topic, e.g. `taobao_trade_TradeRated`.
    pub topic: String,
    /// The JSON content, as a string.
    pub content: String,
    /// Publication time, GMT+8.
    pub pub_time: String,
    /// The seller's nick.
    pub user_nick: String,
    /// The seller's numeric id.
    pub user_id: u64,
    /// The shop.
    pub shop_id: String,
    /// How many times `consume` handed it out.
    pub deliveries: u32,
    /// Whether `confirm` acknowledged it.
    pub confirmed: bool,
}

impl SimTmcMessage {
    fn wire(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "user_nick": self.user_nick,
            "content": self.content,
            "id": self.id,
            "pub_time": self.pub_time,
            "pub_app_key": self.app_key,
            "topic": self.topic,
        })
    }
}

/// A message about to be published for a shop: (shop_id, topic, content).
pub(crate) type Draft = (String, &'static str, Value);

/// The messages of every app.
#[derive(Debug)]
pub(crate) struct Tmc {
    next_id: u64,
    messages: Vec<(SimTmcMessage, Option<Instant>)>,
}

impl Tmc {
    pub(crate) fn new(seed: u64) -> Tmc {
        Tmc {
            next_id: 1_172_200_053_212_681_005 + (seed % 1_000_000) * 1_000_000,
            messages: Vec::new(),
        }
    }

    /// Publishes one message per app in `app_keys`.
    pub(crate) fn publish(
        &mut self,
        app_keys: &[String],
        seller_nick: &str,
        draft: &Draft,
        at: DateTime<Utc>,
    ) {
        let (shop_id, topic, content) = draft;
        for app_key in app_keys {
            self.next_id += 1;
            self.messages.push((
                SimTmcMessage {
                    id: self.next_id,
                    app_key: app_key.clone(),
                    topic: (*topic).to_owned(),
                    content: content.to_string(),
                    pub_time: crate::timefmt::format_gmt8(at),
                    user_nick: seller_nick.to_owned(),
                    user_id: user_id(shop_id),
                    shop_id: shop_id.clone(),
                    deliveries: 0,
                    confirmed: false,
                },
                None,
            ));
        }
    }

    /// Hands out up to `quantity` messages due for `app_key`.
    pub(crate) fn consume(
        &mut self,
        app_key: &str,
        quantity: usize,
        now: Instant,
        redelivery: Duration,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for (message, delivered) in &mut self.messages {
            if out.len() == quantity {
                break;
            }
            let due = delivered.is_none_or(|at| now.saturating_duration_since(at) >= redelivery);
            if message.app_key == app_key && !message.confirmed && due {
                *delivered = Some(now);
                message.deliveries += 1;
                out.push(message.wire());
            }
        }
        out
    }

    /// Confirms `ids` of `app_key`; returns how many were newly confirmed.
    pub(crate) fn confirm(&mut self, app_key: &str, ids: &[u64]) -> usize {
        let mut count = 0;
        for (message, _) in &mut self.messages {
            if message.app_key == app_key && !message.confirmed && ids.contains(&message.id) {
                message.confirmed = true;
                count += 1;
            }
        }
        count
    }

    /// Every message so far.
    pub(crate) fn all(&self) -> Vec<SimTmcMessage> {
        self.messages
            .iter()
            .map(|(message, _)| message.clone())
            .collect()
    }
}

/// `taobao_trade_TradeRated` drafts for the reviews each TOP shop got beyond `before`
/// (review counts per shop, same order as `world.shops`).
pub(crate) fn rated_drafts(world: &crate::world::World, before: &[usize]) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for (shop, &seen) in world.shops.iter().zip(before) {
        if shop.config.api != crate::config::Api::Top {
            continue;
        }
        for review in shop.reviews.iter().skip(seen) {
            drafts.push((
                shop.config.shop_id.clone(),
                "taobao_trade_TradeRated",
                json!({
                    "tid": review.tid,
                    "oid": review.oid,
                    "buyer_nick": review.nick,
                    "seller_nick": shop.seller_nick,
                    "rater": "buyer",
                    "type": "fixed",
                }),
            ));
        }
    }
    drafts
}

/// A stable numeric seller id for a shop.
pub(crate) fn user_id(shop_id: &str) -> u64 {
    let digest = Md5::digest(shop_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes) % 9_000_000_000 + 1_000_000_000
}

/// The messages a commerce change publishes (read under the commerce lock).
pub(crate) fn drafts(change: &Change, commerce: &Commerce) -> Vec<Draft> {
    let item = |shop_id: &str, item_id: u64| {
        commerce
            .shop(shop_id)
            .and_then(|shop| shop.items.iter().find(|item| item.item_id == item_id))
    };
    let mut drafts = Vec::new();
    match change {
        Change::Ordered {
            shop_id,
            item_id,
            sku_id,
            sold_out,
            ..
        } => {
            let Some(item) = item(shop_id, *item_id) else {
                return drafts;
            };
            let sku_num = item
                .skus
                .iter()
                .find(|sku| sku.sku_id == *sku_id)
                .map_or(0, |sku| sku.stock);
            drafts.push((
                shop_id.clone(),
                "taobao_item_ItemStockChanged",
                json!({
                    "num_iid": item.item_id,
                    "changed_fields": "num",
                    "increment": -1,
                    "num": item.stock(),
                    "sku_id": sku_id,
                    "sku_num": sku_num,
                }),
            ));
            if *sold_out {
                drafts.push((
                    shop_id.clone(),
                    "taobao_item_ItemZeroStock",
                    json!({ "num_iid": item.item_id, "num": 0 }),
                ));
            }
        }
        Change::Scanned { shop_id, tid } => {
            let Some(parcel) = commerce.parcel_by_tid(shop_id, *tid) else {
                return drafts;
            };
            let Some(step) = parcel.steps.last() else {
                return drafts;
            };
            drafts.push((
                shop_id.clone(),
                "taobao_logistics_LogsticDetailTrace",
                json!({
                    "tid": parcel.tid,
                    "out_sid": parcel.waybill,
                    "company_name": parcel.company_name,
                    "action": step.action,
                    "desc": step.context,
                    "time": step.time,
                }),
            ));
        }
        Change::Listing {
            shop_id,
            item_id,
            kind,
        } => {
            let Some(item) = item(shop_id, *item_id) else {
                return drafts;
            };
            let price = vocab::yuan(item.price_fen());
            let mut push = |topic, content: Value| drafts.push((shop_id.clone(), topic, content));
            match kind {
                ListingChange::Delisted => {
                    push(
                        "taobao_item_ItemDownshelf",
                        json!({ "num_iid": item.item_id }),
                    );
                }
                ListingChange::Relisted | ListingChange::Restocked => {
                    if *kind == ListingChange::Restocked {
                        push(
                            "taobao_item_ItemStockChanged",
                            json!({ "num_iid": item.item_id, "changed_fields": "num", "num": item.stock() }),
                        );
                    }
                    push(
                        "taobao_item_ItemUpshelf",
                        json!({ "num_iid": item.item_id, "price": price, "status": "onsale" }),
                    );
                }
                ListingChange::Repriced { sku_id } => {
                    let mut content = Map::new();
                    content.insert("num_iid".to_owned(), Value::from(item.item_id));
                    content.insert("changed_fields".to_owned(), Value::from("price"));
                    content.insert("price".to_owned(), Value::from(price));
                    content.insert("sku_id".to_owned(), Value::from(*sku_id));
                    push("taobao_item_ItemUpdate", Value::Object(content));
                }
                ListingChange::SoldOut => {
                    push(
                        "taobao_item_ItemZeroStock",
                        json!({ "num_iid": item.item_id, "num": 0 }),
                    );
                }
                ListingChange::Deleted => {
                    push(
                        "taobao_item_ItemDelete",
                        json!({ "num_iid": item.item_id, "price": price }),
                    );
                }
            }
        }
    }
    drafts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn unconfirmed_messages_come_back_after_the_redelivery_interval() {
        let mut tmc = Tmc::new(0);
        let at = Utc::now();
        let draft: Draft = (
            "tb".to_owned(),
            "taobao_item_ItemDelete",
            json!({"num_iid": 1}),
        );
        tmc.publish(&["a".to_owned(), "b".to_owned()], "nick", &draft, at);
        tmc.publish(&["a".to_owned()], "nick", &draft, at);
        let wait = Duration::from_secs(60);
        let first = tmc.consume("a", 10, Instant::now(), wait);
        assert_eq!(first.len(), 2);
        assert_eq!(first[0]["content"], r#"{"num_iid":1}"#);
        assert_eq!(first[0]["pub_app_key"], "a");
        assert!(tmc.consume("a", 10, Instant::now(), wait).is_empty());
        let id = first[0]["id"].as_u64().unwrap();
        assert_eq!(tmc.confirm("a", &[id, 42]), 1);
        assert_eq!(tmc.confirm("b", &[id]), 0);
        tokio::time::advance(Duration::from_secs(61)).await;
        let again = tmc.consume("a", 10, Instant::now(), wait);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0]["id"], first[1]["id"]);
        assert_eq!(tmc.consume("b", 1, Instant::now(), wait).len(), 1);
        let all = tmc.all();
        assert_eq!(
            all.iter().map(|m| m.deliveries).collect::<Vec<_>>(),
            [1, 1, 2]
        );
    }

    #[test]
    fn user_ids_are_stable_ten_digit_numbers() {
        assert_eq!(user_id("tb-10001"), user_id("tb-10001"));
        assert_ne!(user_id("tb-10001"), user_id("tb-10002"));
        assert!((1_000_000_000..10_000_000_000).contains(&user_id("x")));
    }
}
