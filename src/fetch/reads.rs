//! The reads of fetching and mirroring: a page of what was created in a range (incidents, over
//! the [`IncidentsBackend`] the commands use, or Microsoft Graph's alerts) or of the incidents
//! changed after a time, and any call bounded by the time the run has left. The fetch
//! algorithm never builds a request, and a test can run it against a scripted service.

use std::time::Duration;

use jiff::Timestamp;

use crate::api::alerts::{self, Alert};
use crate::api::graph::GraphApi;
use crate::api::incidents::Incident;
use crate::api::incidents::model::Field;
use crate::api::{ApiError, IncidentFilter, IncidentId, IncidentsBackend, ListPage, TimeBound};
use crate::config::ApiBackend;
use crate::time;

/// What fetching emits: an item with a creation time and an id.
pub trait Fetched {
    /// When it was created, in whole ticks; none when the service sent no readable time.
    fn created(&self) -> Option<Timestamp>;
    fn id(&self) -> IncidentId;
}

impl Fetched for Incident {
    fn created(&self) -> Option<Timestamp> {
        created_time(self)
    }

    fn id(&self) -> IncidentId {
        self.fields.incident_id.clone()
    }
}

impl Fetched for Alert {
    fn created(&self) -> Option<Timestamp> {
        in_ticks(&self.fields.created_date_time)
    }

    /// Graph's alert ids are text, whatever their characters.
    fn id(&self) -> IncidentId {
        IncidentId::Text(self.fields.id.clone())
    }
}

/// What fetching reads: a page at a time of the items created in a range, newest first.
/// Incidents come through the [`IncidentsBackend`] the commands use (every backend is a source
/// of incidents); alerts through [`AlertsOf`].
#[allow(async_fn_in_trait)]
pub trait FetchSource {
    type Item: Fetched;

    /// Which API answers, for messages.
    fn api(&self) -> ApiBackend;

    /// The host requests go to, for messages.
    fn host(&self) -> String;

    /// The most items one request returns.
    fn page_size(&self) -> usize;

    /// From now on, every call must be answered within `timeout`, sign-in included.
    fn limit_to(&mut self, timeout: Duration);

    /// One page of the items created in `range` from offset `skip`, and whether more follow.
    async fn created_page(
        &mut self,
        range: CreatedRange,
        skip: usize,
    ) -> Result<(Vec<Self::Item>, bool), ApiError>;
}

impl<B: IncidentsBackend> FetchSource for B {
    type Item = Incident;

    fn api(&self) -> ApiBackend {
        IncidentsBackend::api(self)
    }

    fn host(&self) -> String {
        IncidentsBackend::host(self)
    }

    fn page_size(&self) -> usize {
        IncidentsBackend::page_size(self)
    }

    fn limit_to(&mut self, timeout: Duration) {
        IncidentsBackend::limit_to(self, timeout);
    }

    async fn created_page(
        &mut self,
        range: CreatedRange,
        skip: usize,
    ) -> Result<(Vec<Incident>, bool), ApiError> {
        let ListPage { incidents, more } = self.list_page(&range.filter(), skip).await?;
        Ok((incidents, more))
    }
}

/// Microsoft Graph's alerts (`alerts_v2`), as a source to fetch from.
pub struct AlertsOf<'g, 's, 'a>(pub &'g mut GraphApi<'s, 'a>);

impl FetchSource for AlertsOf<'_, '_, '_> {
    type Item = Alert;

    fn api(&self) -> ApiBackend {
        ApiBackend::Graph
    }

    fn host(&self) -> String {
        self.0.host()
    }

    fn page_size(&self) -> usize {
        alerts::PAGE_SIZE
    }

    fn limit_to(&mut self, timeout: Duration) {
        self.0.limit_to(timeout);
    }

    async fn created_page(
        &mut self,
        range: CreatedRange,
        skip: usize,
    ) -> Result<(Vec<Alert>, bool), ApiError> {
        self.0.alerts_created_in(range.from, range.to, skip).await
    }
}

/// A `createdTime` range: from `from` (inclusive) to `to` (exclusive), or with no upper end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedRange {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

impl CreatedRange {
    /// The list filter of the range.
    pub fn filter(self) -> IncidentFilter {
        IncidentFilter {
            created: Some(TimeBound::AtOrAfter(self.from)),
            created_before: self.to,
            ..IncidentFilter::default()
        }
    }
}

/// An incident's `createdTime`, in whole ticks.
pub fn created_time(incident: &Incident) -> Option<Timestamp> {
    in_ticks(&incident.fields.created_time)
}

/// A time an API wrote, in whole ticks.
fn in_ticks(field: &Field<String>) -> Option<Timestamp> {
    field
        .get()
        .and_then(|text| time::parse_instant(text))
        .map(time::whole_ticks)
}

/// One page of the items created in `range`, from offset `skip`, newest first, and whether
/// more follow.
pub async fn created_in<S: FetchSource>(
    source: &mut S,
    range: CreatedRange,
    skip: usize,
    timeout: Duration,
) -> Result<(Vec<S::Item>, bool), ApiError> {
    within(source, timeout, async |source| {
        source.created_page(range, skip).await
    })
    .await
}

/// One page of the incidents changed after `after`, from offset `skip`.
pub async fn updated_after(
    backend: &mut impl IncidentsBackend,
    after: Timestamp,
    skip: usize,
    timeout: Duration,
) -> Result<ListPage, ApiError> {
    let filter = IncidentFilter {
        updated_after: Some(after),
        ..IncidentFilter::default()
    };
    within(backend, timeout, async |backend| {
        backend.list_page(&filter, skip).await
    })
    .await
}

/// `call` on `backend`, answered within `timeout` or reported as a time-out like every other
/// read of a run. The backend's own deadline is a second later, so that running out of time is
/// always reported the same way, by this outer timeout, which covers sign-in too.
pub async fn within<B: FetchSource, T>(
    backend: &mut B,
    timeout: Duration,
    call: impl AsyncFnOnce(&mut B) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let (api, host) = (backend.api(), backend.host());
    backend.limit_to(timeout + Duration::from_secs(1));
    match tokio::time::timeout(timeout, call(backend)).await {
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
