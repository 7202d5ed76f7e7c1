//! Graph's incidents: `GET /v1.0/security/incidents` (`$filter`, `$top`, `$skip`, `$count`,
//! `$expand=alerts`, newest first, pages of 50 with an absolute `@odata.nextLink`),
//! `GET` and `PATCH /v1.0/security/incidents/{id}`, and
//! `POST /v1.0/security/incidents/{id}/comments`
//! (<https://learn.microsoft.com/graph/api/security-list-incidents>,
//! <https://learn.microsoft.com/graph/api/security-incident-update>,
//! <https://learn.microsoft.com/graph/api/security-incident-post-comments>). Updates go through
//! the same validation as the Defender API's, so both APIs agree on what an incident may become.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::super::EmulatorState;
use super::super::dialect::{QueryPairs, query_pairs};
use super::super::incidents::{IncidentUpdate, change, get_with, list_with};
use super::super::model::{ApiEnum, Classification, Determination, Incident};
use super::super::odata::expands_alerts;
use super::shapes::{self, Rendering};
use super::{
    Graph, GraphError, body_object, collection_page, comments_response, entity_response, member,
    new_comment, rendering, wants_unknown_enum_members,
};
use crate::vocabulary::{
    AWAITING_ACTION, CLASSIFICATION, DETERMINATION, Enumeration, INCIDENT_STATUS,
};

/// The properties a PATCH may set (<https://learn.microsoft.com/graph/api/security-incident-update#request-body>).
const UPDATABLE: &[&str] = &[
    "assignedTo",
    "classification",
    "customTags",
    "determination",
    "status",
];

/// The other properties of `microsoft.graph.security.incident`: known, but not settable.
const READ_ONLY: &[&str] = &[
    "id",
    "incidentWebUrl",
    "tenantId",
    "redirectIncidentId",
    "displayName",
    "createdDateTime",
    "lastUpdateDateTime",
    "severity",
    "comments",
    "systemTags",
    "description",
    "summary",
    "lastModifiedBy",
    "resolvingComment",
    "alerts",
];

/// `GET /v1.0/security/incidents`
pub(crate) async fn list(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Response {
    list_with::<Graph>(&state, &headers, query, |options, page_size, page| {
        let rendering = rendering(&headers);
        let value: Vec<Value> = page
            .items
            .iter()
            .map(|incident| shapes::incident(incident, options.expand_alerts, rendering))
            .collect();
        collection_page(
            &state,
            "security/incidents",
            options,
            page_size,
            &page,
            value,
        )
    })
}

fn incident_response(
    state: &EmulatorState,
    incident: &Incident,
    expand: bool,
    rendering: Rendering,
) -> Response {
    entity_response(
        state,
        "security/incidents/$entity",
        shapes::incident(incident, expand, rendering),
    )
}

/// `GET /v1.0/security/incidents/{id}`
pub(crate) async fn get(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Response {
    let expand = || {
        query_pairs::<Graph>(query).and_then(|pairs| {
            pairs
                .iter()
                .filter(|(name, _)| name == "$expand")
                .try_fold(false, |_, (_, value)| {
                    expands_alerts(value).map_err(GraphError::bad_request)
                })
        })
    };
    get_with::<Graph, bool>(&state, &headers, &id, expand, |incident, expand| {
        incident_response(&state, incident, expand, rendering(&headers))
    })
}

/// Turns a Graph PATCH body into the Defender API's, so that one validation and one update serve
/// both APIs.
fn stored_update(body: &[u8], opted_in: bool) -> Result<Map<String, Value>, GraphError> {
    let body = body_object(body)?;
    let mut update = Map::new();
    for (name, value) in &body {
        match name.as_str() {
            "@odata.type" => {}
            "status" => {
                if let Some(status) = member(&INCIDENT_STATUS, name, value, opted_in)? {
                    if status.graph == AWAITING_ACTION {
                        return Err(GraphError::bad_request(
                            "The status awaitingAction can only be set by Microsoft Defender Experts.",
                        ));
                    }
                    update.insert(name.clone(), json!(status.legacy));
                }
            }
            "classification" => {
                if let Some(classification) = member(&CLASSIFICATION, name, value, opted_in)? {
                    update.insert(name.clone(), json!(classification.legacy));
                }
            }
            "determination" => {
                if let Some(determination) = member(&DETERMINATION, name, value, opted_in)? {
                    if Determination::parse(determination.legacy).is_none() {
                        return Err(GraphError::bad_request(format!(
                            "The determination '{}' belongs to no classification an incident can have. {}",
                            determination.graph,
                            allowed_determinations()
                        )));
                    }
                    update.insert(name.clone(), json!(determination.legacy));
                }
            }
            "assignedTo" => {
                update.insert(name.clone(), value.clone());
            }
            "customTags" => {
                update.insert("tags".into(), value.clone());
            }
            other if READ_ONLY.contains(&other) => {
                return Err(GraphError::bad_request(format!(
                    "The property '{other}' is read-only. Properties that can be updated: {}.",
                    UPDATABLE.join(", ")
                )));
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "The property '{other}' does not exist on type 'microsoft.graph.security.incident'. Make sure to only use property names that are defined by the type."
                )));
            }
        }
    }
    Ok(update)
}

/// Microsoft's classification → determination table, worded for an error message.
fn allowed_determinations() -> String {
    let graph_name = |enumeration: &Enumeration, legacy: &str| {
        enumeration
            .by_legacy_name(legacy)
            .map_or_else(|| legacy.to_owned(), |member| member.graph.to_owned())
    };
    let lines: Vec<String> = [
        Classification::TruePositive,
        Classification::InformationalExpectedActivity,
        Classification::FalsePositive,
    ]
    .iter()
    .map(|classification| {
        let determinations: Vec<String> = classification
            .determinations()
            .iter()
            .map(|determination| graph_name(&DETERMINATION, determination.as_str()))
            .collect();
        format!(
            "With {}: {}.",
            graph_name(&CLASSIFICATION, classification.as_str()),
            determinations.join(", ")
        )
    })
    .collect();
    lines.join(" ")
}

/// The validated change of a Defender API PATCH body made from the Graph request (or why the
/// request was refused).
fn validated(update: Result<Map<String, Value>, GraphError>) -> Result<IncidentUpdate, GraphError> {
    let bytes = serde_json::to_vec(&update?).unwrap_or_default();
    Ok(IncidentUpdate::parse(&bytes)?)
}

/// `PATCH /v1.0/security/incidents/{id}`
pub(crate) async fn update(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let opted_in = wants_unknown_enum_members(&headers);
    match change::<Graph>(&state, &headers, &id, || {
        validated(stored_update(&body, opted_in))
    }) {
        Ok(incident) => incident_response(&state, &incident, false, rendering(&headers)),
        Err(error) => error.into_response(),
    }
}

/// The Defender API's PATCH body that adds the comment of a Graph comment body.
fn comment_update(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    let comment = new_comment(body)?;
    Ok(Map::from_iter([("comment".to_owned(), json!(comment))]))
}

/// `POST /v1.0/security/incidents/{id}/comments`: answers with all the incident's comments.
pub(crate) async fn add_comment(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match change::<Graph>(&state, &headers, &id, || validated(comment_update(&body))) {
        Ok(incident) => {
            comments_response(&state, &format!("incidents('{id}')"), &incident.comments)
        }
        Err(error) => error.into_response(),
    }
}
