//! The emulator's own API under `/_emulator`, for tests and for people exploring the plugin:
//! reset to the seeded state, read the request log, inject faults, switch rate limits on, move the
//! clock, add incidents (also ones that become visible late), change an incident as an analyst
//! would in the portal, answer a device-code sign-in, and revoke or expire tokens. Nothing here
//! exists at Microsoft; it is what makes the emulated services controllable.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use jiff::SignedDuration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::clock::{format_time, parse_time};
use super::faults::FaultSpec;
use super::incidents::{IncidentUpdate, not_found};
use super::model::{ApiEnum, IncidentApi, IncidentStatus, Severity};
use super::tenant::IncidentShape;
use super::{
    DEMO_CLIENT_ID, DEMO_MANAGED_IDENTITY_CLIENT_ID, DEMO_NO_PERMISSIONS_CLIENT_ID, DEMO_TENANT_ID,
    DEMO_USER_PRINCIPAL_NAME, EmulatorState,
};

/// Who changes incidents through `PATCH /_emulator/incidents/{id}` (an analyst in the portal).
const PORTAL_ANALYST: &str = "secops.lead@contoso.com";

pub(crate) fn router() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route("/", get(overview))
        .route("/reset", post(reset))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(faults).post(add_faults).delete(clear_faults))
        .route("/throttling", post(throttling))
        .route("/clock", get(clock).post(move_clock))
        .route("/incidents", post(add_incidents))
        .route("/incidents/{id}", patch(change_incident))
        .route("/devicelogin", post(device_login))
        .route("/refresh-tokens/revoke", post(revoke_refresh_tokens))
        .route("/refresh-tokens/expire", post(expire_refresh_tokens))
        .route("/access-tokens/expire", post(expire_access_tokens))
}

struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, message.into())
}

/// Reads a JSON body; an empty body means `{}`.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ControlError> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(text)
        .map_err(|error| bad_request(format!("invalid request body: {error}")))
}

type ControlResult = Result<Response, ControlError>;

async fn overview(State(state): State<Arc<EmulatorState>>) -> Json<Value> {
    let world = state.world();
    Json(json!({
        "base_url": state.base_url,
        "now": format_time(world.clock.now()),
        "started_at": format_time(state.start),
        "seed": state.options.seed,
        "tenant_id": DEMO_TENANT_ID,
        "client_id": DEMO_CLIENT_ID,
        "no_permissions_client_id": DEMO_NO_PERMISSIONS_CLIENT_ID,
        "managed_identity_client_id": DEMO_MANAGED_IDENTITY_CLIENT_ID,
        "throttling": world.rate_limits.enabled,
        "endpoints": [
            "POST /_emulator/reset",
            "GET|DELETE /_emulator/requests",
            "GET|POST|DELETE /_emulator/faults",
            "POST /_emulator/throttling",
            "GET|POST /_emulator/clock",
            "POST /_emulator/incidents",
            "PATCH /_emulator/incidents/{id}",
            "POST /_emulator/devicelogin",
            "POST /_emulator/refresh-tokens/revoke",
            "POST /_emulator/refresh-tokens/expire",
            "POST /_emulator/access-tokens/expire",
        ],
    }))
}

async fn reset(State(state): State<Arc<EmulatorState>>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

async fn requests(State(state): State<Arc<EmulatorState>>) -> Response {
    Json(state.world().requests.entries()).into_response()
}

async fn clear_requests(State(state): State<Arc<EmulatorState>>) -> StatusCode {
    state.world().requests.clear();
    StatusCode::NO_CONTENT
}

async fn faults(State(state): State<Arc<EmulatorState>>) -> Response {
    Json(state.world().faults.list().to_vec()).into_response()
}

/// One fault or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum FaultRequest {
    One(FaultSpec),
    Many(Vec<FaultSpec>),
}

async fn add_faults(State(state): State<Arc<EmulatorState>>, bytes: Bytes) -> ControlResult {
    let specs = match body::<FaultRequest>(&bytes)? {
        FaultRequest::One(spec) => vec![spec],
        FaultRequest::Many(specs) => specs,
    };
    let mut world = state.world();
    let ids = specs
        .into_iter()
        .map(|spec| world.faults.add(spec).map_err(bad_request))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((StatusCode::CREATED, Json(json!({"ids": ids}))).into_response())
}

async fn clear_faults(State(state): State<Arc<EmulatorState>>) -> StatusCode {
    state.world().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottlingRequest {
    enabled: bool,
}

async fn throttling(State(state): State<Arc<EmulatorState>>, bytes: Bytes) -> ControlResult {
    let request: ThrottlingRequest = body(&bytes)?;
    state.world().rate_limits.enabled = request.enabled;
    Ok(Json(json!({"enabled": request.enabled})).into_response())
}

fn clock_state(state: &EmulatorState) -> Json<Value> {
    let world = state.world();
    Json(json!({"now": format_time(world.clock.now()), "frozen": world.clock.is_frozen()}))
}

async fn clock(State(state): State<Arc<EmulatorState>>) -> Json<Value> {
    clock_state(&state)
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ClockRequest {
    /// Moves the clock forward (or back, if negative) by this many seconds.
    advance_seconds: Option<i64>,
    /// Sets the clock to this instant (RFC 3339).
    set: Option<String>,
    /// Stops or restarts the clock's flow.
    frozen: Option<bool>,
}

async fn move_clock(State(state): State<Arc<EmulatorState>>, bytes: Bytes) -> ControlResult {
    let request: ClockRequest = body(&bytes)?;
    {
        let mut world = state.world();
        if let Some(instant) = request.set {
            let instant = parse_time(&instant)
                .ok_or_else(|| bad_request(format!("'{instant}' is not an RFC 3339 instant")))?;
            world.clock.set(instant);
        }
        if let Some(seconds) = request.advance_seconds {
            world.clock.advance(SignedDuration::from_secs(seconds));
        }
        if let Some(frozen) = request.frozen {
            world.clock.set_frozen(frozen);
        }
    }
    Ok(clock_state(&state).into_response())
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NewIncidents {
    /// How many incidents to add (default 1). They share every given field.
    count: Option<usize>,
    /// When Defender created them (default: now).
    created_time: Option<String>,
    /// Their `lastUpdateTime` (default: the creation time).
    last_update_time: Option<String>,
    /// Ingestion lag: the API lists them only from `created_time` + this many seconds.
    visible_after_seconds: Option<u64>,
    severity: Option<String>,
    status: Option<String>,
    /// An owner, or `null` for unassigned; left out, one is drawn at random.
    #[serde(deserialize_with = "present")]
    assigned_to: Option<Option<String>>,
    /// An `id` of Microsoft Graph's own, not all digits (`count` must be 1). Graph shows the
    /// incident under it; the Defender API, which knows numeric ids only, does not show it at
    /// all (see [`super::model::Incident::graph_id`]).
    graph_id: Option<String>,
}

async fn add_incidents(State(state): State<Arc<EmulatorState>>, bytes: Bytes) -> ControlResult {
    let request: NewIncidents = body(&bytes)?;
    let mut world = state.world();
    let now = world.clock.now();
    let time = |text: &Option<String>| match text {
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| bad_request(format!("'{text}' is not an RFC 3339 instant"))),
        None => Ok(None),
    };
    let created = time(&request.created_time)?.unwrap_or(now);
    let last_update = time(&request.last_update_time)?.unwrap_or(created);
    let severity = match &request.severity {
        Some(text) => Some(
            Severity::parse(text)
                .ok_or_else(|| bad_request(format!("unknown severity '{text}'")))?,
        ),
        None => None,
    };
    let status = match &request.status {
        Some(text) => IncidentStatus::parse(text)
            .ok_or_else(|| bad_request(format!("unknown status '{text}'")))?,
        None => IncidentStatus::Active,
    };
    let visible_from =
        created + SignedDuration::from_secs(request.visible_after_seconds.unwrap_or(0) as i64);
    let count = request.count.unwrap_or(1);
    if count > 10_000 {
        return Err(bad_request("at most 10000 incidents at once"));
    }
    if let Some(graph_id) = &request.graph_id {
        if count != 1 {
            return Err(bad_request(
                "a graph_id names one incident: count must be 1",
            ));
        }
        if graph_id.is_empty() || graph_id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(bad_request(format!(
                "graph_id '{graph_id}' is empty or all digits: Graph's digits are the incident's number; leave graph_id out to get the next one"
            )));
        }
        if world.tenant.has_graph_id(graph_id) {
            return Err(ControlError(
                StatusCode::CONFLICT,
                format!("an incident with graph_id '{graph_id}' exists already"),
            ));
        }
    }
    let ids: Vec<Value> = (0..count)
        .map(|_| {
            let next_id = world.tenant.next_id();
            let shape = IncidentShape {
                created,
                last_update,
                status,
                redirect_to: (status == IncidentStatus::Redirected)
                    .then(|| next_id.saturating_sub(1)),
                graph_id: request.graph_id.clone(),
                severity,
                assigned_to: request.assigned_to.clone(),
                first_alert_kind: next_id as usize,
            };
            let number = world.tenant.add(&shape, visible_from);
            match &request.graph_id {
                Some(graph_id) => json!(graph_id),
                None => json!(number),
            }
        })
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"incidentIds": ids}))).into_response())
}

/// Changes an incident as an analyst would in the Defender portal: the same body as the API's
/// PATCH, without a token, counted in no rate limit. `id` is the incident's id as Graph shows
/// it: its number, or the `graph_id` it was added with. The answer is the incident in the
/// Defender API's shape, with the `graph_id`, if it has one, as its `incidentId` (as the plugin
/// reads such an incident from Graph).
async fn change_incident(
    State(state): State<Arc<EmulatorState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut world = state.world();
    let now = world.clock.now();
    let result = IncidentUpdate::parse(&bytes).and_then(|update| {
        match world.tenant.find_mut(IncidentApi::Graph, &id, now) {
            Some(incident) => update
                .apply(incident, PORTAL_ANALYST, now)
                .map(|()| incident.clone()),
            None => Err(not_found(&id)),
        }
    });
    match result {
        Ok(incident) => {
            let mut body = json!(incident);
            if let Some(graph_id) = &incident.graph_id {
                body["incidentId"] = json!(graph_id);
                if let Some(alerts) = body["alerts"].as_array_mut() {
                    alerts
                        .iter_mut()
                        .for_each(|alert| alert["incidentId"] = json!(graph_id));
                }
            }
            Json(body).into_response()
        }
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceLoginRequest {
    user_code: String,
    /// `approve` (default) or `decline`.
    #[serde(default)]
    action: Option<String>,
    /// Who signs in (default: the demo user).
    #[serde(default)]
    user: Option<String>,
}

async fn device_login(State(state): State<Arc<EmulatorState>>, bytes: Bytes) -> ControlResult {
    let request: DeviceLoginRequest = body(&bytes)?;
    let approve = match request.action.as_deref() {
        None | Some("approve") => true,
        Some("decline") => false,
        Some(other) => {
            return Err(bad_request(format!(
                "action must be 'approve' or 'decline', not '{other}'"
            )));
        }
    };
    let user = request.user.as_deref().unwrap_or(DEMO_USER_PRINCIPAL_NAME);
    let mut world = state.world();
    let now = world.clock.now();
    let grant = world
        .tokens
        .decide_device_code(&request.user_code, approve.then_some(user), now)
        .map_err(|error| ControlError(StatusCode::CONFLICT, error.to_string()))?;
    Ok(Json(json!({
        "user_code": grant.user_code,
        "client_id": grant.client_id,
        "state": if approve { "approved" } else { "declined" },
    }))
    .into_response())
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TokenSelection {
    /// One refresh token; left out, all of them.
    refresh_token: Option<String>,
}

async fn revoke_refresh_tokens(
    State(state): State<Arc<EmulatorState>>,
    bytes: Bytes,
) -> ControlResult {
    let selection: TokenSelection = body(&bytes)?;
    let revoked = state
        .world()
        .tokens
        .revoke_refresh(selection.refresh_token.as_deref());
    Ok(Json(json!({"revoked": revoked})).into_response())
}

async fn expire_refresh_tokens(
    State(state): State<Arc<EmulatorState>>,
    bytes: Bytes,
) -> ControlResult {
    let selection: TokenSelection = body(&bytes)?;
    let expired = state
        .world()
        .tokens
        .expire_refresh(selection.refresh_token.as_deref());
    Ok(Json(json!({"expired": expired})).into_response())
}

async fn expire_access_tokens(State(state): State<Arc<EmulatorState>>) -> Json<Value> {
    let mut world = state.world();
    let now = world.clock.now();
    Json(json!({"expired": world.tokens.expire_access(now)}))
}
