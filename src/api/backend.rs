//! What the commands ask of an incidents service, independent of which API answers. The
//! Microsoft 365 Defender API (`/api/incidents`, `/api/advancedhunting/run`) is retired on
//! 1 February 2027 in favour of Microsoft Graph (`/security/incidents`,
//! `/security/runHuntingQuery`); both implement [`IncidentsBackend`], so commands, fetching and
//! mirroring do not change when the backend does.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::models::{HuntingResponse, Incident, IncidentChanges, IncidentFields};
use super::odata::UserOptions;
use super::{ApiError, DefenderApi, GraphApi, IncidentId};
use crate::auth::Session;
use crate::config::ApiBackend;

/// The operations on incidents and hunting that the commands use.
#[allow(async_fn_in_trait)]
pub trait IncidentsBackend {
    /// Which API answers: the legacy API knows only numeric incident ids.
    fn api(&self) -> ApiBackend;

    /// The most incidents one list request returns.
    fn page_size(&self) -> usize;

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

    async fn run_hunting_query(
        &mut self,
        request: &HuntingRequest,
    ) -> Result<HuntingResponse, ApiError>;
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

/// Pages a list reads beyond the ⌈limit / page size⌉ its limit needs, for pages that come back
/// short while incidents change under the list.
pub const LIST_SLACK_PAGES: usize = 2;

/// The bound on one paging loop. A page says whether more follow (an `@odata.nextLink`, or a
/// full page when paging by `$skip`); a service that says so forever (empty pages that link on,
/// a link back to the same page, a `$skip` it ignores) must not keep a command reading until it
/// is killed: after `cap` pages, or after a page that holds nothing new, the loop ends with a
/// [`PagingError`] that names the bound (CONTRACT §8). The command's deadline bounds the loop
/// too, request by request.
#[derive(Debug)]
pub struct PageBound {
    cap: usize,
    /// Why the cap is what it is, for the message.
    cap_reason: String,
    /// What the user can do, for the message.
    advice: &'static str,
    pages: usize,
    /// The last page read held incidents, all of them read before.
    repeated: bool,
    seen: HashSet<IncidentId>,
}

impl PageBound {
    /// The bound of a list of at most `limit` incidents read `page_size` at a time:
    /// ⌈limit / page size⌉ + [`LIST_SLACK_PAGES`] pages.
    pub fn for_limit(limit: usize, page_size: usize) -> PageBound {
        let needed = limit.div_ceil(page_size.max(1));
        PageBound::new(
            needed.saturating_add(LIST_SLACK_PAGES),
            format!(
                "the cap for a limit of {limit} at {page_size} incidents a page (⌈{limit}/{page_size}⌉ + {LIST_SLACK_PAGES})"
            ),
            "try again later, or narrow the list with `status`, `assigned_to` or `odata`",
        )
    }

    /// A bound of `cap` pages, `cap_reason` saying why, `advice` what the user can do.
    pub fn new(cap: usize, cap_reason: String, advice: &'static str) -> PageBound {
        PageBound {
            cap: cap.max(1),
            cap_reason,
            advice,
            pages: 0,
            repeated: false,
            seen: HashSet::new(),
        }
    }

    /// Counts a page read, with the ids of its incidents.
    pub fn read<'i>(&mut self, ids: impl IntoIterator<Item = &'i IncidentId>) {
        self.pages += 1;
        let mut any = false;
        let mut new = false;
        for id in ids {
            any = true;
            new |= self.seen.insert(id.clone());
        }
        self.repeated = any && !new;
    }

    /// Whether another page may be read after those counted, now that the last one announced
    /// more.
    pub fn next(&self) -> Result<(), PagingError> {
        if self.repeated {
            return Err(PagingError::Repeated {
                page: self.pages,
                advice: self.advice,
            });
        }
        if self.pages >= self.cap {
            return Err(PagingError::Capped {
                pages: self.pages,
                cap_reason: self.cap_reason.clone(),
                advice: self.advice,
            });
        }
        Ok(())
    }
}

/// Why a paging loop stopped before the service said it was done.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error(
        "page after page announced more results, so listing stopped after {pages} pages, {cap_reason}; {advice}"
    )]
    Capped {
        pages: usize,
        cap_reason: String,
        advice: &'static str,
    },
    #[error(
        "page {page} held only incidents already read and still announced more results (the service ignored `$skip`, or its next link led back to an earlier page), so listing stopped there; {advice}"
    )]
    Repeated { page: usize, advice: &'static str },
}

/// A service that pages without end answers otherwise than its documentation says.
/// An advanced hunting query, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntingRequest {
    /// The KQL text to send, limit included.
    pub query: String,
    /// How far back to look (ISO-8601 duration); only Microsoft Graph takes it.
    pub timespan: Option<String>,
}

/// The backend the instance's `api_backend` parameter chose, for one command run.
pub enum ConfiguredBackend<'s, 'a> {
    Legacy(DefenderApi<'s, 'a>),
    Graph(GraphApi<'s, 'a>),
}

impl<'s, 'a> ConfiguredBackend<'s, 'a> {
    /// Everything the backend sends must be answered within `timeout` from now.
    pub fn new(session: &'s mut Session<'a>, timeout: Duration) -> ConfiguredBackend<'s, 'a> {
        match session.config().endpoints.backend {
            ApiBackend::Legacy => ConfiguredBackend::Legacy(DefenderApi::new(session, timeout)),
            ApiBackend::Graph => ConfiguredBackend::Graph(GraphApi::new(session, timeout)),
        }
    }

    /// The most incidents one list request of `api` returns.
    pub fn page_size_of(api: ApiBackend) -> usize {
        match api {
            ApiBackend::Legacy => super::defender::MAX_PAGE,
            ApiBackend::Graph => super::graph::MAX_PAGE,
        }
    }
}

impl IncidentsBackend for ConfiguredBackend<'_, '_> {
    fn api(&self) -> ApiBackend {
        match self {
            ConfiguredBackend::Legacy(api) => api.api(),
            ConfiguredBackend::Graph(api) => api.api(),
        }
    }

    fn page_size(&self) -> usize {
        Self::page_size_of(self.api())
    }

    async fn probe(&mut self) -> Result<(), ApiError> {
        match self {
            ConfiguredBackend::Legacy(api) => api.probe().await,
            ConfiguredBackend::Graph(api) => api.probe().await,
        }
    }

    async fn list_incidents(&mut self, query: &IncidentQuery) -> Result<IncidentList, ApiError> {
        match self {
            ConfiguredBackend::Legacy(api) => api.list_incidents(query).await,
            ConfiguredBackend::Graph(api) => api.list_incidents(query).await,
        }
    }

    async fn list_page(
        &mut self,
        filter: &IncidentFilter,
        skip: usize,
    ) -> Result<ListPage, ApiError> {
        match self {
            ConfiguredBackend::Legacy(api) => api.list_page(filter, skip).await,
            ConfiguredBackend::Graph(api) => api.list_page(filter, skip).await,
        }
    }

    async fn get_incident(&mut self, id: &IncidentId) -> Result<Incident, ApiError> {
        match self {
            ConfiguredBackend::Legacy(api) => api.get_incident(id).await,
            ConfiguredBackend::Graph(api) => api.get_incident(id).await,
        }
    }

    async fn update_incident(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
    ) -> Result<Incident, ApiError> {
        match self {
            ConfiguredBackend::Legacy(api) => api.update_incident(id, changes).await,
            ConfiguredBackend::Graph(api) => api.update_incident(id, changes).await,
        }
    }

    async fn run_hunting_query(
        &mut self,
        request: &HuntingRequest,
    ) -> Result<HuntingResponse, ApiError> {
        match self {
            ConfiguredBackend::Legacy(api) => api.run_hunting_query(request).await,
            ConfiguredBackend::Graph(api) => api.run_hunting_query(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(numbers: &[u64]) -> Vec<IncidentId> {
        numbers.iter().map(|n| IncidentId::from(*n)).collect()
    }

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

    #[test]
    fn a_list_may_read_the_pages_its_limit_needs_plus_slack() {
        let mut bound = PageBound::for_limit(250, 100);
        for page in 0..5u64 {
            bound.next().unwrap();
            bound.read(&ids(&[page]));
        }
        assert_eq!(
            bound.next().unwrap_err().to_string(),
            "page after page announced more results, so listing stopped after 5 pages, the cap for a limit of 250 at 100 incidents a page (⌈250/100⌉ + 2); try again later, or narrow the list with `status`, `assigned_to` or `odata`"
        );
    }

    #[test]
    fn a_page_of_nothing_new_ends_the_paging_but_an_empty_page_does_not() {
        let mut bound = PageBound::for_limit(1000, 100);
        bound.read(&ids(&[1, 2]));
        bound.read(&[]);
        bound.next().unwrap();
        bound.read(&ids(&[2, 3]));
        bound.next().unwrap();
        bound.read(&ids(&[3, 1]));
        assert_eq!(
            bound.next().unwrap_err(),
            PagingError::Repeated {
                page: 4,
                advice: "try again later, or narrow the list with `status`, `assigned_to` or `odata`"
            }
        );
    }
}
