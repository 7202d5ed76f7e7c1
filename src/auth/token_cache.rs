//! The tokens kept in the platform's integration context between runs. Key names are those the
//! XSOAR Microsoft API module writes (CONTRACT §5), so an existing instance's context keeps
//! working when it moves to this integration.

use serde_json::{Map, Value};

pub const ACCESS_TOKEN: &str = "access_token";
/// Epoch seconds after which the access token is not used, already minus a safety margin.
pub const VALID_UNTIL: &str = "valid_until";
pub const REFRESH_TOKEN: &str = "current_refresh_token";
/// The device code between auth-start and auth-complete.
pub const DEVICE_CODE: &str = "device_code";

/// Every context key this integration owns; anything else in the context belongs to someone
/// else and is preserved.
pub const OWNED_KEYS: &[&str] = &[ACCESS_TOKEN, VALID_UNTIL, REFRESH_TOKEN, DEVICE_CODE];

/// Removes everything that could sign in again.
pub fn forget_all(context: &mut Map<String, Value>) {
    for key in OWNED_KEYS {
        context.remove(*key);
    }
}
