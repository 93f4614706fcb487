//! The simulated world: shops, their items and every review generated so far.
//!
//! Contract:
//! - Each shop has its own RNG stream derived from the seed and the shop's position, so a seed
//!   reproduces each shop's reviews (texts, ratings, nicks, items, ids) in order.
//! - The history (`history_reviews` per shop over the past `history_minutes`) exists as soon as
//!   the world is built. Live reviews follow a jittered schedule: with a gap of
//!   `60 / reviews_per_minute` seconds, the k-th live review of a shop is due at
//!   `start + (k - 1 + u_k) * gap`, `u_k` uniform in [0, 1), so exactly `n` are due after
//!   `n * gap`. A live review is stamped with the wall clock at generation.
//! - tids, oids and num_iids are unique across the world; `created` has whole seconds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use schemas::{Platform, Rating};

use crate::config::{Api, ShopConfig, SimulatorConfig};
use crate::corpus::{CorpusEntry, Label};
use crate::timefmt::format_gmt8;
use crate::vocab::{self, Item};

/// One generated review as the simulator knows it (ground truth, nick unmasked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimReview {
    /// The shop's marketplace.
    pub platform: Platform,
    /// The shop's id.
    pub shop_id: String,
    /// The API that serves this shop.
    pub api: Api,
    /// Parent order id, digits only.
    pub tid: String,
    /// Child order id, digits only.
    pub oid: String,
    /// Item id, digits only.
    pub num_iid: String,
    /// Rating time, `yyyy-MM-dd HH:mm:ss` in GMT+8, as the platforms send it.
    pub created: String,
    /// Rating time in milliseconds since the Unix epoch (whole seconds).
    pub created_ms: i64,
    /// good / neutral / bad.
    pub result: Rating,
    /// The review text (a corpus text).
    pub content: String,
    /// The buyer's nick, unmasked.
    pub nick: String,
    /// The seller's nick.
    pub rated_nick: String,
    /// The item's title.
    pub item_title: String,
    /// The item's price in yuan (`"12.50"`).
    pub item_price: String,
    /// The seller's reply, if any.
    pub reply: Option<String>,
    /// Whether the rating counts toward the shop's score.
    pub valid_score: bool,
    /// The corpus line the text came from.
    pub corpus_id: String,
    /// The corpus label of the text.
    pub label: Label,
}

/// A review as stored, with numeric ids for the platform responses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredReview {
    pub(crate) tid: u64,
    pub(crate) oid: u64,
    pub(crate) num_iid: u64,
    pub(crate) created: DateTime<Utc>,
    pub(crate) result: Rating,
    pub(crate) content: String,
    pub(crate) nick: String,
    pub(crate) item_title: String,
    pub(crate) item_price_fen: u64,
    pub(crate) reply: Option<String>,
    pub(crate) valid_score: bool,
    pub(crate) corpus_id: String,
    pub(crate) label: Label,
}

struct ShopItem {
    item: Item,
    num_iid: u64,
}

/// One shop and its reviews, oldest first.
pub(crate) struct ShopState {
    pub(crate) config: ShopConfig,
    pub(crate) seller_nick: String,
    pub(crate) reviews: Vec<StoredReview>,
    items: Vec<ShopItem>,
    rng: StdRng,
    gap: Option<Duration>,
    live_start: Option<Instant>,
    next_slot: u64,
    next_due: Option<Instant>,
}

impl ShopState {
    fn at_cap(&self, max: Option<u32>) -> bool {
        max.is_some_and(|max| self.reviews.len() >= max as usize)
    }

    fn to_sim(&self, review: &StoredReview) -> SimReview {
        SimReview {
            platform: self.config.platform,
            shop_id: self.config.shop_id.clone(),
            api: self.config.api,
            tid: review.tid.to_string(),
            oid: review.oid.to_string(),
            num_iid: review.num_iid.to_string(),
            created: format_gmt8(review.created),
            created_ms: review.created.timestamp_millis(),
            result: review.result,
            content: review.content.clone(),
            nick: review.nick.clone(),
            rated_nick: self.seller_nick.clone(),
            item_title: review.item_title.clone(),
            item_price: vocab::yuan(review.item_price_fen),
            reply: review.reply.clone(),
            valid_score: review.valid_score,
            corpus_id: review.corpus_id.clone(),
            label: review.label,
        }
    }
}

/// Every shop and the id space they share.
pub(crate) struct World {
    pub(crate) shops: Vec<ShopState>,
    corpus: Arc<Vec<CorpusEntry>>,
    used_ids: HashSet<u64>,
    max_reviews_per_shop: Option<u32>,
}

const ITEMS_PER_SHOP: usize = 12;

impl World {
    /// Builds the shops and their history, relative to the wall-clock instant `now`.
    pub(crate) fn new(
        config: &SimulatorConfig,
        corpus: Arc<Vec<CorpusEntry>>,
        now: DateTime<Utc>,
    ) -> World {
        let mut world = World {
            shops: Vec::with_capacity(config.shops.len()),
            corpus,
            used_ids: HashSet::new(),
            max_reviews_per_shop: config.max_reviews_per_shop,
        };
        for (index, shop) in config.shops.iter().enumerate() {
            let mut rng = StdRng::seed_from_u64(
                config
                    .seed
                    .wrapping_add((index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            );
            let seller_nick = shop
                .seller_nick
                .clone()
                .unwrap_or_else(|| vocab::seller_nick(&mut rng, shop.platform));
            let items = vocab::shop_items(&mut rng, ITEMS_PER_SHOP)
                .into_iter()
                .map(|item| ShopItem {
                    num_iid: unique_id(
                        &mut rng,
                        &mut world.used_ids,
                        500_000_000_000..800_000_000_000,
                    ),
                    item,
                })
                .collect();
            let pace = config.reviews_per_minute_for(shop);
            let gap = (pace > 0.0).then(|| Duration::from_secs_f64(60.0 / pace));
            world.shops.push(ShopState {
                config: shop.clone(),
                seller_nick,
                reviews: Vec::new(),
                items,
                rng,
                gap,
                live_start: None,
                next_slot: 1,
                next_due: None,
            });
        }
        let history_secs = i64::from(config.history_minutes) * 60;
        for shop_index in 0..world.shops.len() {
            let count = config
                .max_reviews_per_shop
                .map_or(config.history_reviews, |max| {
                    max.min(config.history_reviews)
                });
            let mut created: Vec<DateTime<Utc>> = (0..count)
                .map(|_| {
                    let back = world.shops[shop_index]
                        .rng
                        .gen_range(0..history_secs.max(1));
                    whole_seconds(now - TimeDelta::seconds(back))
                })
                .collect();
            created.sort_unstable();
            for at in created {
                world.push_review(shop_index, at);
            }
        }
        world
    }

    /// Starts the live schedule of every shop at `start`.
    pub(crate) fn start_live(&mut self, start: Instant) {
        for shop in &mut self.shops {
            shop.live_start = Some(start);
            shop.next_slot = 1;
            shop.next_due = None;
            if let Some(gap) = shop.gap {
                let jitter: f64 = shop.rng.gen_range(0.0..1.0);
                shop.next_due = Some(start + gap.mul_f64(jitter));
            }
        }
    }

    /// Returns the earliest instant a live review is due, if any shop still generates.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let max = self.max_reviews_per_shop;
        self.shops
            .iter()
            .filter(|shop| !shop.at_cap(max))
            .filter_map(|shop| shop.next_due)
            .min()
    }

    /// Generates every live review due at `now` (tokio clock), stamped `wall`; returns how
    /// many were generated per API.
    pub(crate) fn generate_due(&mut self, now: Instant, wall: DateTime<Utc>) -> Vec<Api> {
        let mut generated = Vec::new();
        let created = whole_seconds(wall);
        for shop_index in 0..self.shops.len() {
            loop {
                let shop = &self.shops[shop_index];
                if shop.at_cap(self.max_reviews_per_shop) {
                    break;
                }
                let (Some(due), Some(gap), Some(start)) =
                    (shop.next_due, shop.gap, shop.live_start)
                else {
                    break;
                };
                if due > now {
                    break;
                }
                self.push_review(shop_index, created);
                generated.push(self.shops[shop_index].config.api);
                let shop = &mut self.shops[shop_index];
                let slot = shop.next_slot;
                shop.next_slot += 1;
                let jitter: f64 = shop.rng.gen_range(0.0..1.0);
                shop.next_due = Some(start + gap.mul_f64(slot as f64 + jitter));
            }
        }
        generated
    }

    fn push_review(&mut self, shop_index: usize, created: DateTime<Utc>) {
        let World {
            shops,
            corpus,
            used_ids,
            ..
        } = self;
        let shop = &mut shops[shop_index];
        let rng = &mut shop.rng;
        let entry = &corpus[rng.gen_range(0..corpus.len())];
        let roll: f64 = rng.gen_range(0.0..1.0);
        let result = match entry.label {
            Label::Neg if roll < 0.75 => Rating::Bad,
            Label::Neg => Rating::Neutral,
            Label::Pos if roll < 0.9 => Rating::Good,
            Label::Pos => Rating::Neutral,
        };
        let nick = vocab::buyer_nick(rng);
        let item = &shop.items[rng.gen_range(0..shop.items.len())];
        let reply = vocab::seller_reply(rng, result);
        let valid_score = rng.gen_bool(0.95);
        let tid = unique_id(rng, used_ids, TID_RANGE);
        let oid = unique_id(rng, used_ids, TID_RANGE);
        let review = StoredReview {
            tid,
            oid,
            num_iid: item.num_iid,
            created,
            result,
            content: entry.text.clone(),
            nick,
            item_title: item.item.title.clone(),
            item_price_fen: item.item.price_fen,
            reply,
            valid_score,
            corpus_id: entry.id.clone(),
            label: entry.label,
        };
        shop.reviews.push(review);
    }

    /// Returns the shop `shop_id` served by `api`.
    pub(crate) fn shop(&self, api: Api, shop_id: &str) -> Option<&ShopState> {
        self.shops
            .iter()
            .find(|shop| shop.config.api == api && shop.config.shop_id == shop_id)
    }

    /// Returns every review as ground truth, shop by shop, oldest first within a shop.
    pub(crate) fn ground_truth(&self) -> Vec<SimReview> {
        self.shops
            .iter()
            .flat_map(|shop| shop.reviews.iter().map(move |review| shop.to_sim(review)))
            .collect()
    }

    /// Returns each shop's items as commerce seeds (id, title, price in fen), shop by shop.
    pub(crate) fn seed_items(&self) -> Vec<Vec<crate::commerce::SeedItem>> {
        self.shops
            .iter()
            .map(|shop| {
                shop.items
                    .iter()
                    .map(|item| (item.num_iid, item.item.title.clone(), item.item.price_fen))
                    .collect()
            })
            .collect()
    }

    /// Returns the number of reviews in the world.
    pub(crate) fn review_count(&self) -> usize {
        self.shops.iter().map(|shop| shop.reviews.len()).sum()
    }
}

/// Taobao-like 19-digit order ids, inside `i64` so every JSON reader can hold them.
const TID_RANGE: std::ops::Range<u64> = 1_000_000_000_000_000_000..4_000_000_000_000_000_000;

fn unique_id(rng: &mut StdRng, used: &mut HashSet<u64>, range: std::ops::Range<u64>) -> u64 {
    loop {
        let id = rng.gen_range(range.clone());
        if used.insert(id) {
            return id;
        }
    }
}

fn whole_seconds(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(instant.timestamp(), 0).unwrap_or(instant)
}

#[cfg(test)]
mod tests;
