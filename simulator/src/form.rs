//! Request parameters from the query string and a form body (urlencoded or multipart).
//!
//! Contract: parameters keep their order of arrival, query string first, then body; a lookup
//! returns the first occurrence. Multipart parts are read as UTF-8 text fields (files are not
//! part of either API). A body of any other content type contributes nothing.

use axum::http::{header, HeaderMap};

/// Ordered request parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Returns the first value of `name`, if present (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the first value of `name` when present and not blank.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.trim().is_empty())
    }

    /// Returns every (name, value) pair, in order of arrival.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Wraps pairs collected elsewhere (a JSON body).
    pub(crate) fn from_vec(pairs: Vec<(String, String)>) -> Params {
        Params(pairs)
    }

    fn extend_urlencoded(&mut self, bytes: &[u8]) {
        self.0.extend(
            url::form_urlencoded::parse(bytes)
                .map(|(key, value)| (key.into_owned(), value.into_owned())),
        );
    }

    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }
}

/// Why a body could not be read as a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormError(pub(crate) String);

/// Collects the parameters of a request: its query string, then its form body.
pub(crate) fn collect(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Params, FormError> {
    let mut params = Params::default();
    if let Some(query) = query {
        params.extend_urlencoded(query.as_bytes());
    }
    if body.is_empty() {
        return Ok(params);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => params.extend_urlencoded(body),
        "multipart/form-data" => {
            let boundary = content_type
                .split(';')
                .skip(1)
                .filter_map(|part| part.trim().split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, value)| value.trim().trim_matches('"').to_owned())
                .ok_or_else(|| FormError("multipart body without a boundary".to_owned()))?;
            params.0.extend(parse_multipart(body, &boundary)?);
        }
        _ => {}
    }
    Ok(params)
}

/// Parses the text fields of a `multipart/form-data` body.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, FormError> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut fields = Vec::new();
    let mut rest = match find(body, delimiter) {
        Some(at) => &body[at + delimiter.len()..],
        None => return Err(FormError("multipart body without its boundary".to_owned())),
    };
    loop {
        if rest.starts_with(b"--") {
            return Ok(fields);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| FormError("malformed multipart delimiter line".to_owned()))?;
        let headers_end = find(rest, b"\r\n\r\n")
            .ok_or_else(|| FormError("multipart part without a header end".to_owned()))?;
        let head = std::str::from_utf8(&rest[..headers_end])
            .map_err(|_| FormError("multipart part headers are not UTF-8".to_owned()))?;
        let content = &rest[headers_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let end = find(content, &closing)
            .ok_or_else(|| FormError("multipart part is not terminated".to_owned()))?;
        let name = part_name(head)
            .ok_or_else(|| FormError("multipart part without a form-data name".to_owned()))?;
        let value = String::from_utf8(content[..end].to_vec())
            .map_err(|_| FormError(format!("multipart field {name} is not UTF-8")))?;
        fields.push((name, value));
        rest = &content[end + closing.len()..];
    }
}

fn part_name(head: &str) -> Option<String> {
    let disposition = head.split("\r\n").find(|line| {
        line.split(':')
            .next()
            .is_some_and(|key| key.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    disposition.split(';').skip(1).find_map(|param| {
        let (key, value) = param.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("name")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn query_then_urlencoded_body_in_order() {
        let params = collect(
            Some("method=taobao.traderates.get&v=2.0"),
            &headers("application/x-www-form-urlencoded;charset=utf-8"),
            "fields=tid%2Cnick&start_date=2024-01-01+12%3A00%3A00&v=9".as_bytes(),
        )
        .unwrap();
        assert_eq!(params.get("method"), Some("taobao.traderates.get"));
        assert_eq!(params.get("fields"), Some("tid,nick"));
        assert_eq!(params.get("start_date"), Some("2024-01-01 12:00:00"));
        assert_eq!(params.get("v"), Some("2.0"));
        assert_eq!(params.pairs().len(), 5);
    }

    #[test]
    fn multipart_text_fields() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"shop_id\"\r\n\r\n123\r\n\
                    --XyZ\r\ncontent-disposition: form-data; name=fields\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ntid,内容\r\n\
                    --XyZ--\r\n";
        let params = collect(
            None,
            &headers("multipart/form-data; boundary=\"XyZ\""),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(params.get("shop_id"), Some("123"));
        assert_eq!(params.get("fields"), Some("tid,内容"));
        assert_eq!(params.pairs().len(), 2);
    }

    #[test]
    fn broken_multipart_is_an_error_and_other_bodies_are_ignored() {
        let error = collect(
            None,
            &headers("multipart/form-data; boundary=B"),
            b"--B\r\nno end",
        )
        .unwrap_err();
        assert!(error.0.contains("header end"), "{error:?}");
        assert!(collect(None, &headers("multipart/form-data"), b"x").is_err());
        let params = collect(None, &headers("application/json"), b"{\"shop_id\":1}").unwrap();
        assert_eq!(params, Params::default());
    }

    #[test]
    fn empty_values_are_present_but_not_non_empty() {
        let params = Params::from_pairs(&[("tid", ""), ("tid", "9")]);
        assert_eq!(params.get("tid"), Some(""));
        assert_eq!(params.non_empty("tid"), None);
    }
}
