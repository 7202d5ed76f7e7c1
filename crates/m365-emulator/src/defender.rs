//! What every Defender API endpoint shares: its error body, the permissions each operation needs
//! and how refused tokens and exhausted rate limits are worded. Defender answers errors as
//! `{"error": {"code", "message", "target"}}`
//! (<https://learn.microsoft.com/defender-xdr/api-error-codes>); the plugin's error messages and
//! retries depend on those codes and statuses, so they are produced in one place.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::access::{Refusal, Requirement, authorize};
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

    /// The status and message, for an API that words its error bodies differently.
    pub(crate) fn status_and_message(&self) -> (StatusCode, &str) {
        (self.status, &self.message)
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

    fn requirement(self) -> Requirement {
        Requirement {
            api: Api::Defender,
            application: self.application_permissions(),
            delegated: self.delegated_permissions(),
            family: self.family(),
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
    authorize(world, headers, &operation.requirement()).map_err(DefenderError::from)
}

impl From<Refusal> for DefenderError {
    fn from(refusal: Refusal) -> DefenderError {
        match refusal {
            Refusal::MissingBearer => DefenderError::unauthorized(
                "Authorization header is missing or is not a bearer token",
            ),
            Refusal::UnknownToken => DefenderError::unauthorized("The access token is invalid"),
            Refusal::Expired => DefenderError::unauthorized("The access token has expired"),
            Refusal::ForeignAudience(audience) => DefenderError::unauthorized(format!(
                "The access token was issued for another audience ('{audience}')"
            )),
            Refusal::MissingPermission { kind, needed } => DefenderError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "The application does not have any of the required {kind} permissions ({}) to access the resource.",
                    needed.join(", ")
                ),
            ),
            Refusal::Throttled {
                family,
                retry_after,
            } => DefenderError::throttled(family.quota_message(retry_after), retry_after),
        }
    }
}

/// Any path the emulator does not serve.
pub(crate) async fn unknown_route(method: Method, uri: Uri) -> DefenderError {
    DefenderError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No resource was found for {method} {}", uri.path()),
    )
}
