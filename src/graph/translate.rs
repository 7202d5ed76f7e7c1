//! The one place where Microsoft Graph's security shapes meet the legacy Defender API's. The
//! commands, their context paths and readable tables were built on the legacy JSON
//! (`raw_incident.json`'s keys and order, PascalCase enums, numeric incident ids); after the
//! legacy API retires on 1 Feb 2027 the data comes from Graph instead, so every Graph answer is
//! turned into the legacy shape here, and every write is turned into Graph's body here, and the
//! commands never learn which API they talk to.
//!
//! Reading, the legacy keys come first and in the legacy order, then what only Graph has
//! (`incidentUri`, `systemTags`, `summary`, the raw `evidence` of alerts, any property Graph adds
//! later), so nothing Graph says is lost. OData annotations (`@odata.type`, `…@odata.type`)
//! describe the payload rather than the incident and are dropped.
//!
//! Graph references: incident
//! (<https://learn.microsoft.com/graph/api/resources/security-incident>), alert and its evidence
//! (<https://learn.microsoft.com/graph/api/resources/security-alert>,
//! <https://learn.microsoft.com/graph/api/resources/security-alertevidence>), comments
//! (<https://learn.microsoft.com/graph/api/security-incident-post-comments>), hunting
//! (<https://learn.microsoft.com/graph/api/security-security-runhuntingquery>).

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::enums::{
    AlertStatus, Classification, DetectionSource, Determination, GraphEnum, IncidentStatus,
    ServiceSource, Severity, legacy_spelling, pascal_case,
};

/// Why a Graph body or a legacy update could not be translated.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("Microsoft Graph sent {found} where {expected} was expected.")]
    Unexpected {
        expected: &'static str,
        found: &'static str,
    },
    #[error("{value:?} is not a {field} value; use one of: {allowed}.")]
    UnknownValue {
        field: &'static str,
        value: String,
        allowed: String,
    },
    #[error("The {field} of an incident update must be {expected}.")]
    WrongType {
        field: String,
        expected: &'static str,
    },
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn object<'a>(
    value: &'a Value,
    expected: &'static str,
) -> Result<&'a Map<String, Value>, TranslateError> {
    value.as_object().ok_or(TranslateError::Unexpected {
        expected,
        found: kind_of(value),
    })
}

/// An OData annotation rather than data: `@odata.context`, `@odata.type`,
/// `Timestamp@odata.type`.
pub fn is_annotation(key: &str) -> bool {
    key.starts_with('@') || key.contains("@odata.")
}

/// An id as the legacy API types it: a number when it is all digits (incident ids), the string
/// otherwise.
fn legacy_id(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text))
            if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            text.parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(text.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// An enumeration value in its legacy spelling; `null` stays `null`.
fn legacy_enum<E: GraphEnum>(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text)) => Value::String(legacy_spelling::<E>(text)),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// An open enumeration (verdicts, health states) in the legacy spelling: first letter raised.
fn legacy_open_enum(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text)) => Value::String(pascal_case(text)),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// Builds a legacy object: the legacy keys in order, then every source key not consumed and not
/// an annotation, as Graph sent it.
struct LegacyObject<'a> {
    source: &'a Map<String, Value>,
    consumed: Vec<&'static str>,
    target: Map<String, Value>,
}

impl<'a> LegacyObject<'a> {
    fn from(source: &'a Map<String, Value>) -> LegacyObject<'a> {
        LegacyObject {
            source,
            consumed: Vec::new(),
            target: Map::new(),
        }
    }

    /// The Graph property `graph`, marked as translated.
    fn take(&mut self, graph: &'static str) -> Option<&'a Value> {
        self.consumed.push(graph);
        self.source.get(graph)
    }

    fn put(&mut self, legacy: &str, value: Value) {
        self.target.insert(legacy.to_owned(), value);
    }

    /// `legacy` ← Graph's `graph`, unchanged.
    fn rename(&mut self, legacy: &str, graph: &'static str) {
        let value = self.take(graph).cloned().unwrap_or(Value::Null);
        self.put(legacy, value);
    }

    fn finish(mut self) -> Map<String, Value> {
        for (key, value) in self.source {
            if !self.consumed.contains(&key.as_str())
                && !is_annotation(key)
                && !self.target.contains_key(key)
            {
                self.target.insert(key.clone(), value.clone());
            }
        }
        self.target
    }
}

/// A Graph incident (`microsoft.graph.security.incident`, alerts expanded or not) in the legacy
/// incident shape.
pub fn incident_to_legacy(graph: &Value) -> Result<Value, TranslateError> {
    let mut incident = LegacyObject::from(object(graph, "an incident object")?);
    let id = legacy_id(incident.take("id"));
    incident.put("incidentId", id);
    let redirect = legacy_id(incident.take("redirectIncidentId"));
    incident.put("redirectIncidentId", redirect);
    incident.rename("incidentName", "displayName");
    incident.rename("createdTime", "createdDateTime");
    incident.rename("lastUpdateTime", "lastUpdateDateTime");
    incident.rename("assignedTo", "assignedTo");
    let classification = legacy_enum::<Classification>(incident.take("classification"));
    incident.put("classification", classification);
    let determination = legacy_enum::<Determination>(incident.take("determination"));
    incident.put("determination", determination);
    let status = legacy_enum::<IncidentStatus>(incident.take("status"));
    incident.put("status", status);
    let severity = legacy_enum::<Severity>(incident.take("severity"));
    incident.put("severity", severity);
    let tags = incident.take("customTags").cloned().unwrap_or(json!([]));
    incident.put("tags", tags);
    let comments = match incident.take("comments") {
        Some(Value::Array(comments)) => comments.iter().map(comment_to_legacy).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of comments",
                found: kind_of(other),
            });
        }
    };
    incident.put("comments", Value::Array(comments));
    let alerts = match incident.take("alerts") {
        Some(Value::Array(alerts)) => alerts
            .iter()
            .map(alert_to_legacy)
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of alerts",
                found: kind_of(other),
            });
        }
    };
    incident.put("alerts", Value::Array(alerts));
    incident.rename("incidentUri", "incidentWebUrl");
    Ok(Value::Object(incident.finish()))
}

/// A Graph comment `{comment, createdByDisplayName, createdDateTime}` as the legacy
/// `{comment, createdBy, createdTime}`.
pub fn comment_to_legacy(graph: &Value) -> Value {
    let Some(source) = graph.as_object() else {
        return graph.clone();
    };
    let mut comment = LegacyObject::from(source);
    comment.rename("comment", "comment");
    comment.rename("createdBy", "createdByDisplayName");
    comment.rename("createdTime", "createdDateTime");
    Value::Object(comment.finish())
}

/// A Graph alert (`microsoft.graph.security.alert`) as a legacy alert: its evidence becomes the
/// legacy `entities` and `devices` as far as they map, and stays under `evidence` as Graph sent
/// it.
pub fn alert_to_legacy(graph: &Value) -> Result<Value, TranslateError> {
    let mut alert = LegacyObject::from(object(graph, "an alert object")?);
    alert.rename("alertId", "id");
    let incident_id = legacy_id(alert.take("incidentId"));
    alert.put("incidentId", incident_id);
    let service_source = legacy_enum::<ServiceSource>(alert.take("serviceSource"));
    alert.put("serviceSource", service_source);
    alert.rename("creationTime", "createdDateTime");
    alert.rename("lastUpdatedTime", "lastUpdateDateTime");
    alert.rename("resolvedTime", "resolvedDateTime");
    alert.rename("firstActivity", "firstActivityDateTime");
    alert.rename("lastActivity", "lastActivityDateTime");
    alert.rename("title", "title");
    alert.rename("description", "description");
    alert.rename("category", "category");
    let status = legacy_enum::<AlertStatus>(alert.take("status"));
    alert.put("status", status);
    let severity = legacy_enum::<Severity>(alert.take("severity"));
    alert.put("severity", severity);
    // Automated investigations are not part of Graph's alert.
    alert.put("investigationId", Value::Null);
    alert.put("investigationState", Value::Null);
    // The legacy API leaves an unclassified alert's classification and determination `null`.
    let classification = unless_unknown(alert.take("classification"));
    alert.put(
        "classification",
        legacy_enum::<Classification>(classification),
    );
    let determination = unless_unknown(alert.take("determination"));
    alert.put("determination", legacy_enum::<Determination>(determination));
    let detection_source = legacy_enum::<DetectionSource>(alert.take("detectionSource"));
    alert.put("detectionSource", detection_source);
    alert.rename("detectorId", "detectorId");
    alert.rename("assignedTo", "assignedTo");
    alert.rename("actorName", "actorDisplayName");
    alert.rename("threatFamilyName", "threatFamilyName");
    let techniques = alert.take("mitreTechniques").cloned().unwrap_or(json!([]));
    alert.put("mitreTechniques", techniques);
    let evidence = match alert.take("evidence") {
        Some(Value::Array(evidence)) => evidence.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of evidence",
                found: kind_of(other),
            });
        }
    };
    let translated = evidence_to_legacy(&evidence);
    alert.put("devices", Value::Array(translated.devices));
    alert.put("entities", Value::Array(translated.entities));
    alert.put("evidence", Value::Array(evidence));
    Ok(Value::Object(alert.finish()))
}

fn unless_unknown(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| {
        !value
            .as_str()
            .is_some_and(|text| text.eq_ignore_ascii_case("unknown"))
    })
}

/// An alert's evidence in the legacy shapes.
#[derive(Debug, Default, PartialEq)]
pub struct LegacyEvidence {
    /// Legacy `entities[]`: users, addresses, files, processes, mail, registry, groups.
    pub entities: Vec<Value>,
    /// Legacy `devices[]`, from `deviceEvidence`.
    pub devices: Vec<Value>,
}

/// The keys of a legacy entity, in the legacy order. The legacy API sends all of them for every
/// entity type, `null` where one does not apply.
const ENTITY_KEYS: &[&str] = &[
    "entityType",
    "evidenceCreationTime",
    "verdict",
    "remediationStatus",
    "sha1",
    "sha256",
    "fileName",
    "filePath",
    "processId",
    "processCommandLine",
    "processCreationTime",
    "parentProcessId",
    "parentProcessCreationTime",
    "ipAddress",
    "url",
    "accountName",
    "domainName",
    "userSid",
    "aadUserId",
    "userPrincipalName",
    "mailboxDisplayName",
    "mailboxAddress",
    "clusterBy",
    "sender",
    "recipient",
    "subject",
    "deliveryAction",
    "securityGroupId",
    "securityGroupName",
    "registryHive",
    "registryKey",
    "registryValueType",
    "registryValue",
    "deviceId",
];

/// The evidence kind of `@odata.type`, e.g. `#microsoft.graph.security.userEvidence` →
/// `userevidence`.
fn evidence_kind(evidence: &Map<String, Value>) -> String {
    let odata_type = evidence
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    odata_type
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .trim_start_matches('#')
        .to_ascii_lowercase()
}

/// Graph evidence → legacy `entities[]` and `devices[]`. Evidence without a legacy counterpart
/// (cloud applications, OAuth applications, …) has no entity; it remains in the raw evidence.
pub fn evidence_to_legacy(evidence: &[Value]) -> LegacyEvidence {
    let mut legacy = LegacyEvidence::default();
    for item in evidence {
        let Some(source) = item.as_object() else {
            continue;
        };
        let kind = evidence_kind(source);
        if kind == "deviceevidence" {
            legacy.devices.push(device_to_legacy(source));
        } else if let Some(entity) = entity_to_legacy(&kind, source) {
            legacy.entities.push(entity);
        }
    }
    legacy
}

/// The value at `path` (`["imageFile", "sha1"]`), `null` when any step is missing.
fn field(source: &Map<String, Value>, path: &[&str]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return Value::Null;
    };
    let mut value = source.get(*first);
    for key in rest {
        value = value.and_then(|inner| inner.get(key));
    }
    value.cloned().unwrap_or(Value::Null)
}

fn entity_to_legacy(kind: &str, source: &Map<String, Value>) -> Option<Value> {
    let entity_type = match kind {
        "userevidence" => "User",
        "ipevidence" => "Ip",
        "urlevidence" => "Url",
        "fileevidence" => "File",
        "processevidence" => "Process",
        "mailboxevidence" => "MailBox",
        "analyzedmessageevidence" => "MailMessage",
        "mailclusterevidence" => "MailCluster",
        "registrykeyevidence" | "registryvalueevidence" => "Registry",
        "securitygroupevidence" => "SecurityGroup",
        _ => return None,
    };
    let mut entity: Map<String, Value> = ENTITY_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), Value::Null))
        .collect();
    let mut set = |key: &str, value: Value| {
        entity.insert(key.to_owned(), value);
    };
    set("entityType", Value::from(entity_type));
    set("evidenceCreationTime", field(source, &["createdDateTime"]));
    set("verdict", legacy_open_enum(source.get("verdict")));
    set(
        "remediationStatus",
        legacy_open_enum(source.get("remediationStatus")),
    );
    let account = |set: &mut dyn FnMut(&str, Value), path: &str| {
        set("accountName", field(source, &[path, "accountName"]));
        set("domainName", field(source, &[path, "domainName"]));
        set("userSid", field(source, &[path, "userSid"]));
        set("aadUserId", field(source, &[path, "azureAdUserId"]));
        set(
            "userPrincipalName",
            field(source, &[path, "userPrincipalName"]),
        );
    };
    let file = |set: &mut dyn FnMut(&str, Value), path: &str| {
        set("sha1", field(source, &[path, "sha1"]));
        set("sha256", field(source, &[path, "sha256"]));
        set("fileName", field(source, &[path, "fileName"]));
        set("filePath", field(source, &[path, "filePath"]));
    };
    match entity_type {
        "User" => account(&mut set, "userAccount"),
        "Ip" => set("ipAddress", field(source, &["ipAddress"])),
        "Url" => set("url", field(source, &["url"])),
        "File" => {
            file(&mut set, "fileDetails");
            set("deviceId", field(source, &["mdeDeviceId"]));
        }
        "Process" => {
            file(&mut set, "imageFile");
            set("processId", field(source, &["processId"]));
            set("processCommandLine", field(source, &["processCommandLine"]));
            set(
                "processCreationTime",
                field(source, &["processCreationDateTime"]),
            );
            set("parentProcessId", field(source, &["parentProcessId"]));
            set(
                "parentProcessCreationTime",
                field(source, &["parentProcessCreationDateTime"]),
            );
            if source.get("userAccount").is_some_and(Value::is_object) {
                account(&mut set, "userAccount");
            }
            set("deviceId", field(source, &["mdeDeviceId"]));
        }
        "MailBox" => {
            set("mailboxDisplayName", field(source, &["displayName"]));
            set("mailboxAddress", field(source, &["primaryAddress"]));
            let upn = match field(source, &["upn"]) {
                Value::Null => field(source, &["userAccount", "userPrincipalName"]),
                upn => upn,
            };
            set("userPrincipalName", upn);
        }
        "MailMessage" => {
            let sender = match field(source, &["p1Sender", "emailAddress"]) {
                Value::Null => field(source, &["p2Sender", "emailAddress"]),
                sender => sender,
            };
            set("sender", sender);
            set("recipient", field(source, &["recipientEmailAddress"]));
            set("subject", field(source, &["subject"]));
            set(
                "deliveryAction",
                legacy_open_enum(source.get("deliveryAction")),
            );
        }
        "MailCluster" => set("clusterBy", field(source, &["clusterBy"])),
        "Registry" => {
            set("registryHive", field(source, &["registryHive"]));
            set("registryKey", field(source, &["registryKey"]));
            set("registryValueType", field(source, &["registryValueType"]));
            set("registryValue", field(source, &["registryValue"]));
            set("deviceId", field(source, &["mdeDeviceId"]));
        }
        "SecurityGroup" => {
            set("securityGroupId", field(source, &["securityGroupId"]));
            set("securityGroupName", field(source, &["displayName"]));
        }
        _ => {}
    }
    Some(Value::Object(entity))
}

fn device_to_legacy(source: &Map<String, Value>) -> Value {
    let vm_metadata = match source.get("vmMetadata") {
        Some(Value::Object(vm)) => json!({
            "vmId": vm.get("vmId").cloned().unwrap_or(Value::Null),
            "cloudProvider": legacy_open_enum(vm.get("cloudProvider")),
            "resourceId": vm.get("resourceId").cloned().unwrap_or(Value::Null),
            "subscriptionId": vm.get("subscriptionId").cloned().unwrap_or(Value::Null),
        }),
        _ => Value::Null,
    };
    json!({
        "mdatpDeviceId": field(source, &["mdeDeviceId"]),
        "aadDeviceId": field(source, &["azureAdDeviceId"]),
        "deviceDnsName": field(source, &["deviceDnsName"]),
        "osPlatform": field(source, &["osPlatform"]),
        "version": field(source, &["version"]),
        "osProcessor": field(source, &["osProcessor"]),
        "osBuild": field(source, &["osBuild"]),
        "healthStatus": legacy_open_enum(source.get("healthStatus")),
        "riskScore": legacy_open_enum(source.get("riskScore")),
        "rbacGroupName": field(source, &["rbacGroupName"]),
        "firstSeen": field(source, &["firstSeenDateTime"]),
        "tags": source.get("tags").cloned().unwrap_or(json!([])),
        "defenderAvStatus": legacy_open_enum(source.get("defenderAvStatus")),
        "onboardingStatus": legacy_open_enum(source.get("onboardingStatus")),
        "vmMetadata": vm_metadata,
    })
}

/// What an incident update becomes on Graph: a PATCH of the incident, then, when the update
/// carries a comment, a POST to its comments. Either may be absent.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphIncidentUpdate {
    /// Body of `PATCH /security/incidents/{id}`: `status`, `assignedTo`, `classification`,
    /// `determination`, `customTags`, only those given.
    pub patch: Option<Value>,
    /// Body of `POST /security/incidents/{id}/comments`.
    pub comment: Option<Value>,
}

/// The body that adds `comment` to an incident.
pub fn comment_to_graph(comment: &str) -> Value {
    json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": comment})
}

/// A Graph enumeration value from any documented spelling; the sentinel cannot be written.
fn graph_enum_value<E: GraphEnum>(field: &str, value: &Value) -> Result<Value, TranslateError> {
    let text = match value {
        Value::Null => return Ok(Value::Null),
        Value::String(text) => text,
        _ => {
            return Err(TranslateError::WrongType {
                field: field.to_owned(),
                expected: "a string",
            });
        }
    };
    E::parse(text)
        .filter(|member| member.graph_name() != "unknownFutureValue")
        .map(|member| Value::from(member.graph_name()))
        .ok_or_else(|| TranslateError::UnknownValue {
            field: E::NAME,
            value: text.clone(),
            allowed: E::settable_graph_names().join(", "),
        })
}

/// A legacy incident update `{status, assignedTo, classification, determination, tags,
/// comment}` (legacy key names; enumeration values in any documented spelling) as Graph's PATCH
/// and comment bodies, with the service's metadata names for the values.
pub fn incident_update_to_graph(update: &Value) -> Result<GraphIncidentUpdate, TranslateError> {
    let source = object(update, "an incident update object")?;
    let mut patch = Map::new();
    let mut comment = None;
    for (key, value) in source {
        match key.as_str() {
            "status" => {
                patch.insert(
                    "status".into(),
                    graph_enum_value::<IncidentStatus>(key, value)?,
                );
            }
            "classification" => {
                patch.insert(
                    "classification".into(),
                    graph_enum_value::<Classification>(key, value)?,
                );
            }
            "determination" => {
                patch.insert(
                    "determination".into(),
                    graph_enum_value::<Determination>(key, value)?,
                );
            }
            "assignedTo" => match value {
                Value::Null | Value::String(_) => {
                    patch.insert("assignedTo".into(), value.clone());
                }
                _ => {
                    return Err(TranslateError::WrongType {
                        field: key.clone(),
                        expected: "a string or null",
                    });
                }
            },
            "tags" => match value {
                Value::Array(tags) if tags.iter().all(Value::is_string) => {
                    patch.insert("customTags".into(), value.clone());
                }
                _ => {
                    return Err(TranslateError::WrongType {
                        field: key.clone(),
                        expected: "a list of strings",
                    });
                }
            },
            "comment" => match value {
                Value::Null => {}
                Value::String(text) if text.is_empty() => {}
                Value::String(text) => comment = Some(comment_to_graph(text)),
                _ => {
                    return Err(TranslateError::WrongType {
                        field: key.clone(),
                        expected: "a string",
                    });
                }
            },
            _ => {
                return Err(TranslateError::WrongType {
                    field: key.clone(),
                    expected: "one of status, assignedTo, classification, determination, tags or comment",
                });
            }
        }
    }
    // Graph's order: the properties as its update documentation lists them.
    let order = [
        "status",
        "assignedTo",
        "classification",
        "determination",
        "customTags",
    ];
    let patch: Map<String, Value> = order
        .iter()
        .filter_map(|key| patch.remove(*key).map(|value| ((*key).to_owned(), value)))
        .collect();
    Ok(GraphIncidentUpdate {
        patch: (!patch.is_empty()).then_some(Value::Object(patch)),
        comment,
    })
}

/// An incident property a legacy `$filter` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyProperty {
    CreatedTime,
    LastUpdateTime,
    Status,
    AssignedTo,
}

impl LegacyProperty {
    pub fn legacy_name(self) -> &'static str {
        match self {
            LegacyProperty::CreatedTime => "createdTime",
            LegacyProperty::LastUpdateTime => "lastUpdateTime",
            LegacyProperty::Status => "status",
            LegacyProperty::AssignedTo => "assignedTo",
        }
    }
}

/// The Graph name of a property a filter compares.
pub fn graph_property(property: LegacyProperty) -> &'static str {
    match property {
        LegacyProperty::CreatedTime => "createdDateTime",
        LegacyProperty::LastUpdateTime => "lastUpdateDateTime",
        LegacyProperty::Status => "status",
        LegacyProperty::AssignedTo => "assignedTo",
    }
}

/// The Graph value of an incident status given in any documented spelling, for a `$filter`
/// literal: `Active` → `active`, `InProgress` → `inProgress`.
pub fn graph_status(status: &str) -> Result<&'static str, TranslateError> {
    IncidentStatus::parse(status)
        .filter(|member| *member != IncidentStatus::UnknownFutureValue)
        .map(IncidentStatus::graph_name)
        .ok_or_else(|| TranslateError::UnknownValue {
            field: IncidentStatus::NAME,
            value: status.to_owned(),
            allowed: IncidentStatus::settable_graph_names().join(", "),
        })
}

/// Graph's hunting answer, its two parts kept as the JSON text they came as: a result can hold
/// 100,000 rows, which pass on to the output without becoming JSON values. Keys are read
/// without regard to case (Graph's own examples show both `schema` and `Schema`).
#[derive(Debug, Default)]
pub struct GraphHunting {
    schema: Option<Box<RawValue>>,
    results: Option<Box<RawValue>>,
}

impl<'de> Deserialize<'de> for GraphHunting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GraphHunting, D::Error> {
        struct HuntingVisitor;
        impl<'de> Visitor<'de> for HuntingVisitor {
            type Value = GraphHunting;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a hunting result object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GraphHunting, A::Error> {
                let mut hunting = GraphHunting::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key.eq_ignore_ascii_case("schema") {
                        hunting.schema = Some(map.next_value()?);
                    } else if key.eq_ignore_ascii_case("results") {
                        hunting.results = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(hunting)
            }
        }
        deserializer.deserialize_map(HuntingVisitor)
    }
}

/// A hunting answer in the legacy shape: the `Schema` columns `{Name, Type}`, and the
/// `Results` rows as JSON text.
#[derive(Debug)]
pub struct LegacyHunting {
    pub schema: Vec<Value>,
    pub results: Box<RawValue>,
}

/// Graph's hunting answer `{schema: [{name, type}], results: […]}` in the legacy
/// `{Schema: [{Name, Type}], Results: […]}` shape. Rows stay open JSON maps, passed on as the
/// text Graph sent unless they carry OData annotations (`Timestamp@odata.type`), which are
/// dropped.
pub fn hunting_to_legacy(graph: GraphHunting) -> Result<LegacyHunting, TranslateError> {
    let schema = match graph.schema.as_deref().map(parse_raw).transpose()? {
        Some(Value::Array(columns)) => columns
            .iter()
            .map(|column| {
                let column = object(column, "a schema column object")?;
                let get = |name: &str| {
                    column
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(name))
                        .map_or(Value::Null, |(_, value)| value.clone())
                };
                Ok(json!({"Name": get("name"), "Type": get("type")}))
            })
            .collect::<Result<Vec<_>, TranslateError>>()?,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of schema columns",
                found: kind_of(&other),
            });
        }
    };
    let results = match graph.results {
        Some(rows) if rows.get().starts_with('[') => {
            if rows.get().contains("@odata") {
                without_row_annotations(&rows)?
            } else {
                rows
            }
        }
        Some(rows) if rows.get() != "null" => {
            return Err(TranslateError::Unexpected {
                expected: "a list of result rows",
                found: raw_kind(&rows),
            });
        }
        _ => RawValue::from_string("[]".to_owned()).expect("[] is JSON"),
    };
    Ok(LegacyHunting { schema, results })
}

/// A JSON text already checked by the parser that cut it out, as a value.
fn parse_raw(raw: &RawValue) -> Result<Value, TranslateError> {
    serde_json::from_str(raw.get()).map_err(|_| TranslateError::Unexpected {
        expected: "JSON",
        found: "text that is not",
    })
}

/// What a JSON text is, from its first character (the parser that cut it out left no space
/// before it).
fn raw_kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "a list",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The rows of `rows` (a JSON list) without their OData annotation keys, each row's other keys
/// in their order and their values as sent.
fn without_row_annotations(rows: &RawValue) -> Result<Box<RawValue>, TranslateError> {
    let rows: Vec<Box<RawValue>> =
        serde_json::from_str(rows.get()).map_err(|_| TranslateError::Unexpected {
            expected: "a list of result rows",
            found: "something else",
        })?;
    let mut text = String::from("[");
    for (index, row) in rows.iter().enumerate() {
        if raw_kind(row) != "an object" {
            return Err(TranslateError::Unexpected {
                expected: "a result row object",
                found: raw_kind(row),
            });
        }
        let fields: RowFields =
            serde_json::from_str(row.get()).map_err(|_| TranslateError::Unexpected {
                expected: "a result row object",
                found: "something else",
            })?;
        if index > 0 {
            text.push(',');
        }
        text.push('{');
        let kept = fields.0.iter().filter(|(key, _)| !is_annotation(key));
        for (position, (key, value)) in kept.enumerate() {
            if position > 0 {
                text.push(',');
            }
            text.push_str(&Value::String(key.clone()).to_string());
            text.push(':');
            text.push_str(value.get());
        }
        text.push('}');
    }
    text.push(']');
    Ok(RawValue::from_string(text).expect("rows joined from JSON texts are JSON"))
}

/// The fields of one JSON object in their order, each value as its JSON text.
struct RowFields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RowFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RowFields, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = RowFields;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a result row object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RowFields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(RowFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn graph_incident() -> Value {
        json!({
            "@odata.type": "#microsoft.graph.security.incident",
            "id": "2972395",
            "tenantId": "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
            "status": "inProgress",
            "incidentWebUrl": "https://security.microsoft.com/incidents/2972395?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
            "redirectIncidentId": null,
            "displayName": "Multi-stage incident involving Initial access & Command and control",
            "createdDateTime": "2021-08-13T08:43:35.5533333Z",
            "lastUpdateDateTime": "2021-09-30T09:35:45.1133333Z",
            "assignedTo": "KaiC@contoso.onmicrosoft.com",
            "classification": "falsePositive",
            "determination": "notEnoughDataToValidate",
            "severity": "medium",
            "customTags": ["Demo"],
            "systemTags": ["Defender Experts"],
            "description": "Raspberry Robin worm activity",
            "summary": null,
            "comments": [{
                "comment": "Demo incident",
                "createdByDisplayName": "DavidS@contoso.onmicrosoft.com",
                "createdDateTime": "2021-09-30T12:07:37.2756993Z"
            }],
            "alerts": [graph_alert()]
        })
    }

    fn graph_alert() -> Value {
        json!({
            "@odata.type": "#microsoft.graph.security.alert",
            "id": "da637551227677560813_-961444813",
            "providerAlertId": "da637551227677560813_-961444813",
            "incidentId": "2972395",
            "status": "new",
            "severity": "low",
            "classification": "unknown",
            "determination": "unknown",
            "serviceSource": "microsoftDefenderForEndpoint",
            "detectionSource": "antivirus",
            "detectorId": "e0da400f-affd-43ef-b1d5-afc2eb6f2756",
            "title": "Suspicious execution of hidden file",
            "description": "A hidden file has been launched.",
            "category": "DefenseEvasion",
            "assignedTo": null,
            "actorDisplayName": null,
            "threatFamilyName": null,
            "mitreTechniques": ["T1564.001"],
            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
            "lastUpdateDateTime": "2021-05-02T14:19:01.3266667Z",
            "resolvedDateTime": null,
            "firstActivityDateTime": "2021-04-26T07:45:50.116Z",
            "lastActivityDateTime": "2021-05-02T07:56:58.222Z",
            "comments": [],
            "evidence": [device_evidence(), process_evidence(), json!({"@odata.type": "#microsoft.graph.security.cloudApplicationEvidence", "appId": 11161, "displayName": "Office 365"})]
        })
    }

    fn device_evidence() -> Value {
        json!({
                            "@odata.type": "#microsoft.graph.security.deviceEvidence",
                            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
                            "verdict": "unknown",
                            "remediationStatus": "none",
                            "firstSeenDateTime": "2020-09-12T07:28:32.4321753Z",
                            "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
                            "azureAdDeviceId": null,
                            "deviceDnsName": "tempDns",
                            "osPlatform": "Windows10",
                            "osBuild": 22424,
                            "version": "Other",
                            "healthStatus": "active",
                            "riskScore": "medium",
                            "rbacGroupName": "UnassignedGroup",
                            "onboardingStatus": "onboarded",
                            "defenderAvStatus": "unknown",
                            "tags": ["Test Machine"],
                            "vmMetadata": {
                                "vmId": "ca1b0d41-5a3b-4d95-b48b-f220aed11d78",
                                "cloudProvider": "azure",
                                "resourceId": "/subscriptions/8700d3a3/virtualMachines/vm1",
                                "subscriptionId": "8700d3a3"
        }
        })
    }

    fn process_evidence() -> Value {
        json!({
        "@odata.type": "#microsoft.graph.security.processEvidence",
                            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
                            "verdict": "suspicious",
                            "remediationStatus": "none",
                            "processId": 4780,
                            "parentProcessId": 668,
                            "processCommandLine": "\"MsSense.exe\"",
                            "processCreationDateTime": "2021-08-12T12:43:19.0772577Z",
                            "parentProcessCreationDateTime": "2021-08-12T07:39:09.0909239Z",
                            "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
                            "imageFile": {"sha1": "5f1e", "sha256": "8963", "fileName": "MsSense.exe", "filePath": "C:\\Program Files\\temp"},
                            "userAccount": {"accountName": "SYSTEM", "domainName": "NT AUTHORITY", "userSid": "S-1-5-18", "azureAdUserId": null, "userPrincipalName": null}
        })
    }

    #[test]
    fn an_incident_reads_in_the_legacy_shape_and_order() {
        let legacy = incident_to_legacy(&graph_incident()).unwrap();
        assert_eq!(
            keys(&legacy),
            [
                "incidentId",
                "redirectIncidentId",
                "incidentName",
                "createdTime",
                "lastUpdateTime",
                "assignedTo",
                "classification",
                "determination",
                "status",
                "severity",
                "tags",
                "comments",
                "alerts",
                "incidentUri",
                "tenantId",
                "systemTags",
                "description",
                "summary",
            ]
        );
        assert_eq!(legacy["incidentId"], 2972395);
        assert_eq!(legacy["redirectIncidentId"], Value::Null);
        assert_eq!(legacy["status"], "InProgress");
        assert_eq!(legacy["classification"], "FalsePositive");
        assert_eq!(legacy["determination"], "NoEnoughDataToValidate");
        assert_eq!(legacy["severity"], "Medium");
        assert_eq!(legacy["tags"], json!(["Demo"]));
        assert_eq!(legacy["systemTags"], json!(["Defender Experts"]));
        assert_eq!(
            legacy["comments"],
            json!([{
                "comment": "Demo incident",
                "createdBy": "DavidS@contoso.onmicrosoft.com",
                "createdTime": "2021-09-30T12:07:37.2756993Z"
            }])
        );
        assert!(
            legacy["incidentUri"]
                .as_str()
                .unwrap()
                .starts_with("https://security.microsoft.com/incidents/2972395")
        );
    }

    #[test]
    fn ids_are_numbers_only_when_all_digits() {
        let mut incident = graph_incident();
        incident["id"] = json!("ed-4c2a");
        incident["redirectIncidentId"] = json!("2972400");
        let legacy = incident_to_legacy(&incident).unwrap();
        assert_eq!(legacy["incidentId"], "ed-4c2a");
        assert_eq!(legacy["redirectIncidentId"], 2972400);
        incident["id"] = json!("99999999999999999999999");
        assert_eq!(
            incident_to_legacy(&incident).unwrap()["incidentId"],
            "99999999999999999999999"
        );
    }

    #[test]
    fn enums_map_to_the_legacy_values() {
        let cases = [
            ("status", "active", "Active"),
            ("status", "redirected", "Redirected"),
            ("status", "awaitingAction", "AwaitingAction"),
            ("status", "unknownFutureValue", "UnknownFutureValue"),
            ("classification", "truePositive", "TruePositive"),
            (
                "classification",
                "informationalExpectedActivity",
                "InformationalExpectedActivity",
            ),
            ("classification", "unknown", "Unknown"),
            ("determination", "unknown", "NotAvailable"),
            ("determination", "notMalicious", "NotMalicious"),
            ("determination", "clean", "NotMalicious"),
            (
                "determination",
                "insufficientData",
                "NoEnoughDataToValidate",
            ),
            ("determination", "compromisedAccount", "CompromisedAccount"),
            ("determination", "confirmedActivity", "ConfirmedActivity"),
            (
                "determination",
                "someFutureDetermination",
                "SomeFutureDetermination",
            ),
            ("severity", "unknown", "UnSpecified"),
            ("severity", "high", "High"),
        ];
        for (property, graph, expected) in cases {
            let mut incident = graph_incident();
            incident[property] = json!(graph);
            let legacy = incident_to_legacy(&incident).unwrap();
            assert_eq!(legacy[property], expected, "{property} {graph}");
        }
    }

    #[test]
    fn an_alert_reads_in_the_legacy_shape() {
        let legacy = alert_to_legacy(&graph_alert()).unwrap();
        assert_eq!(
            keys(&legacy)[..25],
            [
                "alertId",
                "incidentId",
                "serviceSource",
                "creationTime",
                "lastUpdatedTime",
                "resolvedTime",
                "firstActivity",
                "lastActivity",
                "title",
                "description",
                "category",
                "status",
                "severity",
                "investigationId",
                "investigationState",
                "classification",
                "determination",
                "detectionSource",
                "detectorId",
                "assignedTo",
                "actorName",
                "threatFamilyName",
                "mitreTechniques",
                "devices",
                "entities"
            ]
        );
        assert_eq!(
            keys(&legacy)[25..],
            ["evidence", "providerAlertId", "comments"]
        );
        assert_eq!(legacy["incidentId"], 2972395);
        assert_eq!(legacy["serviceSource"], "MicrosoftDefenderForEndpoint");
        assert_eq!(legacy["detectionSource"], "WindowsDefenderAv");
        assert_eq!(legacy["status"], "New");
        assert_eq!(legacy["severity"], "Low");
        assert_eq!(legacy["classification"], Value::Null);
        assert_eq!(legacy["determination"], Value::Null);
        assert_eq!(legacy["creationTime"], "2021-04-27T12:19:27.7211305Z");
        assert_eq!(legacy["evidence"].as_array().unwrap().len(), 3);
        let device = &legacy["devices"][0];
        assert_eq!(
            device["mdatpDeviceId"],
            "73e7e2de709dff64ef64b1d0c30e67fab63279db"
        );
        assert_eq!(device["healthStatus"], "Active");
        assert_eq!(device["riskScore"], "Medium");
        assert_eq!(device["onboardingStatus"], "Onboarded");
        assert_eq!(device["firstSeen"], "2020-09-12T07:28:32.4321753Z");
        assert_eq!(device["vmMetadata"]["cloudProvider"], "Azure");
        // The process maps; the cloud application has no legacy entity.
        let entities = legacy["entities"].as_array().unwrap();
        assert_eq!(entities.len(), 1);
        let process = &entities[0];
        assert_eq!(keys(process), ENTITY_KEYS);
        assert_eq!(process["entityType"], "Process");
        assert_eq!(process["verdict"], "Suspicious");
        assert_eq!(process["remediationStatus"], "None");
        assert_eq!(process["fileName"], "MsSense.exe");
        assert_eq!(process["processId"], 4780);
        assert_eq!(
            process["parentProcessCreationTime"],
            "2021-08-12T07:39:09.0909239Z"
        );
        assert_eq!(process["accountName"], "SYSTEM");
        assert_eq!(
            process["deviceId"],
            "73e7e2de709dff64ef64b1d0c30e67fab63279db"
        );
        assert_eq!(process["ipAddress"], Value::Null);
    }

    #[test]
    fn every_mapped_evidence_kind_becomes_its_entity_type() {
        let evidence = json!([
            {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "avance", "domainName": "CONTOSO", "userSid": "S-1-5-21-1", "azureAdUserId": "guid", "userPrincipalName": "adele.vance@contoso.com"}},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "45.1.2.3"},
            {"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "https://contoso-payroll.com/login"},
            {"@odata.type": "#microsoft.graph.security.fileEvidence", "mdeDeviceId": "dev", "fileDetails": {"sha1": "aa", "sha256": "bb", "fileName": "payload.dll", "filePath": "C:\\ProgramData"}},
            {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "displayName": "Adele Vance", "primaryAddress": "adele.vance@contoso.com", "upn": "adele.vance@contoso.com"},
            {"@odata.type": "#microsoft.graph.security.analyzedMessageEvidence", "subject": "Invoice overdue", "recipientEmailAddress": "adele.vance@contoso.com", "deliveryAction": "delivered", "p1Sender": {"emailAddress": "billing@invoice-portal.co"}},
            {"@odata.type": "#microsoft.graph.security.mailClusterEvidence", "clusterBy": "Subject;P2SenderDomain"},
            {"@odata.type": "#microsoft.graph.security.registryKeyEvidence", "registryHive": "HKEY_LOCAL_MACHINE", "registryKey": "SOFTWARE\\Run"},
            {"@odata.type": "#microsoft.graph.security.registryValueEvidence", "registryHive": "HKEY_LOCAL_MACHINE", "registryKey": "SOFTWARE\\Run", "registryValueType": "String", "registryValue": "C:\\x.exe", "mdeDeviceId": "dev"},
            {"@odata.type": "#microsoft.graph.security.securityGroupEvidence", "securityGroupId": "sg", "displayName": "Domain Admins"},
            {"@odata.type": "#microsoft.graph.security.oauthApplicationEvidence", "appId": "x"},
            "not an object"
        ]);
        let legacy = evidence_to_legacy(evidence.as_array().unwrap());
        let types: Vec<&str> = legacy
            .entities
            .iter()
            .map(|entity| entity["entityType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "User",
                "Ip",
                "Url",
                "File",
                "MailBox",
                "MailMessage",
                "MailCluster",
                "Registry",
                "Registry",
                "SecurityGroup"
            ]
        );
        let e = &legacy.entities;
        assert_eq!(e[0]["userPrincipalName"], "adele.vance@contoso.com");
        assert_eq!(e[0]["aadUserId"], "guid");
        assert_eq!(e[1]["ipAddress"], "45.1.2.3");
        assert_eq!(e[2]["url"], "https://contoso-payroll.com/login");
        assert_eq!(e[3]["sha256"], "bb");
        assert_eq!(e[3]["deviceId"], "dev");
        assert_eq!(e[4]["mailboxAddress"], "adele.vance@contoso.com");
        assert_eq!(e[4]["mailboxDisplayName"], "Adele Vance");
        assert_eq!(e[5]["sender"], "billing@invoice-portal.co");
        assert_eq!(e[5]["deliveryAction"], "Delivered");
        assert_eq!(e[6]["clusterBy"], "Subject;P2SenderDomain");
        assert_eq!(e[7]["registryValue"], Value::Null);
        assert_eq!(e[8]["registryValue"], "C:\\x.exe");
        assert_eq!(e[9]["securityGroupName"], "Domain Admins");
        assert!(legacy.devices.is_empty());
    }

    #[test]
    fn updates_use_the_metadata_names() {
        let update = incident_update_to_graph(&json!({
            "tags": ["a", "b"],
            "determination": "insufficientData",
            "classification": "FalsePositive",
            "status": "Resolved",
            "assignedTo": "soc.analyst1@contoso.com",
            "comment": "closing"
        }))
        .unwrap();
        assert_eq!(
            update.patch.unwrap(),
            json!({
                "status": "resolved",
                "assignedTo": "soc.analyst1@contoso.com",
                "classification": "falsePositive",
                "determination": "notEnoughDataToValidate",
                "customTags": ["a", "b"]
            })
        );
        assert_eq!(
            update.comment.unwrap(),
            json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": "closing"})
        );
        for (spelling, expected) in [
            ("notEnoughDataToValidate", "notEnoughDataToValidate"),
            ("NoEnoughDataToValidate", "notEnoughDataToValidate"),
            ("notMalicious", "notMalicious"),
            ("clean", "notMalicious"),
            ("NotMalicious", "notMalicious"),
            ("NOTMALICIOUS", "notMalicious"),
            ("NotAvailable", "unknown"),
        ] {
            let update = incident_update_to_graph(&json!({"determination": spelling})).unwrap();
            assert_eq!(
                update.patch.unwrap()["determination"],
                expected,
                "{spelling}"
            );
        }
    }

    #[test]
    fn a_comment_alone_patches_nothing_and_null_unassigns() {
        let update = incident_update_to_graph(&json!({"comment": "looking"})).unwrap();
        assert_eq!(update.patch, None);
        assert!(update.comment.is_some());
        let update = incident_update_to_graph(&json!({"assignedTo": null, "comment": ""})).unwrap();
        assert_eq!(update.patch, Some(json!({"assignedTo": null})));
        assert_eq!(update.comment, None);
    }

    #[test]
    fn bad_updates_say_what_is_allowed() {
        let error = incident_update_to_graph(&json!({"status": "Closed"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"Closed\" is not a status value; use one of: active, resolved, inProgress, redirected."
        );
        assert!(
            incident_update_to_graph(&json!({"classification": "unknownFutureValue"})).is_err()
        );
        assert!(incident_update_to_graph(&json!({"tags": "a,b"})).is_err());
        assert!(incident_update_to_graph(&json!({"severity": "High"})).is_err());
        assert!(incident_update_to_graph(&json!([])).is_err());
    }

    #[test]
    fn filters_use_graph_names() {
        assert_eq!(
            graph_property(LegacyProperty::CreatedTime),
            "createdDateTime"
        );
        assert_eq!(
            graph_property(LegacyProperty::LastUpdateTime),
            "lastUpdateDateTime"
        );
        assert_eq!(graph_property(LegacyProperty::Status), "status");
        assert_eq!(graph_property(LegacyProperty::AssignedTo), "assignedTo");
        assert_eq!(
            LegacyProperty::LastUpdateTime.legacy_name(),
            "lastUpdateTime"
        );
        assert_eq!(graph_status("Active"), Ok("active"));
        assert_eq!(graph_status("InProgress"), Ok("inProgress"));
        assert_eq!(graph_status("in progress"), Ok("inProgress"));
        assert!(graph_status("Open").is_err());
    }

    fn hunt(text: &str) -> Result<(Value, String), TranslateError> {
        let graph: GraphHunting = serde_json::from_str(text).unwrap();
        let legacy = hunting_to_legacy(graph)?;
        Ok((Value::Array(legacy.schema), legacy.results.get().to_owned()))
    }

    #[test]
    fn hunting_reads_either_casing_and_drops_annotations() {
        let graph = r##"{
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
            "schema": [{"name": "Timestamp", "type": "DateTime"}, {"Name": "FileName", "Type": "String"}],
            "results": [{"Timestamp": "2024-03-26T09:39:50.7688641Z", "Timestamp@odata.type": "#DateTimeOffset", "FileName": "cmd.exe", "Extra": {"nested": 1}},
                        {"@odata.type": "#x", "FileName": "a\"b"}]
        }"##;
        let (schema, results) = hunt(graph).unwrap();
        assert_eq!(
            schema,
            json!([{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "FileName", "Type": "String"}])
        );
        assert_eq!(
            results,
            r##"[{"Timestamp":"2024-03-26T09:39:50.7688641Z","FileName":"cmd.exe","Extra":{"nested": 1}},{"FileName":"a\"b"}]"##
        );
        assert_eq!(
            hunt(r##"{"Schema": [], "RESULTS": [ {"a": 1} ]}"##).unwrap(),
            (json!([]), r##"[ {"a": 1} ]"##.to_owned())
        );
        assert_eq!(
            hunt(r##"{"schema": null, "results": null}"##).unwrap(),
            (json!([]), "[]".to_owned())
        );
        assert_eq!(hunt("{}").unwrap(), (json!([]), "[]".to_owned()));
    }

    #[test]
    fn hunting_of_another_shape_is_an_error() {
        let unexpected = |expected, found| TranslateError::Unexpected { expected, found };
        assert_eq!(
            hunt(r##"{"results": "x"}"##).unwrap_err(),
            unexpected("a list of result rows", "a string")
        );
        assert_eq!(
            hunt(r##"{"schema": {"name": "x"}}"##).unwrap_err(),
            unexpected("a list of schema columns", "an object")
        );
        assert_eq!(
            hunt(r##"{"schema": ["x"]}"##).unwrap_err(),
            unexpected("a schema column object", "a string")
        );
        assert_eq!(
            hunt(r##"{"results": [{"a@odata.type": "#x"}, 3]}"##).unwrap_err(),
            unexpected("a result row object", "a number")
        );
        assert!(serde_json::from_str::<GraphHunting>("[]").is_err());
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert_eq!(
            incident_to_legacy(&json!("x")).unwrap_err(),
            TranslateError::Unexpected {
                expected: "an incident object",
                found: "a string"
            }
        );
        let mut incident = graph_incident();
        incident["alerts"] = json!({});
        assert!(incident_to_legacy(&incident).is_err());
    }

    #[test]
    fn an_unexpanded_incident_has_no_alerts() {
        let mut incident = graph_incident();
        incident.as_object_mut().unwrap().remove("alerts");
        assert_eq!(incident_to_legacy(&incident).unwrap()["alerts"], json!([]));
    }
}
