//! What the Defender API and Microsoft Graph share in answering a call, and where each words it
//! its own way. Both check the bearer token the same way ([`authorize`]), count calls against the
//! same quotas and refuse for the same reasons, and both answer errors as
//! `{"error": {"code", "message", …}}` with `WWW-Authenticate` on a 401 and `Retry-After` on a
//! 429; they differ in the rest of the error body, the codes and messages of refusals, the
//! permissions each operation needs and the wording of a missing incident. A [`Dialect`] holds
//! those differences, so that one error type ([`ApiError`]) and one admission step ([`admit`])
//! serve both.

use std::marker::PhantomData;

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::Value;

use super::access::{Refusal, Requirement, authorize};
use super::faults::ApiFamily;
use super::model::IncidentApi;
use super::odata::{FilterDialect, ListOptions};
use super::registrations::Api;
use super::tenant::Tenant;
use super::tokens::Principal;
use super::{EmulatorState, World};

/// How one API words what both share.
pub(crate) trait Dialect: Sized {
    /// The API whose audience the caller's token must carry.
    const API: Api;
    /// Whose ids name an incident.
    const INCIDENTS: IncidentApi;
    /// The error code of a 401.
    const UNAUTHENTICATED: &'static str;
    /// The `WWW-Authenticate` challenge of a 401.
    const CHALLENGE: &'static str;
    /// The API's OData: filter names, page size, query options.
    const ODATA: FilterDialect;
    /// The error code of a query its OData layer refuses.
    const ODATA_ERROR: &'static str;

    /// The application and delegated permissions, any one of which lets a call to `operation`
    /// through.
    fn permissions(operation: Operation) -> (&'static [&'static str], &'static [&'static str]);

    /// The error body for `code` and `message`; it may add headers of its own to `headers`.
    fn error_body(code: &str, message: &str, headers: &mut HeaderMap) -> Value;

    /// Why a token that is missing, unknown, expired or for another API was refused.
    fn unauthenticated(refusal: &Refusal) -> String;

    /// Why a token without any of the `needed` permissions of `kind` was refused.
    fn missing_permission(kind: &str, needed: &[&str]) -> String;

    /// The answer for an incident the API does not know.
    fn incident_not_found(id: &str) -> ApiError<Self>;
}

/// An error as API `D` answers it.
#[derive(Debug)]
pub(crate) struct ApiError<D> {
    status: StatusCode,
    code: String,
    message: String,
    retry_after: Option<u64>,
    dialect: PhantomData<D>,
}

impl<D> ApiError<D> {
    pub(crate) fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError<D> {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            dialect: PhantomData,
        }
    }

    pub(crate) fn throttled(message: String, retry_after: u64) -> ApiError<D> {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message)
        }
    }

    /// A query the API's OData layer refuses.
    pub(crate) fn odata(message: impl Into<String>) -> ApiError<D>
    where
        D: Dialect,
    {
        ApiError::new(StatusCode::BAD_REQUEST, D::ODATA_ERROR, message)
    }

    /// The status and message, for an API that words its error bodies differently.
    pub(crate) fn status_and_message(&self) -> (StatusCode, &str) {
        (self.status, &self.message)
    }
}

impl<D: Dialect> IntoResponse for ApiError<D> {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        let body = D::error_body(&self.code, &self.message, &mut headers);
        let mut response = (self.status, Json(body)).into_response();
        let response_headers = response.headers_mut();
        response_headers.extend(headers);
        if self.status == StatusCode::UNAUTHORIZED {
            response_headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(D::CHALLENGE),
            );
        }
        if let Some(seconds) = self.retry_after {
            response_headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl<D: Dialect> From<Refusal> for ApiError<D> {
    fn from(refusal: Refusal) -> ApiError<D> {
        match refusal {
            Refusal::MissingPermission { kind, needed } => ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                D::missing_permission(kind, needed),
            ),
            Refusal::Throttled {
                family,
                retry_after,
            } => ApiError::throttled(family.quota_message(retry_after), retry_after),
            unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                D::UNAUTHENTICATED,
                D::unauthenticated(&unauthenticated),
            ),
        }
    }
}

/// The operations the APIs offer; each API names its own permissions for them. Alerts and
/// detection rules are Graph's alone.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operation {
    ReadIncidents,
    UpdateIncident,
    RunHunting,
    ReadAlerts,
    UpdateAlert,
    ReadDetectionRules,
}

impl Operation {
    /// The quota a call counts against, the same through either API. Graph documents no limit
    /// of its own for alerts and detection rules
    /// (<https://learn.microsoft.com/graph/throttling-limits#security-detections-and-incidents-service-limits>),
    /// so they count against the incidents' quota.
    fn family(self) -> ApiFamily {
        match self {
            Operation::ReadIncidents
            | Operation::UpdateIncident
            | Operation::ReadAlerts
            | Operation::UpdateAlert
            | Operation::ReadDetectionRules => ApiFamily::Incidents,
            Operation::RunHunting => ApiFamily::Hunting,
        }
    }
}

/// Lets a request through if its bearer token is one of ours, unexpired, for API `D` and carries
/// a permission `operation` needs there, and the rate limit allows it. Returns who called.
pub(crate) fn admit<D: Dialect>(
    world: &mut World,
    headers: &HeaderMap,
    operation: Operation,
) -> Result<Principal, ApiError<D>> {
    let (application, delegated) = D::permissions(operation);
    let requirement = Requirement {
        api: D::API,
        application,
        delegated,
        family: operation.family(),
    };
    authorize(world, headers, &requirement).map_err(ApiError::from)
}

/// The query string's `(name, value)` pairs, or the API's refusal of it.
pub(crate) type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The pairs of `query`, or why the API's OData layer could not read it.
pub(crate) fn query_pairs<D: Dialect>(
    query: QueryPairs,
) -> Result<Vec<(String, String)>, ApiError<D>> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|rejection| ApiError::odata(D::ODATA.malformed_query(rejection)))
}

/// A `GET` of a collection: the operation it is and the OData its options are read in.
pub(crate) struct Listing {
    pub(crate) operation: Operation,
    pub(crate) odata: FilterDialect,
}

impl Listing {
    /// What every list request shares: admit the caller, read the list options; `answer` takes
    /// the page from the tenant at the clock's now and writes it, given the options and the
    /// page's size.
    pub(crate) fn answer<D: Dialect>(
        &self,
        state: &EmulatorState,
        headers: &HeaderMap,
        query: QueryPairs,
        answer: impl FnOnce(&Tenant, Timestamp, &ListOptions, usize) -> Response,
    ) -> Response {
        let mut world = state.world();
        if let Err(error) = admit::<D>(&mut world, headers, self.operation) {
            return error.into_response();
        }
        let options = query_pairs::<D>(query)
            .and_then(|pairs| ListOptions::parse(pairs, self.odata).map_err(ApiError::odata));
        let options = match options {
            Ok(options) => options,
            Err(error) => return error.into_response(),
        };
        let now = world.clock.now();
        let page_size = options.page_size(self.odata);
        answer(&world.tenant, now, &options, page_size)
    }
}
