//! The tokens kept in the platform's integration context between runs. Key names are those the
//! XSOAR Microsoft API module writes (CONTRACT §5), so an existing instance's context keeps
//! working when it moves to this integration.

use serde_json::{Map, Value};

use super::secret::{AccessToken, DeviceCode, RefreshToken};
use super::token_endpoint::TokenGrant;

pub const ACCESS_TOKEN: &str = "access_token";
/// Epoch seconds after which the access token is not used, already minus a safety margin.
pub const VALID_UNTIL: &str = "valid_until";
pub const REFRESH_TOKEN: &str = "current_refresh_token";
/// The device code between auth-start and auth-complete.
pub const DEVICE_CODE: &str = "device_code";
/// Seconds between polls the sign-in service asked for (our key).
pub const DEVICE_CODE_INTERVAL: &str = "device_code_interval";
/// Epoch seconds when the device code expires (our key).
pub const DEVICE_CODE_EXPIRES_AT: &str = "device_code_expires_at";
/// Which sign-in the stored tokens belong to (our key; no secret in it): flow, app, tenant and
/// resource. After the instance's configuration changes, tokens of the old sign-in are not used.
pub const TOKEN_OWNER: &str = "token_owner";

/// Every context key this integration owns; anything else in the context belongs to someone
/// else and is preserved.
pub const OWNED_KEYS: &[&str] = &[
    ACCESS_TOKEN,
    VALID_UNTIL,
    REFRESH_TOKEN,
    DEVICE_CODE,
    DEVICE_CODE_INTERVAL,
    DEVICE_CODE_EXPIRES_AT,
    TOKEN_OWNER,
];

/// An access token is not used in its last minute: a request sent with it could arrive after
/// it expired.
const SAFETY_MARGIN_SECONDS: i64 = 60;

/// Removes everything that could sign in again.
pub fn forget_all(context: &mut Map<String, Value>) {
    for key in OWNED_KEYS {
        context.remove(*key);
    }
}

/// Whether the stored tokens belong to `owner`. Contexts written before the key existed (or
/// by the XSOAR integration) have no owner and are trusted as they are.
fn owned_by(context: &Map<String, Value>, owner: &str) -> bool {
    context
        .get(TOKEN_OWNER)
        .and_then(Value::as_str)
        .is_none_or(|stored| stored == owner)
}

/// The cached access token of `owner`, if it is still good at `now`.
pub fn valid_access_token(
    context: &Map<String, Value>,
    owner: &str,
    now: i64,
) -> Option<AccessToken> {
    if !owned_by(context, owner) {
        return None;
    }
    let token = context
        .get(ACCESS_TOKEN)?
        .as_str()
        .filter(|t| !t.is_empty())?;
    let valid_until = match context.get(VALID_UNTIL)? {
        Value::Number(n) => n.as_f64()? as i64,
        Value::String(s) => s.parse::<f64>().ok()? as i64,
        _ => return None,
    };
    (now < valid_until).then(|| AccessToken::new(token))
}

/// The stored refresh token of `owner`.
pub fn refresh_token(context: &Map<String, Value>, owner: &str) -> Option<RefreshToken> {
    if !owned_by(context, owner) {
        return None;
    }
    context
        .get(REFRESH_TOKEN)?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(RefreshToken::new)
}

/// Stores a new grant at once: a rotated refresh token must reach the output even if the
/// command fails afterwards. A grant without a refresh token keeps the one already stored.
pub fn store(context: &mut Map<String, Value>, grant: &TokenGrant, owner: &str, now: i64) {
    if !owned_by(context, owner) {
        // A refresh token of another sign-in must not survive next to this one's tokens.
        context.remove(REFRESH_TOKEN);
    }
    context.insert(TOKEN_OWNER.to_owned(), Value::String(owner.to_owned()));
    context.insert(
        ACCESS_TOKEN.to_owned(),
        Value::String(grant.access_token.secret().to_owned()),
    );
    let lifetime = (grant.expires_in - SAFETY_MARGIN_SECONDS).max(0);
    context.insert(VALID_UNTIL.to_owned(), Value::from(now + lifetime));
    if let Some(refresh) = &grant.refresh_token {
        context.insert(
            REFRESH_TOKEN.to_owned(),
            Value::String(refresh.secret().to_owned()),
        );
    }
}

/// Stores a refresh token on its own: the one that came with an answer whose access token
/// could not be used. The cached access token, if any, belonged to the old grant.
pub fn store_refresh_token(context: &mut Map<String, Value>, refresh: &RefreshToken, owner: &str) {
    forget_access_token(context);
    context.insert(TOKEN_OWNER.to_owned(), Value::String(owner.to_owned()));
    context.insert(
        REFRESH_TOKEN.to_owned(),
        Value::String(refresh.secret().to_owned()),
    );
}

/// Drops the cached access token (after the API refused it) but keeps the refresh token.
pub fn forget_access_token(context: &mut Map<String, Value>) {
    context.remove(ACCESS_TOKEN);
    context.remove(VALID_UNTIL);
}

/// RFC 8628's default wait between two polls of the token endpoint.
pub const DEFAULT_POLL_INTERVAL_SECONDS: u64 = 5;
/// The longest wait between polls believed, from Entra ID or a stored context: auth-complete
/// waits at most 60 seconds in all.
pub const MAX_POLL_INTERVAL_SECONDS: u64 = 60;

/// A poll interval from outside, made usable: 1 to [`MAX_POLL_INTERVAL_SECONDS`].
pub fn clamp_poll_interval(seconds: u64) -> u64 {
    seconds.clamp(1, MAX_POLL_INTERVAL_SECONDS)
}

/// A device code waiting to be redeemed.
#[derive(Debug)]
pub struct PendingDeviceCode {
    pub code: DeviceCode,
    pub interval: u64,
    /// Epoch seconds; none when an older instance stored only the code.
    pub expires_at: Option<i64>,
}

pub fn store_device_code(context: &mut Map<String, Value>, pending: &PendingDeviceCode) {
    context.insert(
        DEVICE_CODE.to_owned(),
        Value::String(pending.code.secret().to_owned()),
    );
    context.insert(
        DEVICE_CODE_INTERVAL.to_owned(),
        Value::from(pending.interval),
    );
    match pending.expires_at {
        Some(at) => context.insert(DEVICE_CODE_EXPIRES_AT.to_owned(), Value::from(at)),
        None => context.remove(DEVICE_CODE_EXPIRES_AT),
    };
}

pub fn pending_device_code(context: &Map<String, Value>) -> Option<PendingDeviceCode> {
    let code = context
        .get(DEVICE_CODE)?
        .as_str()
        .filter(|c| !c.is_empty())?;
    Some(PendingDeviceCode {
        code: DeviceCode::new(code),
        interval: context
            .get(DEVICE_CODE_INTERVAL)
            .and_then(Value::as_u64)
            .map_or(DEFAULT_POLL_INTERVAL_SECONDS, clamp_poll_interval),
        expires_at: context.get(DEVICE_CODE_EXPIRES_AT).and_then(Value::as_i64),
    })
}

pub fn forget_device_code(context: &mut Map<String, Value>) {
    context.remove(DEVICE_CODE);
    context.remove(DEVICE_CODE_INTERVAL);
    context.remove(DEVICE_CODE_EXPIRES_AT);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_is_used_until_valid_until() {
        let context = json!({"access_token": "at", "valid_until": 1000})
            .as_object()
            .unwrap()
            .clone();
        assert!(valid_access_token(&context, "me", 999).is_some());
        assert!(valid_access_token(&context, "me", 1000).is_none());
    }

    #[test]
    fn storing_keeps_the_old_refresh_token_when_none_is_returned() {
        let mut context = json!({"current_refresh_token": "rt-1", "other": 1})
            .as_object()
            .unwrap()
            .clone();
        let grant = TokenGrant {
            access_token: AccessToken::new("at-2"),
            expires_in: 3600,
            refresh_token: None,
        };
        store(&mut context, &grant, "me", 100);
        assert_eq!(
            Value::Object(context),
            json!({"current_refresh_token": "rt-1", "other": 1, "token_owner": "me", "access_token": "at-2", "valid_until": 3640})
        );
    }

    #[test]
    fn tokens_of_another_sign_in_are_not_used() {
        let mut context =
            json!({"access_token": "at", "valid_until": 1000, "current_refresh_token": "rt"})
                .as_object()
                .unwrap()
                .clone();
        let grant = TokenGrant {
            access_token: AccessToken::new("at-a"),
            expires_in: 3600,
            refresh_token: Some(RefreshToken::new("rt-a")),
        };
        store(&mut context, &grant, "device|app-a", 0);
        assert!(valid_access_token(&context, "device|app-a", 1).is_some());
        assert!(valid_access_token(&context, "device|app-b", 1).is_none());
        assert!(refresh_token(&context, "device|app-b").is_none());
        let other = TokenGrant {
            access_token: AccessToken::new("at-b"),
            expires_in: 3600,
            refresh_token: None,
        };
        store(&mut context, &other, "secret|app-b", 0);
        assert!(
            context.get(REFRESH_TOKEN).is_none(),
            "app a's refresh token is dropped"
        );
    }
}
