//! Alerts on Microsoft Graph, which the legacy API serves only inside incidents:
//! `GET /security/alerts_v2` (<https://learn.microsoft.com/graph/api/security-list-alerts_v2>),
//! `GET|PATCH /security/alerts_v2/{id}` (<https://learn.microsoft.com/graph/api/security-alert-update>)
//! and `POST /security/alerts_v2/{id}/comments`
//! (<https://learn.microsoft.com/graph/api/security-alert-post-comments>). Alerts travel as
//! Graph sent them, field names and values included; only the fields a table shows are read.

use jiff::Timestamp;
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::client::Call;
use super::graph::GraphApi;
use super::incidents::model::Field;
use super::incidents::to_graph::comment_to_graph;
use super::odata::{UserOptions, datetime_literal, string_literal, wanted};
use super::paging::{Items, Listing, ODataPage, read_list};
use super::retry::Replay;
use super::{ApiError, IncidentId};
use crate::graph::enums::{
    AlertStatus, Classification, Determination, GraphEnum, ServiceSource, Severity,
};

const ALERTS: &str = "/v1.0/security/alerts_v2";
const INCIDENTS: &str = "/v1.0/security/incidents";

/// The `$top` of a page of alerts. Graph documents no maximum for alerts_v2; 100 is known to
/// work. A page bound counts pages of this size.
pub const PAGE_SIZE: usize = 100;

/// An alert list, for the messages of its page bound.
const ALERT_LIST: Items = Items {
    noun: "alerts",
    advice: "try again later, or narrow the list with `status`, `severity`, `created_after` or `odata`",
};

/// Conditions on the properties Graph documents as filterable on alerts_v2, all of which must
/// hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    pub service_source: Option<ServiceSource>,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    pub assigned_to: Option<String>,
    /// Created at or after this.
    pub created_after: Option<Timestamp>,
}

impl AlertFilter {
    /// The `$filter` expression, or none when there are no conditions.
    pub fn expression(&self) -> Option<String> {
        fn member<E: GraphEnum>(property: &str, value: Option<E>) -> Option<String> {
            value.map(|value| format!("{property} eq {}", string_literal(value.graph_name())))
        }
        let conditions: Vec<String> = [
            member("status", self.status),
            member("severity", self.severity),
            member("serviceSource", self.service_source),
            member("classification", self.classification),
            member("determination", self.determination),
            self.assigned_to
                .as_deref()
                .map(|owner| format!("assignedTo eq {}", string_literal(owner))),
            self.created_after
                .map(|time| format!("createdDateTime ge {}", datetime_literal(time))),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!conditions.is_empty()).then(|| conditions.join(" and "))
    }
}

/// Which alerts to list: the filter, or a user's own OData options in its place.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertQuery {
    pub filter: AlertFilter,
    pub odata: Option<UserOptions>,
    pub limit: usize,
}

/// An alert as Graph sent it, beside the fields a table shows.
#[derive(Debug)]
pub struct Alert {
    raw: Box<RawValue>,
    pub fields: AlertFields,
}

impl Alert {
    pub fn from_raw(raw: Box<RawValue>) -> Result<Alert, ApiError> {
        let fields = serde_json::from_str(raw.get())
            .map_err(|e| ApiError::Malformed(format!("an alert could not be read ({e})")))?;
        Ok(Alert { raw, fields })
    }

    /// The JSON Graph sent.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }
}

/// The fields of an alert that tables show, as Graph names them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertFields {
    pub id: String,
    #[serde(default)]
    pub title: Field<String>,
    #[serde(default)]
    pub severity: Field<String>,
    #[serde(default)]
    pub status: Field<String>,
    #[serde(default)]
    pub category: Field<String>,
    #[serde(default)]
    pub service_source: Field<String>,
    #[serde(default)]
    pub detection_source: Field<String>,
    #[serde(default)]
    pub incident_id: Field<String>,
    #[serde(default)]
    pub assigned_to: Field<String>,
    #[serde(default)]
    pub created_date_time: Field<String>,
}

/// A list of alerts as one JSON array of them as Graph sent them, beside their table fields.
#[derive(Debug, Default)]
pub struct AlertList {
    pub raw: Vec<Box<RawValue>>,
    pub fields: Vec<AlertFields>,
}

/// The changes an alert update makes: only the fields given, in Graph's names and values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertChanges {
    pub status: Option<AlertStatus>,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    /// `Some("")` unassigns the alert.
    pub assigned_to: Option<String>,
}

impl AlertChanges {
    /// The PATCH body, in the order Graph's update documentation lists the properties.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        if let Some(status) = self.status {
            body.insert("status".into(), json!(status.graph_name()));
        }
        if let Some(classification) = self.classification {
            body.insert("classification".into(), json!(classification.graph_name()));
        }
        if let Some(determination) = self.determination {
            body.insert("determination".into(), json!(determination.graph_name()));
        }
        if let Some(assigned_to) = &self.assigned_to {
            body.insert("assignedTo".into(), json!(assigned_to));
        }
        Value::Object(body)
    }

    pub fn is_empty(&self) -> bool {
        *self == AlertChanges::default()
    }
}

impl GraphApi<'_, '_> {
    /// Up to the query's limit of alerts, newest first as Graph lists them.
    pub async fn list_alerts(&mut self, query: &AlertQuery) -> Result<AlertList, ApiError> {
        let limit = wanted(query.odata.as_ref(), query.limit);
        let options = match &query.odata {
            Some(options) => options.pairs().to_vec(),
            None => {
                let mut options = Vec::new();
                if let Some(filter) = query.filter.expression() {
                    options.push(("$filter".to_owned(), filter));
                }
                options.push(("$top".to_owned(), limit.min(PAGE_SIZE).to_string()));
                options
            }
        };
        let mut alerts = AlertList::default();
        let listing = Listing {
            path: ALERTS,
            items: ALERT_LIST,
            options,
            limit,
            page_size: PAGE_SIZE,
            offset: 0,
            read_on: None,
        };
        read_list(&mut self.client, listing, |raw: Box<RawValue>| {
            let alert = Alert::from_raw(raw)?;
            let id = alert.fields.id.clone();
            alerts.raw.push(alert.raw);
            alerts.fields.push(alert.fields);
            Ok(id)
        })
        .await?;
        Ok(alerts)
    }

    /// One page of the alerts created from `from` (inclusive) to `to` (exclusive, or no end),
    /// from offset `skip`, newest first, and whether more follow: what fetching reads.
    pub async fn alerts_created_in(
        &mut self,
        from: Timestamp,
        to: Option<Timestamp>,
        skip: usize,
    ) -> Result<(Vec<Alert>, bool), ApiError> {
        let mut filter = format!("createdDateTime ge {}", datetime_literal(from));
        if let Some(to) = to {
            filter.push_str(&format!(" and createdDateTime lt {}", datetime_literal(to)));
        }
        let mut options = vec![
            ("$filter".to_owned(), filter),
            ("$top".to_owned(), PAGE_SIZE.to_string()),
        ];
        if skip > 0 {
            options.push(("$skip".to_owned(), skip.to_string()));
        }
        let url = self.client.url(ALERTS)?;
        let page: ODataPage<Box<RawValue>> = self.client.get_json(url, &options).await?;
        let more = page.announces_more(PAGE_SIZE);
        let alerts = page
            .value
            .into_iter()
            .map(Alert::from_raw)
            .collect::<Result<_, _>>()?;
        Ok((alerts, more))
    }

    /// Alert `id`.
    pub async fn get_alert(&mut self, id: &str) -> Result<Alert, ApiError> {
        let url = self.client.url_with(ALERTS, &[id])?;
        let raw: Box<RawValue> = self.client.get_json(url, &[]).await?;
        Alert::from_raw(without_context(raw)?)
    }

    /// Applies `changes` to alert `id` with one PATCH and returns the alert afterwards.
    pub async fn update_alert(
        &mut self,
        id: &str,
        changes: &AlertChanges,
    ) -> Result<Alert, ApiError> {
        let url = self.client.url_with(ALERTS, &[id])?;
        let raw: Box<RawValue> = self
            .client
            .send_json(Call::json(
                Method::PATCH,
                url,
                &changes.body(),
                Replay::Safe,
            ))
            .await?;
        Alert::from_raw(without_context(raw)?)
    }

    /// Adds `comment` to alert `id`; returns all of the alert's comments, as Graph answers.
    pub async fn comment_alert(&mut self, id: &str, comment: &str) -> Result<Vec<Value>, ApiError> {
        let url = self.client.url_with(ALERTS, &[id, "comments"])?;
        let body = comment_to_graph(comment);
        #[derive(Deserialize)]
        struct Comments {
            #[serde(default)]
            value: Vec<Value>,
        }
        // A comment is added by every request that arrives: never risk sending it twice.
        let comments: Comments = self
            .client
            .send_json(Call::json(
                Method::POST,
                url,
                &body,
                Replay::OnlyIfNeverSent,
            ))
            .await?;
        Ok(comments.value)
    }
}

impl GraphApi<'_, '_> {
    /// The alerts of incident `id`, as Graph sends them in the incident (`$expand=alerts`).
    pub async fn incident_alerts(&mut self, id: &IncidentId) -> Result<Vec<Value>, ApiError> {
        let segment = id
            .path_segment()
            .ok_or_else(|| ApiError::UnaddressableId(id.to_string()))?;
        let url = self.client.url_with(INCIDENTS, &[&segment])?;
        #[derive(Deserialize)]
        struct Expanded {
            #[serde(default)]
            alerts: Option<Vec<Value>>,
        }
        let incident: Expanded = self
            .client
            .get_json(url, &[("$expand".to_owned(), "alerts".to_owned())])
            .await?;
        Ok(incident.alerts.unwrap_or_default())
    }
}

/// A single-entity answer without its `@odata.context`, which is about the answer.
pub(super) fn without_context(raw: Box<RawValue>) -> Result<Box<RawValue>, ApiError> {
    let mut object: Map<String, Value> = serde_json::from_str(raw.get())
        .map_err(|e| ApiError::Malformed(format!("the answer is not a JSON object ({e})")))?;
    if object.shift_remove("@odata.context").is_none() {
        return Ok(raw);
    }
    serde_json::value::to_raw_value(&object).map_err(|e| ApiError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_use_graph_names_and_escape_values() {
        let filter = AlertFilter {
            status: Some(AlertStatus::New),
            severity: Some(Severity::High),
            service_source: Some(ServiceSource::MicrosoftDefenderForEndpoint),
            classification: Some(Classification::TruePositive),
            determination: Some(Determination::NotMalicious),
            assigned_to: Some("o'brien@contoso.com".to_owned()),
            created_after: Some("2026-12-01T00:00:00Z".parse().unwrap()),
        };
        assert_eq!(
            filter.expression().unwrap(),
            "status eq 'new' and severity eq 'high' and serviceSource eq 'microsoftDefenderForEndpoint' and classification eq 'truePositive' and determination eq 'notMalicious' and assignedTo eq 'o''brien@contoso.com' and createdDateTime ge 2026-12-01T00:00:00Z"
        );
        assert_eq!(AlertFilter::default().expression(), None);
    }

    #[test]
    fn an_update_sends_only_what_is_given() {
        let changes = AlertChanges {
            status: Some(AlertStatus::Resolved),
            assigned_to: Some(String::new()),
            ..AlertChanges::default()
        };
        assert_eq!(
            changes.body(),
            json!({"status": "resolved", "assignedTo": ""})
        );
        assert!(AlertChanges::default().is_empty());
    }

    #[test]
    fn an_alert_keeps_what_graph_sent() {
        let text = r##"{"@odata.context":"x","id":"da1","title":"t","severity":"high","evidence":[{"@odata.type":"#microsoft.graph.security.ipEvidence"}]}"##;
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        let alert = Alert::from_raw(without_context(raw).unwrap()).unwrap();
        assert_eq!(alert.fields.id, "da1");
        assert!(alert.fields.status.is_absent());
        assert_eq!(
            alert.raw().get(),
            r##"{"id":"da1","title":"t","severity":"high","evidence":[{"@odata.type":"#microsoft.graph.security.ipEvidence"}]}"##
        );
    }
}
