use schemas::{EntityKind, HealthCondition, Platform, Rating};

use super::aggregator;
use super::top::{self, sign, TopErrorBody};
use super::trade_rate::{to_raw_record, yuan_to_fen, BadRate, RecordOrigin};
use super::*;
use crate::config::SignMethod;
use crate::error::ErrorClass;

fn vector_params(sign_method: &str) -> Vec<(&'static str, String)> {
    vec![
        ("method", "taobao.item.seller.get".into()),
        ("app_key", "12345678".into()),
        ("session", "test".into()),
        ("timestamp", "2016-01-01 12:00:00".into()),
        ("format", "json".into()),
        ("v", "2.0".into()),
        ("sign_method", sign_method.into()),
        ("fields", "num_iid,title,nick,price,num".into()),
        ("num_iid", "11223344".into()),
    ]
}

#[test]
fn top_signature_matches_the_official_and_extra_vectors() {
    assert_eq!(
        sign(&vector_params("md5"), "helloworld", SignMethod::Md5),
        "66987CB115214E59E6EC978214934FB8"
    );
    assert_eq!(
        sign(&vector_params("hmac"), "helloworld", SignMethod::Hmac),
        "D56D7858309C31B6251083A874D48273"
    );
    assert_eq!(
        sign(
            &vector_params("hmac-sha256"),
            "helloworld",
            SignMethod::HmacSha256
        ),
        "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"
    );
}

#[test]
fn top_signature_ignores_empty_values_sign_and_order() {
    let mut params = vector_params("md5");
    params.reverse();
    params.push(("partner_id", String::new()));
    params.push(("sign", "STALE".into()));
    assert_eq!(
        sign(&params, "helloworld", SignMethod::Md5),
        "66987CB115214E59E6EC978214934FB8"
    );
}

const RATE: &str = r#"{"tid":1001,"oid":"1001-1","role":"buyer","nick":"张三丰","result":"bad","created":"2026-01-01 08:00:00","rated_nick":"好店","item_title":"保温杯 500ml","item_price":"128.50","content":"快递太慢了，包装破损","reply":"亲，非常抱歉","num_iid":556677,"valid_score":true}"#;

fn page(status: u16, body: &str, parse: fn(u16, &[u8]) -> crate::Result<Page>) -> Page {
    parse(status, body.as_bytes()).unwrap()
}

#[test]
fn top_standard_and_simplified_envelopes() {
    let standard = format!(
        r#"{{"traderates_get_response":{{"trade_rates":{{"trade_rate":[{RATE},{RATE}]}},"total_results":2,"request_id":"x"}}}}"#
    );
    let parsed = page(200, &standard, top::parse_response);
    assert_eq!(parsed.rates.len(), 2);
    assert_eq!(parsed.total_results, Some(2));
    assert_eq!(parsed.has_next, None);
    assert_eq!(parsed.rates[0].text("nick").as_deref(), Some("张三丰"));

    let simplified = format!(r#"{{"trade_rates":[{RATE}],"has_next":true,"request_id":"x"}}"#);
    let parsed = page(200, &simplified, top::parse_response);
    assert_eq!(parsed.rates.len(), 1);
    assert_eq!(parsed.has_next, Some(true));

    // Empty results: TOP omits the list or sends an empty wrapper.
    for empty in [
        r#"{"traderates_get_response":{"total_results":0,"request_id":"x"}}"#,
        r#"{"traderates_get_response":{"trade_rates":{},"has_next":false}}"#,
        r#"{"trade_rates":[],"total_results":0}"#,
    ] {
        let parsed = page(200, empty, top::parse_response);
        assert!(parsed.rates.is_empty(), "{empty}");
    }
}

#[test]
fn top_errors_and_garbage_are_classified() {
    let ban = r#"{"error_response":{"code":7,"msg":"App Call Limited","sub_code":"accesscontrol.limited-by-app-access-count","sub_msg":"This ban will last for 17 more seconds","request_id":"13yki55kbv7ug"}}"#;
    match top::parse_response(200, ban.as_bytes()).unwrap_err() {
        IngestError::Throttled {
            code,
            retry_after_secs,
            ..
        } => {
            assert_eq!(code, "7");
            assert_eq!(retry_after_secs, Some(17));
        }
        other => panic!("expected throttled, got {other:?}"),
    }
    let truncated = r#"{"traderates_get_response":{"trade_rates":{"trade_rate":[{"tid":1"#;
    assert!(matches!(
        top::parse_response(200, truncated.as_bytes()).unwrap_err(),
        IngestError::BadResponse { .. }
    ));
    assert!(matches!(
        top::parse_response(200, b"<html>oops</html>").unwrap_err(),
        IngestError::BadResponse { .. }
    ));
    assert!(matches!(
        top::parse_response(200, br#"{"items_onsale_get_response":{}}"#).unwrap_err(),
        IngestError::BadResponse { .. }
    ));
    assert!(matches!(
        top::parse_response(502, b"bad gateway").unwrap_err(),
        IngestError::ApiFailing { .. }
    ));
}

fn top_error(code: i64, sub_code: &str) -> IngestError {
    top::classify(&TopErrorBody {
        code: Some(code),
        msg: "msg".into(),
        sub_code: sub_code.into(),
        sub_msg: String::new(),
    })
}

#[test]
fn top_error_classification_table() {
    let retry = ErrorClass::Retry;
    let table: &[(i64, &str, ErrorClass, &str)] = &[
        (
            7,
            "accesscontrol.limited-by-app-access-count",
            retry,
            "throttled",
        ),
        (7, "", retry, "throttled"),
        (4, "", retry, "throttled"),
        (5, "", retry, "throttled"),
        (6, "", retry, "throttled"),
        (8, "", retry, "throttled"),
        (
            15,
            "isp.top-remote-connection-timeout",
            retry,
            "api_failing",
        ),
        (15, "isp.service-error", retry, "api_failing"),
        (10, "", retry, "api_failing"),
        (15, "", retry, "api_failing"),
        (3, "", retry, "api_failing"),
        (999, "", retry, "api_failing"),
        (26, "", ErrorClass::RefreshToken, "token_dead"),
        (27, "", ErrorClass::RefreshToken, "token_dead"),
        (
            11,
            "isv.permission-api-package-empty",
            ErrorClass::StopAndAlert,
            "access_denied",
        ),
        (12, "", ErrorClass::StopAndAlert, "access_denied"),
        (13, "", ErrorClass::StopAndAlert, "access_denied"),
        (25, "", ErrorClass::FixConfig, "rejected"),
        (29, "", ErrorClass::FixConfig, "rejected"),
        (21, "", ErrorClass::FixConfig, "rejected"),
        (22, "", ErrorClass::FixConfig, "rejected"),
        (
            40,
            "isv.missing-parameter",
            ErrorClass::FixConfig,
            "rejected",
        ),
        (
            41,
            "isv.invalid-parameter:page_size",
            ErrorClass::FixConfig,
            "rejected",
        ),
        (31, "", ErrorClass::FixConfig, "rejected"),
        (
            15,
            "isv.invalid-parameter:user_id_num",
            ErrorClass::FixConfig,
            "rejected",
        ),
    ];
    for &(code, sub_code, class, label) in table {
        let error = top_error(code, sub_code);
        assert_eq!(error.class(), class, "code {code} {sub_code}: {error}");
        assert_eq!(error.metric_label(), label, "code {code} {sub_code}");
        assert_eq!(error.platform_code(), Some(code.to_string().as_str()));
    }
    match top_error(11, "") {
        IngestError::AccessDenied { condition, .. } => {
            assert_eq!(condition, HealthCondition::Unauthorized)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn aggregator_accepts_every_data_shape() {
    let wrapped = format!(
        r#"{{"code":0,"msg":"成功","msec":12,"time":1767225600,"data":{{"trade_rates":[{RATE},{RATE}],"total_results":1600,"withholding_money":0.02}}}}"#
    );
    let parsed = page(200, &wrapped, aggregator::parse_response);
    assert_eq!(parsed.rates.len(), 2);
    assert_eq!(parsed.total_results, Some(1600));

    let has_next = format!(
        r#"{{"code":"0","msg":"成功","data":{{"trade_rates":[{RATE}],"has_next":false}}}}"#
    );
    let parsed = page(200, &has_next, aggregator::parse_response);
    assert_eq!(parsed.has_next, Some(false));

    let single = format!(r#"{{"code":0,"msg":"成功","data":{RATE}}}"#);
    let parsed = page(200, &single, aggregator::parse_response);
    assert_eq!(parsed.rates.len(), 1);
    assert_eq!(parsed.rates[0].text("tid").as_deref(), Some("1001"));
    assert_eq!((parsed.total_results, parsed.has_next), (None, None));

    let list = format!(r#"{{"code":0,"msg":"成功","data":[{RATE},{RATE},{RATE}]}}"#);
    assert_eq!(page(200, &list, aggregator::parse_response).rates.len(), 3);

    for empty in [
        r#"{"code":0,"msg":"成功","data":null}"#,
        r#"{"code":0,"msg":"成功","data":[]}"#,
        r#"{"code":0,"msg":"成功","data":{}}"#,
        r#"{"code":0,"msg":"成功"}"#,
    ] {
        assert!(
            page(200, empty, aggregator::parse_response)
                .rates
                .is_empty(),
            "{empty}"
        );
    }
}

#[test]
fn aggregator_garbage_is_a_bad_response() {
    for body in [
        r#"{"code":0,"msg":"成功","data":{"trade_rates":[{"tid":1"#,
        r#"{"code":0,"data":"#,
        r#"{"status":"ok","rates":[]}"#,
        r#"{"code":0,"data":{"foo":1}}"#,
        r#"{"code":"zero"}"#,
        "",
    ] {
        let error = aggregator::parse_response(200, body.as_bytes()).unwrap_err();
        assert!(
            matches!(error, IngestError::BadResponse { .. }),
            "{body}: {error:?}"
        );
        assert!(error.is_retryable());
    }
}

fn aggregator_error(code: i64) -> IngestError {
    let body = format!(r#"{{"code":{code},"msg":"错误"}}"#);
    aggregator::parse_response(200, body.as_bytes()).unwrap_err()
}

#[test]
fn aggregator_error_classification_table() {
    let table: &[(i64, ErrorClass, &str)] = &[
        (101, ErrorClass::Retry, "api_failing"),
        (200, ErrorClass::Retry, "api_failing"),
        (202, ErrorClass::Retry, "throttled"),
        (401, ErrorClass::RefreshToken, "token_dead"),
        (204, ErrorClass::StopAndAlert, "access_denied"),
        (302, ErrorClass::StopAndAlert, "access_denied"),
        (103, ErrorClass::StopAndAlert, "access_denied"),
        (100, ErrorClass::FixConfig, "rejected"),
        (203, ErrorClass::FixConfig, "rejected"),
        (404, ErrorClass::FixConfig, "rejected"),
        (614, ErrorClass::FixConfig, "rejected"),
        (555, ErrorClass::Retry, "api_failing"),
    ];
    for &(code, class, label) in table {
        let error = aggregator_error(code);
        assert_eq!(error.class(), class, "code {code}: {error}");
        assert_eq!(error.metric_label(), label, "code {code}");
    }
    let conditions = [
        (204, HealthCondition::QuotaExhausted),
        (302, HealthCondition::Unauthorized),
        (103, HealthCondition::ConfigError),
        (401, HealthCondition::TokenExpired),
        (202, HealthCondition::Throttled),
        (100, HealthCondition::ConfigError),
    ];
    for (code, condition) in conditions {
        assert_eq!(
            aggregator_error(code).health_condition(),
            Some(condition),
            "code {code}"
        );
    }
}

#[test]
fn aggregator_302_finds_the_authorize_link_wherever_it_is() {
    let bodies = [
        r#"{"code":302,"msg":"店铺未授权","data":"https://erp.example/authorize?shop=123"}"#,
        r#"{"code":302,"msg":"店铺未授权","data":{"url":"https://erp.example/authorize?shop=123"}}"#,
        r#"{"code":302,"msg":"店铺未授权，请点击 https://erp.example/authorize?shop=123 授权"}"#,
        r#"{"code":302,"msg":"店铺未授权","authorize_url":"https://erp.example/authorize?shop=123"}"#,
        r#"{"code":302,"msg":"店铺未授权","data":{"shop_id":"123","auth_link":"https:\/\/erp.example\/authorize?shop=123"}}"#,
    ];
    for body in bodies {
        match aggregator::parse_response(200, body.as_bytes()).unwrap_err() {
            IngestError::AccessDenied {
                authorize_url,
                message,
                ..
            } => {
                assert_eq!(
                    authorize_url.as_deref(),
                    Some("https://erp.example/authorize?shop=123"),
                    "{body}"
                );
                assert!(message.contains("https://erp.example/authorize?shop=123"));
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    let throttled = r#"{"code":202,"msg":"系统繁忙 This ban will last for 3 more seconds"}"#;
    match aggregator::parse_response(200, throttled.as_bytes()).unwrap_err() {
        IngestError::Throttled {
            retry_after_secs, ..
        } => assert_eq!(retry_after_secs, Some(3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unreadable_bodies_fall_back_to_the_http_status() {
    assert!(matches!(
        aggregator::parse_response(500, b"Internal Server Error").unwrap_err(),
        IngestError::ApiFailing { ref code, .. } if code == "http_500"
    ));
    assert!(matches!(
        aggregator::parse_response(429, b"slow down").unwrap_err(),
        IngestError::Throttled { .. }
    ));
    assert!(matches!(
        aggregator::parse_response(404, b"no route").unwrap_err(),
        IngestError::Rejected { .. }
    ));
    // A JSON error envelope wins over the status.
    assert!(matches!(
        aggregator::parse_response(401, r#"{"code":401,"msg":"token 无效"}"#.as_bytes())
            .unwrap_err(),
        IngestError::TokenDead { .. }
    ));
}

#[test]
fn ban_seconds_parse() {
    assert_eq!(
        parse_ban_secs("This ban will last for 1 more seconds"),
        Some(1)
    );
    assert_eq!(
        parse_ban_secs("This ban will last for 31062 more seconds"),
        Some(31062)
    );
    assert_eq!(parse_ban_secs("App Call Limited"), None);
    assert_eq!(parse_ban_secs("will last for soon"), None);
}

#[test]
fn money_is_parsed_from_the_digits() {
    assert_eq!(yuan_to_fen("200.07"), Some(20_007));
    assert_eq!(yuan_to_fen("0.29"), Some(29)); // 0.29 * 100.0 = 28.999999999999996
    assert_eq!(yuan_to_fen("1.1"), Some(110));
    assert_eq!(yuan_to_fen("12"), Some(1_200));
    assert_eq!(yuan_to_fen(" 5.00 "), Some(500));
    assert_eq!(yuan_to_fen("19.990"), Some(1_999));
    assert_eq!(yuan_to_fen("99999999.99"), Some(9_999_999_999));
    assert_eq!(yuan_to_fen("19.999"), None);
    assert_eq!(yuan_to_fen("-1.00"), None);
    assert_eq!(yuan_to_fen("1e3"), None);
    assert_eq!(yuan_to_fen("1."), None);
    assert_eq!(yuan_to_fen(".5"), None);
    assert_eq!(yuan_to_fen(""), None);
    assert_eq!(yuan_to_fen("99999999999999999999"), None);
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        platform: Platform::Tmall,
        shop_id: "tb-10001".into(),
        source: top::SOURCE,
    }
}

#[test]
fn trade_rate_becomes_a_masked_review_record() {
    let rate = JsonObject::parse(RATE).unwrap();
    let record = to_raw_record(&rate, &origin(), 1_767_225_601_000).unwrap();
    assert_eq!(record.kind, EntityKind::Review);
    assert_eq!(record.platform, Platform::Tmall);
    assert_eq!(record.shop_id, "tb-10001");
    assert_eq!(record.entity_id, "1001-1", "oid wins over tid");
    assert_eq!(record.source, "top:taobao.traderates.get");
    assert_eq!(record.occurred_at_ms, 1_767_225_600_000);
    assert_eq!(record.observed_at_ms, 1_767_225_601_000);
    let review = record.review.clone().unwrap();
    assert_eq!(review.order_id, "1001");
    assert_eq!(review.sub_order_id.as_deref(), Some("1001-1"));
    assert_eq!(review.item_id.as_deref(), Some("556677"));
    assert_eq!(review.item_price_fen, Some(12_850));
    assert_eq!(review.buyer_nick_masked, "张**");
    assert_eq!(review.rating, Rating::Bad);
    assert_eq!(review.rater_role, "buyer");
    assert_eq!(review.reply.as_deref(), Some("亲，非常抱歉"));
    assert_eq!(review.valid_score, Some(true));
    assert_eq!(review.created_at_ms, 1_767_225_600_000);
    // Payload: the platform JSON verbatim (order, numbers) with the nick masked.
    assert_eq!(record.payload, RATE.replace("张三丰", "张**"));
    assert!(!record.payload.contains("张三丰"));
    // The id is stable and depends on created + role.
    assert_eq!(
        record.event_id,
        to_raw_record(&rate, &origin(), 9).unwrap().event_id
    );
    let follow_up =
        JsonObject::parse(&RATE.replace("2026-01-01 08:00:00", "2026-01-05 09:00:00")).unwrap();
    let follow_up = to_raw_record(&follow_up, &origin(), 9).unwrap();
    assert_eq!(follow_up.entity_id, record.entity_id);
    assert_ne!(follow_up.event_id, record.event_id);
    // The record encodes with the bus codec.
    let codec = schemas::AvroCodec::raw_record();
    let bytes = codec.encode(&record).unwrap();
    assert!(bytes.len() > 10);
}

#[test]
fn trade_rate_fallbacks_and_phone_masking() {
    let rate = JsonObject::parse(
        r#"{"tid":"77","nick":"tb_buyer01","result":"good","created":"2026-01-01 08:00:00","content":"有问题打我电话13812345678","item_price":200.07}"#,
    )
    .unwrap();
    let record = to_raw_record(&rate, &origin(), 0).unwrap();
    assert_eq!(record.entity_id, "77", "no oid: tid");
    let review = record.review.unwrap();
    assert_eq!(review.buyer_nick_masked, "t**");
    assert_eq!(review.content, "有问题打我电话138****5678");
    assert_eq!(review.item_price_fen, Some(20_007));
    assert_eq!(review.reply, None);
    assert_eq!(
        record.payload,
        r#"{"tid":"77","nick":"t**","result":"good","created":"2026-01-01 08:00:00","content":"有问题打我电话138****5678","item_price":200.07}"#
    );
}

#[test]
fn unusable_rates_are_rejected_with_a_reason() {
    let cases = [
        (
            r#"{"result":"good","created":"2026-01-01 08:00:00"}"#,
            "no tid",
        ),
        (r#"{"tid":1,"result":"good"}"#, "no created"),
        (
            r#"{"tid":1,"result":"good","created":"yesterday"}"#,
            "unreadable created",
        ),
        (
            r#"{"tid":1,"result":"great","created":"2026-01-01 08:00:00"}"#,
            "unknown result",
        ),
    ];
    for (json, reason) in cases {
        let error: BadRate =
            to_raw_record(&JsonObject::parse(json).unwrap(), &origin(), 0).unwrap_err();
        assert!(error.0.contains(reason), "{json}: {error}");
    }
}
