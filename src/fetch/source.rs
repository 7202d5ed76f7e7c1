//! What fetching and mirroring need from the incidents API, as one small trait, and its
//! implementation over the Microsoft 365 Defender API. Keeping the requests here means the fetch
//! algorithm and the mirroring commands never build a URL, and a test can run the algorithm
//! against a scripted source.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Map, Value};

use super::time;
use crate::api::{ApiError, DefenderApi};
use crate::auth::Session;

/// The most incidents one list request returns (the API's `$top` limit).
pub const PAGE_SIZE: usize = 100;

/// A `createdTime` range: from `from` (inclusive) to `to` (exclusive), or with no upper end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedRange {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

/// An incident as the API returns it, field order kept.
pub type RawIncident = Map<String, Value>;

/// The incident reads and writes of fetching and mirroring. Lists come newest first (by
/// `createdTime`), at most [`PAGE_SIZE`] a page; `timeout` bounds the whole call, sign-in
/// included.
#[allow(async_fn_in_trait)]
pub trait IncidentSource {
    /// One page of the incidents created in `range`, from offset `skip`.
    async fn created_in(
        &mut self,
        range: CreatedRange,
        skip: usize,
        timeout: Duration,
    ) -> Result<Vec<RawIncident>, ApiError>;

    /// One page of the incidents changed after `after`, from offset `skip`.
    async fn updated_after(
        &mut self,
        after: Timestamp,
        skip: usize,
        timeout: Duration,
    ) -> Result<Vec<RawIncident>, ApiError>;

    async fn get(&mut self, id: u64, timeout: Duration) -> Result<RawIncident, ApiError>;

    /// Applies `changes` (the API's PATCH body) and returns the incident afterwards.
    async fn update(
        &mut self,
        id: u64,
        changes: &Map<String, Value>,
        timeout: Duration,
    ) -> Result<RawIncident, ApiError>;
}

/// An incident's `incidentId` (a number in the Defender API, digits in Microsoft Graph).
pub fn incident_id(incident: &RawIncident) -> Option<u64> {
    match incident.get("incidentId")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An incident's `createdTime`, in whole ticks.
pub fn created_time(incident: &RawIncident) -> Option<Timestamp> {
    incident
        .get("createdTime")?
        .as_str()
        .and_then(time::parse_instant)
        .map(time::whole_ticks)
}

/// [`IncidentSource`] over `GET/PATCH /api/incidents` of the Microsoft 365 Defender API.
pub struct DefenderSource<'s, 'a> {
    session: &'s mut Session<'a>,
}

impl<'s, 'a> DefenderSource<'s, 'a> {
    pub fn new(session: &'s mut Session<'a>) -> DefenderSource<'s, 'a> {
        DefenderSource { session }
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        let host = self.session.config().endpoints.api_base.clone();
        // The client's own timeout is a second longer, so that running out of time is always
        // reported the same way, by the outer timeout that covers sign-in too.
        let mut api = DefenderApi::new(self.session, timeout + Duration::from_secs(1));
        match tokio::time::timeout(timeout, api.send_json(method, path, query, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiError::Unreachable {
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
        filter: String,
        skip: usize,
        timeout: Duration,
    ) -> Result<Vec<RawIncident>, ApiError> {
        let mut query = vec![("$top", PAGE_SIZE.to_string()), ("$filter", filter)];
        if skip > 0 {
            query.push(("$skip", skip.to_string()));
        }
        let answer = self
            .call(Method::GET, "/api/incidents", &query, None, timeout)
            .await?;
        let Some(Value::Array(items)) = answer.get("value") else {
            return Err(ApiError::Malformed(
                "the incident list has no `value` array".to_owned(),
            ));
        };
        items
            .iter()
            .map(|item| match item {
                Value::Object(incident) if incident_id(incident).is_some() => Ok(incident.clone()),
                _ => Err(ApiError::Malformed(
                    "an item of the incident list is not an incident with an incidentId".to_owned(),
                )),
            })
            .collect()
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
    async fn created_in(
        &mut self,
        range: CreatedRange,
        skip: usize,
        timeout: Duration,
    ) -> Result<Vec<RawIncident>, ApiError> {
        let mut filter = format!("createdTime ge {}", time::format(range.from));
        if let Some(to) = range.to {
            filter.push_str(&format!(" and createdTime lt {}", time::format(to)));
        }
        self.list(filter, skip, timeout).await
    }

    async fn updated_after(
        &mut self,
        after: Timestamp,
        skip: usize,
        timeout: Duration,
    ) -> Result<Vec<RawIncident>, ApiError> {
        let filter = format!("lastUpdateTime gt {}", time::format(after));
        self.list(filter, skip, timeout).await
    }

    async fn get(&mut self, id: u64, timeout: Duration) -> Result<RawIncident, ApiError> {
        let path = format!("/api/incidents/{id}");
        Self::entity(self.call(Method::GET, &path, &[], None, timeout).await?)
    }

    async fn update(
        &mut self,
        id: u64,
        changes: &Map<String, Value>,
        timeout: Duration,
    ) -> Result<RawIncident, ApiError> {
        let path = format!("/api/incidents/{id}");
        let body = Value::Object(changes.clone());
        Self::entity(
            self.call(Method::PATCH, &path, &[], Some(&body), timeout)
                .await?,
        )
    }
}
