//! Microsoft Graph's security API over the same tenant as the emulated Defender API: the legacy
//! API retires on 1 Feb 2027 and Graph takes its place, so the plugin must be tried against both,
//! and an incident must read the same through either (same ids, times, owners, tags, comments
//! and alerts), only in Graph's shapes: string ids, camelCase enumerations, `$expand=alerts`,
//! pages of 50 with an absolute `@odata.nextLink`, alert evidence typed by `@odata.type`, comments
//! through their own endpoint, and Graph's errors
//! (`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`,
//! <https://learn.microsoft.com/graph/errors>).
//!
//! Routes, under `/v1.0`: `GET /security/incidents`, `GET|PATCH /security/incidents/{id}`,
//! `POST /security/incidents/{id}/comments` ([`incidents`]) and `POST /security/runHuntingQuery`
//! ([`hunting`]). Tokens must carry Graph's audience and Graph's permissions
//! (`SecurityIncident.Read.All`/`SecurityIncident.ReadWrite.All`, `ThreatHunting.Read.All`).

mod hunting;
mod incidents;
mod shapes;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jiff::Timestamp;
use serde_json::json;

use super::access::{Refusal, Requirement, authorize};
use super::defender::DefenderError;
use super::faults::ApiFamily;
use super::registrations::Api;
use super::tokens::Principal;
use super::{EmulatorState, World, tenant};

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");
/// The `Prefer` token that unlocks the members of evolvable enumerations after
/// `unknownFutureValue`.
const INCLUDE_UNKNOWN_ENUM_MEMBERS: &str = "include-unknown-enum-members";

/// The Graph routes, merged into the emulator's router.
pub(crate) fn router() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route(
            "/v1.0/security/incidents",
            get(incidents::list).fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/incidents/{id}",
            get(incidents::get)
                .patch(incidents::update)
                .fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/incidents/{id}/comments",
            post(incidents::add_comment).fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/runHuntingQuery",
            post(hunting::run).fallback(unsupported_method),
        )
        .route("/v1.0/{*rest}", any(unknown_segment))
        .layer(from_fn(stamp_headers))
}

/// An error as Microsoft Graph answers it.
#[derive(Debug)]
pub(crate) struct GraphError {
    status: StatusCode,
    code: String,
    message: String,
    retry_after: Option<u64>,
}

impl GraphError {
    pub(crate) fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> GraphError {
        GraphError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    fn unauthenticated(message: impl Into<String>) -> GraphError {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut rng = rand::rng();
        let request_id = tenant::guid(&mut rng);
        let client_request_id = tenant::guid(&mut rng);
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }});
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        for (name, value) in [
            (REQUEST_ID, request_id),
            (CLIENT_REQUEST_ID, client_request_id),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The incident validation shared with the Defender API reports in Defender's error type; Graph
/// reports the same status and message in its own body.
impl From<DefenderError> for GraphError {
    fn from(error: DefenderError) -> GraphError {
        let (status, message) = error.status_and_message();
        let code = match status {
            StatusCode::BAD_REQUEST => "BadRequest".to_owned(),
            StatusCode::NOT_FOUND => "NotFound".to_owned(),
            other => other
                .canonical_reason()
                .unwrap_or("UnknownError")
                .split_whitespace()
                .collect(),
        };
        GraphError::new(status, code, message)
    }
}

impl From<Refusal> for GraphError {
    fn from(refusal: Refusal) -> GraphError {
        match refusal {
            Refusal::MissingBearer => GraphError::unauthenticated("Access token is empty."),
            Refusal::UnknownToken => {
                GraphError::unauthenticated("Access token validation failure. Invalid signature.")
            }
            Refusal::Expired => {
                GraphError::unauthenticated("Lifetime validation failed, the token is expired.")
            }
            Refusal::ForeignAudience(audience) => GraphError::unauthenticated(format!(
                "Access token validation failure. Invalid audience '{audience}'."
            )),
            Refusal::MissingPermission { kind, needed } => {
                let message = match kind {
                    "application" => format!(
                        "Missing application roles. API required roles: {}.",
                        needed.join(", ")
                    ),
                    _ => format!(
                        "Missing scope permissions on the request. API requires one of '{}'.",
                        needed.join(", ")
                    ),
                };
                GraphError::new(StatusCode::FORBIDDEN, "Forbidden", message)
            }
            Refusal::Throttled {
                family,
                retry_after,
            } => GraphError {
                retry_after: Some(retry_after),
                ..GraphError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    family.quota_message(retry_after),
                )
            },
        }
    }
}

/// The Graph security operations and the permissions each needs
/// (<https://learn.microsoft.com/graph/api/security-list-incidents#permissions>,
/// <https://learn.microsoft.com/graph/api/security-incident-update#permissions>,
/// <https://learn.microsoft.com/graph/api/security-security-runhuntingquery#permissions>).
/// Graph's security permissions have the same names for apps and users. The calls count against
/// the same quotas as the Defender API's.
#[derive(Clone, Copy, Debug)]
pub(crate) enum GraphOperation {
    ReadIncidents,
    UpdateIncident,
    RunHunting,
}

impl GraphOperation {
    fn requirement(self) -> Requirement {
        let (permissions, family): (&'static [&'static str], ApiFamily) = match self {
            GraphOperation::ReadIncidents => (
                &[
                    "SecurityIncident.Read.All",
                    "SecurityIncident.ReadWrite.All",
                ],
                ApiFamily::Incidents,
            ),
            GraphOperation::UpdateIncident => {
                (&["SecurityIncident.ReadWrite.All"], ApiFamily::Incidents)
            }
            GraphOperation::RunHunting => (&["ThreatHunting.Read.All"], ApiFamily::Hunting),
        };
        Requirement {
            api: Api::MicrosoftGraph,
            application: permissions,
            delegated: permissions,
            family,
        }
    }
}

/// Lets a request through if its bearer token is a Graph token with a permission `operation`
/// needs, and the rate limit allows it. Returns who called.
pub(crate) fn admit(
    world: &mut World,
    headers: &HeaderMap,
    operation: GraphOperation,
) -> Result<Principal, GraphError> {
    authorize(world, headers, &operation.requirement()).map_err(GraphError::from)
}

/// Whether the request sent `Prefer: include-unknown-enum-members`.
pub(crate) fn wants_unknown_enum_members(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| {
            preference
                .trim()
                .eq_ignore_ascii_case(INCLUDE_UNKNOWN_ENUM_MEMBERS)
        })
}

/// Graph stamps every answer with a `request-id` (and echoes the caller's `client-request-id`),
/// and confirms an honoured preference with `Preference-Applied`.
async fn stamp_headers(request: Request, next: Next) -> Response {
    let client_request_id = request.headers().get(CLIENT_REQUEST_ID).cloned();
    let opted_in = wants_unknown_enum_members(request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(REQUEST_ID) {
        let request_id = tenant::guid(&mut rand::rng());
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert(REQUEST_ID, value.clone());
            headers
                .entry(CLIENT_REQUEST_ID)
                .or_insert(client_request_id.unwrap_or(value));
        }
    }
    if opted_in {
        headers.insert(
            PREFERENCE_APPLIED,
            HeaderValue::from_static(INCLUDE_UNKNOWN_ENUM_MEMBERS),
        );
    }
    response
}

/// A path under `/v1.0` that names no resource: Graph's OData layer refuses the segment it could
/// not resolve.
async fn unknown_segment(uri: Uri) -> GraphError {
    let segment = uri
        .path()
        .rsplit('/')
        .find(|segment| !segment.is_empty())
        .unwrap_or("v1.0");
    GraphError::bad_request(format!("Resource not found for the segment '{segment}'."))
}

async fn unsupported_method(method: Method, uri: Uri) -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "BadRequest",
        format!(
            "The HTTP method '{method}' is not allowed for the resource '{}'.",
            uri.path()
        ),
    )
}

/// The error body of a fault injected on a Graph route.
pub(crate) fn fault_response(status: StatusCode) -> Response {
    let code: String = status
        .canonical_reason()
        .unwrap_or("Error")
        .split_whitespace()
        .collect();
    GraphError::new(status, code, "Something went wrong").into_response()
}
