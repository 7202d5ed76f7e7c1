//! What fetching and mirroring need from the incidents API, as one small trait, and its
//! implementation over the API the instance is configured for: the legacy Microsoft 365
//! Defender API or Microsoft Graph, whose answers come back in the legacy shape. Keeping the
//! requests here means the fetch algorithm and the mirroring commands never build a URL, and a
//! test can run the algorithm against a scripted source.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::time;
use crate::api::defender::incident_path;
use crate::api::graph::MAX_PAGE as GRAPH_PAGE_SIZE;
use crate::api::odata::FilterDialect;
use crate::api::{ApiError, DefenderApi, GraphApi, IncidentId};
use crate::auth::Session;
use crate::config::ApiBackend;
use crate::graph::translate::LegacyProperty;

/// The most incidents one list request of the legacy API returns (its `$top` limit).
pub const LEGACY_PAGE_SIZE: usize = 100;

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

    /// Applies `changes` (the API's PATCH body) and returns the incident afterwards.
    async fn update(
        &mut self,
        id: &IncidentId,
        changes: &Map<String, Value>,
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

/// [`IncidentSource`] over the Microsoft 365 Defender incidents of the configured API:
/// `GET/PATCH /api/incidents` of the legacy API, or Microsoft Graph's `/security/incidents`
/// through [`GraphApi`].
pub struct DefenderSource<'s, 'a> {
    session: &'s mut Session<'a>,
}

impl<'s, 'a> DefenderSource<'s, 'a> {
    pub fn new(session: &'s mut Session<'a>) -> DefenderSource<'s, 'a> {
        DefenderSource { session }
    }

    fn backend(&self) -> ApiBackend {
        self.session.config().endpoints.backend
    }

    /// The filter of `condition` on `property`, in the configured API's property names.
    fn condition(&self, property: LegacyProperty, condition: &str) -> String {
        let dialect = match self.backend() {
            ApiBackend::Legacy => FilterDialect::Legacy,
            ApiBackend::Graph => FilterDialect::Graph,
        };
        format!("{} {condition}", dialect.property(property))
    }

    /// The API this source calls and its host, for messages.
    fn place(&self) -> (ApiBackend, String) {
        let endpoints = &self.session.config().endpoints;
        (endpoints.backend, endpoints.api_base.clone())
    }

    /// `answer` within `timeout`, reported like every other time-out of the source.
    async fn within<T>(
        (api, host): (ApiBackend, String),
        timeout: Duration,
        answer: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        match tokio::time::timeout(timeout, answer).await {
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

    /// A Graph client for one call: its own timeout is a second longer than the call's, as in
    /// [`Self::call`].
    fn graph(&mut self, timeout: Duration) -> ((ApiBackend, String), GraphApi<'_, 'a>) {
        (
            self.place(),
            GraphApi::new(self.session, timeout + Duration::from_secs(1)),
        )
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        let place = self.place();
        // The client's own timeout is a second longer, so that running out of time is always
        // reported the same way, by the outer timeout that covers sign-in too.
        let mut api = DefenderApi::new(self.session, timeout + Duration::from_secs(1));
        Self::within(place, timeout, api.send_json(method, path, query, body)).await
    }

    async fn list(
        &mut self,
        filter: String,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError> {
        let (items, more) = match self.backend() {
            ApiBackend::Legacy => {
                let mut query = vec![("$top", LEGACY_PAGE_SIZE.to_string()), ("$filter", filter)];
                if skip > 0 {
                    query.push(("$skip", skip.to_string()));
                }
                let answer = self
                    .call(Method::GET, "/api/incidents", &query, None, timeout)
                    .await?;
                let items = match answer {
                    Value::Object(mut answer) => answer.remove("value"),
                    _ => None,
                };
                let Some(Value::Array(items)) = items else {
                    return Err(ApiError::Malformed(
                        "the incident list has no `value` array".to_owned(),
                    ));
                };
                let more = items.len() >= LEGACY_PAGE_SIZE;
                (items, more)
            }
            ApiBackend::Graph => {
                let (place, mut api) = self.graph(timeout);
                Self::within(place, timeout, api.list_page_legacy(&filter, skip)).await?
            }
        };
        let incidents = items
            .into_iter()
            .map(|item| match item {
                Value::Object(incident) if incident_id(&incident).is_some() => Ok(incident),
                _ => Err(ApiError::Malformed(
                    "an item of the incident list is not an incident with an incidentId".to_owned(),
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(Page { incidents, more })
    }

    fn entity(answer: Value) -> Result<RawIncident, ApiError> {
        match answer {
            Value::Object(mut incident) if incident_id(&incident).is_some() => {
                // `shift_remove` keeps the order of the fields (`remove` would move the last one up).
                incident.shift_remove("@odata.context");
                Ok(incident)
            }
            _ => Err(ApiError::Malformed(
                "the answer is not an incident with an incidentId".to_owned(),
            )),
        }
    }
}

impl IncidentSource for DefenderSource<'_, '_> {
    fn page_size(&self) -> usize {
        match self.backend() {
            ApiBackend::Legacy => LEGACY_PAGE_SIZE,
            ApiBackend::Graph => GRAPH_PAGE_SIZE,
        }
    }

    async fn created_in(
        &mut self,
        range: CreatedRange,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError> {
        let created = LegacyProperty::CreatedTime;
        let mut filter = self.condition(created, &format!("ge {}", time::format(range.from)));
        if let Some(to) = range.to {
            let before = self.condition(created, &format!("lt {}", time::format(to)));
            filter.push_str(&format!(" and {before}"));
        }
        self.list(filter, skip, timeout).await
    }

    async fn updated_after(
        &mut self,
        after: Timestamp,
        skip: usize,
        timeout: Duration,
    ) -> Result<Page, ApiError> {
        let filter = self.condition(
            LegacyProperty::LastUpdateTime,
            &format!("gt {}", time::format(after)),
        );
        self.list(filter, skip, timeout).await
    }

    async fn get(&mut self, id: &IncidentId, timeout: Duration) -> Result<RawIncident, ApiError> {
        let answer = match self.backend() {
            ApiBackend::Legacy => {
                let path = incident_path(id)?;
                self.call(Method::GET, &path, &[], None, timeout).await?
            }
            ApiBackend::Graph => {
                let (place, mut api) = self.graph(timeout);
                Self::within(place, timeout, api.get_legacy(id)).await?
            }
        };
        Self::entity(answer)
    }

    async fn update(
        &mut self,
        id: &IncidentId,
        changes: &Map<String, Value>,
        timeout: Duration,
    ) -> Result<RawIncident, ApiError> {
        let body = Value::Object(changes.clone());
        let answer = match self.backend() {
            ApiBackend::Legacy => {
                let path = incident_path(id)?;
                self.call(Method::PATCH, &path, &[], Some(&body), timeout)
                    .await?
            }
            ApiBackend::Graph => {
                let (place, mut api) = self.graph(timeout);
                Self::within(place, timeout, api.update_legacy(id, &body)).await?
            }
        };
        Self::entity(answer)
    }
}
