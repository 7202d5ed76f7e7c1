//! What the commands ask of an incidents service, independent of which API answers. The
//! Microsoft 365 Defender API (`/api/incidents`, `/api/advancedhunting/run`) is retired on
//! 1 February 2027 in favour of Microsoft Graph (`/security/incidents`,
//! `/security/runHuntingQuery`); both implement [`IncidentsBackend`], so commands, fetching and
//! mirroring do not change when the backend does.

use std::time::Duration;

use jiff::Timestamp;

use super::models::{HuntingResponse, Incident, IncidentChanges};
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
    async fn list_incidents(&mut self, query: &IncidentQuery) -> Result<Vec<Incident>, ApiError>;

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

/// What one list request returned.
#[derive(Debug, Default)]
pub struct ListPage {
    pub incidents: Vec<Incident>,
    /// More incidents follow these: the service gave a link to the next page, or a full page.
    pub more: bool,
}

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

    async fn list_incidents(&mut self, query: &IncidentQuery) -> Result<Vec<Incident>, ApiError> {
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
