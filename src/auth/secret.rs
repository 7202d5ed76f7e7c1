//! Newtypes for every secret the integration handles. Their `Debug` prints `[redacted]` and they
//! have no `Display`, so a secret cannot reach a log line or an error message by accident:
//! reading one takes an explicit `.secret()` call.

use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = RefreshToken::new("rt-very-secret");
        assert_eq!(format!("{token:?}"), "RefreshToken([redacted])");
        assert_eq!(token.secret(), "rt-very-secret");
    }
}
