//! Legacy incident updates and filters written for Microsoft Graph
//! (<https://learn.microsoft.com/graph/api/security-incident-update>): its property names and
//! enumeration values.

use serde_json::{Map, Value, json};

use super::IncidentChanges;
use crate::api::graph::TranslateError;
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
fn graph_enum_value<E: GraphEnum>(text: &str) -> Result<Value, TranslateError> {
    E::parse(text)
        .filter(|member| member.graph_name() != "unknownFutureValue")
        .map(|member| Value::from(member.graph_name()))
        .ok_or_else(|| TranslateError::UnknownValue {
            field: E::NAME,
            value: text.to_owned(),
            allowed: E::settable_graph_names().join(", "),
        })
}

/// An incident update (enumeration values in any documented spelling) as Graph's PATCH and
/// comment bodies, with the service's metadata names for the values, in the order Graph's
/// update documentation lists the properties.
pub fn incident_update_to_graph(
    changes: &IncidentChanges,
) -> Result<GraphIncidentUpdate, TranslateError> {
    let mut patch = Map::new();
    if let Some(status) = &changes.status {
        patch.insert("status".into(), graph_enum_value::<IncidentStatus>(status)?);
    }
    if let Some(assigned_to) = &changes.assigned_to {
        patch.insert("assignedTo".into(), json!(assigned_to));
    }
    if let Some(classification) = &changes.classification {
        patch.insert(
            "classification".into(),
            graph_enum_value::<Classification>(classification)?,
        );
    }
    if let Some(determination) = &changes.determination {
        patch.insert(
            "determination".into(),
            graph_enum_value::<Determination>(determination)?,
        );
    }
    if let Some(tags) = &changes.tags {
        patch.insert("customTags".into(), json!(tags));
    }
    let comment = changes
        .comment
        .as_deref()
        .filter(|comment| !comment.is_empty())
        .map(comment_to_graph);
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

    fn changes() -> IncidentChanges {
        IncidentChanges::default()
    }

    #[test]
    fn updates_use_the_metadata_names() {
        let update = incident_update_to_graph(&IncidentChanges {
            tags: Some(vec!["a".into(), "b".into()]),
            determination: Some("insufficientData".into()),
            classification: Some("FalsePositive".into()),
            status: Some("Resolved".into()),
            assigned_to: Some("soc.analyst1@contoso.com".into()),
            comment: Some("closing".into()),
        })
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
            let update = incident_update_to_graph(&IncidentChanges {
                determination: Some(spelling.into()),
                ..changes()
            })
            .unwrap();
            assert_eq!(
                update.patch.unwrap()["determination"],
                expected,
                "{spelling}"
            );
        }
    }

    #[test]
    fn a_comment_alone_patches_nothing_and_an_empty_assignee_unassigns() {
        let comment = |text: &str| IncidentChanges {
            comment: Some(text.into()),
            ..changes()
        };
        let update = incident_update_to_graph(&comment("looking")).unwrap();
        assert_eq!(update.patch, None);
        assert!(update.comment.is_some());
        let update = incident_update_to_graph(&IncidentChanges {
            assigned_to: Some(String::new()),
            ..comment("")
        })
        .unwrap();
        assert_eq!(update.patch, Some(json!({"assignedTo": ""})));
        assert_eq!(update.comment, None);
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        let status = |text: &str| IncidentChanges {
            status: Some(text.into()),
            ..changes()
        };
        let error = incident_update_to_graph(&status("Closed")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"Closed\" is not a status value; use one of: active, resolved, inProgress, redirected."
        );
        let sentinel = IncidentChanges {
            classification: Some("unknownFutureValue".into()),
            ..changes()
        };
        assert!(incident_update_to_graph(&sentinel).is_err());
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
