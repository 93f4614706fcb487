//! Kuaidi100 real-time query `POST /poll/query.do` for configured waybills (platform-apis §4.1).
//!
//! - Request: form fields `customer`, `param` (JSON `{"com","num","phone"?,"resultv2":"4",
//!   "order":"asc"}`) and `sign` = `UPPER(MD5(param + key + customer))` over `param` exactly
//!   as sent ([`sign`]).
//! - Success: `{"nu","com","state","ischeck","data":[{time, context, location, status,
//!   statusCode}]}` → one `Shipment` ([`parse_trace`]): status from
//!   `shipment_status::from_kuaidi100(state, last node's statusCode)`, checkpoints oldest
//!   first, `raw_status` = `state` or `state/statusCode`. Mobile numbers (couriers' and
//!   recipients') are masked in the checkpoints and in `payload`.
//! - Failure `{"result":false,"returnCode","message"}` (codes unconfirmed, §8): 500 (no
//!   result yet) and 400 (bad waybill data) skip that waybill; 503 (signature or customer) is
//!   a configuration error failing the poll; anything else fails the poll as transient.
//! - Waybills come from the shop's `waybills` list in this increment (no order feed yet).
//!   The phone (needed for `shunfeng`) is a secret: never logged.

use async_trait::async_trait;
use md5::{Digest, Md5};
use schemas::privacy::mask_phone_numbers;
use schemas::{Checkpoint, Shipment};
use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::{body_excerpt, classify_unreadable, parse_body, HttpTransport, JsonObject};
use crate::clock::parse_gmt8_ms;
use crate::config::{Kuaidi100Config, WaybillConfig};
use crate::error::{IngestError, Result};
use crate::shipment_status::from_kuaidi100;
use crate::shipments::{ShipmentApi, ShipmentSnapshot};

/// The API's short name.
pub(crate) const API: &str = "kuaidi100";
/// The `source` of its records.
pub(crate) const SOURCE: &str = "kuaidi100:poll/query.do";

/// `UPPER(MD5(param + key + customer))`.
pub(crate) fn sign(param: &str, key: &str, customer: &str) -> String {
    let mut hasher = Md5::new();
    hasher.update(param.as_bytes());
    hasher.update(key.as_bytes());
    hasher.update(customer.as_bytes());
    hex::encode_upper(hasher.finalize())
}

/// The Kuaidi100 client of one shop.
pub(crate) struct Kuaidi100Client {
    config: Kuaidi100Config,
    transport: HttpTransport,
}

/// What one waybill query gave.
#[derive(Debug)]
pub(crate) enum QueryOutcome {
    /// The trace.
    Trace(Box<ShipmentSnapshot>),
    /// No usable answer for this waybill (not collected yet, or rejected as bad data).
    Skipped { code: String, message: String },
}

impl Kuaidi100Client {
    pub(crate) fn new(config: Kuaidi100Config, transport: HttpTransport) -> Self {
        Kuaidi100Client { config, transport }
    }

    /// Returns the signed form querying `waybill`.
    pub(crate) fn form(&self, waybill: &WaybillConfig) -> Vec<(&'static str, String)> {
        let mut param = Map::new();
        param.insert("com".to_owned(), Value::from(waybill.carrier_code.clone()));
        param.insert("num".to_owned(), Value::from(waybill.waybill_no.clone()));
        if let Some(phone) = &waybill.phone {
            param.insert("phone".to_owned(), Value::from(phone.expose()));
        }
        param.insert("resultv2".to_owned(), Value::from("4"));
        param.insert("order".to_owned(), Value::from("asc"));
        let param = Value::Object(param).to_string();
        let signature = sign(&param, self.config.key.expose(), &self.config.customer);
        vec![
            ("customer", self.config.customer.clone()),
            ("sign", signature),
            ("param", param),
        ]
    }

    /// Queries one waybill.
    pub(crate) async fn query(&self, waybill: &WaybillConfig) -> Result<QueryOutcome> {
        let form = self.form(waybill);
        let response = self
            .transport
            .post_form(API, &self.config.endpoint, &form, None)
            .await?;
        parse_response(waybill, response.status, &response.body)
    }
}

#[async_trait]
impl ShipmentApi for Kuaidi100Client {
    fn api(&self) -> &'static str {
        API
    }

    fn shipment_source(&self) -> &'static str {
        SOURCE
    }

    async fn fetch_shipments(&self) -> Result<Vec<ShipmentSnapshot>> {
        let mut snapshots = Vec::with_capacity(self.config.waybills.len());
        for waybill in &self.config.waybills {
            match self.query(waybill).await? {
                QueryOutcome::Trace(snapshot) => snapshots.push(*snapshot),
                QueryOutcome::Skipped { code, message } if code == "500" => {
                    debug!(
                        carrier = %waybill.carrier_code,
                        waybill = %waybill.waybill_no,
                        message,
                        "no trace yet"
                    );
                }
                QueryOutcome::Skipped { code, message } => warn!(
                    carrier = %waybill.carrier_code,
                    waybill = %waybill.waybill_no,
                    code,
                    message,
                    "waybill query rejected; check the waybill entry"
                ),
            }
        }
        Ok(snapshots)
    }
}

/// Parses a query response; see the module docs.
pub(crate) fn parse_response(
    waybill: &WaybillConfig,
    status: u16,
    body: &[u8],
) -> Result<QueryOutcome> {
    let root = parse_body(API, status, body)?;
    if root.boolean("result") == Some(false) {
        let code = root
            .text("returnCode")
            .unwrap_or_else(|| "unknown".to_owned());
        let message = root.text("message").unwrap_or_default();
        return match code.as_str() {
            "500" | "400" => Ok(QueryOutcome::Skipped { code, message }),
            "503" => Err(IngestError::Rejected {
                api: API,
                code,
                message: format!("{message}; check customer and key"),
            }),
            _ => Err(IngestError::ApiFailing {
                api: API,
                code,
                message,
            }),
        };
    }
    if !root.contains("data") {
        if !(200..300).contains(&status) {
            return Err(classify_unreadable(API, status, body_excerpt(body)));
        }
        return Err(IngestError::BadResponse {
            api: API,
            reason: format!("neither a trace nor a failure: {}", body_excerpt(body)),
        });
    }
    parse_trace(&root, waybill)
        .map(|snapshot| QueryOutcome::Trace(Box::new(snapshot)))
        .map_err(|reason| IngestError::BadResponse { api: API, reason })
}

/// Builds the shipment of a successful query; see the module docs.
pub(crate) fn parse_trace(
    root: &JsonObject,
    waybill: &WaybillConfig,
) -> std::result::Result<ShipmentSnapshot, String> {
    let nodes: Vec<JsonObject> = match root.get("data") {
        Some(raw) if raw.get().trim() != "null" => {
            serde_json::from_str(raw.get()).map_err(|error| format!("bad data list: {error}"))?
        }
        _ => Vec::new(),
    };
    let mut checkpoints: Vec<Checkpoint> = nodes
        .iter()
        .filter_map(|node| {
            Some(Checkpoint {
                at_ms: parse_gmt8_ms(&node.text("time").or_else(|| node.text("ftime"))?)?,
                description: mask_phone_numbers(&node.text("context").unwrap_or_default()),
                location: node.text("location").or_else(|| node.text("areaName")),
                raw_status: node.text("statusCode").or_else(|| node.text("status")),
            })
        })
        .collect();
    checkpoints.sort_by_key(|checkpoint| checkpoint.at_ms);
    let state = root.text("state").unwrap_or_default();
    let latest_code = nodes
        .iter()
        .filter_map(|node| {
            let at = parse_gmt8_ms(&node.text("time")?)?;
            Some((at, node.text("statusCode")))
        })
        .max_by_key(|(at, _)| *at)
        .and_then(|(_, code)| code);
    let raw_status = match &latest_code {
        Some(code) => format!("{state}/{code}"),
        None => state.clone(),
    };
    let last_event_at_ms = checkpoints
        .last()
        .map(|checkpoint| checkpoint.at_ms)
        .ok_or_else(|| format!("waybill {}: no readable scan", waybill.waybill_no))?;
    Ok(ShipmentSnapshot {
        shipment: Shipment {
            waybill_no: root
                .text("nu")
                .unwrap_or_else(|| waybill.waybill_no.clone()),
            carrier_code: root
                .text("com")
                .unwrap_or_else(|| waybill.carrier_code.clone()),
            carrier_name: None,
            order_id: waybill.order_id.clone(),
            status: from_kuaidi100(&state, latest_code.as_deref()),
            raw_status: Some(raw_status),
            origin: None,
            destination: None,
            checkpoints,
            last_event_at_ms,
        },
        payload: mask_phone_numbers(&root.to_json_replacing(|_, _| None)),
    })
}
