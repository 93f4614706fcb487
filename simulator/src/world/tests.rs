use std::collections::HashSet;

use chrono::TimeZone;

use super::*;
use crate::corpus;

fn config(shops: usize, history: u32) -> SimulatorConfig {
    let mut config = SimulatorConfig {
        shops: (0..shops)
            .map(|index| ShopConfig {
                platform: Platform::Taobao,
                shop_id: format!("shop-{index}"),
                api: Api::Top,
                seller_nick: None,
                reviews_per_minute: None,
            })
            .collect(),
        history_reviews: history,
        history_minutes: 60,
        reviews_per_minute: 60.0,
        ..SimulatorConfig::default()
    };
    config.credentials.top_apps.clear();
    config.credentials.aggregator_tokens.clear();
    config
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 4, 0, 0).unwrap()
}

fn world(config: &SimulatorConfig) -> World {
    World::new(config, Arc::new(corpus::load(None).unwrap()), now())
}

#[test]
fn history_is_in_the_window_oldest_first() {
    let world = world(&config(2, 50));
    assert_eq!(world.review_count(), 100);
    for shop in &world.shops {
        assert_eq!(shop.reviews.len(), 50);
        assert!(shop
            .reviews
            .windows(2)
            .all(|pair| pair[0].created <= pair[1].created));
        let oldest = now() - TimeDelta::minutes(60);
        assert!(shop
            .reviews
            .iter()
            .all(|review| review.created > oldest && review.created <= now()));
        assert!(shop
            .reviews
            .iter()
            .all(|review| review.created.timestamp_subsec_nanos() == 0));
    }
}

#[test]
fn same_seed_same_world_other_seed_other_world() {
    let config_a = config(2, 30);
    let first = world(&config_a).ground_truth();
    let second = world(&config_a).ground_truth();
    assert_eq!(first, second);
    let config_b = SimulatorConfig {
        seed: config_a.seed + 1,
        ..config_a
    };
    let third = world(&config_b).ground_truth();
    assert_ne!(first, third);
}

#[test]
fn ids_are_unique_and_ratings_fit_the_text() {
    let world = world(&config(4, 600));
    let truth = world.ground_truth();
    assert_eq!(truth.len(), 2400);
    let mut ids = HashSet::new();
    for review in &truth {
        assert!(ids.insert(review.tid.clone()), "tid reused");
        assert!(ids.insert(review.oid.clone()), "oid reused");
        assert!(review.tid.len() == 19 && review.tid.bytes().all(|b| b.is_ascii_digit()));
        assert!(!review.nick.is_empty() && !review.content.is_empty());
        match review.label {
            Label::Neg => assert_ne!(review.result, Rating::Good, "{review:?}"),
            Label::Pos => assert_ne!(review.result, Rating::Bad, "{review:?}"),
        }
    }
    let negative: Vec<&SimReview> = truth.iter().filter(|r| r.label == Label::Neg).collect();
    let bad = negative.iter().filter(|r| r.result == Rating::Bad).count();
    let share = bad as f64 / negative.len() as f64;
    assert!(
        (0.65..0.85).contains(&share),
        "bad share among negative texts {share}"
    );
    let positive: Vec<&SimReview> = truth.iter().filter(|r| r.label == Label::Pos).collect();
    let good = positive.iter().filter(|r| r.result == Rating::Good).count();
    let share = good as f64 / positive.len() as f64;
    assert!(
        (0.84..0.96).contains(&share),
        "good share among positive texts {share}"
    );
}

#[test]
fn ground_truth_carries_the_shop_and_formats() {
    let mut config = config(1, 1);
    config.shops[0].seller_nick = Some("测试旗舰店".to_owned());
    let world = world(&config);
    let review = &world.ground_truth()[0];
    assert_eq!(review.shop_id, "shop-0");
    assert_eq!(review.api, Api::Top);
    assert_eq!(review.rated_nick, "测试旗舰店");
    assert_eq!(review.created.len(), "2024-06-01 12:00:00".len());
    assert!(
        review.created.starts_with("2024-06-01 1"),
        "{}",
        review.created
    );
    let (yuan, fen) = review.item_price.split_once('.').unwrap();
    assert!(!yuan.is_empty() && fen.len() == 2);
}

#[tokio::test(start_paused = true)]
async fn live_schedule_yields_exactly_n_after_n_gaps() {
    let mut world = world(&config(2, 5));
    assert_eq!(
        world.next_due(),
        None,
        "nothing is due before the live start"
    );
    let start = Instant::now();
    world.start_live(start);
    let wall = now() + TimeDelta::seconds(30);
    let generated = world.generate_due(start + Duration::from_secs(10), wall);
    assert_eq!(generated.len(), 20);
    for shop in &world.shops {
        assert_eq!(shop.reviews.len(), 15);
        assert_eq!(shop.reviews.last().unwrap().created, wall);
    }
    assert!(world
        .generate_due(start + Duration::from_secs(10), wall)
        .is_empty());
    let next = world.next_due().unwrap();
    assert!(next >= start + Duration::from_secs(10) && next < start + Duration::from_secs(11));
}

#[tokio::test(start_paused = true)]
async fn the_cap_stops_a_shop_and_zero_pace_never_generates() {
    let mut config = config(2, 5);
    config.max_reviews_per_shop = Some(8);
    config.shops[1].reviews_per_minute = Some(0.0);
    let mut world = world(&config);
    let start = Instant::now();
    world.start_live(start);
    let generated = world.generate_due(start + Duration::from_secs(3600), now());
    assert_eq!(generated, vec![Api::Top; 3]);
    assert_eq!(world.shops[0].reviews.len(), 8);
    assert_eq!(world.shops[1].reviews.len(), 5);
    assert_eq!(world.next_due(), None);

    let mut small = config.clone();
    small.history_reviews = 20;
    assert_eq!(
        World::new(&small, Arc::new(corpus::load(None).unwrap()), now()).review_count(),
        16
    );
}
