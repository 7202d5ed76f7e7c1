//! Graph's alerts: `GET /v1.0/security/alerts_v2` (`$filter` on the documented properties,
//! `$top`, `$skip`, `$count`, newest first, pages of 100 with an absolute `@odata.nextLink`),
//! `GET` and `PATCH /v1.0/security/alerts_v2/{id}` and
//! `POST /v1.0/security/alerts_v2/{id}/comments`
//! (<https://learn.microsoft.com/graph/api/security-list-alerts_v2>,
//! <https://learn.microsoft.com/graph/api/security-alert-update>,
//! <https://learn.microsoft.com/graph/api/security-alert-post-comments>). They are the alerts of
//! the tenant's incidents, the very ones `$expand=alerts` shows: a change made here reads the
//! same through the incident, and through the Defender API's alerts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::Value;

use super::super::EmulatorState;
use super::super::dialect::{Listing, Operation, QueryPairs, admit};
use super::super::model::{Alert, Comment, Incident};
use super::super::odata::FilterDialect;
use super::shapes::{self, Rendering};
use super::{
    Graph, GraphError, body_object, collection_page, comments_response, entity_response, member,
    new_comment, read_entity, rendering, wants_unknown_enum_members,
};
use crate::vocabulary::{ALERT_STATUS, CLASSIFICATION, DETERMINATION};

/// The properties a PATCH may set (<https://learn.microsoft.com/graph/api/security-alert-update#request-body>).
const UPDATABLE: &[&str] = &["assignedTo", "classification", "determination", "status"];

fn alert_response(
    state: &EmulatorState,
    incident: &Incident,
    alert: &Alert,
    rendering: Rendering,
) -> Response {
    entity_response(
        state,
        "security/alerts_v2/$entity",
        shapes::alert(alert, &incident.id_in_graph(), rendering),
    )
}

fn not_found(id: &str) -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("Alert with id '{id}' was not found."),
    )
}

/// `GET /v1.0/security/alerts_v2`
pub(crate) async fn list(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Response {
    let listing = Listing {
        operation: Operation::ReadAlerts,
        odata: FilterDialect::GraphAlerts,
    };
    listing.answer::<Graph>(
        &state,
        &headers,
        query,
        |tenant, now, options, page_size| {
            let page = tenant.listed_alerts(now, options.filter(), options.skip, page_size);
            let rendering = rendering(&headers);
            let value: Vec<Value> = page
                .items
                .iter()
                .map(|(incident, alert)| shapes::alert(alert, &incident.id_in_graph(), rendering))
                .collect();
            collection_page(
                &state,
                "security/alerts_v2",
                options,
                page_size,
                &page,
                value,
            )
        },
    )
}

/// `GET /v1.0/security/alerts_v2/{id}`
pub(crate) async fn get(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    read_entity(
        &state,
        &headers,
        Operation::ReadAlerts,
        |tenant, now| match tenant.find_alert(&id, now) {
            Some((incident, alert)) => alert_response(&state, incident, alert, rendering(&headers)),
            None => not_found(&id).into_response(),
        },
    )
}

/// A validated change of an alert: a PATCH body, or a new comment.
#[derive(Default)]
struct AlertUpdate {
    /// Legacy names, as the tenant stores them.
    status: Option<&'static str>,
    classification: Option<&'static str>,
    determination: Option<&'static str>,
    assigned_to: Option<Option<String>>,
    comment: Option<String>,
}

impl AlertUpdate {
    /// Reads a PATCH body. Graph's alerts take any member of their enumerations' metadata, with
    /// no table of which determination goes with which classification.
    fn parse(body: &[u8], opted_in: bool) -> Result<AlertUpdate, GraphError> {
        let mut update = AlertUpdate::default();
        for (name, value) in &body_object(body)? {
            let legacy = |enumeration| {
                member(enumeration, name, value, opted_in).map(|found| found.map(|m| m.legacy))
            };
            match name.as_str() {
                "@odata.type" => {}
                "status" => update.status = legacy(&ALERT_STATUS)?,
                "classification" => update.classification = legacy(&CLASSIFICATION)?,
                "determination" => update.determination = legacy(&DETERMINATION)?,
                "assignedTo" => {
                    update.assigned_to = Some(match value {
                        Value::Null => None,
                        Value::String(text) => Some(text.clone()),
                        other => {
                            return Err(GraphError::bad_request(format!(
                                "The assignedTo must be a string, not {other}."
                            )));
                        }
                    });
                }
                other => {
                    return Err(GraphError::bad_request(format!(
                        "The property '{other}' cannot be updated on type 'microsoft.graph.security.alert'. Properties that can be updated: {}.",
                        UPDATABLE.join(", ")
                    )));
                }
            }
        }
        Ok(update)
    }

    /// Applies the change on behalf of `author` at `now`: resolving an alert stamps its
    /// `resolvedDateTime`, reopening it clears it, as an incident's status change does.
    fn apply(self, alert: &mut Alert, author: &str, now: Timestamp) {
        if let Some(status) = self.status {
            alert.status = status;
            if status == "Resolved" {
                alert.resolved_time.get_or_insert(now);
            } else {
                alert.resolved_time = None;
            }
        }
        if let Some(classification) = self.classification {
            alert.classification = Some(classification);
        }
        if let Some(determination) = self.determination {
            alert.determination = Some(determination);
        }
        if let Some(assigned_to) = self.assigned_to {
            alert.assigned_to = assigned_to;
        }
        if let Some(comment) = self.comment {
            alert.comments.push(Comment::new(comment, author, now));
        }
        alert.last_updated_time = now;
    }
}

/// What an alert's PATCH and new comment share: admit the caller, read the change with `read`
/// (the token is checked before the body, as the service does), apply it to alert `id`; `answer`
/// writes the alert after it, with its incident.
fn change(
    state: &EmulatorState,
    headers: &HeaderMap,
    id: &str,
    read: impl FnOnce() -> Result<AlertUpdate, GraphError>,
    answer: impl FnOnce(&Incident, &Alert) -> Response,
) -> Response {
    let mut world = state.world();
    let update = admit::<Graph>(&mut world, headers, Operation::UpdateAlert)
        .and_then(|caller| Ok((caller, read()?)));
    let (caller, update) = match update {
        Ok(read) => read,
        Err(error) => return error.into_response(),
    };
    let now = world.clock.now();
    let Some(alert) = world.tenant.find_alert_mut(id, now) else {
        return not_found(id).into_response();
    };
    update.apply(alert, caller.comment_author(), now);
    match world.tenant.find_alert(id, now) {
        Some((incident, alert)) => answer(incident, alert),
        None => not_found(id).into_response(),
    }
}

/// `PATCH /v1.0/security/alerts_v2/{id}`: answers with the updated alert.
pub(crate) async fn update(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let opted_in = wants_unknown_enum_members(&headers);
    change(
        &state,
        &headers,
        &id,
        || AlertUpdate::parse(&body, opted_in),
        |incident, alert| alert_response(&state, incident, alert, rendering(&headers)),
    )
}

/// `POST /v1.0/security/alerts_v2/{id}/comments`: answers with all the alert's comments.
pub(crate) async fn add_comment(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    change(
        &state,
        &headers,
        &id,
        || {
            Ok(AlertUpdate {
                comment: Some(new_comment(&body)?),
                ..AlertUpdate::default()
            })
        },
        |_, alert| comments_response(&state, &format!("alerts_v2('{id}')"), &alert.comments),
    )
}
