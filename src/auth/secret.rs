//! Newtypes for every secret the integration handles. Their `Debug` prints `[redacted]` and they
//! have no `Display`, so a secret cannot reach a log line or an error message by accident:
//! reading one takes an explicit `.secret()` call.
//!
//! Our own code is kept honest that way, but a server is not: one that echoes the request (a
//! proxy's error page, a test endpoint, a hostile host) can send a bearer token or a form with
//! the client secret back inside its error text. So every secret made in this process is also
//! remembered here, and [`scrub`] takes each of them out of any text quoted from a server
//! before it reaches an entry or stderr.

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

/// Every secret value this process has handled, in the spellings a server could send it back
/// in: as it is, form-encoded, and JSON-escaped.
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Shorter values are not scrubbed: replacing every "abc" in a message would garble it, and no
/// credential Microsoft issues is that short.
const MIN_SCRUBBED_LEN: usize = 6;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

fn remember(value: &str) {
    if value.len() < MIN_SCRUBBED_LEN {
        return;
    }
    let form: String = reqwest::Url::parse_with_params("x:", [("", value)])
        .ok()
        .and_then(|url| url.query().map(|q| q.trim_start_matches('=').to_owned()))
        .unwrap_or_default();
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    let mut known = KNOWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for spelling in [value.to_owned(), form, json] {
        if spelling.len() >= MIN_SCRUBBED_LEN && !known.contains(&spelling) {
            known.push(spelling);
        }
    }
    // Longest first: a secret that contains another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every secret this process knows replaced by `[redacted]`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = KNOWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut text = Cow::Borrowed(text);
    for secret in known.iter() {
        if text.contains(secret.as_str()) {
            text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
        }
    }
    text
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                let value = value.into();
                remember(&value);
                Self(value)
            }

            /// The secret itself, for the one place that must send it.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// An OAuth access token (a bearer credential for the API).
    AccessToken
);
secret_type!(
    /// An OAuth refresh token; it rotates on every use.
    RefreshToken
);
secret_type!(
    /// An app registration's client secret.
    ClientSecret
);
secret_type!(
    /// A PEM private key of a certificate registered with the app.
    PrivateKeyPem
);
secret_type!(
    /// A device code between auth-start and auth-complete.
    DeviceCode
);
secret_type!(
    /// A signed client assertion: whoever holds it signs in as the app until it expires.
    ClientAssertion
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = RefreshToken::new("rt-very-secret");
        assert_eq!(format!("{token:?}"), "RefreshToken([redacted])");
        assert_eq!(token.secret(), "rt-very-secret");
    }

    #[test]
    fn every_secret_made_is_scrubbed_in_each_spelling() {
        let secret = ClientSecret::new("s3cr+t/with=chars\\\"quoted\"");
        let raw = secret.secret().to_owned();
        let echoed = format!(
            "raw {raw} form client_secret=s3cr%2Bt%2Fwith%3Dchars%5C%22quoted%22 json {}",
            serde_json::to_string(&raw).unwrap()
        );
        let scrubbed = scrub(&echoed);
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
        assert_eq!(scrubbed.matches(REDACTED).count(), 3, "{scrubbed}");
        assert_eq!(scrub("nothing secret here"), "nothing secret here");
        let _short = AccessToken::new("abc");
        assert_eq!(scrub("abc"), "abc", "too short to scrub");
    }
}
