//! Verifies the signed JWT that proves a client holds its certificate's private key (the
//! certificate credential flow). Entra ID's rules
//! (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>): RS256 (or
//! PS256) signature by the uploaded certificate, header `x5t` = base64url of the certificate's
//! SHA-1 thumbprint, `aud` = the token endpoint, `iss` = `sub` = the client id, `exp` in the future
//! and `nbf` not, and a `jti` that is never accepted twice. A plugin that gets any of these wrong
//! fails here rather than against a customer's tenant.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::{DEMO_CERT_PEM, DEMO_CERT_THUMBPRINT};

/// Entra ID tolerates this much clock difference on `exp` and `nbf`.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// A certificate uploaded to an app registration: its public key and the thumbprint Entra shows.
pub(crate) struct RegisteredCertificate {
    thumbprint_hex: &'static str,
    key: DecodingKey,
}

impl RegisteredCertificate {
    pub(crate) fn demo() -> RegisteredCertificate {
        RegisteredCertificate {
            thumbprint_hex: DEMO_CERT_THUMBPRINT,
            key: DecodingKey::from_rsa_pem(DEMO_CERT_PEM.as_bytes())
                .expect("the embedded demo certificate is valid PEM"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum AssertionError {
    #[error("JWT token is invalid or malformed.")]
    Malformed,
    #[error(
        "Client assertion failed signature validation. (Reason - The key was not found., Thumbprint of key used by client: '{0}'. Please check the keys configured for the app registration.)"
    )]
    UnknownKey(String),
    #[error(
        "Client assertion failed signature validation. (Reason - The provided signature value did not match the expected signature value.)"
    )]
    BadSignature,
    #[error(
        "Client assertion failed validation: the audience claim '{found}' is not the token endpoint ('{expected}')."
    )]
    WrongAudience { found: String, expected: String },
    #[error("Client assertion application identifier doesn't match 'client_id' parameter.")]
    WrongIssuer,
    #[error(
        "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {not_before}, expiry time of assertion {expires}."
    )]
    OutsideValidity {
        now: String,
        not_before: String,
        expires: String,
    },
    #[error("Client assertion failed validation: it has no 'jti' claim.")]
    MissingJti,
    #[error(
        "Client assertion failed validation: its 'jti' was already used. Assertions cannot be replayed."
    )]
    Replayed,
}

impl AssertionError {
    /// The AADSTS code Entra ID reports for this failure.
    pub(crate) fn code(&self) -> u32 {
        match self {
            AssertionError::Malformed => 50027,
            AssertionError::WrongIssuer => 700021,
            AssertionError::OutsideValidity { .. } => 700024,
            AssertionError::UnknownKey(_)
            | AssertionError::BadSignature
            | AssertionError::WrongAudience { .. }
            | AssertionError::MissingJti
            | AssertionError::Replayed => 700027,
        }
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    aud: Option<serde_json::Value>,
    iss: Option<String>,
    sub: Option<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
    jti: Option<String>,
}

fn instant(seconds: Option<f64>) -> Option<Timestamp> {
    seconds.and_then(|seconds| Timestamp::from_second(seconds as i64).ok())
}

/// Checks `assertion` for `client_id`. `audiences` are the token endpoint URLs accepted as `aud`,
/// the first being the one named in errors. `used` remembers redeemed `jti`s until they expire.
pub(crate) fn verify(
    assertion: &str,
    certificate: &RegisteredCertificate,
    client_id: &str,
    audiences: &[String],
    now: Timestamp,
    used: &mut HashMap<String, Timestamp>,
) -> Result<(), AssertionError> {
    let header = decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    let thumbprint = header
        .x5t
        .as_deref()
        .and_then(|x5t| URL_SAFE_NO_PAD.decode(x5t.trim_end_matches('=')).ok())
        .map(|bytes| {
            bytes
                .iter()
                .map(|byte| format!("{byte:02X}"))
                .collect::<String>()
        })
        .unwrap_or_default();
    if !thumbprint.eq_ignore_ascii_case(certificate.thumbprint_hex) {
        return Err(AssertionError::UnknownKey(thumbprint));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = vec![Algorithm::RS256, Algorithm::PS256];
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    let claims = decode::<AssertionClaims>(assertion, &certificate.key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {
                AssertionError::BadSignature
            }
            _ => AssertionError::Malformed,
        })?
        .claims;

    let audience_matches = |audience: &str| {
        audiences
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(audience))
    };
    let audience_ok = match &claims.aud {
        Some(serde_json::Value::String(audience)) => audience_matches(audience),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|item| item.as_str())
            .any(audience_matches),
        _ => false,
    };
    if !audience_ok {
        return Err(AssertionError::WrongAudience {
            found: claims.aud.map(|aud| aud.to_string()).unwrap_or_default(),
            expected: audiences.first().cloned().unwrap_or_default(),
        });
    }
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err(AssertionError::WrongIssuer);
    }
    let expires = instant(claims.exp);
    let not_before = instant(claims.nbf);
    let expired = expires.is_none_or(|expires| expires + CLOCK_SKEW <= now);
    let premature = not_before.is_some_and(|not_before| not_before - CLOCK_SKEW > now);
    if expired || premature {
        let show = |time: Option<Timestamp>| {
            time.map_or_else(|| "(none)".to_owned(), |time| time.to_string())
        };
        return Err(AssertionError::OutsideValidity {
            now: now.to_string(),
            not_before: show(not_before),
            expires: show(expires),
        });
    }
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty())
        .ok_or(AssertionError::MissingJti)?;
    used.retain(|_, expiry| *expiry + CLOCK_SKEW > now);
    if used.contains_key(&jti) {
        return Err(AssertionError::Replayed);
    }
    used.insert(jti, expires.unwrap_or(now));
    Ok(())
}
