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
//! `POST /security/incidents/{id}/comments` ([`incidents`]), `GET /security/alerts_v2`,
//! `GET|PATCH /security/alerts_v2/{id}`, `POST /security/alerts_v2/{id}/comments` ([`alerts`]),
//! `GET /security/rules/detectionRules[/{id}]` ([`rules`]) and
//! `POST /security/runHuntingQuery` ([`hunting`]). Tokens must carry Graph's audience and
//! Graph's permissions (`SecurityIncident.Read.All`/`SecurityIncident.ReadWrite.All`,
//! `SecurityAlert.Read.All`/`SecurityAlert.ReadWrite.All`, `CustomDetection.Read.All`,
//! `ThreatHunting.Read.All`).

mod alerts;
mod hunting;
mod incidents;
mod rules;
mod shapes;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value, json};

use super::access::Refusal;
use super::defender::DefenderError;
use super::dialect::{ApiError, Dialect, Operation, admit};
use super::model::{Comment, IncidentApi};
use super::odata::{FilterDialect, ListOptions};
use super::registrations::Api;
use super::tenant::Page;
use super::{EmulatorState, NOT_UNRESERVED, tenant};
use crate::vocabulary::{Enumeration, Member};
use shapes::Rendering;

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
            "/v1.0/security/alerts_v2",
            get(alerts::list).fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/alerts_v2/{id}",
            get(alerts::get)
                .patch(alerts::update)
                .fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/alerts_v2/{id}/comments",
            post(alerts::add_comment).fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/rules/detectionRules",
            get(rules::list).fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/rules/detectionRules/{id}",
            get(rules::get).fallback(unsupported_method),
        )
        .route(
            "/v1.0/security/runHuntingQuery",
            post(hunting::run).fallback(unsupported_method),
        )
        .route("/v1.0/{*rest}", any(unknown_segment))
        .layer(from_fn(stamp_headers))
}

/// Microsoft Graph's wording.
#[derive(Debug)]
pub(crate) struct Graph;

/// An error as Microsoft Graph answers it.
pub(crate) type GraphError = ApiError<Graph>;

impl GraphError {
    pub(crate) fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
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

impl Dialect for Graph {
    const API: Api = Api::MicrosoftGraph;
    const INCIDENTS: IncidentApi = IncidentApi::Graph;
    const UNAUTHENTICATED: &'static str = "InvalidAuthenticationToken";
    const ODATA: FilterDialect = FilterDialect::Graph;
    const ODATA_ERROR: &'static str = "BadRequest";
    const CHALLENGE: &'static str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

    /// <https://learn.microsoft.com/graph/api/security-list-incidents#permissions>,
    /// <https://learn.microsoft.com/graph/api/security-incident-update#permissions>,
    /// <https://learn.microsoft.com/graph/api/security-security-runhuntingquery#permissions>,
    /// <https://learn.microsoft.com/graph/api/security-list-alerts_v2#permissions>,
    /// <https://learn.microsoft.com/graph/api/security-alert-update#permissions>,
    /// <https://learn.microsoft.com/graph/api/security-rulesroot-list-detectionrules#permissions>.
    /// Graph's security permissions have the same names for apps and users.
    fn permissions(operation: Operation) -> (&'static [&'static str], &'static [&'static str]) {
        let permissions: &'static [&'static str] = match operation {
            Operation::ReadIncidents => &[
                "SecurityIncident.Read.All",
                "SecurityIncident.ReadWrite.All",
            ],
            Operation::UpdateIncident => &["SecurityIncident.ReadWrite.All"],
            Operation::RunHunting => &["ThreatHunting.Read.All"],
            Operation::ReadAlerts => &["SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"],
            Operation::UpdateAlert => &["SecurityAlert.ReadWrite.All"],
            Operation::ReadDetectionRules => {
                &["CustomDetection.Read.All", "CustomDetection.ReadWrite.All"]
            }
        };
        (permissions, permissions)
    }

    /// Graph's body carries the request's ids, also sent as headers.
    fn error_body(code: &str, message: &str, headers: &mut HeaderMap) -> Value {
        let mut rng = rand::rng();
        let request_id = tenant::guid(&mut rng);
        let client_request_id = tenant::guid(&mut rng);
        for (name, value) in [
            (REQUEST_ID, &request_id),
            (CLIENT_REQUEST_ID, &client_request_id),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        json!({"error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }})
    }

    fn unauthenticated(refusal: &Refusal) -> String {
        match refusal {
            Refusal::MissingBearer => "Access token is empty.".to_owned(),
            Refusal::Expired => "Lifetime validation failed, the token is expired.".to_owned(),
            Refusal::ForeignAudience(audience) => {
                format!("Access token validation failure. Invalid audience '{audience}'.")
            }
            _ => "Access token validation failure. Invalid signature.".to_owned(),
        }
    }

    fn missing_permission(kind: &str, needed: &[&str]) -> String {
        match kind {
            "application" => format!(
                "Missing application roles. API required roles: {}.",
                needed.join(", ")
            ),
            _ => format!(
                "Missing scope permissions on the request. API requires one of '{}'.",
                needed.join(", ")
            ),
        }
    }

    fn incident_not_found(id: &str) -> GraphError {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Incident with id '{id}' was not found."),
        )
    }
}

/// A Graph enumeration value of a PATCH body: a metadata name (in any case); an opt-in member
/// only from a client that opted in; never the sentinel.
pub(crate) fn member(
    enumeration: &Enumeration,
    name: &str,
    value: &Value,
    opted_in: bool,
) -> Result<Option<&'static Member>, GraphError> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(text) => text,
        other => {
            return Err(GraphError::bad_request(format!(
                "The {name} must be a string, not {other}."
            )));
        }
    };
    match enumeration.by_graph_name(text) {
        Some(member)
            if !Enumeration::is_sentinel(member)
                && (opted_in || !enumeration.needs_opt_in(member)) =>
        {
            Ok(Some(member))
        }
        _ => Err(GraphError::bad_request(format!(
            "Invalid value '{text}' for {name}. Allowed values: {}.",
            enumeration.settable_graph_names().join(", ")
        ))),
    }
}

/// The text of a new comment, read from its body: `{"@odata.type":
/// "microsoft.graph.security.alertComment", "comment": "…"}` for incidents and alerts alike
/// (<https://learn.microsoft.com/graph/api/security-alert-post-comments>).
pub(crate) fn new_comment(body: &[u8]) -> Result<String, GraphError> {
    let body = body_object(body)?;
    if let Some(odata_type) = body.get("@odata.type") {
        let expected = "microsoft.graph.security.alertComment";
        if odata_type.as_str().map(|text| text.trim_start_matches('#')) != Some(expected) {
            return Err(GraphError::bad_request(format!(
                "A comment must have the type '{expected}', not {odata_type}."
            )));
        }
    }
    if let Some(other) = body
        .keys()
        .find(|key| !matches!(key.as_str(), "@odata.type" | "comment"))
    {
        return Err(GraphError::bad_request(format!(
            "The property '{other}' does not exist on type 'microsoft.graph.security.alertComment'."
        )));
    }
    match body.get("comment") {
        Some(Value::String(comment)) if !comment.trim().is_empty() => Ok(comment.clone()),
        _ => Err(GraphError::bad_request(
            "The comment is missing or empty. The request body must be {\"@odata.type\": \"microsoft.graph.security.alertComment\", \"comment\": \"<text>\"}.",
        )),
    }
}

/// A request body that must be a JSON object.
pub(crate) fn body_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    serde_json::from_slice(body)
        .map_err(|error| GraphError::bad_request(format!("Invalid request body: {error}")))
}

/// The answer to a new comment: every comment of the entity `entity` (e.g.
/// `incidents('1001')`) now has.
pub(crate) fn comments_response(
    state: &EmulatorState,
    entity: &str,
    comments: &[Comment],
) -> Response {
    Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#security/{entity}/comments", state.base_url),
        "value": shapes::comments(comments),
    }))
    .into_response()
}

/// How the request wants enumerations rendered.
pub(crate) fn rendering(headers: &HeaderMap) -> Rendering {
    Rendering {
        unknown_enum_members: wants_unknown_enum_members(headers),
    }
}

/// A page of the Graph collection at `/v1.0/{path}`: `@odata.context` (the collection, with
/// `(alerts())` when they are expanded), `@odata.count` when asked, the page's `value`, and,
/// when more follow, an absolute `@odata.nextLink` that carries the request's options.
pub(crate) fn collection_page<T>(
    state: &EmulatorState,
    path: &str,
    options: &ListOptions,
    page_size: usize,
    page: &Page<T>,
    value: Vec<Value>,
) -> Response {
    let next_link = page.next_skip.map(|next_skip| {
        let mut query = Vec::new();
        if options.expand_alerts {
            query.push("$expand=alerts".to_owned());
        }
        if let Some((text, _)) = &options.filter {
            query.push(format!(
                "$filter={}",
                utf8_percent_encode(text, NOT_UNRESERVED)
            ));
        }
        if options.count {
            query.push("$count=true".to_owned());
        }
        query.push(format!("$top={page_size}"));
        query.push(format!("$skip={next_skip}"));
        format!("{}/v1.0/{path}?{}", state.base_url, query.join("&"))
    });
    let expanded = if options.expand_alerts {
        "(alerts())"
    } else {
        ""
    };
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/v1.0/$metadata#{path}{expanded}",
            state.base_url
        )),
    );
    if options.count {
        body.insert("@odata.count".into(), json!(page.total));
    }
    body.insert("value".into(), Value::Array(value));
    if let Some(next_link) = next_link {
        body.insert("@odata.nextLink".into(), json!(next_link));
    }
    Json(Value::Object(body)).into_response()
}

/// What Graph's `GET …/{id}` of alerts and detection rules share: admit the caller for
/// `operation`; `answer` finds the entity in the tenant at the clock's now and writes it.
pub(crate) fn read_entity(
    state: &EmulatorState,
    headers: &HeaderMap,
    operation: Operation,
    answer: impl FnOnce(&tenant::Tenant, Timestamp) -> Response,
) -> Response {
    let mut world = state.world();
    if let Err(error) = admit::<Graph>(&mut world, headers, operation) {
        return error.into_response();
    }
    let now = world.clock.now();
    answer(&world.tenant, now)
}

/// A Graph entity: `@odata.context` (`context` names it in `$metadata`) before its properties.
pub(crate) fn entity_response(state: &EmulatorState, context: &str, entity: Value) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#{context}", state.base_url)),
    );
    if let Value::Object(entity) = entity {
        body.extend(entity);
    }
    Json(Value::Object(body)).into_response()
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
