//! A Defender incident as the platform takes it in: the incident object `fetch-incidents`
//! hands over (`name`, `occurred`, `rawJSON`, …) and the mirrored object of `get-remote-data`.
//! Both carry the summary fields the XSOAR integration computes from the alerts (`Categories`,
//! `Impacted entities`, `Active alerts`, …), because incident types, layouts and mappers built for
//! that integration read them from `rawJSON`. Field names, order and values follow its recordings;
//! unlike it, the set-like columns are sorted (as in the incidents table), so that every run
//! writes the same JSON.

use serde_json::{Map, Value, json};

use crate::api::alerts::Alert;
use crate::api::incidents::Incident;
use crate::api::incidents::model::Field;
use crate::api::incidents::summary::IncidentSummary;
use crate::config::MirrorSettings;
use crate::graph::enums::pascal_case;

/// How fetched incidents are stamped for the platform.
pub struct Stamp<'a> {
    pub incident_type: Option<&'a str>,
    pub mirror: &'a MirrorSettings,
    /// The platform's name for this instance (the envelope's `integration_instance`).
    pub instance: Option<&'a str>,
}

/// The incident object for `fetch-incidents`.
pub fn fetched_incident(incident: &Incident, stamp: &Stamp) -> Value {
    let id = incident.fields.incident_id.to_string();
    let mut raw = with_summary_fields(incident);
    let occurred = raw.get("createdTime").cloned().unwrap_or(Value::Null);
    let severity = severity_number(raw.get("severity").and_then(Value::as_str));
    if let Some(direction) = stamp.mirror.direction.platform_value() {
        raw.insert("mirror_direction".into(), json!(direction));
        raw.insert(
            "mirror_instance".into(),
            json!(stamp.instance.unwrap_or_default()),
        );
        raw.insert("mirror_tags".into(), json!([stamp.mirror.comment_tag]));
    }
    let mut object = Map::new();
    object.insert("name".into(), json!(format!("Microsoft 365 Defender {id}")));
    object.insert("occurred".into(), occurred);
    object.insert("rawJSON".into(), json!(Value::Object(raw).to_string()));
    object.insert("severity".into(), severity);
    object.insert("dbotMirrorId".into(), json!(id));
    if let Some(incident_type) = stamp.incident_type {
        object.insert("type".into(), json!(incident_type));
    }
    Value::Object(object)
}

/// The platform's incident type of a fetched alert when the instance names none of its own: the
/// content pack's alert type, which its incoming mapper maps alerts for.
pub const ALERT_INCIDENT_TYPE: &str = "M365 Defender Alert";

/// The incident object for `fetch-incidents` of an alert (`fetch_type` Alerts): named by the
/// alert's title, occurring when it was created, the alert as Graph sent it in `rawJSON`, and
/// mirrored by the alert's id.
pub fn fetched_alert(alert: &Alert, stamp: &Stamp) -> Value {
    let fields = &alert.fields;
    let severity = fields.severity.get().map(|severity| pascal_case(severity));
    let mut object = Map::new();
    object.insert(
        "name".into(),
        json!(
            fields
                .title
                .get()
                .cloned()
                .unwrap_or_else(|| format!("Microsoft 365 Defender alert {}", fields.id))
        ),
    );
    object.insert(
        "occurred".into(),
        fields
            .created_date_time
            .get()
            .map_or(Value::Null, |time| json!(time)),
    );
    object.insert("rawJSON".into(), json!(alert.raw().get()));
    object.insert("severity".into(), severity_number(severity.as_deref()));
    object.insert("dbotMirrorId".into(), json!(fields.id));
    object.insert(
        "type".into(),
        json!(stamp.incident_type.unwrap_or(ALERT_INCIDENT_TYPE)),
    );
    Value::Object(object)
}

/// XSOAR's severity scale: 0 unknown, 0.5 informational, 1 low, 2 medium, 3 high.
fn severity_number(severity: Option<&str>) -> Value {
    match severity {
        Some("Informational") => json!(0.5),
        Some("Low") => json!(1),
        Some("Medium") => json!(2),
        Some("High") => json!(3),
        _ => json!(0),
    }
}

/// The incident as the API sent it, with the XSOAR integration's summary fields appended:
/// `Categories`, `Impacted entities`, `Active alerts`, `Service sources`, `Detection sources`,
/// `First activity`, `Last activity`, `Devices`, `Mailboxes`.
pub fn with_summary_fields(incident: &Incident) -> Map<String, Value> {
    let summary = IncidentSummary::of(&incident.fields);
    let mut fields = incident.to_object();
    let values = |fields: &[&Field<String>]| fields.iter().map(|field| value(field)).collect();
    let devices = summary
        .devices
        .iter()
        .map(|device| {
            let tags: Vec<&str> = device
                .tags
                .get()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            json!({
                "device name": value(&device.device_dns_name),
                "risk level": value(&device.risk_score),
                "tags": tags.join(","),
            })
        })
        .collect();
    let mailboxes = summary
        .mailboxes
        .iter()
        .map(|mailbox| {
            json!({
                "Mailbox": value(&mailbox.mailbox_address),
                "Display Name": value(&mailbox.mailbox_display_name),
            })
        })
        .collect();
    let summary_fields = [
        ("Categories", Value::Array(values(&summary.categories))),
        (
            "Impacted entities",
            Value::Array(sorted_set(values(&summary.user_domains))),
        ),
        ("Active alerts", json!(summary.active_alerts_text())),
        (
            "Service sources",
            Value::Array(sorted_set(values(&summary.service_sources))),
        ),
        (
            "Detection sources",
            Value::Array(sorted_set(values(&summary.detection_sources))),
        ),
        (
            "First activity",
            json!(summary.first_activity.unwrap_or_default()),
        ),
        (
            "Last activity",
            json!(summary.last_activity.unwrap_or_default()),
        ),
        ("Devices", Value::Array(devices)),
        ("Mailboxes", Value::Array(mailboxes)),
    ];
    for (name, value) in summary_fields {
        fields.insert(name.to_owned(), value);
    }
    fields
}

/// A field as the XSOAR integration's `dict.get(key, '')` reads it: missing is "", `null` stays
/// `null`.
fn value<T: Clone + Into<Value>>(field: &Field<T>) -> Value {
    match field {
        Field::Absent => json!(""),
        Field::Null => Value::Null,
        Field::Present(value) => value.clone().into(),
    }
}

/// The values, each once, sorted (null first, then text in byte order).
fn sorted_set(values: Vec<Value>) -> Vec<Value> {
    let mut kept: Vec<Value> = Vec::new();
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MirrorDirection;

    fn recorded_incidents() -> Vec<(Value, Value)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test_data/fetch/recording_11_incidents.json"
        );
        let recorded: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        recorded
            .as_array()
            .unwrap()
            .iter()
            .map(|incident| {
                let raw: Value =
                    serde_json::from_str(incident["rawJSON"].as_str().unwrap()).unwrap();
                (incident.clone(), raw)
            })
            .collect()
    }

    #[test]
    fn matches_the_xsoar_integrations_incidents() {
        let mirror = MirrorSettings {
            direction: MirrorDirection::Both,
            close_incident: true,
            close_out: true,
            comment_tag: "CommentToMicrosoft365Defender".to_owned(),
            comment_tag_from_defender: "CommentFromMicrosoft365Defender".to_owned(),
            close_reasons: Default::default(),
        };
        let stamp = Stamp {
            incident_type: Some("Microsoft 365 Defender Incident"),
            mirror: &mirror,
            instance: Some("Microsoft 365 Defender_instance_1"),
        };
        for (recorded, recorded_raw) in recorded_incidents() {
            // The API's incident: the recorded rawJSON without the fields the integration adds.
            let mut api_incident = recorded_raw.as_object().unwrap().clone();
            let added = [
                "Categories",
                "Impacted entities",
                "Active alerts",
                "Service sources",
                "Detection sources",
                "First activity",
                "Last activity",
                "Devices",
                "Mailboxes",
                "mirror_direction",
                "mirror_instance",
                "mirror_tags",
            ];
            for key in added {
                api_incident.shift_remove(key);
            }
            let ours = fetched_incident(&Incident::from_object(&api_incident).unwrap(), &stamp);
            assert_eq!(ours["name"], recorded["name"]);
            assert_eq!(ours["occurred"], recorded["occurred"]);
            let our_raw: Value = serde_json::from_str(ours["rawJSON"].as_str().unwrap()).unwrap();
            let keys = |value: &Value| {
                value
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(keys(&our_raw), keys(&recorded_raw), "{}", recorded["name"]);
            for key in keys(&recorded_raw) {
                if matches!(
                    key.as_str(),
                    "Impacted entities" | "Service sources" | "Detection sources"
                ) {
                    // Python sets: same members, any order.
                    let mut a = our_raw[&key].as_array().unwrap().clone();
                    let mut b = recorded_raw[&key].as_array().unwrap().clone();
                    a.sort_by_key(Value::to_string);
                    b.sort_by_key(Value::to_string);
                    assert_eq!(a, b, "{key} of {}", recorded["name"]);
                } else {
                    assert_eq!(
                        our_raw[&key], recorded_raw[&key],
                        "{key} of {}",
                        recorded["name"]
                    );
                }
            }
            assert_eq!(
                ours["dbotMirrorId"],
                json!(recorded_raw["incidentId"].to_string())
            );
            assert_eq!(ours["type"], json!("Microsoft 365 Defender Incident"));
        }
    }

    #[test]
    fn severity_follows_xsoars_scale_and_mirroring_off_adds_no_mirror_fields() {
        let mirror = MirrorSettings {
            direction: MirrorDirection::None,
            close_incident: false,
            close_out: false,
            comment_tag: "to".to_owned(),
            comment_tag_from_defender: "from".to_owned(),
            close_reasons: Default::default(),
        };
        let stamp = Stamp {
            incident_type: None,
            mirror: &mirror,
            instance: None,
        };
        for (severity, number) in [
            ("Informational", json!(0.5)),
            ("Low", json!(1)),
            ("Medium", json!(2)),
            ("High", json!(3)),
            ("UnSpecified", json!(0)),
        ] {
            let incident = json!({"incidentId": 7, "createdTime": "2025-01-01T00:00:00Z", "severity": severity});
            let ours = fetched_incident(
                &Incident::from_object(incident.as_object().unwrap()).unwrap(),
                &stamp,
            );
            assert_eq!(ours["severity"], number);
            assert!(ours.get("type").is_none());
            assert!(!ours["rawJSON"].as_str().unwrap().contains("mirror_"));
        }
        // A Microsoft Graph id that is not all digits names and mirrors the incident as it is.
        let incident = json!({"incidentId": "ed-4c2a/7", "createdTime": "2025-01-01T00:00:00Z"});
        let ours = fetched_incident(
            &Incident::from_object(incident.as_object().unwrap()).unwrap(),
            &stamp,
        );
        assert_eq!(ours["name"], json!("Microsoft 365 Defender ed-4c2a/7"));
        assert_eq!(ours["dbotMirrorId"], json!("ed-4c2a/7"));
    }
}
