//! TOP request signatures (platform-apis.md §1.3).
//!
//! Contract: the signed string is every parameter except `sign` whose name and value are both
//! non-empty, sorted by name in byte order, concatenated as `name1value1name2value2…` with raw
//! (not URL-encoded) values. `md5` digests `secret + S + secret`; `hmac` (HMAC-MD5) and
//! `hmac-sha256` key the digest with the secret over `S` alone. The result is uppercase hex.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// A TOP `sign_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMethod {
    /// `md5`: MD5(secret + S + secret).
    Md5,
    /// `hmac`: HMAC-MD5 keyed by the secret.
    HmacMd5,
    /// `hmac-sha256`: HMAC-SHA256 keyed by the secret.
    HmacSha256,
}

impl SignMethod {
    /// Parses a `sign_method` value.
    pub fn parse(text: &str) -> Option<SignMethod> {
        match text {
            "md5" => Some(SignMethod::Md5),
            "hmac" => Some(SignMethod::HmacMd5),
            "hmac-sha256" => Some(SignMethod::HmacSha256),
            _ => None,
        }
    }
}

/// Returns the string that is signed: sorted non-empty parameters except `sign`.
pub fn canonical_string<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(name, value)| *name != "sign" && !name.is_empty() && !value.is_empty())
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    // One value per name: the first that arrived (a stable sort keeps arrival order).
    pairs.dedup_by(|later, earlier| later.0 == earlier.0);
    pairs.iter().fold(String::new(), |mut text, (name, value)| {
        text.push_str(name);
        text.push_str(value);
        text
    })
}

/// Returns the uppercase-hex signature of `params` with `secret`.
pub fn sign<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    secret: &str,
    method: SignMethod,
) -> String {
    let text = canonical_string(params);
    let digest = match method {
        SignMethod::Md5 => {
            let mut hasher = Md5::new();
            hasher.update(secret.as_bytes());
            hasher.update(text.as_bytes());
            hasher.update(secret.as_bytes());
            hasher.finalize().to_vec()
        }
        SignMethod::HmacMd5 => {
            // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
            let Ok(mut mac) = Hmac::<Md5>::new_from_slice(secret.as_bytes()) else {
                unreachable!("hmac takes keys of any length")
            };
            mac.update(text.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        SignMethod::HmacSha256 => {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                unreachable!("hmac takes keys of any length")
            };
            mac.update(text.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    hex::encode_upper(digest)
}

/// Returns true when `given` is the signature of `params` (hex compared case-insensitively).
pub fn verify<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    secret: &str,
    method: SignMethod,
    given: &str,
) -> bool {
    sign(params, secret, method).eq_ignore_ascii_case(given.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn official_params(sign_method: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            ("method", "taobao.item.seller.get"),
            ("app_key", "12345678"),
            ("session", "test"),
            ("timestamp", "2016-01-01 12:00:00"),
            ("format", "json"),
            ("v", "2.0"),
            ("sign_method", sign_method),
            ("fields", "num_iid,title,nick,price,num"),
            ("num_iid", "11223344"),
        ]
    }

    #[test]
    fn official_md5_vector() {
        let params = official_params("md5");
        assert_eq!(
            canonical_string(params.iter().copied()),
            "app_key12345678fieldsnum_iid,title,nick,price,numformatjsonmethodtaobao.item.seller.get\
             num_iid11223344sessiontestsign_methodmd5timestamp2016-01-01 12:00:00v2.0"
        );
        assert_eq!(
            sign(params.iter().copied(), "helloworld", SignMethod::Md5),
            "66987CB115214E59E6EC978214934FB8"
        );
    }

    #[test]
    fn hmac_md5_vector() {
        let params = official_params("hmac");
        assert_eq!(
            sign(params.iter().copied(), "helloworld", SignMethod::HmacMd5),
            "D56D7858309C31B6251083A874D48273"
        );
    }

    #[test]
    fn hmac_sha256_vector() {
        let params = official_params("hmac-sha256");
        assert_eq!(
            sign(params.iter().copied(), "helloworld", SignMethod::HmacSha256),
            "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"
        );
    }

    #[test]
    fn sign_and_empty_values_are_left_out() {
        let mut params = official_params("md5");
        params.push(("sign", "WHATEVER"));
        params.push(("partner_id", ""));
        assert!(verify(
            params.iter().copied(),
            "helloworld",
            SignMethod::Md5,
            "66987cb115214e59e6ec978214934fb8"
        ));
        assert!(!verify(
            params.iter().copied(),
            "helloworld2",
            SignMethod::Md5,
            "66987CB115214E59E6EC978214934FB8"
        ));
    }

    #[test]
    fn sign_methods_parse() {
        assert_eq!(SignMethod::parse("hmac"), Some(SignMethod::HmacMd5));
        assert_eq!(SignMethod::parse("sha1"), None);
    }
}
