//! The Microsoft 365 Defender API's JSON as Rust types
//! (<https://learn.microsoft.com/defender-xdr/api-list-incidents>,
//! <https://learn.microsoft.com/defender-xdr/api-advanced-hunting>).
//!
//! Playbooks read the raw incident from the context, so these types must give back exactly what
//! the API sent: every field keeps the difference between a value, `null` and no key at all
//! ([`Field`]), and fields the API adds tomorrow land in `extra` and are written out again.
//! Fields are declared in the order the API sends them, so a round trip keeps that order too.

use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A field the API may send with a value, as `null`, or not at all. XSOAR's readable output
/// tells the last two apart (`assignedTo` missing reads "Unassigned", `null` reads empty), and
/// the context must show what was sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Present(T),
}

impl<T> Field<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Present(value) => Some(value),
            Field::Absent | Field::Null => None,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Present(value) => value.serialize(serializer),
            // `Absent` is skipped by `skip_serializing_if`; should it get here, `null` is the
            // closest truth.
            Field::Absent | Field::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Field::Present(value),
            None => Field::Null,
        })
    }
}

/// One page of `GET /api/incidents`.
#[derive(Debug, Clone, Deserialize)]
pub struct IncidentPage {
    #[serde(default)]
    pub value: Vec<Incident>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// An incident: alerts grouped by Defender, with its triage state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub incident_id: i64,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub incident_uri: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub redirect_incident_id: Field<i64>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub tenant_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub incident_name: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub created_time: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub last_update_time: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub assigned_to: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub classification: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub determination: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub status: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub severity: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub tags: Field<Vec<String>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub comments: Field<Vec<Comment>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub alerts: Field<Vec<Alert>>,
    /// Fields this version does not know; kept so they still reach the context.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Incident {
    /// The incident's tags; none when the API sent no list.
    pub fn tag_list(&self) -> &[String] {
        self.tags.get().map_or(&[], Vec::as_slice)
    }

    pub fn alert_list(&self) -> &[Alert] {
        self.alerts.get().map_or(&[], Vec::as_slice)
    }

    /// The incident as the API sent it, for the context.
    pub fn to_json(&self) -> Value {
        // Serializing strings, numbers and maps into a `Value` cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A comment on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub comment: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub created_by: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub created_time: Field<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An alert in an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub alert_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub provider_alert_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub incident_id: Field<i64>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub service_source: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub creation_time: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub last_updated_time: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub resolved_time: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub first_activity: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub last_activity: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub title: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub description: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub category: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub status: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub severity: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub investigation_id: Field<Value>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub investigation_state: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub classification: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub determination: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub detection_source: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub detector_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub assigned_to: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub actor_name: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub threat_family_name: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub mitre_techniques: Field<Vec<String>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub devices: Field<Vec<Device>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub entities: Field<Vec<Entity>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Alert {
    pub fn device_list(&self) -> &[Device] {
        self.devices.get().map_or(&[], Vec::as_slice)
    }

    pub fn entity_list(&self) -> &[Entity] {
        self.entities.get().map_or(&[], Vec::as_slice)
    }
}

/// A device involved in an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub mdatp_device_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub aad_device_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub device_dns_name: Field<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A piece of evidence in an alert. Which fields an entity has depends on its `entityType`, and
/// the API sends them in an order of its own for each type: all but the type are kept as sent,
/// and the few the readable table needs are read from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub entity_type: Field<String>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Entity {
    /// A text field of the entity, such as `domainName` or `mailboxAddress`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    pub fn is(&self, entity_type: &str) -> bool {
        self.entity_type.get().is_some_and(|t| t == entity_type)
    }
}

/// The body of `PATCH /api/incidents/{id}`: only the fields to change, in the order the XSOAR
/// integration sent them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `Some("")` unassigns the incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub determination: Option<String>,
    /// Replaces all tags of the incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Which determinations go with which classification, from the update API's documentation
/// (<https://learn.microsoft.com/defender-xdr/api-update-incidents>); the API refuses other pairs.
const VERDICTS: [(&str, &[&str]); 4] = [
    (
        "TruePositive",
        &[
            "MultiStagedAttack",
            "MaliciousUserActivity",
            "Malware",
            "Phishing",
            "CompromisedAccount",
            "UnwantedSoftware",
            "Other",
        ],
    ),
    (
        "InformationalExpectedActivity",
        &[
            "SecurityTesting",
            "LineOfBusinessApplication",
            "ConfirmedActivity",
            "Other",
        ],
    ),
    (
        "FalsePositive",
        &["NotMalicious", "NoEnoughDataToValidate", "Other"],
    ),
    ("Unknown", &["NotAvailable"]),
];

/// The determinations allowed with `classification`; none for an unknown classification.
pub fn allowed_determinations(classification: &str) -> Option<&'static [&'static str]> {
    VERDICTS
        .iter()
        .find(|(name, _)| *name == classification)
        .map(|(_, allowed)| *allowed)
}

/// The whole table, for messages: `TruePositive: MultiStagedAttack, …; Unknown: NotAvailable`.
pub fn verdict_table() -> String {
    VERDICTS
        .iter()
        .map(|(classification, allowed)| format!("{classification}: {}", allowed.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The answer of `POST /api/advancedhunting/run`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HuntingResponse {
    #[serde(default)]
    pub schema: Vec<SchemaColumn>,
    /// The rows, a JSON array of objects, kept as the text the API sent: there can be 100,000
    /// of them, and the output passes them on unchanged.
    #[serde(default = "no_rows")]
    pub results: Box<RawValue>,
}

fn no_rows() -> Box<RawValue> {
    // A literal that is valid JSON.
    RawValue::from_string("[]".to_owned()).expect("[] is JSON")
}

/// One column of a hunting result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaColumn {
    pub name: String,
    #[serde(default, rename = "Type")]
    pub kind: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_incident_comes_back_out_exactly_as_it_came_in() {
        let raw = json!({
            "incidentId": 7,
            "incidentUri": "https://security.microsoft.com/incidents/7",
            "redirectIncidentId": null,
            "incidentName": "n",
            "assignedTo": null,
            "tags": ["a"],
            "comments": [{"comment": "c", "createdBy": "x", "createdTime": "t", "edited": true}],
            "alerts": [{
                "alertId": "a1",
                "category": "Malware",
                "devices": [{"mdatpDeviceId": "d", "aadDeviceId": null, "deviceDnsName": "h", "osBuild": 1}],
                "entities": [{"entityType": "User", "accountName": "j", "domainName": "C"}],
                "futureAlertField": {"x": 1}
            }],
            "futureField": [1, 2]
        });
        let incident: Incident = serde_json::from_value(raw.clone()).unwrap();
        assert!(incident.classification.is_absent());
        assert_eq!(incident.assigned_to, Field::Null);
        assert_eq!(incident.extra["futureField"], json!([1, 2]));
        let back = incident.to_json();
        assert_eq!(back, raw);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&raw).unwrap(),
            "key order is kept"
        );
    }

    #[test]
    fn changes_carry_only_what_is_set() {
        let changes = IncidentChanges {
            assigned_to: Some(String::new()),
            tags: Some(vec!["x".into()]),
            ..IncidentChanges::default()
        };
        assert_eq!(
            serde_json::to_string(&changes).unwrap(),
            r#"{"assignedTo":"","tags":["x"]}"#
        );
    }
}
