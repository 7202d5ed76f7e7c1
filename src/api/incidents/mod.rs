//! Incidents, on either API: what commands, fetching and mirroring ask of them
//! ([`IncidentsBackend`]), the legacy Microsoft 365 Defender API's side (`legacy.rs`,
//! `/api/incidents`) and Microsoft Graph's (`graph.rs`, `/security/incidents`), whose answers
//! are read into the legacy shapes (`from_graph.rs`, `evidence.rs`) and whose updates are written
//! from them (`to_graph.rs`). The legacy API retires on 1 February 2027; the commands, fetching
//! and mirroring do not change when the backend does.

mod evidence;
pub mod from_graph;
mod graph;
mod legacy;
pub mod model;
pub mod summary;
pub(crate) mod to_graph;

use std::fmt::Write as _;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::odata::UserOptions;
use super::paging::Items;
use super::{Api, ApiError, IncidentId};
use crate::config::ApiBackend;
pub use graph::MAX_PAGE as GRAPH_PAGE_SIZE;
pub use legacy::MAX_PAGE as LEGACY_PAGE_SIZE;
pub use model::{Incident, IncidentChanges, IncidentFields};

/// An incident list, for the messages of its page bound.
pub const INCIDENT_LIST: Items = Items {
    noun: "incidents",
    advice: "try again later, or narrow the list with `status`, `assigned_to` or `odata`",
};

/// The incident reads and writes of the commands, fetching and mirroring. A scripted service
/// can stand in for the API in a test of the fetch algorithm.
#[allow(async_fn_in_trait)]
pub trait IncidentsBackend {
    /// Which API answers: the legacy API knows only numeric incident ids.
    fn api(&self) -> ApiBackend;

    /// The host requests go to, for messages.
    fn host(&self) -> String;

    /// The most incidents one list request returns.
    fn page_size(&self) -> usize;

    /// From now on, every call must be answered within `timeout`, sign-in included.
    fn limit_to(&mut self, timeout: Duration);

    /// The cheapest call that proves both the token and the permission to read incidents.
    async fn probe(&mut self) -> Result<(), ApiError>;

    /// Incidents matching `query`, at most `query.limit` of them, paging as needed.
    async fn list_incidents(&mut self, query: &IncidentQuery) -> Result<IncidentList, ApiError>;

    /// One list request: the incidents matching `filter` from offset `skip`, newest first, and
    /// whether more follow. Fetching and mirroring read this way, a request at a time.
    async fn list_page(
        &mut self,
        filter: &IncidentFilter,
        skip: usize,
    ) -> Result<ListPage, ApiError>;

    async fn get_incident(&mut self, id: &IncidentId) -> Result<Incident, ApiError>;

    /// Applies `changes` and returns the incident as it is afterwards.
    async fn update_incident(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
    ) -> Result<Incident, ApiError>;
}

/// Which incidents to list. The structured filter is what the commands, fetching and mirroring
/// build; `odata` is a user's own OData options, which replace it (as the XSOAR integration's
/// `odata` argument does).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentQuery {
    pub filter: IncidentFilter,
    /// OData query options given by the user (`{"$filter": …, "$top": …}`), sent as they are
    /// instead of the built filter, `$top` and `$skip`.
    pub odata: Option<UserOptions>,
    /// The most incidents to return, over as many pages as that takes.
    pub limit: usize,
    /// How many matching incidents to skip first.
    pub offset: usize,
}

impl IncidentQuery {
    pub fn new(filter: IncidentFilter, limit: usize) -> IncidentQuery {
        IncidentQuery {
            filter,
            odata: None,
            limit,
            offset: 0,
        }
    }

    /// How many incidents to read: the limit, or fewer when a user's own `$top` says so (it is
    /// how many they want, not a page size to repeat).
    pub fn wanted(&self) -> usize {
        super::odata::wanted(self.odata.as_ref(), self.limit)
    }
}

/// Conditions on incident fields, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    pub status: Option<String>,
    pub assigned_to: Option<String>,
    pub created: Option<TimeBound>,
    /// Created strictly before this (`createdTime lt …`).
    pub created_before: Option<Timestamp>,
    /// Changed strictly after this time (`lastUpdateTime gt …`).
    pub updated_after: Option<Timestamp>,
}

/// A lower bound on a time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// Strictly after (`gt`).
    After(Timestamp),
    /// At or after (`ge`).
    AtOrAfter(Timestamp),
}

/// A list of incidents as the output carries it: one JSON array of the incidents in the legacy
/// shape, as the API sent them (or as Microsoft Graph's were translated), beside the fields the
/// readable table is made of. A list can be 10,000 incidents long: each incident's text goes
/// into the one array as its page arrives, so the list is held once, not once per incident and
/// again as the array the output needs.
#[derive(Debug)]
pub struct IncidentList {
    /// `[` and the incidents so far, separated by commas.
    text: String,
    fields: Vec<IncidentFields>,
}

impl Default for IncidentList {
    fn default() -> IncidentList {
        IncidentList {
            text: "[".to_owned(),
            fields: Vec::new(),
        }
    }
}

impl IncidentList {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// What the integration reads of each incident, in order.
    pub fn fields(&self) -> &[IncidentFields] {
        &self.fields
    }

    /// Adds an incident as the API sent it.
    pub fn push(&mut self, incident: Incident) {
        self.push_text(incident.raw().get());
        self.fields.push(incident.fields);
    }

    /// Adds an incident already in the legacy shape, as a JSON object.
    pub fn push_value(&mut self, incident: &Value) -> Result<(), serde_json::Error> {
        let fields = IncidentFields::deserialize(incident)?;
        self.separate();
        // Serialized straight into the array; writing to a `String` cannot fail.
        let _ = write!(self.text, "{incident}");
        self.fields.push(fields);
        Ok(())
    }

    fn push_text(&mut self, incident: &str) {
        self.separate();
        self.text.push_str(incident);
    }

    /// A comma before every incident but the first.
    fn separate(&mut self) {
        if !self.fields.is_empty() {
            self.text.push(',');
        }
    }

    /// The incidents as one JSON array.
    pub fn into_json(self) -> Result<Box<RawValue>, serde_json::Error> {
        let IncidentList { mut text, fields } = self;
        drop(fields);
        text.push(']');
        RawValue::from_string(text)
    }
}

/// What one list request returned.
#[derive(Debug, Default)]
pub struct ListPage {
    pub incidents: Vec<Incident>,
    /// More incidents follow these: the service gave a link to the next page, or a full page.
    pub more: bool,
}

/// The most incidents one list request of `api` returns.
pub fn page_size_of(api: ApiBackend) -> usize {
    match api {
        ApiBackend::Legacy => LEGACY_PAGE_SIZE,
        ApiBackend::Graph => GRAPH_PAGE_SIZE,
    }
}

impl IncidentsBackend for Api<'_, '_> {
    fn api(&self) -> ApiBackend {
        match self {
            Api::Legacy(_) => ApiBackend::Legacy,
            Api::Graph(_) => ApiBackend::Graph,
        }
    }

    fn host(&self) -> String {
        self.client().base().to_owned()
    }

    fn page_size(&self) -> usize {
        page_size_of(self.api())
    }

    fn limit_to(&mut self, timeout: Duration) {
        self.client_mut().limit_to(timeout);
    }

    async fn probe(&mut self) -> Result<(), ApiError> {
        let path = match self {
            Api::Legacy(_) => legacy::INCIDENTS,
            Api::Graph(_) => graph::INCIDENTS,
        };
        let client = self.client_mut();
        let url = client.url(path)?;
        let _: Value = client
            .get_json(url, &[("$top".to_owned(), "1".to_owned())])
            .await?;
        Ok(())
    }

    async fn list_incidents(&mut self, query: &IncidentQuery) -> Result<IncidentList, ApiError> {
        match self {
            Api::Legacy(api) => api.list_incidents(query).await,
            Api::Graph(api) => api.list_incidents(query).await,
        }
    }

    async fn list_page(
        &mut self,
        filter: &IncidentFilter,
        skip: usize,
    ) -> Result<ListPage, ApiError> {
        match self {
            Api::Legacy(api) => api.list_page(filter, skip).await,
            Api::Graph(api) => api.list_page(filter, skip).await,
        }
    }

    async fn get_incident(&mut self, id: &IncidentId) -> Result<Incident, ApiError> {
        match self {
            Api::Legacy(api) => api.get_incident(id).await,
            Api::Graph(api) => api.get_incident(id).await,
        }
    }

    async fn update_incident(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
    ) -> Result<Incident, ApiError> {
        match self {
            Api::Legacy(api) => api.update_incident(id, changes).await,
            Api::Graph(api) => api.update_incident(id, changes).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_one_array_of_the_incidents_as_sent() {
        let mut list = IncidentList::default();
        assert!(list.is_empty());
        let sent = r#"{"incidentId": 7, "status":"Active","extra":[1, 2]}"#;
        let raw = serde_json::value::RawValue::from_string(sent.to_owned()).unwrap();
        list.push(Incident::from_raw(raw).unwrap());
        list.push_value(&serde_json::json!({"incidentId": "ed-4c2a", "tags": ["a"]}))
            .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.fields()[1].incident_id,
            IncidentId::Text("ed-4c2a".into())
        );
        assert_eq!(
            list.into_json().unwrap().get(),
            r#"[{"incidentId": 7, "status":"Active","extra":[1, 2]},{"incidentId":"ed-4c2a","tags":["a"]}]"#
        );
    }
}
