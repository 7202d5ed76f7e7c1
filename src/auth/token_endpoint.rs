//! Token requests to Entra ID's v2 token endpoint and IMDS, and their answers. Microsoft's
//! error answers are kept whole (`error`, `error_description`, AADSTS codes) so the message can
//! say what went wrong and what to do; secrets sent in the form never appear in them.

use serde::Deserialize;

use super::SignInError;
use super::secret::{AccessToken, RefreshToken};
use crate::http::{host_of, transport_cause};

/// A successful token answer.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: AccessToken,
    pub expires_in: i64,
    pub refresh_token: Option<RefreshToken>,
}

#[derive(Deserialize)]
struct RawGrant {
    access_token: String,
    /// A number from Entra ID, a string from IMDS.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Entra ID's error body: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
}

/// POSTs a form to a token endpoint.
pub async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<TokenGrant, SignInError> {
    let response =
        http.post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| SignInError::Unreachable {
                host: host_of(url),
                cause: transport_cause(&e),
            })?;
    read_grant(url, response).await
}

/// Reads a token answer, or the error it carries.
pub async fn read_grant(url: &str, response: reqwest::Response) -> Result<TokenGrant, SignInError> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| SignInError::Unreachable {
            host: host_of(url),
            cause: transport_cause(&e),
        })?;
    if (200..300).contains(&status) {
        let raw: RawGrant =
            serde_json::from_slice(&body).map_err(|_| SignInError::UnexpectedAnswer {
                host: host_of(url),
                status,
                detail: "the token answer is not the JSON Microsoft documents".to_owned(),
            })?;
        let expires_in = match raw.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(3600),
            Some(serde_json::Value::String(s)) => s.parse().unwrap_or(3600),
            _ => 3600,
        };
        return Ok(TokenGrant {
            access_token: AccessToken::new(raw.access_token),
            expires_in,
            refresh_token: raw
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(RefreshToken::new),
        });
    }
    Err(error_from(url, status, &body))
}

/// The error a failed answer carries: Microsoft's OAuth error when the body is one.
pub fn error_from(url: &str, status: u16, body: &[u8]) -> SignInError {
    match serde_json::from_slice::<OAuthErrorBody>(body) {
        Ok(error) => SignInError::Rejected {
            status,
            error: error.error,
            description: first_sentence(&error.error_description),
            codes: error.error_codes,
        },
        Err(_) => SignInError::UnexpectedAnswer {
            host: host_of(url),
            status,
            detail: describe_body(body),
        },
    }
}

/// Entra ID appends trace and correlation ids and a timestamp to every description; the first
/// line is what a person needs.
fn first_sentence(description: &str) -> String {
    let line = description.lines().next().unwrap_or_default();
    line.split(" Trace ID:")
        .next()
        .unwrap_or(line)
        .trim()
        .to_owned()
}

/// A short, safe description of a body that is not the expected JSON.
pub fn describe_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        "the answer had an empty body".to_owned()
    } else if trimmed.starts_with('<') {
        "the answer was an HTML page, not JSON (a proxy or captive portal may be in the way)"
            .to_owned()
    } else {
        let excerpt: String = trimmed.chars().take(200).collect();
        format!("the answer was not JSON: {excerpt}")
    }
}
