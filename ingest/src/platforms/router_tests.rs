//! Unit tests of the PDD and JD router clients: official signature vectors, envelopes, error
//! classification, JD comment conversion and page splitting.

use schemas::{EntityKind, HealthCondition, Platform, Rating};

use super::jd::{self, JdErrorBody};
use super::pdd::{self, PddErrorBody};
use super::trade_rate::{to_raw_record, RecordOrigin};
use crate::error::{ErrorClass, IngestError};

#[test]
fn pdd_signature_matches_the_official_vector() {
    let params: Vec<(&str, String)> = vec![
        ("type", "pdd.order.number.list.get".into()),
        ("client_id", "1".into()),
        (
            "access_token",
            "asd78172s8ds9a921j9qqwda12312w1w21211".into(),
        ),
        ("data_type", "XML".into()),
        ("order_status", "1".into()),
        ("page", "1".into()),
        ("page_size", "10".into()),
        ("timestamp", "1480411125".into()),
    ];
    assert_eq!(
        pdd::sign(&params, "testSecret"),
        "E4DE3ED21002510DED352819E7AE6775"
    );
    let mut with_sign = params.clone();
    with_sign.push(("sign", "IGNORED".into()));
    assert_eq!(
        pdd::sign(&with_sign, "testSecret"),
        "E4DE3ED21002510DED352819E7AE6775"
    );
}

#[test]
fn jd_signature_matches_the_official_vector() {
    let params: Vec<(&str, String)> = vec![
        ("method", "jingdong.pop.order.search".into()),
        ("app_key", "yourappkey".into()),
        ("access_token", "yourtoken".into()),
        ("timestamp", "2021-05-07 09:20:39.683+0800".into()),
        ("v", "2.0".into()),
        (
            "360buy_param_json",
            r#"{"end_date":null,"optional_fields":null,"order_state":"WAIT_SELLER_STOCK_OUT","page":"1","page_size":"200","start_date":null}"#.into(),
        ),
    ];
    assert_eq!(
        jd::sign(&params, "yourappSecret"),
        "D70825340F4084360B9362B60DFD7930"
    );
}

fn pdd_error(code: i64, msg: &str) -> IngestError {
    pdd::classify(&PddErrorBody {
        error_code: Some(code),
        error_msg: msg.to_owned(),
        ..PddErrorBody::default()
    })
}

#[test]
fn pdd_error_codes_are_classified() {
    let table = [
        (
            10019,
            ErrorClass::RefreshToken,
            Some(HealthCondition::TokenExpired),
        ),
        (
            20004,
            ErrorClass::FixConfig,
            Some(HealthCondition::ConfigError),
        ),
        (
            20005,
            ErrorClass::FixConfig,
            Some(HealthCondition::ConfigError),
        ),
        (
            10000,
            ErrorClass::FixConfig,
            Some(HealthCondition::ConfigError),
        ),
        (
            20031,
            ErrorClass::StopAndAlert,
            Some(HealthCondition::Unauthorized),
        ),
        (
            70032,
            ErrorClass::StopAndAlert,
            Some(HealthCondition::Unauthorized),
        ),
        (
            70036,
            ErrorClass::StopAndAlert,
            Some(HealthCondition::QuotaExhausted),
        ),
        (70031, ErrorClass::Retry, Some(HealthCondition::Throttled)),
        (52101, ErrorClass::Retry, Some(HealthCondition::Throttled)),
        (52102, ErrorClass::Retry, Some(HealthCondition::ApiFailing)),
        (70033, ErrorClass::Retry, Some(HealthCondition::ApiFailing)),
        (50001, ErrorClass::Retry, Some(HealthCondition::ApiFailing)),
        (99999, ErrorClass::Retry, Some(HealthCondition::ApiFailing)),
    ];
    for (code, class, condition) in table {
        let error = pdd_error(code, "x");
        assert_eq!(error.class(), class, "code {code}: {error}");
        assert_eq!(error.health_condition(), condition, "code {code}");
        assert_eq!(error.platform_code(), Some(code.to_string().as_str()));
    }
    match pdd_error(70031, "调用过于频繁. This ban will last for 7 more seconds") {
        IngestError::Throttled {
            retry_after_secs, ..
        } => assert_eq!(retry_after_secs, Some(7)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pdd_envelopes_are_parsed() {
    let ok = br#"{"goods_list_get_response":{"total_count":3,"goods_list":[],"request_id":"r"}}"#;
    let inner = pdd::parse_response("goods_list_get_response", 200, ok).unwrap();
    assert_eq!(inner.unsigned("total_count"), Some(3));
    let typo = br#"{"logistics_ordertrace_get_resposne":{"trace_list":[]}}"#;
    assert!(pdd::parse_response("logistics_ordertrace_get_resposne", 200, typo).is_ok());
    let error = br#"{"error_response":{"error_code":10019,"error_msg":"access_token expired","sub_code":"","sub_msg":"","request_id":"r"}}"#;
    match pdd::parse_response("goods_list_get_response", 200, error).unwrap_err() {
        IngestError::TokenDead { api, code, message } => {
            assert_eq!(api, "pdd");
            assert_eq!(code, "10019");
            assert!(message.starts_with("access_token expired"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let wrong = br#"{"goods_detail_get_response":{}}"#;
    assert!(matches!(
        pdd::parse_response("goods_list_get_response", 200, wrong).unwrap_err(),
        IngestError::BadResponse { .. }
    ));
    assert!(matches!(
        pdd::parse_response("goods_list_get_response", 502, b"<html>bad gateway</html>")
            .unwrap_err(),
        IngestError::ApiFailing { .. }
    ));
}

fn jd_error(code: i64) -> IngestError {
    jd::classify(&JdErrorBody {
        code: Some(code),
        en_desc: "desc".to_owned(),
        ..JdErrorBody::default()
    })
}

#[test]
fn jd_error_codes_are_classified() {
    let table = [
        (2, ErrorClass::Retry, HealthCondition::Throttled),
        (19, ErrorClass::RefreshToken, HealthCondition::TokenExpired),
        (18, ErrorClass::RefreshToken, HealthCondition::TokenExpired),
        (12, ErrorClass::FixConfig, HealthCondition::ConfigError),
        (8, ErrorClass::FixConfig, HealthCondition::ConfigError),
        (21, ErrorClass::FixConfig, HealthCondition::ConfigError),
        (15, ErrorClass::FixConfig, HealthCondition::ConfigError),
        (24, ErrorClass::StopAndAlert, HealthCondition::Unauthorized),
        (66, ErrorClass::Retry, HealthCondition::ApiFailing),
    ];
    for (code, class, condition) in table {
        let error = jd_error(code);
        assert_eq!(error.class(), class, "code {code}: {error}");
        assert_eq!(error.health_condition(), Some(condition), "code {code}");
    }
}

#[test]
fn jd_envelopes_are_parsed() {
    let method = jd::VENDER_COMMENTS;
    let ok = br#"{"jingdong_pop_PopCommentJsfService_getVenderCommentsForJos_responce":{"code":"0","comments":[],"totalItem":0,"request_id":"r"}}"#;
    assert_eq!(
        jd::parse_response(method, 200, ok)
            .unwrap()
            .unsigned("totalItem"),
        Some(0)
    );
    let spelled = br#"{"jingdong_ldop_receive_trace_get_response":{"code":"0"}}"#;
    assert!(jd::parse_response("jingdong.ldop.receive.trace.get", 200, spelled).is_ok());
    let gateway = r#"{"error_response":{"code":"19","zh_desc":"无效access_token","en_desc":"Invalid access_token"}}"#;
    match jd::parse_response(method, 200, gateway.as_bytes()).unwrap_err() {
        IngestError::TokenDead { code, message, .. } => {
            assert_eq!(code, "19");
            assert!(message.starts_with("Invalid access_token"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let business = r#"{"jingdong_pop_PopCommentJsfService_getVenderCommentsForJos_responce":{"code":"1","zh_desc":"参数错误","en_desc":"pageSize must be 1..=50"}}"#;
    match jd::parse_response(method, 200, business.as_bytes()).unwrap_err() {
        IngestError::Rejected { code, message, .. } => {
            assert_eq!(code, "business_1");
            assert!(message.contains("pageSize"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        jd::parse_response(method, 200, br#"{"other_responce":{}}"#).unwrap_err(),
        IngestError::BadResponse { .. }
    ));
}

#[test]
fn jd_page_size_divides_the_poller_page() {
    assert_eq!(jd::jd_page_size(100), 50);
    assert_eq!(jd::jd_page_size(50), 50);
    assert_eq!(jd::jd_page_size(30), 30);
    assert_eq!(jd::jd_page_size(150), 50);
    assert_eq!(jd::jd_page_size(120), 40);
    assert_eq!(jd::jd_page_size(101), 1);
    assert_eq!(jd::jd_page_size(1), 1);
}

#[test]
fn jd_comments_become_review_records() {
    let inner = super::JsonObject::parse(
        r#"{"code":"0","totalItem":2,"comments":[
            {"commentId":"9001","orderId":7001,"wareId":100200,"skuName":"保温杯 500ml",
             "content":"很好用，联系我13812345678","creationTime":"2026-11-01 10:00:00","score":5,
             "nickName":"jd_buyer_zhang","replyContent":"谢谢","isVenderReply":true},
            {"commentId":"9002","orderId":7002,"wareId":100200,"skuName":"保温杯 500ml",
             "content":"一般","creationTime":"2026-11-01 11:00:00","score":"1",
             "nickName":"li","isVenderReply":false}
        ]}"#,
    )
    .unwrap();
    let (rates, total) = jd::parse_comments(&inner).unwrap();
    assert_eq!(total, Some(2));
    assert_eq!(rates.len(), 2);
    let origin = RecordOrigin {
        platform: Platform::Jd,
        shop_id: "jd-5001".to_owned(),
        source: jd::SOURCE,
    };
    let record = to_raw_record(&rates[0], &origin, 1).unwrap();
    assert_eq!(record.entity_id, "9001");
    assert_eq!(record.source, "jd:getVenderCommentsForJos");
    assert_eq!(record.kind, EntityKind::Review);
    assert!(!record.payload.contains("jd_buyer_zhang"));
    assert!(!record.payload.contains("13812345678"));
    match &record.review {
        Some(review) => {
            assert_eq!(review.order_id, "7001");
            assert_eq!(review.sub_order_id.as_deref(), Some("9001"));
            assert_eq!(review.item_id.as_deref(), Some("100200"));
            assert_eq!(review.rating, Rating::Good);
            assert_eq!(review.reply.as_deref(), Some("谢谢"));
            assert_ne!(review.buyer_nick_masked, "jd_buyer_zhang");
            assert!(!review.buyer_nick_masked.is_empty());
            assert_eq!(review.created_at_ms, 1_793_498_400_000);
        }
        other => panic!("{other:?}"),
    }
    let second = to_raw_record(&rates[1], &origin, 1).unwrap();
    match &second.review {
        Some(review) => assert_eq!(review.rating, Rating::Bad),
        other => panic!("{other:?}"),
    }
    assert_eq!(jd::score_to_result(3), Some("neutral"));
    assert_eq!(jd::score_to_result(2), Some("neutral"));
    assert_eq!(jd::score_to_result(0), None);
}

#[test]
fn jd_wares_and_pdd_goods_are_normalized() {
    let ware = super::JsonObject::parse(
        r#"{"wareId":100200,"title":"保温杯","wareStatus":8,"jdPrice":59.9,"stockNum":0,"modified":1793498400000}"#,
    )
    .unwrap();
    let snapshot = jd::ware_snapshot(&ware).unwrap();
    assert_eq!(snapshot.listing.item_id, "100200");
    assert_eq!(snapshot.listing.status, schemas::ListingStatus::SoldOut);
    assert_eq!(snapshot.listing.raw_status.as_deref(), Some("8"));
    assert_eq!(snapshot.listing.price_fen, Some(5990));
    assert_eq!(snapshot.listing.stock, Some(0));
    assert_eq!(snapshot.listing.modified_at_ms, Some(1_793_498_400_000));
    assert!(jd::ware_snapshot(&super::JsonObject::parse(r#"{"title":"x"}"#).unwrap()).is_err());

    let detail = super::JsonObject::parse(
        r#"{"goods_id":555,"goods_name":"毛巾","status":4,"sku_list":[
            {"sku_id":1,"spec":"红","price":1290,"quantity":3},
            {"sku_id":2,"spec":"蓝","price":990,"quantity":4}]}"#,
    )
    .unwrap();
    let snapshot = pdd::goods_snapshot(&detail).unwrap();
    assert_eq!(snapshot.listing.item_id, "555");
    assert_eq!(snapshot.listing.status, schemas::ListingStatus::Deleted);
    assert_eq!(snapshot.listing.price_fen, Some(990));
    assert_eq!(snapshot.listing.stock, Some(7));
    assert_eq!(snapshot.listing.skus.len(), 2);
    assert_eq!(snapshot.listing.skus[0].properties.as_deref(), Some("红"));
}

fn waybill(carrier: &str, number: &str) -> crate::config::WaybillConfig {
    crate::config::WaybillConfig {
        carrier_code: carrier.to_owned(),
        waybill_no: number.to_owned(),
        phone: None,
        order_id: Some("T1".to_owned()),
    }
}

#[test]
fn kuaidi100_signature_and_responses() {
    use super::kuaidi100::{self, QueryOutcome};
    assert_eq!(
        kuaidi100::sign(
            r#"{"com":"yuantong","num":"YT1234567890"}"#,
            "testkey",
            "TESTCUSTOMER"
        ),
        "4C05ADC889A6E63E8234F5EA12619745"
    );
    let entry = waybill("yuantong", "YT1");
    let body = r#"{"message":"ok","nu":"YT1","ischeck":"0","com":"yuantong","status":"200","state":"5","data":[
        {"time":"2026-11-01 09:00:00","context":"已揽收","location":"杭州","status":"揽收","statusCode":"103"},
        {"time":"2026-11-02 08:00:00","context":"派件中，电话13812345678","location":"上海","status":"派件","statusCode":"501"},
        {"time":"2026-11-01 20:00:00","context":"运输中","location":"嘉兴","status":"在途","statusCode":"1002"}]}"#;
    let QueryOutcome::Trace(snapshot) =
        kuaidi100::parse_response(&entry, 200, body.as_bytes()).unwrap()
    else {
        panic!("expected a trace");
    };
    let shipment = &snapshot.shipment;
    assert_eq!(shipment.waybill_no, "YT1");
    assert_eq!(shipment.carrier_code, "yuantong");
    assert_eq!(shipment.order_id.as_deref(), Some("T1"));
    assert_eq!(shipment.status, schemas::ShipmentStatus::OutForDelivery);
    assert_eq!(shipment.raw_status.as_deref(), Some("5/501"));
    let codes: Vec<_> = shipment
        .checkpoints
        .iter()
        .map(|checkpoint| checkpoint.raw_status.clone().unwrap())
        .collect();
    assert_eq!(codes, ["103", "1002", "501"]);
    assert_eq!(shipment.last_event_at_ms, 1_793_577_600_000);
    assert_eq!(shipment.checkpoints[2].location.as_deref(), Some("上海"));
    assert_eq!(
        shipment.checkpoints[2].description,
        "派件中，电话138****5678"
    );
    assert!(
        !snapshot.payload.contains("13812345678"),
        "{}",
        snapshot.payload
    );
    assert!(snapshot.payload.contains("138****5678"));

    let none = r#"{"result":false,"returnCode":"500","message":"查询无结果"}"#;
    assert!(matches!(
        kuaidi100::parse_response(&entry, 200, none.as_bytes()).unwrap(),
        QueryOutcome::Skipped { code, .. } if code == "500"
    ));
    let signature = r#"{"result":false,"returnCode":"503","message":"验证签名失败"}"#;
    assert_eq!(
        kuaidi100::parse_response(&entry, 200, signature.as_bytes())
            .unwrap_err()
            .class(),
        ErrorClass::FixConfig
    );
    assert!(matches!(
        kuaidi100::parse_response(&entry, 200, br#"{"message":"ok"}"#).unwrap_err(),
        IngestError::BadResponse { .. }
    ));
}

#[test]
fn pdd_refreshes_ahead_of_a_known_expiry_only() {
    let at = 1_000_000_000;
    assert!(!pdd::refresh_due(true, None, at));
    assert!(!pdd::refresh_due(false, Some(at), at));
    assert!(!pdd::refresh_due(true, Some(at), at - 300_001));
    assert!(pdd::refresh_due(true, Some(at), at - 300_000));
    assert!(pdd::refresh_due(true, Some(at), at + 1));
}
