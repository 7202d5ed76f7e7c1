//! The registry of every secret the emulator hands out: access tokens, refresh tokens and device
//! codes. The Defender API asks it whether a bearer token is ours, unexpired and for which audience
//! and rights; the token endpoint redeems, rotates and revokes through it; the request log asks it
//! for a stable label (`at-3`, `rt-4`) so that masked secrets can still be told apart.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use rand::{Rng, RngCore};
use serde_json::json;

use super::DEMO_TENANT_ID;
use super::registrations::Resource;

/// Who a token speaks for.
#[derive(Clone, Debug)]
pub(crate) enum Principal {
    User { upn: String, client_id: String },
    App { client_id: String },
}

impl Principal {
    /// The `createdBy` of a comment written with this token. The Defender portal shows comments
    /// added by an application token as written by "API-App".
    pub(crate) fn comment_author(&self) -> &str {
        match self {
            Principal::User { upn, .. } => upn,
            Principal::App { .. } => "API-App",
        }
    }

    fn client_id(&self) -> &str {
        match self {
            Principal::User { client_id, .. } | Principal::App { client_id } => client_id,
        }
    }
}

pub(crate) struct AccessToken {
    pub(crate) label: String,
    pub(crate) resource: &'static Resource,
    pub(crate) principal: Principal,
    /// Application permissions (`roles` claim) of an app-only token.
    pub(crate) roles: Vec<&'static str>,
    /// Delegated permissions (`scp` claim) of a user token.
    pub(crate) scopes: Vec<&'static str>,
    pub(crate) expires_at: Timestamp,
}

/// What a refresh token can be redeemed for.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) client_id: String,
    pub(crate) upn: String,
    pub(crate) resource: &'static Resource,
    pub(crate) scopes: Vec<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefreshState {
    Active,
    /// Redeemed once already: the emulator rotates refresh tokens on every use.
    Rotated,
    Revoked,
    /// Expired by the control API, as if unused for longer than its inactivity lifetime.
    Expired,
}

struct RefreshToken {
    label: String,
    grant: RefreshGrant,
    last_used: Timestamp,
    state: RefreshState,
}

/// Why a refresh token cannot be redeemed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RefreshFailure {
    Unknown,
    Rotated,
    Revoked,
    Inactive { last_used: Timestamp },
    IssuedToAnotherClient,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeviceCodeState {
    Pending,
    Approved { upn: String },
    Declined,
    Redeemed,
}

pub(crate) struct DeviceCodeGrant {
    pub(crate) label: String,
    pub(crate) device_code: String,
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) resource: &'static Resource,
    pub(crate) scopes: Vec<&'static str>,
    pub(crate) offline_access: bool,
    pub(crate) expires_at: Timestamp,
    pub(crate) last_poll: Option<Timestamp>,
    pub(crate) state: DeviceCodeState,
}

/// Why a user code typed on the device-login page (or sent to the control API) was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DecisionError {
    #[error("We don't recognize this code. Check the code and try again.")]
    UnknownCode,
    #[error("This code has expired. Start the sign-in again on your device to get a new code.")]
    Expired,
    #[error(
        "This code was already used. Start the sign-in again on your device to get a new code."
    )]
    AlreadyDecided,
}

#[derive(Default)]
pub(crate) struct TokenRegistry {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    device_codes: Vec<DeviceCodeGrant>,
    issued: u64,
}

/// Characters of a user code: upper-case letters and digits, as Entra ID shows them.
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

impl TokenRegistry {
    fn next_label(&mut self, kind: &str) -> String {
        self.issued += 1;
        format!("{kind}-{}", self.issued)
    }

    /// Mints an access token. It looks like an Entra v1 access token (a JWT whose claims a client
    /// may read, e.g. `exp`), but its signature is random: only this registry can vouch for it.
    pub(crate) fn issue_access(
        &mut self,
        now: Timestamp,
        lifetime: SignedDuration,
        resource: &'static Resource,
        principal: Principal,
        roles: Vec<&'static str>,
        scopes: Vec<&'static str>,
    ) -> String {
        let label = self.next_label("at");
        let expires_at = now + lifetime;
        let mut claims = json!({
            "aud": resource.identifier,
            "iss": format!("https://sts.windows.net/{DEMO_TENANT_ID}/"),
            "iat": now.as_second(),
            "nbf": now.as_second(),
            "exp": expires_at.as_second(),
            "appid": principal.client_id(),
            "tid": DEMO_TENANT_ID,
            "uti": label,
            "ver": "1.0",
        });
        match &principal {
            Principal::User { upn, .. } => {
                claims["upn"] = json!(upn);
                claims["scp"] = json!(scopes.join(" "));
            }
            Principal::App { .. } => claims["roles"] = json!(roles),
        }
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": "m365-defender-emulator"});
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            random_secret(32)
        );
        self.access.insert(
            token.clone(),
            AccessToken {
                label,
                resource,
                principal,
                roles,
                scopes,
                expires_at,
            },
        );
        token
    }

    pub(crate) fn access(&self, token: &str) -> Option<&AccessToken> {
        self.access.get(token)
    }

    pub(crate) fn issue_refresh(&mut self, grant: RefreshGrant, now: Timestamp) -> String {
        let label = self.next_label("rt");
        let token = format!("1.{label}.{}", random_secret(48));
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                label,
                grant,
                last_used: now,
                state: RefreshState::Active,
            },
        );
        token
    }

    /// Redeems a refresh token: on success the token is spent (rotation) and the caller issues a
    /// new pair. `inactivity_lifetime` is how long an unused refresh token stays valid.
    pub(crate) fn redeem_refresh(
        &mut self,
        token: &str,
        client_id: &str,
        now: Timestamp,
        inactivity_lifetime: SignedDuration,
    ) -> Result<RefreshGrant, RefreshFailure> {
        let record = self.refresh.get_mut(token).ok_or(RefreshFailure::Unknown)?;
        match record.state {
            RefreshState::Rotated => return Err(RefreshFailure::Rotated),
            RefreshState::Revoked => return Err(RefreshFailure::Revoked),
            RefreshState::Expired => {
                return Err(RefreshFailure::Inactive {
                    last_used: record.last_used,
                });
            }
            RefreshState::Active => {}
        }
        if now.duration_since(record.last_used) > inactivity_lifetime {
            return Err(RefreshFailure::Inactive {
                last_used: record.last_used,
            });
        }
        if !record.grant.client_id.eq_ignore_ascii_case(client_id) {
            return Err(RefreshFailure::IssuedToAnotherClient);
        }
        record.state = RefreshState::Rotated;
        Ok(record.grant.clone())
    }

    /// Revokes one refresh token, or all of them (as "revoke sessions" in Entra does).
    pub(crate) fn revoke_refresh(&mut self, token: Option<&str>) -> usize {
        self.set_refresh_state(token, RefreshState::Revoked)
    }

    /// Expires one refresh token or all of them, as if unused past their inactivity lifetime.
    pub(crate) fn expire_refresh(&mut self, token: Option<&str>) -> usize {
        self.set_refresh_state(token, RefreshState::Expired)
    }

    fn set_refresh_state(&mut self, token: Option<&str>, state: RefreshState) -> usize {
        let mut changed = 0;
        for (secret, record) in &mut self.refresh {
            let selected = token.is_none_or(|token| token == secret);
            if selected && record.state == RefreshState::Active {
                record.state = state;
                changed += 1;
            }
        }
        changed
    }

    /// Makes every access token issued so far expire now.
    pub(crate) fn expire_access(&mut self, now: Timestamp) -> usize {
        let mut changed = 0;
        for record in self
            .access
            .values_mut()
            .filter(|record| record.expires_at > now)
        {
            record.expires_at = now;
            changed += 1;
        }
        changed
    }

    pub(crate) fn issue_device_code(
        &mut self,
        client_id: &str,
        resource: &'static Resource,
        scopes: Vec<&'static str>,
        offline_access: bool,
        expires_at: Timestamp,
    ) -> &DeviceCodeGrant {
        let label = self.next_label("dc");
        let mut rng = rand::rng();
        let user_code: String = (0..9)
            .map(|_| char::from(USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())]))
            .collect();
        let device_code = format!("DAQABAAEAAAD.{label}.{}", random_secret(48));
        self.device_codes.push(DeviceCodeGrant {
            label,
            device_code,
            user_code,
            client_id: client_id.to_owned(),
            resource,
            scopes,
            offline_access,
            expires_at,
            last_poll: None,
            state: DeviceCodeState::Pending,
        });
        self.device_codes.last().expect("just pushed")
    }

    pub(crate) fn device_code_mut(&mut self, device_code: &str) -> Option<&mut DeviceCodeGrant> {
        self.device_codes
            .iter_mut()
            .find(|grant| grant.device_code == device_code)
    }

    /// Records the signed-in user's answer for a user code. Codes are matched ignoring case,
    /// spaces and dashes, as people type them.
    pub(crate) fn decide_device_code(
        &mut self,
        user_code: &str,
        approved_by: Option<&str>,
        now: Timestamp,
    ) -> Result<&DeviceCodeGrant, DecisionError> {
        let typed: String = user_code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let grant = self
            .device_codes
            .iter_mut()
            .rev()
            .find(|grant| grant.user_code.eq_ignore_ascii_case(&typed))
            .ok_or(DecisionError::UnknownCode)?;
        if now >= grant.expires_at {
            return Err(DecisionError::Expired);
        }
        if grant.state != DeviceCodeState::Pending {
            return Err(DecisionError::AlreadyDecided);
        }
        grant.state = match approved_by {
            Some(upn) => DeviceCodeState::Approved {
                upn: upn.to_owned(),
            },
            None => DeviceCodeState::Declined,
        };
        Ok(grant)
    }

    /// The label of a secret this registry issued (`at-3`, `rt-4`, `dc-1`), for masked logs.
    pub(crate) fn label(&self, secret: &str) -> Option<&str> {
        self.access
            .get(secret)
            .map(|token| token.label.as_str())
            .or_else(|| self.refresh.get(secret).map(|token| token.label.as_str()))
            .or_else(|| {
                self.device_codes
                    .iter()
                    .find(|grant| grant.device_code == secret)
                    .map(|grant| grant.label.as_str())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::registrations::resource;
    use super::*;

    fn grant() -> RefreshGrant {
        RefreshGrant {
            client_id: "client".into(),
            upn: "user@contoso.com".into(),
            resource: resource("https://api.security.microsoft.com").unwrap(),
            scopes: vec!["Incident.Read"],
        }
    }

    #[test]
    fn a_refresh_token_works_once() {
        let mut registry = TokenRegistry::default();
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let lifetime = SignedDuration::from_hours(24 * 90);
        let token = registry.issue_refresh(grant(), now);
        assert!(
            registry
                .redeem_refresh(&token, "client", now, lifetime)
                .is_ok()
        );
        assert_eq!(
            registry
                .redeem_refresh(&token, "client", now, lifetime)
                .unwrap_err(),
            RefreshFailure::Rotated
        );
    }

    #[test]
    fn an_unused_refresh_token_expires() {
        let mut registry = TokenRegistry::default();
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let lifetime = SignedDuration::from_hours(24);
        let token = registry.issue_refresh(grant(), now);
        let later = now + SignedDuration::from_hours(25);
        assert_eq!(
            registry
                .redeem_refresh(&token, "client", later, lifetime)
                .unwrap_err(),
            RefreshFailure::Inactive { last_used: now }
        );
    }
}
