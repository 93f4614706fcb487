//! The review APIs behind one trait, and what their responses have in common.
//!
//! Contract of [`ReviewApi::fetch_page`]: one request for one page of one window; returns the
//! page's ratings verbatim ([`JsonObject`], member order and number spelling kept) with the
//! platform's `total_results` / `has_next` when sent, or an [`IngestError`] classified from
//! the platform's documented error codes. It never retries and never logs a credential.
//!
//! - [`top`]: Taobao Open Platform `taobao.traderates.get` (signing, envelopes, codes).
//! - [`aggregator`]: the review-search aggregator `POST /tool/erps/traderates`.
//! - [`pdd`]: the Pinduoduo router (signing, envelopes, codes; no review API, a credential
//!   probe instead).
//! - [`kuaidi100`]: the Kuaidi100 real-time query for configured waybills.
//! - [`jd`]: the JD router and `getVenderCommentsForJos` (signing, envelopes, codes).
//! - [`top_commerce`]: TOP listings (`items.onsale.get`, `items.inventory.get`,
//!   `item.seller.get`) and traces (`logistics.trace.search`).
//! - [`trade_rate`]: one TradeRate → one `RawRecord` (money, time, masking).

pub(crate) mod aggregator;
pub(crate) mod jd;
pub(crate) mod kuaidi100;
pub(crate) mod pdd;
pub(crate) mod top;
pub(crate) mod top_commerce;
pub(crate) mod trade_rate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::clock::Clock;
use crate::config::{ApiConfig, ShopConfig};
use crate::error::{IngestError, Result};
use crate::metrics::{metrics, status_class};
use crate::window::Window;

/// TradeRate fields requested from both APIs.
pub(crate) const FIELDS: &str =
    "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply,num_iid,valid_score";

/// One page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageQuery {
    pub(crate) window: Window,
    pub(crate) page_no: u32,
    pub(crate) page_size: u32,
}

/// One page of ratings.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) rates: Vec<JsonObject>,
    pub(crate) total_results: Option<u64>,
    pub(crate) has_next: Option<bool>,
}

/// A review API of one shop.
#[async_trait]
pub(crate) trait ReviewApi: Send + Sync {
    /// The API's short name (`top`, `aggregator`).
    fn api(&self) -> &'static str;
    /// The `source` of the records it yields (`top:taobao.traderates.get`).
    fn source(&self) -> &'static str;
    /// Fetches one page; see the module docs.
    async fn fetch_page(&self, query: &PageQuery) -> Result<Page>;
}

/// Builds the review client of `shop`'s API, or `None` when the API serves no reviews.
pub(crate) fn build_api(
    shop: &ShopConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
) -> Option<Arc<dyn ReviewApi>> {
    let transport = HttpTransport {
        client: http,
        platform: shop.platform.as_str(),
    };
    Some(match &shop.api {
        ApiConfig::Top(config) => Arc::new(top::TopClient::new(config.clone(), transport, clock)),
        ApiConfig::Aggregator(config) => Arc::new(aggregator::AggregatorClient::new(
            config.clone(),
            shop.shop_id.clone(),
            transport,
        )),
        ApiConfig::Pdd(config) => {
            Arc::new(pdd::PddClient::new(config.clone(), transport, clock).for_shop(&shop.shop_id))
        }
        ApiConfig::Jd(config) => Arc::new(jd::JdClient::new(config.clone(), transport, clock)),
        ApiConfig::Kuaidi100(_) => return None,
    })
}

/// The clients of one shop, one per kind of data it is polled for. PDD and JD use one
/// client instance for all three, so an OAuth refresh is shared.
pub(crate) struct ShopClients {
    pub(crate) reviews: Option<Arc<dyn ReviewApi>>,
    pub(crate) listings: Option<Arc<dyn crate::listings::ListingApi>>,
    pub(crate) shipments: Option<Arc<dyn crate::shipments::ShipmentApi>>,
}

/// Builds the clients of `shop` per its API and options (see `config`).
pub(crate) fn build_clients(
    shop: &ShopConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
) -> ShopClients {
    let transport = HttpTransport {
        client: http.clone(),
        platform: shop.platform.as_str(),
    };
    let listings = shop.api.polls_listings();
    let shipments = shop.api.polls_shipments();
    match &shop.api {
        ApiConfig::Pdd(config) => {
            let client = Arc::new(
                pdd::PddClient::new(config.clone(), transport, clock).for_shop(&shop.shop_id),
            );
            ShopClients {
                reviews: Some(client.clone()),
                listings: listings.then(|| client.clone() as Arc<dyn crate::listings::ListingApi>),
                shipments: shipments.then_some(client as Arc<dyn crate::shipments::ShipmentApi>),
            }
        }
        ApiConfig::Jd(config) => {
            let client = Arc::new(jd::JdClient::new(config.clone(), transport, clock));
            ShopClients {
                reviews: Some(client.clone()),
                listings: listings.then(|| client.clone() as Arc<dyn crate::listings::ListingApi>),
                shipments: shipments.then_some(client as Arc<dyn crate::shipments::ShipmentApi>),
            }
        }
        ApiConfig::Kuaidi100(config) => ShopClients {
            reviews: None,
            listings: None,
            shipments: shipments.then(|| {
                Arc::new(kuaidi100::Kuaidi100Client::new(config.clone(), transport))
                    as Arc<dyn crate::shipments::ShipmentApi>
            }),
        },
        ApiConfig::Top(config) => {
            let client = Arc::new(top::TopClient::new(config.clone(), transport, clock));
            ShopClients {
                reviews: Some(client.clone()),
                listings: listings.then(|| client.clone() as Arc<dyn crate::listings::ListingApi>),
                shipments: shipments.then_some(client as Arc<dyn crate::shipments::ShipmentApi>),
            }
        }
        ApiConfig::Aggregator(_) => ShopClients {
            reviews: build_api(shop, http, clock),
            listings: None,
            shipments: None,
        },
    }
}

/// A JSON object kept as its members in document order, each value as raw JSON text.
#[derive(Debug, Clone)]
pub(crate) struct JsonObject {
    members: Vec<(String, Box<RawValue>)>,
}

impl JsonObject {
    /// Parses `text` as one object.
    pub(crate) fn parse(text: &str) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Returns the raw value of member `key` (the first, if repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&RawValue> {
        self.members
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_ref())
    }

    /// Returns the member names, in document order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(name, _)| name.as_str())
    }

    /// Returns true when member `key` exists.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Returns true when the object has no member.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Returns member `key` as text: a string's content, or a number's or bool's spelling
    /// verbatim. `None` for missing, null, empty strings, objects and arrays.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        let raw = self.get(key)?.get().trim();
        let text = if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).ok()?
        } else if raw.starts_with(['{', '[']) || raw == "null" {
            return None;
        } else {
            raw.to_owned()
        };
        (!text.is_empty()).then_some(text)
    }

    /// Returns member `key` as a non-negative integer (number or numeric string).
    pub(crate) fn unsigned(&self, key: &str) -> Option<u64> {
        self.text(key)?.parse().ok()
    }

    /// Returns member `key` as a bool (`true`/`false`, as JSON bools or strings).
    pub(crate) fn boolean(&self, key: &str) -> Option<bool> {
        match self.text(key)?.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }

    /// Returns member `key` parsed as an object.
    pub(crate) fn object(
        &self,
        key: &str,
    ) -> Option<std::result::Result<JsonObject, serde_json::Error>> {
        self.get(key).map(|raw| JsonObject::parse(raw.get()))
    }

    /// Serializes the object with the members named by `replace` given new string values and
    /// every other member written back verbatim.
    pub(crate) fn to_json_replacing(
        &self,
        replace: impl Fn(&str, &RawValue) -> Option<String>,
    ) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        for (index, (name, value)) in self.members.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::Value::String(name.clone()).to_string());
            out.push(':');
            match replace(name, value) {
                Some(text) => out.push_str(&serde_json::Value::String(text).to_string()),
                None => out.push_str(value.get()),
            }
        }
        out.push('}');
        out
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<JsonObject, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((name, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push((name, value));
                }
                Ok(JsonObject { members })
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Reads a rating list: an array of objects, or TOP's double wrap `{"trade_rate":[…]}`
/// (whose absence, or `{}`, means no rating).
pub(crate) fn parse_rate_list(raw: &RawValue) -> std::result::Result<Vec<JsonObject>, String> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(Vec::new());
    }
    if text.starts_with('[') {
        return serde_json::from_str(text).map_err(|error| format!("bad rating list: {error}"));
    }
    let wrapper = JsonObject::parse(text).map_err(|error| format!("bad rating list: {error}"))?;
    match wrapper.get("trade_rate") {
        Some(inner) => parse_rate_list(inner),
        None if wrapper.is_empty() => Ok(Vec::new()),
        None => Err("rating list is neither an array nor {\"trade_rate\":[…]}".to_owned()),
    }
}

/// Reads a page out of an object holding `trade_rates` plus `total_results` / `has_next`.
pub(crate) fn parse_search_result(object: &JsonObject) -> std::result::Result<Page, String> {
    let rates = match object.get("trade_rates") {
        Some(raw) => parse_rate_list(raw)?,
        None => Vec::new(),
    };
    Ok(Page {
        rates,
        total_results: object.unsigned("total_results"),
        has_next: object.boolean("has_next"),
    })
}

/// Returns `N` from a throttle message such as "This ban will last for N more seconds".
pub(crate) fn parse_ban_secs(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("last for")? + "last for".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// POSTs forms and counts requests by platform and status class.
#[derive(Debug, Clone)]
pub(crate) struct HttpTransport {
    pub(crate) client: reqwest::Client,
    pub(crate) platform: &'static str,
}

/// A response: status and body.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl HttpTransport {
    /// POSTs `form` urlencoded to `url`, with a bearer token when given.
    pub(crate) async fn post_form(
        &self,
        api: &'static str,
        url: &str,
        form: &[(&str, String)],
        bearer: Option<&str>,
    ) -> Result<HttpResponse> {
        let started = Instant::now();
        let mut request = self.client.post(url).form(form);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let outcome = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(HttpResponse {
                status,
                body: body.to_vec(),
            })
        }
        .await;
        let family = metrics();
        family
            .http_request_duration
            .with_label_values(&[self.platform])
            .observe(started.elapsed().as_secs_f64());
        let class = match &outcome {
            Ok(response) => status_class(response.status),
            Err(error) if error.is_timeout() => "timeout",
            Err(error) if error.is_connect() => "connect",
            Err(error) => error
                .status()
                .map_or("error", |status| status_class(status.as_u16())),
        };
        family
            .http_requests
            .with_label_values(&[self.platform, class])
            .inc();
        outcome.map_err(|error| IngestError::from_transport(api, error))
    }
}

/// Classifies a response whose body is not a platform envelope, by HTTP status.
pub(crate) fn classify_unreadable(api: &'static str, status: u16, reason: String) -> IngestError {
    match status {
        429 => IngestError::Throttled {
            api,
            code: "http_429".to_owned(),
            message: reason,
            retry_after_secs: None,
        },
        404 | 405 => IngestError::Rejected {
            api,
            code: format!("http_{status}"),
            message: format!("endpoint not found or method not allowed: {reason}"),
        },
        500..=599 => IngestError::ApiFailing {
            api,
            code: format!("http_{status}"),
            message: reason,
        },
        _ => IngestError::BadResponse {
            api,
            reason: format!("http {status}: {reason}"),
        },
    }
}

/// Returns the start of `body` for error messages (bounded, lossy UTF-8).
/// Parses a response body as one JSON object; a body that is not UTF-8 or not JSON is
/// classified by its HTTP status (a 5xx or 429 page is transient, anything else bad data).
pub(crate) fn parse_body(api: &'static str, status: u16, body: &[u8]) -> Result<JsonObject> {
    let text = std::str::from_utf8(body)
        .map_err(|error| classify_unreadable(api, status, format!("body is not utf-8: {error}")))?;
    JsonObject::parse(text).map_err(|error| {
        classify_unreadable(
            api,
            status,
            format!("malformed json ({error}): {}", body_excerpt(body)),
        )
    })
}

pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.replace(['\n', '\r'], " ")
}

/// Returns the request timeout for `secs` (at least one second).
pub(crate) fn timeout(secs: u64) -> Duration {
    Duration::from_secs(secs.max(1))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod router_tests;

#[cfg(test)]
mod simulator_tests;

#[cfg(test)]
mod top_commerce_tests;
