//! The signed JWT a confidential client presents instead of a secret when it signs in with a
//! certificate: https://learn.microsoft.com/entra/identity-platform/certificate-credentials

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::SignInError;
use super::secret::PrivateKeyPem;

/// Microsoft accepts assertions valid for at most ten minutes.
const LIFETIME_SECONDS: i64 = 600;

/// The claims Entra ID checks.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub aud: String,
    pub iss: String,
    pub sub: String,
    pub jti: String,
    pub nbf: i64,
    pub iat: i64,
    pub exp: i64,
}

/// Builds and signs the assertion for `token_url`.
pub fn build(
    client_id: &str,
    token_url: &str,
    thumbprint_hex: &str,
    private_key: &PrivateKeyPem,
    now: i64,
) -> Result<String, SignInError> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.x5t = Some(x5t(thumbprint_hex)?);
    let claims = AssertionClaims {
        aud: token_url.to_owned(),
        iss: client_id.to_owned(),
        sub: client_id.to_owned(),
        jti: format!("{:032x}", rand::random::<u128>()),
        nbf: now,
        iat: now,
        exp: now + LIFETIME_SECONDS,
    };
    let pem = normalize_pem(private_key.secret())?;
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
        SignInError::Certificate(
            "the private key is not a readable RSA key in PEM form (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`)".to_owned(),
        )
    })?;
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
        SignInError::Certificate(format!("the client assertion could not be signed ({e})"))
    })
}

/// `x5t` is the base64url of the certificate's SHA-1 thumbprint bytes; Azure shows the
/// thumbprint as hex (sometimes with spaces or colons).
fn x5t(thumbprint_hex: &str) -> Result<String, SignInError> {
    let digits: String = thumbprint_hex
        .chars()
        .filter(|c| !matches!(c, ' ' | ':' | '-'))
        .collect();
    let invalid = || {
        SignInError::Certificate(
            "the certificate thumbprint must be the 40 hex digits of its SHA-1 thumbprint, as the app's \"Certificates & secrets\" page shows it".to_owned(),
        )
    };
    if digits.len() != 40 {
        return Err(invalid());
    }
    let bytes = (0..40)
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Re-wraps a PEM block whose line breaks a platform turned into spaces (XSOAR's credential
/// fields do that) into the standard 64-column form.
fn normalize_pem(text: &str) -> Result<String, SignInError> {
    let text = text.trim();
    let missing = || {
        SignInError::Certificate(
            "the private key must be a PEM block starting with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----".to_owned(),
        )
    };
    let begin_start = text.find("-----BEGIN ").ok_or_else(missing)?;
    let label_start = begin_start + "-----BEGIN ".len();
    let label_len = text[label_start..].find("-----").ok_or_else(missing)?;
    let label = &text[label_start..label_start + label_len];
    let body_start = label_start + label_len + 5;
    let footer = format!("-----END {label}-----");
    let body_end = text[body_start..].find(&footer).ok_or_else(missing)? + body_start;
    let body: String = text[body_start..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).map_err(|_| missing())?);
        pem.push('\n');
    }
    pem.push_str(&footer);
    pem.push('\n');
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x5t_encodes_the_thumbprint_bytes() {
        let x = x5t("00 11:22-33445566778899AABBCCDDEEFF00112233").unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(x).unwrap(),
            [
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD,
                0xEE, 0xFF, 0x00, 0x11, 0x22, 0x33
            ]
        );
        assert!(x5t("abc").is_err());
    }

    const THUMBPRINT: &str = "6048FC7C5F9329938D7CCC3B85FE113BC920EFDA";
    const TOKEN_URL: &str = "https://login.example/tenant/oauth2/v2.0/token";

    /// Verifies the signature with the certificate's public key and returns header and claims.
    fn verify(assertion: &str) -> (jsonwebtoken::Header, AssertionClaims) {
        let public = include_str!("../../test_data/certs/demo-public-key.pem");
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(public.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&[TOKEN_URL]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).unwrap();
        (data.header, data.claims)
    }

    #[test]
    fn the_assertion_is_signed_and_carries_every_claim() {
        let key = PrivateKeyPem::new(include_str!("../../test_data/certs/demo-key.pem"));
        let now = jiff::Timestamp::now().as_second();
        let assertion = build("client-1", TOKEN_URL, THUMBPRINT, &key, now).unwrap();
        let (header, claims) = verify(&assertion);
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.x5t, Some(x5t(THUMBPRINT).unwrap()));
        assert_eq!(claims.aud, TOKEN_URL);
        assert_eq!(
            (claims.iss.as_str(), claims.sub.as_str()),
            ("client-1", "client-1")
        );
        assert_eq!(claims.jti.len(), 32);
        assert_eq!((claims.nbf, claims.iat), (now, now));
        assert!(claims.exp > now && claims.exp - now <= 600);
        let again = build("client-1", TOKEN_URL, THUMBPRINT, &key, now).unwrap();
        assert_ne!(verify(&again).1.jti, claims.jti, "jti is fresh each time");
    }

    #[test]
    fn pkcs1_and_flattened_keys_sign_too() {
        let now = jiff::Timestamp::now().as_second();
        let pkcs1 = include_str!("../../test_data/certs/demo-key-pkcs1.pem");
        let flattened = include_str!("../../test_data/certs/demo-key.pem").replace('\n', " ");
        for pem in [pkcs1.to_owned(), flattened] {
            let assertion =
                build("c", TOKEN_URL, THUMBPRINT, &PrivateKeyPem::new(pem), now).unwrap();
            verify(&assertion);
        }
    }

    #[test]
    fn errors_never_quote_the_key() {
        let err = build(
            "c",
            TOKEN_URL,
            THUMBPRINT,
            &PrivateKeyPem::new("-----BEGIN PRIVATE KEY----- c2VjcmV0 -----END PRIVATE KEY-----"),
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }

    #[test]
    fn pem_with_spaces_for_newlines_is_rewrapped() {
        let flattened = "-----BEGIN PRIVATE KEY----- QUJD REVG -----END PRIVATE KEY-----";
        assert_eq!(
            normalize_pem(flattened).unwrap(),
            "-----BEGIN PRIVATE KEY-----\nQUJDREVG\n-----END PRIVATE KEY-----\n"
        );
        assert!(normalize_pem("not a key").is_err());
    }
}
