//! What fetching and mirroring need from the incidents API, as one small trait, and its
//! implementation over the backend the instance is configured for ([`ConfiguredBackend`]: the
//! legacy Microsoft 365 Defender API or Microsoft Graph, whose answers come back in the legacy
//! shape). The fetch algorithm and the mirroring commands work on incidents as JSON objects and
//! never build a request, and a test can run the algorithm against a scripted source.

use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::time;
use crate::api::incidents::{Incident, IncidentChanges, page_size_of};
use crate::api::{
    Api, ApiError, IncidentFilter, IncidentId, IncidentsBackend, ListPage, TimeBound,
};
use crate::auth::Session;

/// A `createdTime` range: from `from` (inclusive) to `to` (exclusive), or with no upper end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedRange {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

/// An incident as the API returns it, field order kept.
pub type RawIncident = Map<String, Value>;

/// What one list request returned: incidents newest first, and whether more follow them (read
/// them with a larger `skip`, or a narrower range).
#[derive(Debug, Default)]
pub struct Page {
    pub incidents: Vec<RawIncident>,
    pub more: bool,
}

/// The incident reads and writes of fetching and mirroring. Lists come newest first (by
/// `createdTime`), a page a request, at most [`IncidentSource::page_size`] a page; `timeout`
/// bounds the whole call, sign-in included.
#[allow(async_fn_in_trait)]
pub trait IncidentSource {
    /// The most incidents a page holds: 100 on the legacy API, 50 on Microsoft Graph.
    fn page_size(&self) -> usize;

    /// One page of the incidents created in `range`, from offset `skip`.
    async fn created_in(
        &mut self,
        range: CreatedRange,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError>;

    /// One page of the incidents changed after `after`, from offset `skip`.
    async fn updated_after(
        &mut self,
        after: Timestamp,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError>;

    async fn get(&mut self, id: &IncidentId, timeout: Duration) -> Result<RawIncident, ApiError>;

    /// Applies `changes` and returns the incident afterwards.
    async fn update(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
        timeout: Duration,
    ) -> Result<RawIncident, ApiError>;
}

/// An incident's `incidentId`: a number in the legacy shape, or Microsoft Graph's id when it is
/// not all digits.
pub fn incident_id(incident: &RawIncident) -> Option<IncidentId> {
    IncidentId::deserialize(incident.get("incidentId")?).ok()
}

/// An incident's `createdTime`, in whole ticks.
pub fn created_time(incident: &RawIncident) -> Option<Timestamp> {
    incident
        .get("createdTime")?
        .as_str()
        .and_then(time::parse_instant)
        .map(time::whole_ticks)
}

/// [`IncidentSource`] over the incidents of the configured backend.
pub struct DefenderSource<'s, 'a> {
    session: &'s mut Session<'a>,
}

impl<'s, 'a> DefenderSource<'s, 'a> {
    pub fn new(session: &'s mut Session<'a>) -> DefenderSource<'s, 'a> {
        DefenderSource { session }
    }

    /// `call` on a backend for one call, answered within `timeout` or reported as a time-out
    /// like every other of the source. The backend's own timeout is a second longer, so that
    /// running out of time is always reported the same way, by the outer timeout that covers
    /// sign-in too.
    async fn within<T>(
        &mut self,
        timeout: Duration,
        call: impl AsyncFnOnce(&mut Api<'_, 'a>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let endpoints = &self.session.config().endpoints;
        let (api, host) = (endpoints.backend, endpoints.api_base.clone());
        let mut backend = Api::new(self.session, timeout + Duration::from_secs(1));
        match tokio::time::timeout(timeout, call(&mut backend)).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiError::Unreachable {
                api,
                host,
                cause: format!(
                    "no answer within {} seconds, the time left for this command",
                    timeout.as_secs_f32().ceil()
                ),
            }),
        }
    }

    async fn list(
        &mut self,
        filter: IncidentFilter,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError> {
        let ListPage { incidents, more } = self
            .within(timeout, async |backend| {
                backend.list_page(&filter, skip).await
            })
            .await?;
        let incidents = incidents
            .iter()
            .map(raw_incident)
            .collect::<Result<_, _>>()?;
        Ok(Page { incidents, more })
    }
}

/// An incident as the JSON object the API sent (`@odata.context` already dropped).
fn raw_incident(incident: &Incident) -> Result<RawIncident, ApiError> {
    serde_json::from_str(incident.raw().get()).map_err(|_| {
        ApiError::Malformed("the answer is not an incident with an incidentId".to_owned())
    })
}

impl IncidentSource for DefenderSource<'_, '_> {
    fn page_size(&self) -> usize {
        page_size_of(self.session.config().endpoints.backend)
    }

    async fn created_in(
        &mut self,
        range: CreatedRange,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError> {
        let filter = IncidentFilter {
            created: Some(TimeBound::AtOrAfter(range.from)),
            created_before: range.to,
            ..IncidentFilter::default()
        };
        self.list(filter, skip, timeout).await
    }

    async fn updated_after(
        &mut self,
        after: Timestamp,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError> {
        let filter = IncidentFilter {
            updated_after: Some(after),
            ..IncidentFilter::default()
        };
        self.list(filter, skip, timeout).await
    }

    async fn get(&mut self, id: &IncidentId, timeout: Duration) -> Result<RawIncident, ApiError> {
        let incident = self
            .within(timeout, async |backend| backend.get_incident(id).await)
            .await?;
        raw_incident(&incident)
    }

    async fn update(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
        timeout: Duration,
    ) -> Result<RawIncident, ApiError> {
        let incident = self
            .within(timeout, async |backend| {
                backend.update_incident(id, changes).await
            })
            .await?;
        raw_incident(&incident)
    }
}
