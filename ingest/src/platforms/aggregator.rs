//! The multi-platform review-search aggregator: `POST /tool/erps/traderates` (platform-apis §R).
//!
//! - Request: form fields `shop_id`, `fields`, `rate_type=get`, `role=buyer`, `page_no`,
//!   `page_size`, `start_date`/`end_date` (GMT+8), `use_has_next=true`, optional `vvtype`;
//!   header `Authorization: Bearer <token>`.
//! - Response: `{"code":0,"msg":…,"data":…}` where `data` is one TradeRate, a list of them, or
//!   `{"trade_rates":[…],"total_results"|"has_next":…}`; all are accepted (`code` may be a
//!   number or a numeric string).
//! - Errors → [`classify`]: 101/200 retry, 202 throttles (honouring a "ban will last for N
//!   more seconds" text when present), 401 means the token is dead, 204/302/103 need a person
//!   (302 carries the authorize link), 100/203/404/614 are configuration errors.

use async_trait::async_trait;
use schemas::{HealthCondition, Secret};

use super::{
    body_excerpt, classify_unreadable, parse_body, parse_rate_list, parse_search_result,
    HttpTransport, JsonObject, Page, PageQuery, ReviewApi, FIELDS,
};
use crate::clock::format_gmt8;
use crate::config::AggregatorConfig;
use crate::error::{IngestError, Result};

/// The API's short name.
pub(crate) const API: &str = "aggregator";
/// The `source` of its records.
pub(crate) const SOURCE: &str = "aggregator:traderates";

/// The aggregator client of one shop.
pub(crate) struct AggregatorClient {
    endpoint: String,
    token: Secret,
    vvtype: Option<u8>,
    shop_id: String,
    transport: HttpTransport,
}

impl AggregatorClient {
    pub(crate) fn new(config: AggregatorConfig, shop_id: String, transport: HttpTransport) -> Self {
        AggregatorClient {
            endpoint: config.endpoint,
            token: config.token,
            vvtype: config.vvtype,
            shop_id,
            transport,
        }
    }

    /// Returns the form of one page request.
    pub(crate) fn form(&self, query: &PageQuery) -> Vec<(&'static str, String)> {
        let mut form = vec![
            ("shop_id", self.shop_id.clone()),
            ("fields", FIELDS.to_owned()),
            ("rate_type", "get".to_owned()),
            ("role", "buyer".to_owned()),
            ("page_no", query.page_no.to_string()),
            ("page_size", query.page_size.to_string()),
            ("start_date", format_gmt8(query.window.start_secs)),
            ("end_date", format_gmt8(query.window.end_secs)),
            ("use_has_next", "true".to_owned()),
        ];
        if let Some(vvtype) = self.vvtype {
            form.push(("vvtype", vvtype.to_string()));
        }
        form
    }
}

#[async_trait]
impl ReviewApi for AggregatorClient {
    fn api(&self) -> &'static str {
        API
    }

    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn fetch_page(&self, query: &PageQuery) -> Result<Page> {
        let form = self.form(query);
        let response = self
            .transport
            .post_form(API, &self.endpoint, &form, Some(self.token.expose()))
            .await?;
        parse_response(response.status, &response.body)
    }
}

/// Parses a response body; see the module docs for the accepted shapes.
pub(crate) fn parse_response(status: u16, body: &[u8]) -> Result<Page> {
    let root = parse_body(API, status, body)?;
    let bad = |reason: String| IngestError::BadResponse { api: API, reason };
    let Some(code) = root.text("code") else {
        if !(200..300).contains(&status) {
            return Err(classify_unreadable(API, status, body_excerpt(body)));
        }
        return Err(bad(format!(
            "wrong envelope: no `code`: {}",
            body_excerpt(body)
        )));
    };
    let Ok(code) = code.parse::<i64>() else {
        return Err(bad(format!("wrong envelope: `code` is {code:?}")));
    };
    if code != 0 {
        return Err(classify(code, &root));
    }
    let Some(data) = root.get("data") else {
        return Ok(Page::default());
    };
    let data_text = data.get().trim();
    if data_text == "null" {
        return Ok(Page::default());
    }
    if data_text.starts_with('[') {
        let rates = parse_rate_list(data).map_err(bad)?;
        return Ok(Page {
            rates,
            total_results: None,
            has_next: None,
        });
    }
    let object = JsonObject::parse(data_text)
        .map_err(|error| bad(format!("`data` is neither an object nor a list: {error}")))?;
    if object.contains("trade_rates") || object.is_empty() {
        return parse_search_result(&object).map_err(bad);
    }
    if object.contains("tid") || object.contains("oid") {
        return Ok(Page {
            rates: vec![object],
            total_results: None,
            has_next: None,
        });
    }
    Err(bad(format!(
        "wrong envelope: `data` holds neither trade_rates nor a TradeRate: {}",
        body_excerpt(data_text.as_bytes())
    )))
}

/// Maps an aggregator error code to what the poller does; see the module docs.
pub(crate) fn classify(code: i64, root: &JsonObject) -> IngestError {
    let msg = root.text("msg").unwrap_or_default();
    let code_text = code.to_string();
    match code {
        101 | 200 => IngestError::ApiFailing {
            api: API,
            code: code_text,
            message: msg,
        },
        202 => IngestError::Throttled {
            api: API,
            code: code_text,
            retry_after_secs: super::parse_ban_secs(&msg),
            message: msg,
        },
        401 => IngestError::TokenDead {
            api: API,
            code: code_text,
            message: format!("{msg}; renew the aggregator access token and update `token`"),
        },
        204 => IngestError::AccessDenied {
            api: API,
            code: code_text,
            message: format!(
                "{msg}; no permission for the review search or the call quota is used up: check the vendor plan"
            ),
            condition: HealthCondition::QuotaExhausted,
            authorize_url: None,
        },
        302 => {
            let authorize_url = find_authorize_url(root);
            let action = match &authorize_url {
                Some(url) => format!("authorize the shop with the vendor: {url}"),
                None => "authorize the shop with the vendor".to_owned(),
            };
            IngestError::AccessDenied {
                api: API,
                code: code_text,
                message: format!("{msg}; {action}"),
                condition: HealthCondition::Unauthorized,
                authorize_url,
            }
        }
        103 => IngestError::AccessDenied {
            api: API,
            code: code_text,
            message: format!("{msg}; the vendor knows no seller account with this shop_id"),
            condition: HealthCondition::ConfigError,
            authorize_url: None,
        },
        100 | 203 | 404 | 614 => IngestError::Rejected {
            api: API,
            code: code_text,
            message: msg,
        },
        _ => IngestError::ApiFailing {
            api: API,
            code: code_text,
            message: msg,
        },
    }
}

/// Finds the authorize link of a 302 answer: `data` as a URL string, a well-known member of
/// `data` or of the envelope (`authorize_url`, `url`, …), else the first URL in any string
/// member of `data` or of the envelope (`msg` included).
fn find_authorize_url(root: &JsonObject) -> Option<String> {
    const KEYS: &[&str] = &["authorize_url", "auth_url", "url", "link", "redirect_url"];
    let is_url = |text: &str| text.starts_with("http://") || text.starts_with("https://");
    if let Some(data) = root.text("data").filter(|text| is_url(text)) {
        return Some(data);
    }
    let data = root.object("data").and_then(Result::ok);
    let objects: Vec<&JsonObject> = data.iter().chain(std::iter::once(root)).collect();
    for object in &objects {
        for key in KEYS {
            if let Some(url) = object.text(key).filter(|text| is_url(text)) {
                return Some(url);
            }
        }
    }
    objects.iter().find_map(|object| {
        object
            .keys()
            .filter_map(|key| object.text(key))
            .find_map(|text| first_url_in(&text))
    })
}

fn first_url_in(text: &str) -> Option<String> {
    let start = text.find("https://").or_else(|| text.find("http://"))?;
    let url: String = text[start..]
        .chars()
        .take_while(|c| {
            !c.is_whitespace() && !matches!(c, '"' | '\'' | '<' | '>' | '，' | '。' | '）' | ')')
        })
        .collect();
    Some(url)
}
