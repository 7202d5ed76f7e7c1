//! Legacy incident updates and filters written for Microsoft Graph
//! (<https://learn.microsoft.com/graph/api/security-incident-update>): its property names and
//! enumeration values.

use serde_json::{Map, Value, json};

use crate::api::graph::{TranslateError, object};
use crate::graph::enums::{Classification, Determination, GraphEnum, IncidentStatus};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
