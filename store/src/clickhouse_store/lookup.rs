//! Which of a batch's event ids a table already holds, asked with ClickHouse *external data*.
//!
//! The batch's sorting keys travel as a TabSeparated file in a multipart POST (form field
//! `keys`, structure in `keys_structure`), and the query compares the table's sorting key
//! against that temporary table: `… WHERE (platform, shop_id, kind, entity_id, event_id) IN
//! keys`. One request per table and batch, whatever its size: no SQL literals to parse (a
//! 10,000-key tuple list takes the server about 18 times longer) and no `max_query_size` to
//! stay under. The primary key index still applies, so the lookup reads only the granules that
//! can hold the keys.
//!
//! `reviews` is ordered by the server-computed `created_at`; its keys carry `created_at_ms`
//! and the query computes `created_at` from it exactly as the column's `MATERIALIZED`
//! expression does.
//!
//! **Contract.** [`LookupClient::stored_ids`] returns the ids found, or the error as a
//! [`clickhouse::error::Error`] (connection problems as `Network`, a non-200 answer as
//! `BadResponse` with the server's message), so the store classifies it exactly as its other
//! requests. It sets no deadline; the caller does. The password goes only into the
//! `Authorization` header, never into a message.

use std::collections::HashSet;

use clickhouse::error::Error;
use reqwest::multipart::{Form, Part};
use schemas::Secret;

use crate::error::StoreError;
use crate::rows::{EventRow, ReviewRow};

/// One table's lookup: the structure of the keys file and the query reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lookup {
    /// The external table's columns, the `keys_structure` parameter.
    pub(super) structure: &'static str,
    /// The query, answering one escaped event id per line.
    pub(super) query: &'static str,
}

/// `events`: keys are the full sorting key.
pub(super) const EVENTS: Lookup = Lookup {
    structure: "platform String, shop_id String, kind String, entity_id String, event_id String",
    query: "SELECT event_id FROM events \
            WHERE (platform, shop_id, kind, entity_id, event_id) IN keys \
            FORMAT TabSeparated",
};

/// `reviews`: keys carry `created_at_ms`; `created_at` is computed as the column computes it.
pub(super) const REVIEWS: Lookup = Lookup {
    structure: "platform String, shop_id String, created_at_ms Int64, event_id String",
    query: "SELECT event_id FROM reviews \
            WHERE (platform, shop_id, created_at, event_id) IN \
            (SELECT platform, shop_id, toDateTime(intDiv(created_at_ms, 1000)), event_id \
            FROM keys) FORMAT TabSeparated",
};

/// The keys file of `events` rows: one TabSeparated line per row.
pub(super) fn event_keys(rows: &[EventRow]) -> String {
    let mut tsv = String::with_capacity(rows.len() * 96);
    for row in rows {
        for (index, field) in [
            &row.platform,
            &row.shop_id,
            &row.kind,
            &row.entity_id,
            &row.event_id,
        ]
        .into_iter()
        .enumerate()
        {
            if index > 0 {
                tsv.push('\t');
            }
            escape_into(&mut tsv, field);
        }
        tsv.push('\n');
    }
    tsv
}

/// The keys file of `reviews` rows: one TabSeparated line per row.
pub(super) fn review_keys(rows: &[ReviewRow]) -> String {
    let mut tsv = String::with_capacity(rows.len() * 80);
    for row in rows {
        escape_into(&mut tsv, &row.platform);
        tsv.push('\t');
        escape_into(&mut tsv, &row.shop_id);
        tsv.push('\t');
        tsv.push_str(&row.created_at_ms.to_string());
        tsv.push('\t');
        escape_into(&mut tsv, &row.event_id);
        tsv.push('\n');
    }
    tsv
}

/// Appends `value` escaped for ClickHouse's TabSeparated format: backslash, tab, newline,
/// carriage return and NUL become `\\`, `\t`, `\n`, `\r`, `\0`; everything else is verbatim.
pub(super) fn escape_into(tsv: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => tsv.push_str("\\\\"),
            '\t' => tsv.push_str("\\t"),
            '\n' => tsv.push_str("\\n"),
            '\r' => tsv.push_str("\\r"),
            '\0' => tsv.push_str("\\0"),
            _ => tsv.push(c),
        }
    }
}

/// Reverses ClickHouse's TabSeparated escaping of one field (which also writes `\b`, `\f`
/// and `\'`); an unknown escape stands for the character after the backslash.
pub(super) fn unescape(field: &str) -> String {
    let mut value = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => value.push('\t'),
            Some('n') => value.push('\n'),
            Some('r') => value.push('\r'),
            Some('0') => value.push('\0'),
            Some('b') => value.push('\u{8}'),
            Some('f') => value.push('\u{c}'),
            Some(other) => value.push(other),
            None => value.push('\\'),
        }
    }
    value
}

/// Parses a TabSeparated answer of one `String` column.
pub(super) fn parse_ids(body: &str) -> HashSet<String> {
    body.lines()
        .filter(|line| !line.is_empty())
        .map(unescape)
        .collect()
}

/// Sends lookups to the server's HTTP interface.
#[derive(Clone)]
pub(super) struct LookupClient {
    http: reqwest::Client,
    url: reqwest::Url,
    database: String,
    user: String,
    password: Option<Secret>,
}

impl LookupClient {
    /// A client for the server at `url`, authenticating as `user`. Credentials in `url`
    /// itself are dropped: like the ClickHouse client, lookups use only `user` and `password`.
    pub(super) fn new(
        url: &str,
        database: &str,
        user: &str,
        password: Option<Secret>,
    ) -> Result<Self, StoreError> {
        let config_error = |what: String| StoreError::Config {
            reason: format!("cannot set up the id lookups: {what}"),
        };
        let mut url = reqwest::Url::parse(url)
            .map_err(|error| config_error(format!("store.clickhouse.url: {error}")))?;
        // Both only fail for URLs that cannot have credentials, which then have none.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(LookupClient {
            http: reqwest::Client::builder()
                .build()
                .map_err(|error| config_error(error.to_string()))?,
            url,
            database: database.to_owned(),
            user: user.to_owned(),
            password,
        })
    }

    /// Returns the event ids `lookup` finds for `keys` (a keys file as built by
    /// [`event_keys`] or [`review_keys`]); asks nothing for an empty file.
    pub(super) async fn stored_ids(
        &self,
        lookup: &Lookup,
        keys: String,
    ) -> clickhouse::error::Result<HashSet<String>> {
        if keys.is_empty() {
            return Ok(HashSet::new());
        }
        let form = Form::new().part(
            "keys",
            Part::bytes(keys.into_bytes())
                .file_name("keys.tsv")
                .mime_str("text/tab-separated-values")
                .map_err(network)?,
        );
        let response = self
            .http
            .post(self.url.clone())
            .query(&[
                ("database", self.database.as_str()),
                ("query", lookup.query),
                ("keys_structure", lookup.structure),
                ("keys_format", "TabSeparated"),
            ])
            .basic_auth(&self.user, self.password.as_ref().map(Secret::expose))
            .multipart(form)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.text().await.map_err(network)?;
        if !status.is_success() {
            let message = body.trim();
            return Err(Error::BadResponse(if message.is_empty() {
                status.to_string()
            } else {
                message.to_owned()
            }));
        }
        Ok(parse_ids(&body))
    }
}

/// A transport failure, as the ClickHouse client reports its own.
fn network(error: reqwest::Error) -> Error {
    // reqwest's message may carry the URL; the configured one can hold credentials.
    Error::Network(Box::new(error.without_url()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "",
        "plain",
        "tab\there",
        "new\nline",
        "cr\rlf\r\n",
        "nul\0byte",
        "back\\slash\\",
        "\\t literally",
        "'quotes' and \"doubles\"",
        "包装破损\t第二列",
        "\\\\\t\n\\n",
    ];

    #[test]
    fn escaping_leaves_no_raw_separators_and_round_trips() {
        for value in HOSTILE {
            let mut escaped = String::new();
            escape_into(&mut escaped, value);
            assert!(
                !escaped.contains(['\t', '\n', '\r', '\0']),
                "{value:?} -> {escaped:?}"
            );
            assert_eq!(unescape(&escaped), *value, "{escaped:?}");
        }
    }

    #[test]
    fn escaping_of_each_special_character() {
        let mut escaped = String::new();
        escape_into(&mut escaped, "a\\b\tc\nd\re\0f'g\"h");
        assert_eq!(escaped, r#"a\\b\tc\nd\re\0f'g"h"#);
    }

    #[test]
    fn unescaping_what_the_server_writes() {
        assert_eq!(unescape(r"it\'s"), "it's");
        assert_eq!(unescape(r"\b\f"), "\u{8}\u{c}");
        assert_eq!(unescape(r"trailing\"), "trailing\\");
        let ids = parse_ids("a\\tb\nplain\n\nc\\\\\n");
        let expected: HashSet<String> = ["a\tb", "plain", "c\\"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(ids, expected);
        assert!(parse_ids("").is_empty());
    }

    #[test]
    fn keys_files_have_one_line_per_row_and_the_structure_columns() {
        let events = crate::test_support::sample_events();
        let rows = crate::rows::rows(&events).unwrap();
        let mut hostile = rows.events[0].clone();
        hostile.shop_id = "s\t1\n".into();
        hostile.entity_id = "e\\'\"".into();
        let tsv = event_keys(&[hostile.clone(), rows.events[1].clone()]);
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines.len(), 2, "{tsv:?}");
        assert_eq!(
            lines[0],
            format!("taobao\ts\\t1\\n\treview\te\\\\'\"\t{}", hostile.event_id)
        );
        let columns = EVENTS.structure.split(", ").count();
        assert!(lines.iter().all(|line| line.split('\t').count() == columns));

        let tsv = review_keys(&rows.reviews);
        assert_eq!(
            tsv,
            format!("taobao\t123\t1767240000000\t{}\n", rows.reviews[0].event_id)
        );
        assert_eq!(REVIEWS.structure.split(", ").count(), 4);
        assert!(event_keys(&[]).is_empty());
    }

    #[test]
    fn credentials_in_the_url_are_dropped() {
        let client =
            LookupClient::new("http://u:secret@db.example:8123", "d", "writer", None).unwrap();
        assert_eq!(client.url.as_str(), "http://db.example:8123/");
        assert!(LookupClient::new("http://[::1", "d", "writer", None).is_err());
    }
}
