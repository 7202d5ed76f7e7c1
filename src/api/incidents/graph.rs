//! Incidents on Microsoft Graph: `/security/incidents` with `$expand=alerts`
//! (<https://learn.microsoft.com/graph/api/security-list-incidents>), updates as a PATCH of the
//! incident plus a POST of the comment
//! (<https://learn.microsoft.com/graph/api/security-incident-update>,
//! <https://learn.microsoft.com/graph/api/security-incident-post-comments>). Every answer is read
//! into the legacy shape (`from_graph.rs`) and every change written from it (`to_graph.rs`).

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;

use super::from_graph::incident_to_legacy;
use super::to_graph::incident_update_to_graph;
use super::{
    INCIDENT_LIST, Incident, IncidentChanges, IncidentFilter, IncidentList, IncidentQuery, ListPage,
};
use crate::api::client::Call;
use crate::api::graph::GraphApi;
use crate::api::odata::{FilterDialect, filter_expression};
use crate::api::paging::{Listing, ODataPage, read_list};
use crate::api::retry::Replay;
use crate::api::{ApiError, IncidentId};

/// Graph serves at most 50 incidents a page, whatever `$top` asks for; `@odata.nextLink` leads
/// on.
pub const MAX_PAGE: usize = 50;

pub(super) const INCIDENTS: &str = "/v1.0/security/incidents";

impl GraphApi<'_, '_> {
    /// The URL of incident `id` (then `rest`): the id is one path segment, since Graph's ids
    /// are strings that may hold anything.
    fn incident_url(&self, id: &IncidentId, rest: &[&str]) -> Result<Url, ApiError> {
        let segment = id
            .path_segment()
            .ok_or_else(|| ApiError::UnaddressableId(id.to_string()))?;
        let segments: Vec<&str> = [segment.as_str()]
            .into_iter()
            .chain(rest.iter().copied())
            .collect();
        self.client.url_with(INCIDENTS, &segments)
    }

    /// Incident `id` with its alerts, in the legacy shape.
    async fn get_legacy(&mut self, id: &IncidentId) -> Result<Value, ApiError> {
        let url = self.incident_url(id, &[])?;
        let incident: Value = self.client.get_json(url, &[expand_alerts()]).await?;
        Ok(incident_to_legacy(&incident)?)
    }

    /// Applies a legacy update (`status`, `assignedTo`, `classification`, `determination`,
    /// `tags`, `comment`): the PATCH, then the comment, then the incident read back with its
    /// alerts (neither answer carries them), in the legacy shape. Should a later step fail, the
    /// error says what was done already.
    async fn update_legacy(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
    ) -> Result<Value, ApiError> {
        let update = incident_update_to_graph(changes)?;
        // What has been done so far, for the message should a later step fail.
        let mut done: Vec<String> = Vec::new();
        if let Some(patch) = &update.patch {
            let url = self.incident_url(id, &[])?;
            self.client
                .send(Call::json(Method::PATCH, url, patch, Replay::Safe))
                .await?;
            done.push(format!(
                "the incident's fields were changed ({})",
                patched_fields(patch)
            ));
        }
        if let Some(comment) = &update.comment {
            let url = self.incident_url(id, &["comments"])?;
            // A comment is added by every request that arrives: never risk sending it twice.
            let posted = self
                .client
                .send(Call::json(
                    Method::POST,
                    url,
                    comment,
                    Replay::OnlyIfNeverSent,
                ))
                .await;
            if let Err(error) = posted {
                return Err(partly_applied(
                    error,
                    &done,
                    "the comment was not added; run the command again with only the comment to add it",
                ));
            }
            done.push("the comment was added".to_owned());
        }
        self.get_legacy(id).await.map_err(|error| {
            partly_applied(
                error,
                &done,
                &format!(
                    "the incident could not be read back; run microsoft-365-defender-incident-get with id {id} to see it"
                ),
            )
        })
    }
}

/// `$expand=alerts`: without it Graph's incidents come without their alerts, which the legacy
/// API always included and the readable table is built from.
fn expand_alerts() -> (String, String) {
    ("$expand".to_owned(), "alerts".to_owned())
}

/// The query options of the first list request. A user's own options are sent as given, in
/// Graph's syntax, with `$expand=alerts` added unless they chose their own `$expand`.
fn first_page_options(query: &IncidentQuery, limit: usize) -> Vec<(String, String)> {
    if let Some(options) = &query.odata {
        let mut pairs = options.pairs().to_vec();
        if !pairs.iter().any(|(name, _)| name == "$expand") {
            pairs.insert(0, expand_alerts());
        }
        return pairs;
    }
    let mut options = vec![expand_alerts()];
    if let Some(filter) = filter_expression(&query.filter, FilterDialect::Graph) {
        options.push(("$filter".to_owned(), filter));
    }
    options.push(("$top".to_owned(), limit.min(MAX_PAGE).to_string()));
    if query.offset > 0 {
        options.push(("$skip".to_owned(), query.offset.to_string()));
    }
    options
}

/// A Graph incident as the commands' type, in the legacy shape.
fn incident_from_graph(graph: &Value) -> Result<Incident, ApiError> {
    incident_from_legacy(&incident_to_legacy(graph)?)
}

/// An incident already in the legacy shape as the commands' type.
fn incident_from_legacy(legacy: &Value) -> Result<Incident, ApiError> {
    Incident::deserialize(legacy).map_err(not_legacy)
}

fn not_legacy(error: serde_json::Error) -> ApiError {
    ApiError::Malformed(format!(
        "an incident could not be read in the legacy shape ({error})"
    ))
}

/// What the fields of a PATCH were, for a message: `status, assignedTo`.
fn patched_fields(patch: &Value) -> String {
    patch
        .as_object()
        .map(|fields| fields.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

impl GraphApi<'_, '_> {
    /// Up to the query's limit of incidents, in the legacy shape. Each page is translated as it
    /// arrives and dropped before the next is read: Graph's JSON as `Value`s takes several times
    /// the memory of its text, and a list can be 10,000 incidents long. The next links carry
    /// every option of the next page and are followed as they are.
    pub(super) async fn list_incidents(
        &mut self,
        query: &IncidentQuery,
    ) -> Result<IncidentList, ApiError> {
        let mut incidents = IncidentList::default();
        let limit = query.wanted();
        let listing = Listing {
            path: INCIDENTS,
            items: INCIDENT_LIST,
            options: first_page_options(query, limit),
            limit,
            page_size: MAX_PAGE,
            offset: query.offset,
            read_on: None,
        };
        read_list(&mut self.client, listing, |incident: Value| {
            let legacy = incident_to_legacy(&incident)?;
            incidents.push_value(&legacy).map_err(not_legacy)?;
            Ok(incidents.fields()[incidents.len() - 1]
                .incident_id
                .to_string())
        })
        .await?;
        Ok(incidents)
    }

    pub(super) async fn list_page(
        &mut self,
        filter: &IncidentFilter,
        skip: usize,
    ) -> Result<ListPage, ApiError> {
        let mut query = IncidentQuery::new(filter.clone(), MAX_PAGE);
        query.offset = skip;
        let url = self.client.url(INCIDENTS)?;
        let options = first_page_options(&query, MAX_PAGE);
        let page: ODataPage<Value> = self.client.get_json(url, &options).await?;
        let incidents = page
            .value
            .iter()
            .map(incident_from_graph)
            .collect::<Result<_, ApiError>>()?;
        Ok(ListPage {
            incidents,
            more: page.announces_more(MAX_PAGE),
        })
    }

    pub(super) async fn get_incident(&mut self, id: &IncidentId) -> Result<Incident, ApiError> {
        incident_from_legacy(&self.get_legacy(id).await?)
    }

    pub(super) async fn update_incident(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
    ) -> Result<Incident, ApiError> {
        incident_from_legacy(&self.update_legacy(id, changes).await?)
    }
}

/// `error`, and what had been done before it, if anything was.
fn partly_applied(error: ApiError, done: &[String], not_done: &str) -> ApiError {
    if done.is_empty() {
        return error;
    }
    ApiError::PartlyApplied {
        error: Box::new(error),
        done: done.join(" and "),
        not_done: not_done.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::incidents::TimeBound;
    use crate::api::odata::UserOptions;
    use serde_json::json;

    fn pairs(options: &[(String, String)]) -> Vec<(&str, &str)> {
        options
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn the_first_page_asks_for_alerts_in_graph_names() {
        let mut query = IncidentQuery::new(
            IncidentFilter {
                status: Some("Active".into()),
                created: Some(TimeBound::AtOrAfter(
                    "2026-01-01T00:00:00Z".parse().unwrap(),
                )),
                ..IncidentFilter::default()
            },
            250,
        );
        query.offset = 3;
        assert_eq!(
            pairs(&first_page_options(&query, 250)),
            [
                ("$expand", "alerts"),
                (
                    "$filter",
                    "status eq 'active' and createdDateTime ge 2026-01-01T00:00:00Z"
                ),
                ("$top", "50"),
                ("$skip", "3")
            ]
        );
        let query = IncidentQuery::new(IncidentFilter::default(), 5);
        assert_eq!(
            pairs(&first_page_options(&query, 5)),
            [("$expand", "alerts"), ("$top", "5")]
        );
    }

    #[test]
    fn user_options_are_sent_as_given_with_alerts() {
        let mut query = IncidentQuery::new(IncidentFilter::default(), 50);
        let options = json!({"$filter": "lastUpdateDateTime gt 2026-01-01T00:00:00Z", "$top": 2});
        query.odata = Some(UserOptions::from_json(&options).unwrap());
        assert_eq!(
            pairs(&first_page_options(&query, 2)),
            [
                ("$expand", "alerts"),
                ("$filter", "lastUpdateDateTime gt 2026-01-01T00:00:00Z"),
                ("$top", "2")
            ]
        );
        let options = json!({"$expand": "alerts($select=id)"});
        query.odata = Some(UserOptions::from_json(&options).unwrap());
        assert_eq!(
            pairs(&first_page_options(&query, 50)),
            [("$expand", "alerts($select=id)")]
        );
    }
}
