//! The Defender incidents API: `GET /api/incidents` (OData `$filter`, `$top` up to 100, `$skip`,
//! newest first, `@odata.nextLink`), `GET /api/incidents/{id}` and `PATCH /api/incidents/{id}`
//! with the real API's validation of status, classification and determination
//! (<https://learn.microsoft.com/defender-xdr/api-list-incidents>,
//! <https://learn.microsoft.com/defender-xdr/api-update-incidents>). Graph's incident routes
//! take the same steps ([`list_with`], [`get_with`], [`change`]) and the same validation
//! ([`IncidentUpdate`]), answering in their own shapes.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use percent_encoding::utf8_percent_encode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::EmulatorState;
use super::defender::{Defender, DefenderError};
use super::dialect::{ApiError, Dialect, Listing, Operation, QueryPairs, admit};
use super::model::{ApiEnum, Classification, Comment, Determination, Incident, IncidentStatus};
use super::odata::ListOptions;
use super::tenant::Page;
use crate::NOT_UNRESERVED;

#[derive(Serialize)]
struct IncidentPage<'a> {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<&'a Incident>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

#[derive(Serialize)]
struct IncidentEntity<'a> {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(flatten)]
    incident: &'a Incident,
}

/// What both APIs' `GET …/incidents` share: admit the caller, read the list options, take the
/// page of the tenant's incidents; `answer` writes the page in the API's shapes, given the options
/// and the page's size.
pub(crate) fn list_with<D: Dialect>(
    state: &EmulatorState,
    headers: &HeaderMap,
    query: QueryPairs,
    answer: impl FnOnce(&ListOptions, usize, Page<&Incident>) -> Response,
) -> Response {
    let listing = Listing {
        operation: Operation::ReadIncidents,
        odata: D::ODATA,
    };
    listing.answer::<D>(state, headers, query, |tenant, now, options, page_size| {
        let page = tenant.listed(now, D::INCIDENTS, options.filter(), options.skip, page_size);
        answer(options, page_size, page)
    })
}

/// What both APIs' `GET …/incidents/{id}` share: admit the caller, `read` the rest of the request,
/// find the incident; `answer` writes it in the API's shapes, given what `read` returned.
pub(crate) fn get_with<D: Dialect, T>(
    state: &EmulatorState,
    headers: &HeaderMap,
    id: &str,
    read: impl FnOnce() -> Result<T, ApiError<D>>,
    answer: impl FnOnce(&Incident, T) -> Response,
) -> Response {
    let mut world = state.world();
    let read = admit::<D>(&mut world, headers, Operation::ReadIncidents).and_then(|_| read());
    let request = match read {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let now = world.clock.now();
    match world.tenant.find(D::INCIDENTS, id, now) {
        Some(incident) => answer(incident, request),
        None => D::incident_not_found(id).into_response(),
    }
}

/// What both APIs' incident changes share: admit the caller, read the change from the body with
/// `update` (the token is checked before the body, as the service does), apply it to incident
/// `id` on the caller's behalf; returns the incident after it.
pub(crate) fn change<D: Dialect>(
    state: &EmulatorState,
    headers: &HeaderMap,
    id: &str,
    update: impl FnOnce() -> Result<IncidentUpdate, ApiError<D>>,
) -> Result<Incident, ApiError<D>>
where
    ApiError<D>: From<DefenderError>,
{
    let mut world = state.world();
    let caller = admit::<D>(&mut world, headers, Operation::UpdateIncident)?;
    let update = update()?;
    let now = world.clock.now();
    let incident = world
        .tenant
        .find_mut(D::INCIDENTS, id, now)
        .ok_or_else(|| D::incident_not_found(id))?;
    update.apply(incident, caller.comment_author(), now)?;
    Ok(incident.clone())
}

/// `GET /api/incidents`
pub(crate) async fn list(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Response {
    list_with::<Defender>(&state, &headers, query, |options, page_size, page| {
        let next_link = page.next_skip.map(|next_skip| {
            let filter = options
                .filter
                .as_ref()
                .map(|(text, _)| format!("&$filter={}", utf8_percent_encode(text, NOT_UNRESERVED)))
                .unwrap_or_default();
            format!(
                "{}/api/incidents?$top={page_size}&$skip={next_skip}{filter}",
                state.base_url
            )
        });
        Json(IncidentPage {
            context: format!("{}/api/$metadata#Incidents", state.base_url),
            value: page.items,
            next_link,
        })
        .into_response()
    })
}

pub(crate) fn not_found(id: &str) -> DefenderError {
    DefenderError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("Incident {id} was not found"),
    )
}

fn entity_response(state: &EmulatorState, incident: &Incident) -> Response {
    Json(IncidentEntity {
        context: format!("{}/api/$metadata#Incidents/$entity", state.base_url),
        incident,
    })
    .into_response()
}

/// `GET /api/incidents/{id}`
pub(crate) async fn get(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    get_with::<Defender, ()>(
        &state,
        &headers,
        &id,
        || Ok(()),
        |incident, ()| entity_response(&state, incident),
    )
}

/// `PATCH /api/incidents/{id}`
pub(crate) async fn update(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match change::<Defender>(&state, &headers, &id, || IncidentUpdate::parse(&body)) {
        Ok(incident) => entity_response(&state, &incident),
        Err(error) => error.into_response(),
    }
}

/// A validated PATCH body. Shared by the API and the control API's "change it as in the portal".
pub(crate) struct IncidentUpdate {
    status: Option<IncidentStatus>,
    assigned_to: Option<Option<String>>,
    classification: Option<Classification>,
    determination: Option<Determination>,
    tags: Option<Vec<String>>,
    comment: Option<String>,
}

fn invalid_body(message: String) -> DefenderError {
    DefenderError::bad_request("InvalidRequestBody", message)
}

fn enum_field<T: ApiEnum>(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, DefenderError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => T::parse(text).map(Some).ok_or_else(|| {
            let allowed: Vec<&str> = T::ALL.iter().map(|value| value.as_str()).collect();
            invalid_body(format!(
                "Invalid value '{text}' for {name}. Allowed values: {}.",
                allowed.join(", ")
            ))
        }),
        Some(other) => Err(invalid_body(format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

impl IncidentUpdate {
    pub(crate) fn parse(body: &[u8]) -> Result<IncidentUpdate, DefenderError> {
        let body: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|error| invalid_body(format!("Request body is incorrect: {error}")))?;
        let allowed = [
            "status",
            "assignedTo",
            "classification",
            "determination",
            "tags",
            "comment",
        ];
        if let Some(unknown) = body.keys().find(|key| !allowed.contains(&key.as_str())) {
            return Err(invalid_body(format!(
                "Request body is incorrect: unknown property '{unknown}'. Body parameters are case-sensitive: {}.",
                allowed.join(", ")
            )));
        }
        let text = |name: &str| match body.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
            Some(other) => Err(invalid_body(format!(
                "{name} must be a string, not {other}"
            ))),
        };
        let tags = match body.get("tags") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_owned).ok_or_else(|| {
                            invalid_body(format!("tags must be strings, not {item}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => Err(invalid_body(format!(
                "tags must be a list of strings, not {other}"
            )))?,
        };
        Ok(IncidentUpdate {
            status: enum_field(&body, "status")?,
            assigned_to: text("assignedTo")?,
            classification: enum_field(&body, "classification")?,
            determination: enum_field(&body, "determination")?,
            tags,
            comment: text("comment")?
                .flatten()
                .filter(|comment| !comment.is_empty()),
        })
    }

    /// Applies the update, or changes nothing and says why the combination is invalid.
    pub(crate) fn apply(
        self,
        incident: &mut Incident,
        author: &str,
        now: Timestamp,
    ) -> Result<(), DefenderError> {
        let classification = self.classification.unwrap_or(incident.classification);
        let determination = match (self.determination, self.classification) {
            (Some(determination), _) => determination,
            (None, Some(changed))
                if !changed.determinations().contains(&incident.determination) =>
            {
                changed.default_determination()
            }
            (None, _) => incident.determination,
        };
        if !classification.determinations().contains(&determination) {
            let allowed: Vec<&str> = classification
                .determinations()
                .iter()
                .map(|value| value.as_str())
                .collect();
            return Err(DefenderError::bad_request(
                "BadRequest",
                format!(
                    "Determination '{}' is not valid for classification '{}'. Valid determinations: {}.",
                    determination.as_str(),
                    classification.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
        incident.classification = classification;
        incident.determination = determination;
        if let Some(assigned_to) = self.assigned_to {
            incident.assigned_to = assigned_to;
        }
        if let Some(tags) = self.tags {
            incident.tags = tags;
        }
        if let Some(comment) = self.comment {
            incident.comments.push(Comment::new(comment, author, now));
        }
        if let Some(status) = self.status {
            incident.status = status;
            for alert in &mut incident.alerts {
                match status {
                    IncidentStatus::Resolved => {
                        alert.status = "Resolved";
                        alert.resolved_time.get_or_insert(now);
                    }
                    IncidentStatus::Active | IncidentStatus::InProgress
                        if alert.status == "Resolved" =>
                    {
                        alert.status = "New";
                        alert.resolved_time = None;
                    }
                    _ => {}
                }
                alert.last_updated_time = now;
            }
        }
        incident.last_update_time = now;
        Ok(())
    }
}
