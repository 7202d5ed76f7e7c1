//! How the Defender API words what it shares with Graph ([`super::dialect`]): its error body, the
//! permissions each operation needs and how refused tokens are worded. Defender answers errors as
//! `{"error": {"code", "message", "target"}}`
//! (<https://learn.microsoft.com/defender-xdr/api-error-codes>); the plugin's error messages and
//! retries depend on those codes and statuses, so they are produced in one place.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};

use super::access::Refusal;
use super::dialect::{ApiError, Dialect, Operation};
use super::model::IncidentApi;
use super::odata::FilterDialect;
use super::registrations::Api;
use super::{incidents, tenant};

/// The Defender API's wording.
#[derive(Debug)]
pub(crate) struct Defender;

/// An error as the Defender API answers it.
pub(crate) type DefenderError = ApiError<Defender>;

impl DefenderError {
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> DefenderError {
        DefenderError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl Dialect for Defender {
    const API: Api = Api::Defender;
    const INCIDENTS: IncidentApi = IncidentApi::Defender;
    const UNAUTHENTICATED: &'static str = "Unauthorized";
    const CHALLENGE: &'static str = "Bearer";
    const ODATA: FilterDialect = FilterDialect::Defender;
    const ODATA_ERROR: &'static str = "ODataError";

    /// <https://learn.microsoft.com/defender-xdr/api-list-incidents#permissions>,
    /// <https://learn.microsoft.com/defender-xdr/api-update-incidents#permissions>,
    /// <https://learn.microsoft.com/defender-xdr/api-advanced-hunting#permissions>.
    fn permissions(operation: Operation) -> (&'static [&'static str], &'static [&'static str]) {
        match operation {
            Operation::ReadIncidents => (
                &["Incident.Read.All", "Incident.ReadWrite.All"],
                &["Incident.Read", "Incident.ReadWrite"],
            ),
            Operation::UpdateIncident => (&["Incident.ReadWrite.All"], &["Incident.ReadWrite"]),
            Operation::RunHunting => (&["AdvancedHunting.Read.All"], &["AdvancedHunting.Read"]),
            // Graph's alone: the Defender API serves no route that asks for them.
            Operation::ReadAlerts | Operation::UpdateAlert | Operation::ReadDetectionRules => {
                (&[], &[])
            }
        }
    }

    fn error_body(code: &str, message: &str, _: &mut HeaderMap) -> Value {
        let target = tenant::guid(&mut rand::rng());
        json!({"error": {"code": code, "message": message, "target": target}})
    }

    fn unauthenticated(refusal: &Refusal) -> String {
        match refusal {
            Refusal::MissingBearer => {
                "Authorization header is missing or is not a bearer token".to_owned()
            }
            Refusal::Expired => "The access token has expired".to_owned(),
            Refusal::ForeignAudience(audience) => {
                format!("The access token was issued for another audience ('{audience}')")
            }
            _ => "The access token is invalid".to_owned(),
        }
    }

    fn missing_permission(kind: &str, needed: &[&str]) -> String {
        format!(
            "The application does not have any of the required {kind} permissions ({}) to access the resource.",
            needed.join(", ")
        )
    }

    fn incident_not_found(id: &str) -> DefenderError {
        incidents::not_found(id)
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
