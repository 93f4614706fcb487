use chrono::{TimeZone, Utc};

use super::*;
use crate::config::SimulatorConfig;

fn seeds(config: &SimulatorConfig) -> Vec<Vec<SeedItem>> {
    (0..config.shops.len() + config.commerce.extra_shops.len())
        .map(|shop| {
            (0..4)
                .map(|index| {
                    (
                        600_000_000_000 + shop as u64 * 100 + index,
                        format!("item {shop}-{index}"),
                        1_000 + index * 100,
                    )
                })
                .collect()
        })
        .collect()
}

fn build(config: &SimulatorConfig) -> Commerce {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 4, 0, 0).unwrap();
    Commerce::new(config, seeds(config), now)
}

#[test]
fn same_seed_same_world() {
    let config = SimulatorConfig::default();
    let mut a = build(&config);
    let mut b = build(&config);
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 5, 0, 0).unwrap();
    for _ in 0..500 {
        a.step(at);
        b.step(at);
    }
    assert_eq!(a.items(), b.items());
    assert_eq!(a.parcels, b.parcels);
    assert_eq!(a.steps(), 500 + 60 * 4);
    let other = build(&SimulatorConfig {
        seed: 1,
        ..SimulatorConfig::default()
    });
    assert_ne!(
        a.parcels.first().map(|p| p.tid),
        other.parcels.first().map(|p| p.tid)
    );
}

#[test]
fn review_items_are_listed_and_extra_shops_added() {
    let config = SimulatorConfig::default();
    let commerce = build(&config);
    assert_eq!(commerce.shops.len(), 4);
    assert_eq!(commerce.shops[3].shop_id, "jd-5001");
    assert_eq!(commerce.shops[3].platform, Platform::Jd);
    assert_eq!(commerce.shops[0].items[0].item_id, 600_000_000_000);
    assert_eq!(commerce.shops[0].items[0].title, "item 0-0");
    assert_eq!(commerce.shops[3].items.len(), 4);
    assert_eq!(commerce.shops[3].items[0].title, "item 3-0");
    for item in commerce.items() {
        assert!((1..=3).contains(&item.skus.len()), "{item:?}");
        if item.status == ListingStatus::SoldOut {
            assert_eq!(item.stock(), 0);
        }
    }
}

#[test]
fn everything_happens_in_a_long_run() {
    let config = SimulatorConfig::default();
    let mut commerce = build(&config);
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 5, 0, 0).unwrap();
    let before = commerce.items();
    for _ in 0..4000 {
        commerce.step(at);
    }
    let items = commerce.items();
    for status in [
        ListingStatus::OnSale,
        ListingStatus::Delisted,
        ListingStatus::SoldOut,
        ListingStatus::Deleted,
    ] {
        assert!(
            items.iter().any(|item| item.status == status),
            "no {status:?}"
        );
    }
    assert!(items
        .iter()
        .zip(&before)
        .any(|(now, then)| now.skus[0].price_fen != then.skus[0].price_fen));
    for fate in [
        ParcelFate::Delivered,
        ParcelFate::ExceptionThenDelivered,
        ParcelFate::Returned,
        ParcelFate::Rejected,
        ParcelFate::Stalled,
    ] {
        assert!(
            commerce
                .parcels
                .iter()
                .any(|p| p.fate == fate && p.finished),
            "no finished {fate:?}"
        );
    }
    let finals: HashSet<Option<u32>> = commerce
        .parcels
        .iter()
        .filter(|p| p.finished)
        .map(|p| (p.fate, p.state()))
        .map(|(fate, state)| match fate {
            ParcelFate::Delivered | ParcelFate::ExceptionThenDelivered => {
                assert_eq!(state, Some(3));
                state
            }
            ParcelFate::Returned | ParcelFate::Rejected => {
                assert_eq!(state, Some(4));
                state
            }
            ParcelFate::Stalled => {
                assert_eq!(state, Some(0));
                state
            }
        })
        .collect();
    assert_eq!(finals.len(), 3);
    let rejected = commerce
        .parcels
        .iter()
        .find(|p| p.fate == ParcelFate::Rejected && p.finished)
        .unwrap();
    let states: Vec<u32> = rejected.steps.iter().map(|s| s.state).collect();
    assert_eq!(states, [1, 0, 0, 5, 14, 6, 0, 4]);
    let jd = commerce
        .parcels
        .iter()
        .find(|p| p.shop_id == "jd-5001")
        .unwrap();
    assert_eq!(jd.company_code, "jd");
    assert!(
        jd.waybill.starts_with("JDX") && jd.waybill.len() == 15,
        "{}",
        jd.waybill
    );
    let found = commerce.parcel_by_waybill(Some("JD"), &jd.waybill).unwrap();
    assert_eq!(found.tid, jd.tid);
    assert_eq!(
        commerce.parcel_by_tid("jd-5001", jd.tid).unwrap().waybill,
        jd.waybill
    );
}

#[test]
fn zero_paces_freeze_the_world() {
    let mut config = SimulatorConfig::default();
    config.commerce.orders_per_minute = 0.0;
    config.commerce.parcel_steps_per_minute = 0.0;
    config.commerce.listing_changes_per_minute = 0.0;
    let mut commerce = build(&config);
    assert_eq!(commerce.gap(), None);
    let before = commerce.items();
    commerce.step(Utc::now());
    assert_eq!(commerce.items(), before);
    assert!(commerce.parcels.is_empty());
}

#[test]
fn a_long_run_keeps_a_living_catalogue() {
    let config = SimulatorConfig::default();
    let mut commerce = build(&config);
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 5, 0, 0).unwrap();
    for _ in 0..20_000 {
        commerce.step(at);
    }
    let mut on_sale_total = 0;
    for shop in &commerce.shops {
        let deleted = shop
            .items
            .iter()
            .filter(|item| item.status == ListingStatus::Deleted)
            .count();
        assert!(
            deleted * 4 <= shop.items.len() + 3,
            "{}: {deleted}",
            shop.shop_id
        );
        let on_sale = shop
            .items
            .iter()
            .filter(|item| item.status == ListingStatus::OnSale)
            .count();
        on_sale_total += on_sale;
    }
    // 16 items in all (4 per shop in this test).
    assert!(on_sale_total >= 4, "{on_sale_total} on sale");
}
