use std::sync::Arc;

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::config::{Api, ShopConfig, SimulatorConfig};
use crate::corpus;
use crate::world::World;
use schemas::Platform;

fn world(history: u32) -> World {
    let mut config = SimulatorConfig {
        shops: vec![ShopConfig {
            platform: Platform::Tmall,
            shop_id: "s".to_owned(),
            api: Api::Top,
            seller_nick: Some("某某旗舰店".to_owned()),
            reviews_per_minute: None,
        }],
        history_reviews: history,
        history_minutes: 600,
        ..SimulatorConfig::default()
    };
    config.credentials.top_apps.clear();
    config.credentials.aggregator_tokens.clear();
    World::new(&config, Arc::new(corpus::load(None).unwrap()), now())
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 4, 0, 0).unwrap()
}

fn query(extra: &[(&str, &str)]) -> SearchQuery {
    let mut pairs = vec![
        ("fields", "tid,oid,created,result,content,nick,reply"),
        ("rate_type", "get"),
        ("role", "buyer"),
    ];
    pairs.extend_from_slice(extra);
    SearchQuery::parse(&Params::from_pairs(&pairs)).unwrap()
}

fn error(pairs: &[(&str, &str)]) -> ParamError {
    SearchQuery::parse(&Params::from_pairs(pairs)).unwrap_err()
}

fn tids(page: &SearchPage) -> Vec<u64> {
    page.trade_rates
        .iter()
        .map(|rate| rate["tid"].as_u64().unwrap())
        .collect()
}

#[test]
fn newest_first_and_pages_tile_the_result() {
    let world = world(100);
    let shop = &world.shops[0];
    let first = search(shop, &query(&[("page_size", "60")]));
    let second = search(shop, &query(&[("page_size", "60"), ("page_no", "2")]));
    assert_eq!(
        (first.trade_rates.len(), second.trade_rates.len()),
        (60, 40)
    );
    assert_eq!((first.total_results, first.has_next), (100, true));
    assert!(!second.has_next);
    let mut all: Vec<&StoredReview> = shop.reviews.iter().collect();
    all.sort_by(|a, b| b.created.cmp(&a.created).then(b.tid.cmp(&a.tid)));
    let expected: Vec<u64> = all.iter().map(|review| review.tid).collect();
    let mut got = tids(&first);
    got.extend(tids(&second));
    assert_eq!(got, expected);
    let beyond = search(shop, &query(&[("page_size", "60"), ("page_no", "3")]));
    assert!(beyond.trade_rates.is_empty());
    assert_eq!(beyond.total_results, 100);
}

#[test]
fn at_most_1500_per_window_but_the_true_total() {
    let world = world(1700);
    let shop = &world.shops[0];
    let mut seen = 0;
    for page_no in 1..=12 {
        let page = search(
            shop,
            &query(&[("page_size", "150"), ("page_no", &page_no.to_string())]),
        );
        assert_eq!(page.total_results, 1700);
        assert_eq!(page.has_next, page_no < 10, "page {page_no}");
        seen += page.trade_rates.len();
    }
    assert_eq!(seen, 1500);
}

#[test]
fn filters_by_result_window_tid_and_item() {
    let world = world(300);
    let shop = &world.shops[0];
    let bad = search(shop, &query(&[("result", "bad"), ("page_size", "150")]));
    let expected_bad = shop
        .reviews
        .iter()
        .filter(|r| r.result == Rating::Bad)
        .count();
    assert_eq!(bad.total_results, expected_bad);
    assert!(bad.trade_rates.iter().all(|rate| rate["result"] == "bad"));

    let start = now() - TimeDelta::minutes(120);
    let end = now() - TimeDelta::minutes(60);
    let window = search(
        shop,
        &query(&[
            ("start_date", &format_gmt8(start)),
            ("end_date", &format_gmt8(end)),
            ("page_size", "150"),
        ]),
    );
    let expected = shop
        .reviews
        .iter()
        .filter(|r| r.created >= start && r.created <= end)
        .count();
    assert!(expected > 0);
    assert_eq!(window.total_results, expected);

    let target = &shop.reviews[17];
    let by_tid = search(shop, &query(&[("tid", &target.tid.to_string())]));
    assert_eq!(tids(&by_tid), vec![target.tid]);
    let by_oid = search(shop, &query(&[("tid", &target.oid.to_string())]));
    assert_eq!(tids(&by_oid), vec![target.tid]);
    let by_item = search(
        shop,
        &query(&[
            ("num_iid", &target.num_iid.to_string()),
            ("page_size", "150"),
        ]),
    );
    let expected = shop
        .reviews
        .iter()
        .filter(|r| r.num_iid == target.num_iid)
        .count();
    assert_eq!(by_item.total_results, expected);

    let given = search(shop, &query(&[]).clone());
    assert_eq!(given.total_results, 300);
    let mut seller = query(&[]);
    seller.matches_generated = false;
    assert_eq!(search(shop, &seller).total_results, 0);
    let parsed = SearchQuery::parse(&Params::from_pairs(&[
        ("fields", "tid"),
        ("rate_type", "give"),
        ("role", "seller"),
    ]))
    .unwrap();
    assert!(!parsed.matches_generated);
}

#[test]
fn only_requested_fields_come_back() {
    let world = world(50);
    let shop = &world.shops[0];
    let parsed = SearchQuery::parse(&Params::from_pairs(&[
        ("fields", "tid, item_price ,rated_nick,valid_score,bogus"),
        ("rate_type", "get"),
        ("role", "buyer"),
    ]))
    .unwrap();
    let page = search(shop, &parsed);
    let rate = page.trade_rates[0].as_object().unwrap();
    let mut keys: Vec<&str> = rate.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["item_price", "rated_nick", "tid", "valid_score"]);
    assert!(rate["tid"].is_u64());
    assert_eq!(rate["rated_nick"], "某某旗舰店");
    assert!(rate["valid_score"].is_boolean());
    let price = rate["item_price"].as_str().unwrap();
    assert_eq!(price.split_once('.').unwrap().1.len(), 2, "{price}");

    let all = search(shop, &query(&[("page_size", "50")]));
    let with_reply = all
        .trade_rates
        .iter()
        .filter(|rate| rate.get("reply").is_some())
        .count();
    let expected = shop
        .reviews
        .iter()
        .filter(|review| review.reply.is_some())
        .count();
    assert_eq!(with_reply, expected);
}

#[test]
fn parameter_errors_are_classified() {
    assert_eq!(
        error(&[("rate_type", "get"), ("role", "buyer")]),
        ParamError::Missing { name: "fields" }
    );
    assert_eq!(
        error(&[("fields", "tid"), ("role", "buyer")]),
        ParamError::Missing { name: "rate_type" }
    );
    assert_eq!(
        error(&[("fields", "tid"), ("rate_type", "get"), ("role", " ")]),
        ParamError::Missing { name: "role" }
    );
    let base = [("fields", "tid"), ("rate_type", "get"), ("role", "buyer")];
    let with = |pair: (&'static str, &'static str)| {
        let mut pairs = base.to_vec();
        pairs.push(pair);
        error(&pairs)
    };
    assert!(matches!(
        with(("page_no", "201")),
        ParamError::Malformed {
            name: "page_no",
            ..
        }
    ));
    assert!(matches!(
        with(("page_no", "0")),
        ParamError::Malformed {
            name: "page_no",
            ..
        }
    ));
    assert!(matches!(
        with(("page_size", "151")),
        ParamError::Malformed {
            name: "page_size",
            ..
        }
    ));
    assert!(matches!(
        with(("page_size", "x")),
        ParamError::Malformed {
            name: "page_size",
            ..
        }
    ));
    assert!(matches!(
        with(("start_date", "2024-06-01")),
        ParamError::Malformed {
            name: "start_date",
            ..
        }
    ));
    assert!(matches!(
        with(("use_has_next", "yes")),
        ParamError::Malformed {
            name: "use_has_next",
            ..
        }
    ));
    assert!(matches!(
        with(("result", "great")),
        ParamError::BadValue { name: "result", .. }
    ));
    assert!(matches!(
        with(("tid", "12a")),
        ParamError::BadValue { name: "tid", .. }
    ));
    let mut pairs = base.to_vec();
    pairs[2] = ("role", "admin");
    assert!(matches!(
        error(&pairs),
        ParamError::BadValue { name: "role", .. }
    ));
    pairs[2] = ("role", "buyer");
    pairs[1] = ("rate_type", "all");
    assert!(matches!(
        error(&pairs),
        ParamError::BadValue {
            name: "rate_type",
            ..
        }
    ));
    assert!(matches!(
        error(&[("fields", "bogus"), ("rate_type", "get"), ("role", "buyer")]),
        ParamError::Malformed { name: "fields", .. }
    ));
    let max = query(&[("page_no", "200"), ("page_size", "150")]);
    assert_eq!((max.page_no, max.page_size), (200, 150));
    let defaults = query(&[]);
    assert_eq!(
        (defaults.page_no, defaults.page_size, defaults.use_has_next),
        (1, 40, false)
    );
}
