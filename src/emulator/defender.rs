//! What every Defender API endpoint shares: its error body, the bearer-token check with the
//! permissions each operation needs, and the rate limits. Defender answers errors as
//! `{"error": {"code", "message", "target"}}`
//! (<https://learn.microsoft.com/defender-xdr/api-error-codes>); the plugin's error messages and
//! retries depend on those codes and statuses, so they are produced in one place.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::faults::ApiFamily;
use super::registrations::Api;
use super::tokens::Principal;
use super::{World, tenant};

#[derive(Debug)]
pub(crate) struct DefenderError {
    status: StatusCode,
    code: String,
    message: String,
    retry_after: Option<u64>,
}

impl DefenderError {
    pub(crate) fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> DefenderError {
        DefenderError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> DefenderError {
        DefenderError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn throttled(message: String, retry_after: u64) -> DefenderError {
        DefenderError {
            retry_after: Some(retry_after),
            ..DefenderError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message)
        }
    }

    fn unauthorized(message: impl Into<String>) -> DefenderError {
        DefenderError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }
}

impl IntoResponse for DefenderError {
    fn into_response(self) -> Response {
        let target = tenant::guid(&mut rand::rng());
        let body = json!({"error": {"code": self.code, "message": self.message, "target": target}});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The operations of the Defender API and the permissions each needs
/// (<https://learn.microsoft.com/defender-xdr/api-list-incidents#permissions>,
/// <https://learn.microsoft.com/defender-xdr/api-update-incidents#permissions>,
/// <https://learn.microsoft.com/defender-xdr/api-advanced-hunting#permissions>).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operation {
    ReadIncidents,
    UpdateIncident,
    RunHunting,
}

impl Operation {
    fn application_permissions(self) -> &'static [&'static str] {
        match self {
            Operation::ReadIncidents => &["Incident.Read.All", "Incident.ReadWrite.All"],
            Operation::UpdateIncident => &["Incident.ReadWrite.All"],
            Operation::RunHunting => &["AdvancedHunting.Read.All"],
        }
    }

    fn delegated_permissions(self) -> &'static [&'static str] {
        match self {
            Operation::ReadIncidents => &["Incident.Read", "Incident.ReadWrite"],
            Operation::UpdateIncident => &["Incident.ReadWrite"],
            Operation::RunHunting => &["AdvancedHunting.Read"],
        }
    }

    fn family(self) -> ApiFamily {
        match self {
            Operation::ReadIncidents | Operation::UpdateIncident => ApiFamily::Incidents,
            Operation::RunHunting => ApiFamily::Hunting,
        }
    }
}

/// Lets a request through if its bearer token is one of ours, unexpired, for the Defender API and
/// carries a permission `operation` needs, and the rate limit allows it. Returns who called.
pub(crate) fn admit(
    world: &mut World,
    headers: &HeaderMap,
    operation: Operation,
) -> Result<Principal, DefenderError> {
    let now = world.clock.now();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| {
            DefenderError::unauthorized("Authorization header is missing or is not a bearer token")
        })?;
    let token = world
        .tokens
        .access(bearer)
        .ok_or_else(|| DefenderError::unauthorized("The access token is invalid"))?;
    if now >= token.expires_at {
        return Err(DefenderError::unauthorized("The access token has expired"));
    }
    if token.resource.api != Api::Defender {
        return Err(DefenderError::unauthorized(format!(
            "The access token was issued for another audience ('{}')",
            token.resource.identifier
        )));
    }
    let (held, needed, kind) = match token.principal {
        Principal::App { .. } => (
            &token.roles,
            operation.application_permissions(),
            "application",
        ),
        Principal::User { .. } => (
            &token.scopes,
            operation.delegated_permissions(),
            "delegated",
        ),
    };
    if !held.iter().any(|permission| needed.contains(permission)) {
        return Err(DefenderError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "The application does not have any of the required {kind} permissions ({}) to access the resource.",
                needed.join(", ")
            ),
        ));
    }
    let principal = token.principal.clone();
    let family = operation.family();
    world
        .rate_limits
        .admit(family, now)
        .map_err(|retry_after| {
            DefenderError::throttled(family.quota_message(retry_after), retry_after)
        })?;
    Ok(principal)
}

/// Any path the emulator does not serve.
pub(crate) async fn unknown_route(method: Method, uri: Uri) -> DefenderError {
    DefenderError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No resource was found for {method} {}", uri.path()),
    )
}
