//! The reads of fetching and mirroring, over the [`IncidentsBackend`] the commands use: a page
//! of the incidents created in a range or changed after a time, and any call bounded by the
//! time the run has left. The fetch algorithm never builds a request, and a test can run it
//! against a scripted backend.

use std::time::Duration;

use jiff::Timestamp;

use crate::api::incidents::Incident;
use crate::api::{ApiError, IncidentFilter, IncidentsBackend, ListPage, TimeBound};
use crate::time;

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
    incident
        .fields
        .created_time
        .get()
        .and_then(|text| time::parse_instant(text))
        .map(time::whole_ticks)
}

/// One page of the incidents created in `range`, from offset `skip`, newest first.
pub async fn created_in(
    backend: &mut impl IncidentsBackend,
    range: CreatedRange,
    skip: usize,
    timeout: Duration,
) -> Result<ListPage, ApiError> {
    let filter = range.filter();
    within(backend, timeout, async |backend| {
        backend.list_page(&filter, skip).await
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
pub async fn within<B: IncidentsBackend, T>(
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
