//! An incident in the legacy Microsoft 365 Defender API's shape as Rust types
//! (<https://learn.microsoft.com/defender-xdr/api-list-incidents>); Microsoft Graph's incidents
//! are read into the same shape.
//!
//! Playbooks read the raw incident from the context, so an [`Incident`] keeps the JSON the API
//! sent, byte for byte — fields this version does not know included — next to the typed fields
//! the integration reads. Keeping the text is also what makes a list of 100 incidents cheap:
//! nothing is rebuilt field by field on the way out.

use serde::de::{Deserializer, Error as _};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::api::IncidentId;
use crate::graph::enums::{Classification, GraphEnum};

/// A field the API may send with a value, as `null`, or not at all. XSOAR's readable output
/// tells the last two apart (`assignedTo` missing reads "Unassigned", `null` reads empty).
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

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Field::Present(value),
            None => Field::Null,
        })
    }
}

/// An incident: alerts grouped by Defender, with its triage state.
#[derive(Debug, Clone)]
pub struct Incident {
    /// What the integration reads.
    pub fields: IncidentFields,
    /// The incident as the API sent it.
    raw: Box<RawValue>,
}

impl Incident {
    /// An incident from the API's JSON text.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Incident, serde_json::Error> {
        let fields = serde_json::from_str(raw.get())?;
        Ok(Incident { fields, raw })
    }

    /// An incident from a JSON object, for answers that had to be edited first.
    pub fn from_object(object: &Map<String, Value>) -> Result<Incident, serde_json::Error> {
        Incident::from_raw(serde_json::value::to_raw_value(object)?)
    }

    /// The JSON the API sent.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The JSON the API sent, as an object to add fields to (the platform's incident objects
    /// carry summary fields beside the API's).
    pub fn to_object(&self) -> Map<String, Value> {
        // The text is an object: it was read as an incident's fields.
        serde_json::from_str(self.raw.get()).unwrap_or_default()
    }

    /// The incident's tags; none when the API sent no list.
    pub fn tag_list(&self) -> &[String] {
        self.fields.tags.get().map_or(&[], Vec::as_slice)
    }

    pub fn alert_list(&self) -> &[Alert] {
        self.fields.alerts.get().map_or(&[], Vec::as_slice)
    }
}

impl<'de> Deserialize<'de> for Incident {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Incident::from_raw(Box::<RawValue>::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl Serialize for Incident {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

/// The incident fields the integration reads; the others stay in the raw JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentFields {
    pub incident_id: IncidentId,
    #[serde(default)]
    pub incident_name: Field<String>,
    #[serde(default)]
    pub created_time: Field<String>,
    #[serde(default)]
    pub last_update_time: Field<String>,
    #[serde(default)]
    pub assigned_to: Field<String>,
    #[serde(default)]
    pub classification: Field<String>,
    #[serde(default)]
    pub determination: Field<String>,
    #[serde(default)]
    pub status: Field<String>,
    #[serde(default)]
    pub severity: Field<String>,
    #[serde(default)]
    pub tags: Field<Vec<String>>,
    #[serde(default)]
    pub comments: Field<Vec<Comment>>,
    #[serde(default)]
    pub alerts: Field<Vec<Alert>>,
}

/// A comment on an incident.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    #[serde(default)]
    pub comment: Field<String>,
    #[serde(default)]
    pub created_by: Field<String>,
    #[serde(default)]
    pub created_time: Field<String>,
}

/// An alert in an incident, as far as the readable table needs it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    #[serde(default)]
    pub status: Field<String>,
    #[serde(default)]
    pub category: Field<String>,
    #[serde(default)]
    pub service_source: Field<String>,
    #[serde(default)]
    pub detection_source: Field<String>,
    #[serde(default)]
    pub first_activity: Field<String>,
    #[serde(default)]
    pub last_activity: Field<String>,
    #[serde(default)]
    pub devices: Field<Vec<Device>>,
    #[serde(default)]
    pub entities: Field<Vec<Entity>>,
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(default)]
    pub device_dns_name: Field<String>,
    #[serde(default)]
    pub risk_score: Field<Value>,
    #[serde(default)]
    pub tags: Field<Vec<Value>>,
}

/// A piece of evidence in an alert; which fields it has depends on its `entityType`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    #[serde(default)]
    pub entity_type: Field<String>,
    /// User entities.
    #[serde(default)]
    pub domain_name: Field<String>,
    /// Mailbox entities.
    #[serde(default)]
    pub mailbox_address: Field<String>,
    #[serde(default)]
    pub mailbox_display_name: Field<String>,
}

impl Entity {
    /// Whether the entity is of `entity_type`, in any case: Microsoft documents `MailBox`,
    /// while data the XSOAR integration was built on says `Mailbox`.
    pub fn is(&self, entity_type: &str) -> bool {
        self.entity_type
            .get()
            .is_some_and(|t| t.eq_ignore_ascii_case(entity_type))
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

/// The classifications a user can give, in the order messages list them. Which determinations
/// go with each is [`Classification::determinations`]; the API refuses other pairs.
const CLASSIFICATIONS: [Classification; 4] = [
    Classification::TruePositive,
    Classification::InformationalExpectedActivity,
    Classification::FalsePositive,
    Classification::Unknown,
];

/// The determinations allowed with `classification` (legacy names); none for an unknown
/// classification.
pub fn allowed_determinations(classification: &str) -> Option<Vec<&'static str>> {
    CLASSIFICATIONS
        .iter()
        .find(|known| known.legacy_name() == classification)
        .map(|known| legacy_determinations(*known))
}

fn legacy_determinations(classification: Classification) -> Vec<&'static str> {
    classification
        .determinations()
        .iter()
        .map(|determination| determination.legacy_name())
        .collect()
}

/// The whole table, for messages: `TruePositive: MultiStagedAttack, …; Unknown: NotAvailable`.
pub fn verdict_table() -> String {
    CLASSIFICATIONS
        .iter()
        .map(|classification| {
            format!(
                "{}: {}",
                classification.legacy_name(),
                legacy_determinations(*classification).join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_keeps_the_json_it_came_in_and_reads_its_fields() {
        let text = r#"{"incidentId":7,"incidentUri":"https://security.microsoft.com/incidents/7","redirectIncidentId":null,"incidentName":"n","assignedTo":null,"tags":["a"],"comments":[{"comment":"c","createdBy":"x","createdTime":"t","edited":true}],"alerts":[{"alertId":"a1","category":"Malware","devices":[{"mdatpDeviceId":"d","deviceDnsName":"h"}],"entities":[{"entityType":"User","accountName":"j","domainName":"C"}],"futureAlertField":{"x":1}}],"futureField":[1,2]}"#;
        let incident: Incident = serde_json::from_str(text).unwrap();
        assert_eq!(incident.fields.incident_id, IncidentId::Number(7));
        assert!(incident.fields.classification.is_absent());
        assert_eq!(incident.fields.assigned_to, Field::Null);
        assert_eq!(incident.tag_list(), ["a"]);
        let alert = &incident.alert_list()[0];
        assert_eq!(alert.device_list()[0].device_dns_name.get().unwrap(), "h");
        assert!(alert.entity_list()[0].is("User"));
        assert_eq!(incident.raw().get(), text);
        assert_eq!(serde_json::to_string(&incident).unwrap(), text);
    }

    #[test]
    fn answers_translated_into_values_still_make_models() {
        let object = serde_json::json!({"incidentId": 3, "status": "Active"});
        let incident = Incident::from_object(object.as_object().unwrap()).unwrap();
        assert_eq!(incident.fields.status.get().unwrap(), "Active");
        assert_eq!(
            incident.raw().get(),
            r#"{"incidentId":3,"status":"Active"}"#
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
