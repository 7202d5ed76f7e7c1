//! The Microsoft 365 Defender API client: every request carries a bearer token from the
//! [`Session`]; a 401 gets one fresh token and one retry; Microsoft's error answers become
//! messages in XSOAR's wording with Microsoft's own code and message added.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{Session, SignInError};
use crate::http::{host_of, transport_cause};

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("The Microsoft 365 Defender API at {host} could not be reached: {cause}.")]
    Unreachable { host: String, cause: String },
    #[error("{}", status_message(*status, detail))]
    Status { status: u16, detail: String },
    #[error(
        "The Microsoft 365 Defender API answered with something that is not the JSON it documents: {0}."
    )]
    Malformed(String),
}

/// XSOAR's "Error in API call [<status>] - <reason>", then what Microsoft said.
fn status_message(status: u16, detail: &str) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown status");
    format!("Error in API call [{status}] - {reason}\n{detail}")
}

/// Microsoft's error body: `{"error": {"code": …, "message": …}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// What a failed answer's body says, worded for a person.
fn describe_error_body(body: &[u8]) -> String {
    if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
        return match (error.code, error.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(text), None) | (None, Some(text)) => text,
            (None, None) => "no error details were given".to_owned(),
        };
    }
    crate::auth::describe_body(body)
}

/// A client for one command run.
pub struct DefenderApi<'s, 'a> {
    session: &'s mut Session<'a>,
    base: String,
    timeout: Duration,
}

impl<'s, 'a> DefenderApi<'s, 'a> {
    /// `timeout` bounds each request.
    pub fn new(session: &'s mut Session<'a>, timeout: Duration) -> DefenderApi<'s, 'a> {
        let base = session.config().endpoints.api_base.clone();
        DefenderApi {
            session,
            base,
            timeout,
        }
    }

    /// Sends one request and returns the JSON answer.
    pub async fn send_json(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut token = self.session.access_token().await?;
        let mut renewed = false;
        loop {
            let mut request = self
                .session
                .http()
                .request(method.clone(), &url)
                .timeout(self.timeout)
                .bearer_auth(token.secret());
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| ApiError::Unreachable {
                host: host_of(&url),
                cause: transport_cause(&e),
            })?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| ApiError::Unreachable {
                host: host_of(&url),
                cause: transport_cause(&e),
            })?;
            if status == StatusCode::UNAUTHORIZED && !renewed {
                // The token may have been revoked or expired early: one new token, one retry.
                tracing::debug!("the API refused the access token; renewing it once");
                token = self.session.renew().await?;
                renewed = true;
                continue;
            }
            if !status.is_success() {
                return Err(ApiError::Status {
                    status: status.as_u16(),
                    detail: describe_error_body(&bytes),
                });
            }
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes)
                .map_err(|_| ApiError::Malformed(crate::auth::describe_body(&bytes)));
        }
    }
}
