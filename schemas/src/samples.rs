//! Sample records of every kind, for tests in this and other crates.

use crate::model::*;

const SHOP: &str = "123";

fn provenance(entity_id: &str, version: &str, source: &str) -> Provenance {
    Provenance {
        platform: Platform::Taobao,
        shop_id: SHOP.into(),
        entity_id: entity_id.into(),
        version: version.into(),
        source: source.into(),
        occurred_at_ms: 1_767_240_000_000,
        observed_at_ms: 1_767_240_001_500,
        payload: r#"{"tid":1001,"content":"快递太慢了，包装破损"}"#.into(),
    }
}

/// A bad review with a reply, a price and a masked nick.
pub fn review() -> Review {
    Review {
        order_id: "1001".into(),
        sub_order_id: Some("1001-1".into()),
        item_id: Some("556677".into()),
        item_title: Some("保温杯 500ml".into()),
        item_price_fen: Some(12_850),
        buyer_nick_masked: "张**".into(),
        rater_role: "buyer".into(),
        rating: Rating::Bad,
        score: None,
        content: "快递太慢了，包装破损".into(),
        reply: Some("亲，非常抱歉".into()),
        created_at_ms: 1_767_240_000_000,
        follow_up: false,
        valid_score: Some(true),
    }
}

/// A parcel in transit with two checkpoints.
pub fn shipment() -> Shipment {
    Shipment {
        waybill_no: "YT1234567890".into(),
        carrier_code: "yuantong".into(),
        carrier_name: Some("圆通速递".into()),
        order_id: Some("1001".into()),
        status: ShipmentStatus::InTransit,
        raw_status: Some("0".into()),
        origin: Some("浙江省杭州市".into()),
        destination: Some("北京市".into()),
        checkpoints: vec![
            Checkpoint {
                at_ms: 1_767_200_000_000,
                description: "已揽收".into(),
                location: Some("杭州".into()),
                raw_status: Some("1".into()),
            },
            Checkpoint {
                at_ms: 1_767_230_000_000,
                description: "运输中".into(),
                location: None,
                raw_status: None,
            },
        ],
        last_event_at_ms: 1_767_230_000_000,
    }
}

/// An on-sale item with two SKUs.
pub fn listing() -> Listing {
    Listing {
        item_id: "556677".into(),
        title: Some("保温杯 500ml".into()),
        status: ListingStatus::OnSale,
        raw_status: Some("onsale".into()),
        price_fen: Some(12_850),
        stock: Some(40),
        skus: vec![
            Sku {
                sku_id: "1".into(),
                properties: Some("颜色:红".into()),
                price_fen: Some(12_850),
                stock: Some(10),
            },
            Sku {
                sku_id: "2".into(),
                properties: None,
                price_fen: None,
                stock: Some(30),
            },
        ],
        modified_at_ms: Some(1_767_000_000_000),
    }
}

/// A dead token.
pub fn source_health() -> SourceHealth {
    SourceHealth {
        source: "top".into(),
        condition: HealthCondition::TokenExpired,
        error_code: Some("27".into()),
        message: "Invalid Session".into(),
        action_required: true,
        retry_after_secs: None,
        authorize_url: Some("https://oauth.example/authorize".into()),
    }
}

/// One raw record of each kind.
pub fn raw_records() -> Vec<RawRecord> {
    vec![
        RawRecord::new(
            provenance("1001-1", "2026-01-01 12:00:00", "top:taobao.traderates.get"),
            Entity::Review(review()),
        ),
        RawRecord::new(
            provenance("YT1234567890", "1767230000000", "kuaidi100:query"),
            Entity::Shipment(shipment()),
        ),
        RawRecord::new(
            provenance("556677", "1767000000000", "top:taobao.item.seller.get"),
            Entity::Listing(listing()),
        ),
        RawRecord::new(
            provenance("top", "27", "top:taobao.traderates.get"),
            Entity::SourceHealth(source_health()),
        ),
    ]
}

/// One enriched event of each kind; the review carries a text analysis.
pub fn enriched_events() -> Vec<EnrichedEvent> {
    raw_records()
        .iter()
        .map(|raw| {
            let text = raw.review.as_ref().map(|_| TextAnalysis {
                lang: "zh".into(),
                tokens: vec!["快递".into(), "太慢".into(), "包装".into(), "破损".into()],
                keywords: vec![KeywordHit {
                    word: "破损".into(),
                    category: "default".into(),
                }],
                sentiment: None,
                polarity: None,
                aspects: vec![AspectPolarity {
                    aspect: "packaging".into(),
                    polarity: Polarity::Negative,
                }],
            });
            EnrichedEvent::from_raw(raw, "test.event", 1_767_240_002_000, text)
        })
        .collect()
}
