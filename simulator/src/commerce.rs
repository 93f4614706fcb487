//! The living commerce world beyond reviews: listings with SKUs, orders and the parcels that
//! carry them, changing one seeded event at a time.
//!
//! Contract:
//! - One RNG stream (derived from the world seed, separate from the review streams) drives
//!   every event, so the same seed and the same number of events (`Commerce::step`) give the
//!   same items and parcels. Live stepping only adds wall-clock timestamps.
//! - Every shop of `shops` and of `commerce.extra_shops` (router-only shops such as the
//!   default JD shop, whose reviews come from a world of their own) gets the same items
//!   (num_iid, title, base price) its reviews name, plus 1–`max_skus_per_item` SKUs.
//! - An event is one of: a new order (one unit of an on-sale SKU with stock, which becomes a
//!   parcel waiting for pickup), one carrier scan of a moving parcel, or a listing change
//!   (delist, relist, delete, reprice, sell out, restock), chosen in proportion to the three
//!   configured paces. An event that finds nothing to act on does nothing. Deletion stops
//!   once a quarter of a shop's items are deleted.
//! - A parcel follows a plan fixed when it is created (its [`ParcelFate`]): delivered,
//!   exception then delivered, returned, rejected, or stalled (stops moving after two scans
//!   and never moves again).
//! - Prices are integer fen; times are whole seconds.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use schemas::Platform;

use crate::config::SimulatorConfig;
use crate::timefmt::format_gmt8;

/// Where a listing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    /// On sale (TOP `onsale`, PDD status 1, JD wareStatus 8).
    OnSale,
    /// Taken off the shelf by the seller (TOP `instock`/`off_shelf`, PDD 2, JD 2).
    Delisted,
    /// Every SKU at stock 0 (TOP `instock`/`sold_out`, PDD 3, JD 8 with stock 0).
    SoldOut,
    /// Deleted: gone from every list (TOP `isv.item-is-delete`, PDD 4).
    Deleted,
}

/// One SKU of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSku {
    /// SKU id.
    pub sku_id: u64,
    /// Property text, e.g. `颜色分类:黑色`.
    pub properties_name: String,
    /// Price in fen.
    pub price_fen: u64,
    /// Units in stock.
    pub stock: u64,
}

/// One listing as the simulator knows it (ground truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimItem {
    /// The shop's marketplace.
    pub platform: Platform,
    /// The shop's id.
    pub shop_id: String,
    /// Item id (TOP num_iid, PDD goods_id, JD wareId).
    pub item_id: u64,
    /// Title.
    pub title: String,
    /// Listing status.
    pub status: ListingStatus,
    /// SKUs (at least one).
    pub skus: Vec<SimSku>,
    /// Units sold through simulated orders.
    pub sold_quantity: u64,
    /// Last time the item went on sale, ms since the epoch.
    pub list_time_ms: i64,
    /// Last time the item left the shelf, if it ever did.
    pub delist_time_ms: Option<i64>,
    /// Last change of any kind, ms since the epoch.
    pub modified_ms: i64,
}

impl SimItem {
    /// Total stock over the SKUs.
    pub fn stock(&self) -> u64 {
        self.skus.iter().map(|sku| sku.stock).sum()
    }

    /// The lowest SKU price, in fen (the item price the platforms show).
    pub fn price_fen(&self) -> u64 {
        self.skus.iter().map(|sku| sku.price_fen).min().unwrap_or(0)
    }
}

/// The plan a parcel follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParcelFate {
    /// Collected, line-haul, arrival, out for delivery, signed.
    Delivered,
    /// As delivered, but a delivery exception comes before a second attempt and signature.
    ExceptionThenDelivered,
    /// A problem in transit, then sent back and signed for by the sender.
    Returned,
    /// Refused by the recipient at the door, then sent back.
    Rejected,
    /// Two scans, then no more movement.
    Stalled,
}

/// One carrier scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTraceStep {
    /// Scan time, ms since the epoch (whole seconds).
    pub time_ms: i64,
    /// Scan time, `yyyy-MM-dd HH:mm:ss` GMT+8.
    pub time: String,
    /// Kuaidi100 basic `state` (0 in transit, 1 collected, 2 problem, 3 signed, 4 returned and
    /// signed, 5 out for delivery, 6 returning, 14 rejected).
    pub state: u32,
    /// Kuaidi100 high-level `statusCode` (e.g. 103, 1002, 1001, 5, 301, 204, 302, 14, 6, 4).
    pub status_code: u32,
    /// TMC-style node code: GOT, DEPARTURE, ARRIVAL, SENT_SCAN, SIGNED, FAILED, OTHER.
    pub action: String,
    /// Human description, Chinese, as carriers write it.
    pub context: String,
    /// City of the scan.
    pub location: String,
}

/// One order and its parcel (ground truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimParcel {
    /// The shop's marketplace.
    pub platform: Platform,
    /// The shop's id.
    pub shop_id: String,
    /// Order id (TOP tid, PDD order_sn digits, JD order id).
    pub tid: u64,
    /// The item ordered.
    pub item_id: u64,
    /// The SKU ordered.
    pub sku_id: u64,
    /// Units ordered.
    pub quantity: u64,
    /// Order time, ms since the epoch.
    pub ordered_ms: i64,
    /// Kuaidi100 courier code (`yuantong`, `zhongtong`, `shunfeng`, `yunda`, `jd`).
    pub company_code: String,
    /// Courier name (`圆通速递`, …).
    pub company_name: String,
    /// Waybill number.
    pub waybill: String,
    /// The plan the parcel follows.
    pub fate: ParcelFate,
    /// Scans so far, oldest first.
    pub steps: Vec<SimTraceStep>,
    /// True once the plan is exhausted (signed, returned, or stalled for good).
    pub finished: bool,
    #[serde(skip)]
    plan: Vec<Stage>,
    #[serde(skip)]
    city_from: &'static str,
    #[serde(skip)]
    city_to: &'static str,
}

impl SimParcel {
    /// The latest Kuaidi100 `state`, or `None` before the first scan.
    pub fn state(&self) -> Option<u32> {
        self.steps.last().map(|step| step.state)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Collected,
    Departed,
    Arrived,
    OutForDelivery,
    Signed,
    DeliveryException,
    SignedAfterException,
    Refused,
    Returning,
    ReturnSigned,
}

impl Stage {
    /// (state, statusCode, action)
    fn codes(self) -> (u32, u32, &'static str) {
        match self {
            Stage::Collected => (1, 103, "GOT"),
            Stage::Departed => (0, 1002, "DEPARTURE"),
            Stage::Arrived => (0, 1001, "ARRIVAL"),
            Stage::OutForDelivery => (5, 5, "SENT_SCAN"),
            Stage::Signed => (3, 301, "SIGNED"),
            Stage::DeliveryException => (2, 204, "FAILED"),
            Stage::SignedAfterException => (3, 302, "SIGNED"),
            Stage::Refused => (14, 14, "FAILED"),
            Stage::Returning => (6, 6, "OTHER"),
            Stage::ReturnSigned => (4, 4, "SIGNED"),
        }
    }
}

fn plan(fate: ParcelFate) -> Vec<Stage> {
    use Stage::*;
    match fate {
        ParcelFate::Delivered => vec![Collected, Departed, Arrived, OutForDelivery, Signed],
        ParcelFate::ExceptionThenDelivered => vec![
            Collected,
            Departed,
            Arrived,
            OutForDelivery,
            DeliveryException,
            OutForDelivery,
            SignedAfterException,
        ],
        ParcelFate::Returned => vec![
            Collected,
            Departed,
            Arrived,
            DeliveryException,
            Returning,
            ReturnSigned,
        ],
        ParcelFate::Rejected => vec![
            Collected,
            Departed,
            Arrived,
            OutForDelivery,
            Refused,
            Returning,
            Arrived,
            ReturnSigned,
        ],
        ParcelFate::Stalled => vec![Collected, Departed],
    }
}

const CITIES: &[&str] = &[
    "杭州市",
    "上海市",
    "广州市",
    "深圳市",
    "北京市",
    "成都市",
    "武汉市",
    "南京市",
    "苏州市",
    "重庆市",
];

/// (Kuaidi100 code, name, waybill prefix, digits).
const CARRIERS: &[(&str, &str, &str, u32)] = &[
    ("yuantong", "圆通速递", "YT", 13),
    ("zhongtong", "中通快递", "7", 13),
    ("shunfeng", "顺丰速运", "SF", 13),
    ("yunda", "韵达快递", "4", 14),
];

const JD_CARRIER: (&str, &str, &str, u32) = ("jd", "京东物流", "JDX", 12);

const SKU_PROPERTIES: &[&str] = &[
    "颜色分类:黑色",
    "颜色分类:白色",
    "颜色分类:灰色",
    "规格:标准版",
    "规格:升级版",
    "尺码:M",
    "尺码:L",
];

/// What one event changed, for the push channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// One unit of `sku_id` sold in order `tid`; `sold_out` when the item has no stock left.
    Ordered {
        shop_id: String,
        item_id: u64,
        sku_id: u64,
        tid: u64,
        sold_out: bool,
    },
    /// The parcel of `tid` got a scan (its last step).
    Scanned { shop_id: String, tid: u64 },
    /// A listing changed.
    Listing {
        shop_id: String,
        item_id: u64,
        kind: ListingChange,
    },
}

/// The kinds of listing change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListingChange {
    /// Taken off the shelf by the seller.
    Delisted,
    /// Back on sale with its stock.
    Relisted,
    /// Stock refilled and back on sale.
    Restocked,
    /// One SKU's price changed.
    Repriced { sku_id: u64 },
    /// Every SKU at stock 0.
    SoldOut,
    /// Deleted.
    Deleted,
}

/// One shop's listings.
#[derive(Debug)]
pub(crate) struct CommerceShop {
    pub(crate) platform: Platform,
    pub(crate) shop_id: String,
    pub(crate) items: Vec<SimItem>,
}

/// The paces and plan weights, copied from the config.
#[derive(Debug, Clone, Copy)]
struct Paces {
    orders: f64,
    parcel_steps: f64,
    listing_changes: f64,
    fates: [(ParcelFate, f64); 5],
}

/// Listings, orders and parcels of every shop.
#[derive(Debug)]
pub(crate) struct Commerce {
    pub(crate) shops: Vec<CommerceShop>,
    pub(crate) parcels: Vec<SimParcel>,
    rng: StdRng,
    used_ids: HashSet<u64>,
    paces: Paces,
    steps: u64,
}

/// A seed item: (item id, title, base price in fen).
pub(crate) type SeedItem = (u64, String, u64);

impl Commerce {
    /// Builds the world's listings from the review shops' items (`seeds`, one list per shop of
    /// `config.shops` then of `config.commerce.extra_shops`, same order), then plays `history_events` events
    /// per shop spread over the past `history_minutes`, ending at `now`.
    pub(crate) fn new(
        config: &SimulatorConfig,
        seeds: Vec<Vec<SeedItem>>,
        now: DateTime<Utc>,
    ) -> Commerce {
        let commerce_config = &config.commerce;
        let mut rng = StdRng::seed_from_u64(config.seed ^ 0x00C0_FFEE_D15E_A5E5);
        let mut used_ids = HashSet::new();
        let now_ms = whole_ms(now);
        let mut shops = Vec::new();
        let new_shop = |rng: &mut StdRng,
                        used: &mut HashSet<u64>,
                        platform: Platform,
                        shop_id: &str,
                        seed_items: Vec<SeedItem>| {
            let items = seed_items
                .into_iter()
                .map(|(item_id, title, base)| {
                    used.insert(item_id);
                    let sku_count = rng.gen_range(1..=commerce_config.max_skus_per_item.max(1));
                    let skus = (0..sku_count)
                        .map(|index| SimSku {
                            sku_id: unique(rng, used, 4_000_000_000_000..5_000_000_000_000),
                            properties_name: SKU_PROPERTIES[(index as usize
                                + rng.gen_range(0..SKU_PROPERTIES.len()))
                                % SKU_PROPERTIES.len()]
                            .to_owned(),
                            price_fen: base + u64::from(index) * 500,
                            stock: rng.gen_range(3..60),
                        })
                        .collect();
                    SimItem {
                        platform,
                        shop_id: shop_id.to_owned(),
                        item_id,
                        title,
                        status: ListingStatus::OnSale,
                        skus,
                        sold_quantity: 0,
                        list_time_ms: now_ms
                            - i64::from(config.history_minutes) * 60_000
                            - 86_400_000,
                        delist_time_ms: None,
                        modified_ms: now_ms - i64::from(config.history_minutes) * 60_000,
                    }
                })
                .collect();
            CommerceShop {
                platform,
                shop_id: shop_id.to_owned(),
                items,
            }
        };
        let every_shop = config
            .shops
            .iter()
            .map(|shop| (shop.platform, shop.shop_id.as_str()))
            .chain(
                commerce_config
                    .extra_shops
                    .iter()
                    .map(|shop| (shop.platform, shop.shop_id.as_str())),
            );
        for ((platform, shop_id), seed_items) in every_shop.zip(seeds) {
            shops.push(new_shop(
                &mut rng,
                &mut used_ids,
                platform,
                shop_id,
                seed_items,
            ));
        }
        let mut commerce = Commerce {
            shops,
            parcels: Vec::new(),
            rng,
            used_ids,
            paces: Paces {
                orders: commerce_config.orders_per_minute,
                parcel_steps: commerce_config.parcel_steps_per_minute,
                listing_changes: commerce_config.listing_changes_per_minute,
                fates: [
                    (
                        ParcelFate::ExceptionThenDelivered,
                        commerce_config.exception_ratio,
                    ),
                    (ParcelFate::Returned, commerce_config.return_ratio),
                    (ParcelFate::Rejected, commerce_config.reject_ratio),
                    (ParcelFate::Stalled, commerce_config.stall_ratio),
                    (ParcelFate::Delivered, 0.0),
                ],
            },
            steps: 0,
        };
        let events = u64::from(commerce_config.history_events) * commerce.shops.len() as u64;
        let span_ms = i64::from(config.history_minutes) * 60_000;
        for index in 0..events {
            let back = span_ms - span_ms * (index as i64 + 1) / events.max(1) as i64;
            commerce.step(now - TimeDelta::milliseconds(back));
        }
        commerce
    }

    /// The mean time between events while live (all shops together), if any pace is set.
    pub(crate) fn gap(&self) -> Option<Duration> {
        let per_minute = (self.paces.orders + self.paces.parcel_steps + self.paces.listing_changes)
            * self.shops.len() as f64;
        (per_minute > 0.0 && !self.shops.is_empty())
            .then(|| Duration::from_secs_f64(60.0 / per_minute))
    }

    /// Events played so far (history included).
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Plays one event stamped `at`; returns what changed, if anything.
    pub(crate) fn step(&mut self, at: DateTime<Utc>) -> Option<Change> {
        self.steps += 1;
        if self.shops.is_empty() {
            return None;
        }
        let at_ms = whole_ms(at);
        let total = self.paces.orders + self.paces.parcel_steps + self.paces.listing_changes;
        if total <= 0.0 {
            return None;
        }
        let roll = self.rng.gen_range(0.0..total);
        let shop_index = self.rng.gen_range(0..self.shops.len());
        if roll < self.paces.orders {
            self.new_order(shop_index, at_ms)
        } else if roll < self.paces.orders + self.paces.parcel_steps {
            self.advance_parcel(shop_index, at_ms)
        } else {
            self.change_listing(shop_index, at_ms)
        }
    }

    fn new_order(&mut self, shop_index: usize, at_ms: i64) -> Option<Change> {
        let rng = &mut self.rng;
        let shop = &mut self.shops[shop_index];
        let candidates: Vec<usize> = (0..shop.items.len())
            .filter(|&index| shop.items[index].status == ListingStatus::OnSale)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let item = &mut shop.items[candidates[rng.gen_range(0..candidates.len())]];
        let in_stock: Vec<usize> = (0..item.skus.len())
            .filter(|&index| item.skus[index].stock > 0)
            .collect();
        let &sku_index = in_stock.get(rng.gen_range(0..in_stock.len().max(1)))?;
        item.skus[sku_index].stock -= 1;
        item.sold_quantity += 1;
        item.modified_ms = at_ms;
        let sold_out = item.stock() == 0;
        if sold_out {
            item.status = ListingStatus::SoldOut;
            item.delist_time_ms = Some(at_ms);
        }
        let (item_id, sku_id) = (item.item_id, item.skus[sku_index].sku_id);
        let platform = shop.platform;
        let shop_id = shop.shop_id.clone();
        let carrier = if platform == Platform::Jd {
            JD_CARRIER
        } else {
            CARRIERS[rng.gen_range(0..CARRIERS.len())]
        };
        let waybill_number = unique(rng, &mut self.used_ids, 0..10u64.pow(carrier.3));
        let waybill = format!(
            "{}{:0width$}",
            carrier.2,
            waybill_number,
            width = carrier.3 as usize
        );
        let tid = unique(rng, &mut self.used_ids, ORDER_ID_RANGE);
        let fate_roll: f64 = rng.gen_range(0.0..1.0);
        let mut acc = 0.0;
        let mut fate = ParcelFate::Delivered;
        for (candidate, weight) in self.paces.fates {
            acc += weight;
            if fate_roll < acc {
                fate = candidate;
                break;
            }
        }
        let city_from = CITIES[rng.gen_range(0..CITIES.len())];
        let city_to = CITIES[rng.gen_range(0..CITIES.len())];
        self.parcels.push(SimParcel {
            platform,
            shop_id,
            tid,
            item_id,
            sku_id,
            quantity: 1,
            ordered_ms: at_ms,
            company_code: carrier.0.to_owned(),
            company_name: carrier.1.to_owned(),
            waybill,
            fate,
            steps: Vec::new(),
            finished: false,
            plan: plan(fate),
            city_from,
            city_to,
        });
        Some(Change::Ordered {
            shop_id: self.shops[shop_index].shop_id.clone(),
            item_id,
            sku_id,
            tid,
            sold_out,
        })
    }

    fn advance_parcel(&mut self, shop_index: usize, at_ms: i64) -> Option<Change> {
        let shop_id = &self.shops[shop_index].shop_id;
        let moving: Vec<usize> = (0..self.parcels.len())
            .filter(|&index| {
                let parcel = &self.parcels[index];
                !parcel.finished && &parcel.shop_id == shop_id
            })
            .collect();
        if moving.is_empty() {
            return None;
        }
        let parcel = &mut self.parcels[moving[self.rng.gen_range(0..moving.len())]];
        let Some(&stage) = parcel.plan.get(parcel.steps.len()) else {
            parcel.finished = true;
            return None;
        };
        let (state, status_code, action) = stage.codes();
        let returning = parcel
            .steps
            .iter()
            .any(|step| step.state == 6 || step.state == 14);
        let location = match stage {
            Stage::Collected | Stage::Departed => parcel.city_from,
            Stage::Arrived if returning => parcel.city_from,
            Stage::ReturnSigned => parcel.city_from,
            _ => parcel.city_to,
        };
        let company = &parcel.company_name;
        let context = match stage {
            Stage::Collected => format!("【{location}】{company} 已揽收"),
            Stage::Departed => format!(
                "快件已从【{location}转运中心】发出，下一站【{}】",
                parcel.city_to
            ),
            Stage::Arrived => format!("快件已到达【{location}转运中心】"),
            Stage::OutForDelivery => format!("【{location}】快递员正在派件，请保持电话畅通"),
            Stage::Signed => format!("【{location}】已签收，签收人：本人。感谢使用{company}"),
            Stage::DeliveryException => format!("【{location}】派件异常：收件人电话无法接通"),
            Stage::SignedAfterException => {
                format!("【{location}】派件异常后已签收，签收人：本人")
            }
            Stage::Refused => format!("【{location}】收件人拒收，快件将退回"),
            Stage::Returning => format!("【{location}】快件退回中，退回至寄件人"),
            Stage::ReturnSigned => format!("【{location}】退回件已由寄件人签收"),
        };
        let time_ms = at_ms.max(parcel.steps.last().map_or(parcel.ordered_ms, |s| s.time_ms));
        parcel.steps.push(SimTraceStep {
            time_ms,
            time: DateTime::from_timestamp_millis(time_ms).map_or_else(String::new, format_gmt8),
            state,
            status_code,
            action: action.to_owned(),
            context,
            location: location.to_owned(),
        });
        if parcel.steps.len() == parcel.plan.len() {
            parcel.finished = true;
        }
        Some(Change::Scanned {
            shop_id: parcel.shop_id.clone(),
            tid: parcel.tid,
        })
    }

    fn change_listing(&mut self, shop_index: usize, at_ms: i64) -> Option<Change> {
        let rng = &mut self.rng;
        let shop = &mut self.shops[shop_index];
        let live: Vec<usize> = (0..shop.items.len())
            .filter(|&index| shop.items[index].status != ListingStatus::Deleted)
            .collect();
        if live.is_empty() {
            return None;
        }
        // Deleting stops once a quarter of the shop's items are gone, so a long run keeps a
        // living catalogue.
        let may_delete = (shop.items.len() - live.len()) * 4 < shop.items.len();
        let item = &mut shop.items[live[rng.gen_range(0..live.len())]];
        // Weights: delist 3, relist/restock 4, reprice 4, sell out 1, delete 1.
        let roll = rng.gen_range(0..13);
        let kind = match (item.status, roll) {
            (ListingStatus::OnSale, 0..=2) => {
                item.status = ListingStatus::Delisted;
                item.delist_time_ms = Some(at_ms);
                ListingChange::Delisted
            }
            (ListingStatus::Delisted, 3..=6) if item.stock() > 0 => {
                item.status = ListingStatus::OnSale;
                item.list_time_ms = at_ms;
                ListingChange::Relisted
            }
            (ListingStatus::SoldOut | ListingStatus::Delisted, 3..=6) => {
                for sku in &mut item.skus {
                    sku.stock = rng.gen_range(5..60);
                }
                item.status = ListingStatus::OnSale;
                item.list_time_ms = at_ms;
                ListingChange::Restocked
            }
            (_, 7..=10) => {
                let sku = rng.gen_range(0..item.skus.len());
                let factor: f64 = rng.gen_range(0.8..1.2);
                let old = item.skus[sku].price_fen;
                let new = ((old as f64 * factor / 10.0).round() as u64 * 10).max(100);
                item.skus[sku].price_fen = if new == old { old + 100 } else { new };
                ListingChange::Repriced {
                    sku_id: item.skus[sku].sku_id,
                }
            }
            (ListingStatus::OnSale, 11) => {
                for sku in &mut item.skus {
                    sku.stock = 0;
                }
                item.status = ListingStatus::SoldOut;
                item.delist_time_ms = Some(at_ms);
                ListingChange::SoldOut
            }
            (ListingStatus::Delisted | ListingStatus::SoldOut, 12) if may_delete => {
                item.status = ListingStatus::Deleted;
                ListingChange::Deleted
            }
            _ => return None,
        };
        item.modified_ms = at_ms;
        Some(Change::Listing {
            shop_id: shop.shop_id.clone(),
            item_id: item.item_id,
            kind,
        })
    }

    /// Returns the shop `shop_id` (any platform).
    pub(crate) fn shop(&self, shop_id: &str) -> Option<&CommerceShop> {
        self.shops.iter().find(|shop| shop.shop_id == shop_id)
    }

    /// Finds the parcel of order `tid` in `shop_id`.
    pub(crate) fn parcel_by_tid(&self, shop_id: &str, tid: u64) -> Option<&SimParcel> {
        self.parcels
            .iter()
            .find(|parcel| parcel.shop_id == shop_id && parcel.tid == tid)
    }

    /// Finds a parcel by courier code (case-insensitive; `None` matches any) and waybill.
    pub(crate) fn parcel_by_waybill(
        &self,
        company: Option<&str>,
        waybill: &str,
    ) -> Option<&SimParcel> {
        self.parcels.iter().find(|parcel| {
            parcel.waybill == waybill
                && company.is_none_or(|code| code.eq_ignore_ascii_case(&parcel.company_code))
        })
    }

    /// Every item, shop by shop.
    pub(crate) fn items(&self) -> Vec<SimItem> {
        self.shops
            .iter()
            .flat_map(|shop| shop.items.iter().cloned())
            .collect()
    }
}

/// Order ids: 19 digits, above the review tids, inside `i64`.
const ORDER_ID_RANGE: std::ops::Range<u64> = 5_000_000_000_000_000_000..6_000_000_000_000_000_000;

fn unique(rng: &mut StdRng, used: &mut HashSet<u64>, range: std::ops::Range<u64>) -> u64 {
    loop {
        let id = rng.gen_range(range.clone());
        if used.insert(id) {
            return id;
        }
    }
}

fn whole_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp() * 1000
}

#[cfg(test)]
mod tests;
