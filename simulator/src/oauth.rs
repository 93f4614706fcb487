//! OAuth for TOP and PDD: authorization codes, expiring access tokens and refresh tokens
//! (platform-apis.md §1.6, §2.6).
//!
//! Contract:
//! - A code comes from `POST /_sim/oauth/code` (`{"platform":"top"|"pdd","app_key",
//!   "shop_id"}` → `{"code"}`), standing in for the seller's consent page; it is valid for
//!   `oauth.code_ttl_secs` (documented 10 min) and works once.
//! - Exchanging a code gives an access token valid for the platform's TTL
//!   (`oauth.top_access_token_ttl_secs`, `oauth.pdd_access_token_ttl_secs`) and a refresh
//!   token valid for `oauth.refresh_token_ttl_secs`. Refreshing issues a new access token and
//!   a new refresh token (same refresh deadline) and invalidates the old pair; TOP's gets a fresh TTL, PDD's lives until the end of the
//!   authorization (the code exchange + TTL) unless `oauth.pdd_refresh_extends_validity`
//!   (the PDD doc says refreshing does not extend validity). A new code for the same app and shop invalidates the earlier grants, as PDD
//!   documents for re-authorization.
//! - Issued access tokens work as TOP `session` / PDD `access_token` next to the configured
//!   ones; once expired they get TOP 27 / PDD 10019. `POST /_sim/oauth/expire`
//!   (`{"access_token"}`) expires one access token at once (not its authorization or refresh
//!   token), for tests of the refresh path.
//! - Token strings derive from the seed and a counter: reproducible, never configured
//!   secrets.

use chrono::{DateTime, TimeDelta, Utc};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::OAuthConfig;

/// A platform with simulated OAuth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuthPlatform {
    /// Taobao Open Platform: `POST /token` and `taobao.top.auth.token.create|refresh`.
    Top,
    /// Pinduoduo: `pdd.pop.auth.token.create|refresh`.
    Pdd,
}

/// What an access token is worth right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// Valid for this shop.
    Valid(String),
    /// Issued, but expired or replaced.
    Expired,
    /// Never issued here.
    Unknown,
}

#[derive(Debug, Clone)]
struct Code {
    code: String,
    platform: OAuthPlatform,
    app_key: String,
    shop_id: String,
    expires_at: DateTime<Utc>,
    used: bool,
}

/// One issued token pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) platform: OAuthPlatform,
    pub(crate) app_key: String,
    pub(crate) shop_id: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) refresh_expires_at: DateTime<Utc>,
    /// The end of the authorization itself (PDD refreshes never go beyond it by default).
    pub(crate) authorized_until: DateTime<Utc>,
    pub(crate) revoked: bool,
}

impl Grant {
    /// TOP's token JSON (the `/token` body and the `token_result` string).
    pub(crate) fn top_json(&self, now: DateTime<Utc>) -> Value {
        let expires_in = (self.expires_at - now).num_seconds().max(0);
        let re_expires_in = (self.refresh_expires_at - now).num_seconds().max(0);
        json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "expire_time": self.expires_at.timestamp_millis(),
            "refresh_token": self.refresh_token,
            "re_expires_in": re_expires_in,
            "refresh_token_valid_time": self.refresh_expires_at.timestamp_millis(),
            "r1_expires_in": expires_in,
            "r2_expires_in": expires_in,
            "w1_expires_in": expires_in,
            "w2_expires_in": expires_in,
            "taobao_user_nick": self.shop_id,
            "taobao_user_id": self.shop_id,
        })
    }

    /// PDD's token fields (inside `pop_auth_token_create_response`).
    pub(crate) fn pdd_json(&self, now: DateTime<Utc>) -> serde_json::Map<String, Value> {
        let expires_in = (self.expires_at - now).num_seconds().max(0);
        let refresh_in = (self.refresh_expires_at - now).num_seconds().max(0);
        let value = json!({
            "access_token": self.access_token,
            "expires_in": expires_in,
            "expires_at": self.expires_at.timestamp(),
            "refresh_token": self.refresh_token,
            "refresh_token_expires_in": refresh_in,
            "refresh_token_expires_at": self.refresh_expires_at.timestamp(),
            "owner_id": self.shop_id,
            "owner_name": self.shop_id,
            "scope": ["pdd.goods.list.get", "pdd.goods.detail.get", "pdd.logistics.ordertrace.get"],
            "r1_expires_at": self.expires_at.timestamp(),
            "r2_expires_at": self.expires_at.timestamp(),
            "w1_expires_at": self.expires_at.timestamp(),
            "w2_expires_at": self.expires_at.timestamp(),
        });
        match value {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// Why a code or refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantError {
    /// Unknown, used, expired, or issued to another app or platform.
    InvalidCode,
    /// Unknown, replaced, expired, or issued to another app or platform.
    InvalidRefreshToken,
}

/// Codes and grants.
#[derive(Debug)]
pub(crate) struct TokenStore {
    config: OAuthConfig,
    seed: u64,
    counter: u64,
    codes: Vec<Code>,
    grants: Vec<Grant>,
}

impl TokenStore {
    pub(crate) fn new(config: OAuthConfig, seed: u64) -> TokenStore {
        TokenStore {
            config,
            seed,
            counter: 0,
            codes: Vec::new(),
            grants: Vec::new(),
        }
    }

    fn token(&mut self, kind: &str) -> String {
        self.counter += 1;
        let mut hasher = Md5::new();
        hasher.update(self.seed.to_le_bytes());
        hasher.update(self.counter.to_le_bytes());
        hasher.update(kind.as_bytes());
        format!("{kind}{}", hex::encode(hasher.finalize()))
    }

    /// Mints a code for `app_key` and `shop_id`; earlier grants of the pair stop working.
    pub(crate) fn code(
        &mut self,
        platform: OAuthPlatform,
        app_key: &str,
        shop_id: &str,
        now: DateTime<Utc>,
    ) -> String {
        for grant in &mut self.grants {
            if grant.platform == platform && grant.app_key == app_key && grant.shop_id == shop_id {
                grant.revoked = true;
            }
        }
        let code = self.token("code");
        self.codes.push(Code {
            code: code.clone(),
            platform,
            app_key: app_key.to_owned(),
            shop_id: shop_id.to_owned(),
            expires_at: now + secs(self.config.code_ttl_secs),
            used: false,
        });
        code
    }

    fn access_ttl(&self, platform: OAuthPlatform) -> TimeDelta {
        secs(match platform {
            OAuthPlatform::Top => self.config.top_access_token_ttl_secs,
            OAuthPlatform::Pdd => self.config.pdd_access_token_ttl_secs,
        })
    }

    /// Exchanges a code.
    pub(crate) fn exchange(
        &mut self,
        platform: OAuthPlatform,
        app_key: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Grant, GrantError> {
        let found = self
            .codes
            .iter_mut()
            .find(|candidate| {
                candidate.code == code
                    && candidate.platform == platform
                    && candidate.app_key == app_key
                    && !candidate.used
                    && candidate.expires_at > now
            })
            .ok_or(GrantError::InvalidCode)?;
        found.used = true;
        let shop_id = found.shop_id.clone();
        let grant = Grant {
            platform,
            app_key: app_key.to_owned(),
            shop_id,
            access_token: self.token("at"),
            refresh_token: self.token("rt"),
            expires_at: now + self.access_ttl(platform),
            refresh_expires_at: now + secs(self.config.refresh_token_ttl_secs),
            authorized_until: now + self.access_ttl(platform),
            revoked: false,
        };
        self.grants.push(grant.clone());
        Ok(grant)
    }

    /// Refreshes a grant: a new access token, the old one stops working.
    pub(crate) fn refresh(
        &mut self,
        platform: OAuthPlatform,
        app_key: &str,
        refresh_token: &str,
        now: DateTime<Utc>,
    ) -> Result<Grant, GrantError> {
        let index = self
            .grants
            .iter()
            .position(|grant| {
                grant.refresh_token == refresh_token
                    && grant.platform == platform
                    && grant.app_key == app_key
                    && !grant.revoked
                    && grant.refresh_expires_at > now
            })
            .ok_or(GrantError::InvalidRefreshToken)?;
        let old = self.grants[index].clone();
        self.grants[index].revoked = true;
        let extends = platform == OAuthPlatform::Top || self.config.pdd_refresh_extends_validity;
        let grant = Grant {
            access_token: self.token("at"),
            refresh_token: self.token("rt"),
            expires_at: if extends {
                now + self.access_ttl(platform)
            } else {
                old.authorized_until
            },
            revoked: false,
            ..old
        };
        self.grants.push(grant.clone());
        Ok(grant)
    }

    /// What `access_token` is worth for `app_key` on `platform` at `now`.
    pub(crate) fn check(
        &self,
        platform: OAuthPlatform,
        app_key: &str,
        access_token: &str,
        now: DateTime<Utc>,
    ) -> TokenState {
        let Some(grant) = self.grants.iter().rev().find(|grant| {
            grant.access_token == access_token
                && grant.platform == platform
                && grant.app_key == app_key
        }) else {
            return TokenState::Unknown;
        };
        if grant.revoked || grant.expires_at <= now {
            TokenState::Expired
        } else {
            TokenState::Valid(grant.shop_id.clone())
        }
    }

    /// Expires `access_token` now; returns whether it was a live token.
    pub(crate) fn expire(&mut self, access_token: &str, now: DateTime<Utc>) -> bool {
        let mut found = false;
        for grant in &mut self.grants {
            if grant.access_token == access_token && grant.expires_at > now {
                grant.expires_at = now;
                found = true;
            }
        }
        found
    }
}

fn secs(value: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn store(pdd_extends: bool) -> TokenStore {
        TokenStore::new(
            OAuthConfig {
                top_access_token_ttl_secs: 100,
                pdd_access_token_ttl_secs: 50,
                refresh_token_ttl_secs: 1_000,
                code_ttl_secs: 10,
                pdd_refresh_extends_validity: pdd_extends,
            },
            7,
        )
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn codes_work_once_and_tokens_expire() {
        let mut store = store(false);
        let code = store.code(OAuthPlatform::Top, "app", "shop", at(0));
        assert_eq!(
            store.exchange(OAuthPlatform::Pdd, "app", &code, at(1)),
            Err(GrantError::InvalidCode)
        );
        let grant = store
            .exchange(OAuthPlatform::Top, "app", &code, at(1))
            .unwrap();
        assert_eq!(grant.expires_at, at(101));
        assert_eq!(
            store.exchange(OAuthPlatform::Top, "app", &code, at(2)),
            Err(GrantError::InvalidCode)
        );
        let late = store.code(OAuthPlatform::Top, "app", "other", at(0));
        assert!(store
            .exchange(OAuthPlatform::Top, "app", &late, at(11))
            .is_err());
        let check = |store: &TokenStore, token: &str, when| {
            store.check(OAuthPlatform::Top, "app", token, when)
        };
        assert_eq!(
            check(&store, &grant.access_token, at(100)),
            TokenState::Valid("shop".into())
        );
        assert_eq!(
            check(&store, &grant.access_token, at(101)),
            TokenState::Expired
        );
        assert_eq!(check(&store, "nope", at(1)), TokenState::Unknown);
        // TOP refresh: fresh TTL, the old token is dead.
        let refreshed = store
            .refresh(OAuthPlatform::Top, "app", &grant.refresh_token, at(200))
            .unwrap();
        assert_eq!(refreshed.expires_at, at(300));
        assert_ne!(refreshed.access_token, grant.access_token);
        assert_eq!(
            check(&store, &refreshed.access_token, at(250)),
            TokenState::Valid("shop".into())
        );
        assert_eq!(
            store.refresh(OAuthPlatform::Top, "app", &grant.refresh_token, at(201)),
            Err(GrantError::InvalidRefreshToken)
        );
        assert!(store.expire(&refreshed.access_token, at(260)));
        assert_eq!(
            check(&store, &refreshed.access_token, at(260)),
            TokenState::Expired
        );
    }

    #[test]
    fn pdd_refresh_keeps_the_expiry_unless_configured() {
        for (extends, expiry) in [(false, at(50)), (true, at(70))] {
            let mut store = store(extends);
            let code = store.code(OAuthPlatform::Pdd, "1", "123", at(0));
            let grant = store
                .exchange(OAuthPlatform::Pdd, "1", &code, at(0))
                .unwrap();
            let refreshed = store
                .refresh(OAuthPlatform::Pdd, "1", &grant.refresh_token, at(20))
                .unwrap();
            assert_eq!(refreshed.expires_at, expiry);
        }
        // A forced expiry kills the access token only: refreshing still works.
        let mut store = store(false);
        let code = store.code(OAuthPlatform::Pdd, "1", "123", at(0));
        let grant = store
            .exchange(OAuthPlatform::Pdd, "1", &code, at(0))
            .unwrap();
        assert!(store.expire(&grant.access_token, at(10)));
        let refreshed = store
            .refresh(OAuthPlatform::Pdd, "1", &grant.refresh_token, at(11))
            .unwrap();
        assert_eq!(
            store.check(OAuthPlatform::Pdd, "1", &refreshed.access_token, at(12)),
            TokenState::Valid("123".into())
        );
    }

    #[test]
    fn a_new_code_revokes_earlier_grants() {
        let mut store = store(false);
        let code = store.code(OAuthPlatform::Pdd, "1", "123", at(0));
        let grant = store
            .exchange(OAuthPlatform::Pdd, "1", &code, at(0))
            .unwrap();
        store.code(OAuthPlatform::Pdd, "1", "123", at(5));
        assert_eq!(
            store.check(OAuthPlatform::Pdd, "1", &grant.access_token, at(6)),
            TokenState::Expired
        );
        assert!(store
            .refresh(OAuthPlatform::Pdd, "1", &grant.refresh_token, at(6))
            .is_err());
    }
}
