//! Token requests to Entra ID's v2 token endpoint and IMDS, and their answers. Microsoft's
//! error answers are kept whole (`error`, `error_description`, AADSTS codes) so the message can
//! say what went wrong and what to do; secrets sent in the form never appear in them, and any
//! secret a server echoes back is scrubbed from the text quoted. Every request is bounded by
//! the command's deadline and answers by a size cap, and none follows a redirect. Each request
//! leaves one `debug` line, without its query or form.

use serde::Deserialize;

use super::SignInError;
use super::secret::{AccessToken, RefreshToken};
use crate::http::{
    BodyError, Deadline, HttpAttempt, MAX_SIGN_IN_ANSWER, host_of, read_body, size_in_words,
    transport_cause,
};

/// A successful token answer.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: AccessToken,
    /// Seconds, within [`MAX_TOKEN_LIFETIME_SECONDS`].
    pub expires_in: i64,
    pub refresh_token: Option<RefreshToken>,
}

/// The longest token lifetime believed: Entra ID issues access tokens for one to about 28
/// hours, so a larger (or negative) `expires_in` is a broken answer, clamped into this range
/// rather than added to the clock.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 = 48 * 3600;
/// The lifetime assumed when an answer gives none that can be read.
const DEFAULT_TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// Entra ID's error body: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
}

/// POSTs a form to a token endpoint, within `deadline`.
pub async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    deadline: Deadline,
) -> Result<TokenGrant, SignInError> {
    let request = http.post(url).form(form);
    let (status, body) = exchange(url, request, deadline).await?;
    grant_from(url, status, &body)
}

/// Sends one sign-in request within `deadline` and reads its answer, up to
/// [`MAX_SIGN_IN_ANSWER`]. A redirect is an error: the request carries a secret (client secret,
/// refresh token, client assertion, device code), which must not go to the host a `Location`
/// names, and a token from that host must not be trusted.
pub async fn exchange(
    url: &str,
    request: reqwest::RequestBuilder,
    deadline: Deadline,
) -> Result<(u16, Vec<u8>), SignInError> {
    let host = host_of(url);
    let timed_out = || SignInError::TimedOut {
        host: host.clone(),
        seconds: deadline.budget().as_secs(),
    };
    let remaining = deadline.remaining();
    if remaining.is_zero() {
        return Err(timed_out());
    }
    let unreachable = |e: &reqwest::Error| SignInError::Unreachable {
        host: host.clone(),
        cause: transport_cause(e),
    };
    let broken = |e: &reqwest::Error| {
        if e.is_timeout() {
            timed_out()
        } else {
            unreachable(e)
        }
    };
    let (http, request) = request.timeout(remaining).build_split();
    let request = request.map_err(|e| unreachable(&e))?;
    let mut line = HttpAttempt::start(request.method(), request.url());
    let outcome = async {
        let mut response = http.execute(request).await.map_err(|e| {
            line.broke(&e);
            broken(&e)
        })?;
        let status = response.status();
        line.answered(status);
        if status.is_redirection() {
            let target = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| response.url().join(location).ok())
                .map(|target| target.origin().ascii_serialization())
                .unwrap_or_else(|| "no usable address".to_owned());
            return Err(SignInError::Redirected {
                host: host.clone(),
                status: status.as_u16(),
                target,
            });
        }
        let body = read_body(&mut response, MAX_SIGN_IN_ANSWER)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => {
                    line.broke(&e);
                    broken(&e)
                }
                BodyError::TooLarge { cap } => {
                    line.too_large();
                    SignInError::TooLarge {
                        host: host.clone(),
                        cap: size_in_words(cap),
                    }
                }
            })?;
        Ok((status.as_u16(), body))
    }
    .await;
    line.log(None);
    outcome
}

/// Reads a token answer, or the error it carries. A new refresh token is kept whatever else
/// is wrong with the answer that carried it: Entra ID has already spent the old one, so
/// dropping the new one would lose the sign-in.
pub fn grant_from(url: &str, status: u16, body: &[u8]) -> Result<TokenGrant, SignInError> {
    if !(200..300).contains(&status) {
        return Err(error_from(url, status, body));
    }
    let unusable = |detail: &str, rotated: Option<RefreshToken>| SignInError::UnusableGrant {
        host: host_of(url),
        detail: detail.to_owned(),
        rotated,
    };
    let Ok(serde_json::Value::Object(answer)) = serde_json::from_slice(body) else {
        return Err(unusable(
            "the token answer is not the JSON object Microsoft documents",
            None,
        ));
    };
    let refresh_token = match answer.get("refresh_token") {
        Some(serde_json::Value::String(token)) if !token.is_empty() => {
            Some(RefreshToken::new(token.as_str()))
        }
        _ => None,
    };
    let access_token = match answer.get("access_token") {
        Some(serde_json::Value::String(token)) if !token.trim().is_empty() => token,
        _ => {
            return Err(unusable(
                "the token answer has no usable access_token",
                refresh_token,
            ));
        }
    };
    // A number from Entra ID, a string from IMDS.
    let expires_in = match answer.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_f64().map(|f| f as i64),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    }
    .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECONDS)
    .clamp(0, MAX_TOKEN_LIFETIME_SECONDS);
    Ok(TokenGrant {
        access_token: AccessToken::new(access_token.as_str()),
        expires_in,
        refresh_token,
    })
}

/// The error a failed answer carries: Microsoft's OAuth error when the body is one.
pub fn error_from(url: &str, status: u16, body: &[u8]) -> SignInError {
    let text = String::from_utf8_lossy(body);
    let body = super::secret::scrub(&text);
    let body = body.as_bytes();
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
    // Before the excerpt is cut: a cut secret would no longer be recognised.
    let text = super::secret::scrub(&text);
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
