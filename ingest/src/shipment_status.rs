//! One normalized `ShipmentStatus` for every courier source (platform-apis §4.1, §1.8, §5).
//!
//! Contract: pure functions, total over their input (an unknown code is
//! `ShipmentStatus::Unknown`, never an error):
//! - [`from_kuaidi100`]: Kuaidi100's fine `statusCode` (101…1003, 2xx, 3xx, 401, 501, 10–13)
//!   when present and known, else its basic `state` (0–14);
//! - [`from_node_action`]: the TMC node actions (`CREATE`, `CONSIGN`, `GOT`, `ARRIVAL`,
//!   `DEPARTURE`, `SENT_CITY`, `SENT_SCAN`, `SIGNED`, `FAILED`, `LOST`, `TO_EMS`, `OTHER`),
//!   which the TOP, PDD and JD trace nodes also carry (case-insensitive).

use schemas::ShipmentStatus;

/// Maps a Kuaidi100 `state` and optional fine `statusCode`; see the module docs.
pub(crate) fn from_kuaidi100(state: &str, status_code: Option<&str>) -> ShipmentStatus {
    if let Some(fine) = status_code.and_then(kuaidi100_fine) {
        return fine;
    }
    match state.trim() {
        "0" | "7" => ShipmentStatus::InTransit,
        "1" => ShipmentStatus::Collected,
        "2" | "13" => ShipmentStatus::Exception,
        "3" => ShipmentStatus::Delivered,
        "4" => ShipmentStatus::Returned,
        "5" => ShipmentStatus::OutForDelivery,
        "6" => ShipmentStatus::Returning,
        "8" | "10" | "11" | "12" => ShipmentStatus::Customs,
        "14" => ShipmentStatus::Rejected,
        _ => ShipmentStatus::Unknown,
    }
}

/// The fine `statusCode` table; `None` for a code it does not refine (the parents 0–14 fall
/// back to the basic `state`).
fn kuaidi100_fine(code: &str) -> Option<ShipmentStatus> {
    Some(match code.trim() {
        "101" | "102" => ShipmentStatus::InfoReceived,
        "103" => ShipmentStatus::Collected,
        "1001" | "1002" | "1003" => ShipmentStatus::InTransit,
        "501" => ShipmentStatus::OutForDelivery,
        "301" | "302" | "303" | "304" => ShipmentStatus::Delivered,
        "401" => ShipmentStatus::Returned,
        "203" => ShipmentStatus::Rejected,
        "204" | "206" | "207" => ShipmentStatus::FailedAttempt,
        "201" | "202" | "205" | "208" | "209" | "210" => ShipmentStatus::Exception,
        _ => return None,
    })
}

/// Maps a TMC-style node action; see the module docs.
pub(crate) fn from_node_action(action: &str) -> ShipmentStatus {
    match action.trim().to_ascii_uppercase().as_str() {
        "CREATE" | "CONSIGN" => ShipmentStatus::InfoReceived,
        "GOT" => ShipmentStatus::Collected,
        "ARRIVAL" | "DEPARTURE" | "SENT_CITY" | "TO_EMS" => ShipmentStatus::InTransit,
        "SENT_SCAN" => ShipmentStatus::OutForDelivery,
        "SIGNED" => ShipmentStatus::Delivered,
        "FAILED" => ShipmentStatus::FailedAttempt,
        "LOST" => ShipmentStatus::Lost,
        _ => ShipmentStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ShipmentStatus::*;

    #[test]
    fn kuaidi100_states_and_fine_codes_map() {
        let table: &[(&str, Option<&str>, ShipmentStatus)] = &[
            ("0", None, InTransit),
            ("1", None, Collected),
            ("2", None, Exception),
            ("3", None, Delivered),
            ("4", None, Returned),
            ("5", None, OutForDelivery),
            ("6", None, Returning),
            ("7", None, InTransit),
            ("8", None, Customs),
            ("10", None, Customs),
            ("11", None, Customs),
            ("12", None, Customs),
            ("13", None, Exception),
            ("14", None, Rejected),
            ("9", None, Unknown),
            ("", None, Unknown),
            ("1", Some("101"), InfoReceived),
            ("1", Some("102"), InfoReceived),
            ("1", Some("103"), Collected),
            ("0", Some("1001"), InTransit),
            ("0", Some("1002"), InTransit),
            ("0", Some("1003"), InTransit),
            ("5", Some("501"), OutForDelivery),
            ("3", Some("301"), Delivered),
            ("3", Some("302"), Delivered),
            ("3", Some("303"), Delivered),
            ("3", Some("304"), Delivered),
            ("4", Some("401"), Returned),
            ("2", Some("201"), Exception),
            ("2", Some("202"), Exception),
            ("2", Some("203"), Rejected),
            ("2", Some("204"), FailedAttempt),
            ("2", Some("205"), Exception),
            ("2", Some("206"), FailedAttempt),
            ("2", Some("207"), FailedAttempt),
            ("2", Some("208"), Exception),
            ("2", Some("209"), Exception),
            ("2", Some("210"), Exception),
            // Parent codes as statusCode fall back to the state.
            ("5", Some("5"), OutForDelivery),
            ("14", Some("14"), Rejected),
            ("6", Some("6"), Returning),
            ("3", Some("999"), Delivered),
        ];
        for (state, code, expected) in table {
            assert_eq!(
                from_kuaidi100(state, *code),
                *expected,
                "state {state} code {code:?}"
            );
        }
    }

    #[test]
    fn node_actions_map() {
        let table = [
            ("CREATE", InfoReceived),
            ("CONSIGN", InfoReceived),
            ("GOT", Collected),
            ("ARRIVAL", InTransit),
            ("DEPARTURE", InTransit),
            ("SENT_CITY", InTransit),
            ("TO_EMS", InTransit),
            ("SENT_SCAN", OutForDelivery),
            ("signed", Delivered),
            ("FAILED", FailedAttempt),
            ("LOST", Lost),
            ("OTHER", Unknown),
            ("", Unknown),
        ];
        for (action, expected) in table {
            assert_eq!(from_node_action(action), expected, "{action}");
        }
    }
}
