//! The sign-in commands: device code steps, token reset and the connection test.

use serde_json::{Map, Value};

use super::Outcome;
use crate::auth::token_cache;
use crate::output::{Entry, ResultItem};

/// `microsoft-365-defender-auth-reset`: forgets every token and pending device code, keeping
/// context keys that are not ours.
pub fn reset(context: &mut Map<String, Value>) -> Outcome {
    token_cache::forget_all(context);
    Outcome::single(ResultItem::Entry(Entry::note(
        "Authorization was reset successfully. Please regenerate the credentials, and then click **Test** to validate the credentials and connection.",
        Value::Null,
    )))
}
