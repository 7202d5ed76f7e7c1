//! OData `$filter` expressions built from structured conditions, in the legacy Defender API's
//! property names or Microsoft Graph's. User text only ever enters a filter through
//! [`string_literal`], which doubles every `'` as OData requires
//! (<https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html>,
//! "primitive literals"), so no value can end its literal early and change the expression.

use jiff::Timestamp;
use serde_json::Value;

use super::incidents::to_graph::{LegacyProperty, graph_property, graph_status};
use super::incidents::{IncidentFilter, TimeBound};
use crate::graph::enums::camel_case;

/// Whose names a filter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterDialect {
    /// The Defender API: `createdTime`, `lastUpdateTime`, `status eq 'InProgress'`.
    Legacy,
    /// Microsoft Graph: `createdDateTime`, `lastUpdateDateTime`, `status eq 'inProgress'`.
    Graph,
}

impl FilterDialect {
    pub fn property(self, property: LegacyProperty) -> &'static str {
        match self {
            FilterDialect::Legacy => property.legacy_name(),
            FilterDialect::Graph => graph_property(property),
        }
    }

    /// A status in this API's spelling. A status Graph does not know is sent in its casing
    /// all the same, and the service's answer says what it accepts.
    fn status(self, status: &str) -> String {
        match self {
            FilterDialect::Legacy => status.to_owned(),
            FilterDialect::Graph => graph_status(status)
                .map(str::to_owned)
                .unwrap_or_else(|_| camel_case(status)),
        }
    }
}

/// `text` as an OData string literal: `o'brien` → `'o''brien'`.
pub fn string_literal(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('\'');
    for c in text.chars() {
        if c == '\'' {
            literal.push('\'');
        }
        literal.push(c);
    }
    literal.push('\'');
    literal
}

/// How many items a list reads: `limit`, or fewer when a user's own `$top` says so (it is how
/// many they want, not a page size to repeat).
pub fn wanted(odata: Option<&UserOptions>, limit: usize) -> usize {
    match odata.and_then(UserOptions::top) {
        Some(top) => top.min(limit),
        None => limit,
    }
}

/// A timestamp as an OData `DateTimeOffset` literal (unquoted), to the second as the XSOAR
/// integration wrote it, or with the fraction (in whole ticks, as the service keeps times) when
/// there is one.
pub fn datetime_literal(time: Timestamp) -> String {
    crate::time::format(time)
}

/// The `$filter` expression for `filter` in `dialect`, or none when it has no conditions.
/// Conditions come in the XSOAR integration's order (status, assignedTo, createdTime,
/// lastUpdateTime).
pub fn filter_expression(filter: &IncidentFilter, dialect: FilterDialect) -> Option<String> {
    let name = |property| dialect.property(property);
    let mut conditions = Vec::new();
    if let Some(status) = &filter.status {
        conditions.push(format!(
            "{} eq {}",
            name(LegacyProperty::Status),
            string_literal(&dialect.status(status))
        ));
    }
    if let Some(assigned_to) = &filter.assigned_to {
        conditions.push(format!(
            "{} eq {}",
            name(LegacyProperty::AssignedTo),
            string_literal(assigned_to)
        ));
    }
    let created = name(LegacyProperty::CreatedTime);
    match filter.created {
        Some(TimeBound::After(time)) => {
            conditions.push(format!("{created} gt {}", datetime_literal(time)));
        }
        Some(TimeBound::AtOrAfter(time)) => {
            conditions.push(format!("{created} ge {}", datetime_literal(time)));
        }
        None => {}
    }
    if let Some(time) = filter.created_before {
        conditions.push(format!("{created} lt {}", datetime_literal(time)));
    }
    if let Some(time) = filter.updated_after {
        conditions.push(format!(
            "{} gt {}",
            name(LegacyProperty::LastUpdateTime),
            datetime_literal(time)
        ));
    }
    (!conditions.is_empty()).then(|| conditions.join(" and "))
}

/// OData query options a user gave as a JSON object (`{"$filter": "…", "$top": 10}`), as query
/// parameters. Values must be strings, numbers or booleans: a query string has no place for
/// anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOptions(Vec<(String, String)>);

impl UserOptions {
    pub fn from_json(value: &Value) -> Result<UserOptions, String> {
        let Value::Object(options) = value else {
            return Err(format!(
                "Expected a JSON object of OData query options, such as {{\"$filter\": \"status eq 'Active'\", \"$top\": 10}}, but it is {}.",
                crate::envelope::kind_of(value)
            ));
        };
        options
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "The value of {name:?} must be a string or a number, but it is {}.",
                            crate::envelope::kind_of(value)
                        ));
                    }
                };
                Ok((name.clone(), text))
            })
            .collect::<Result<_, _>>()
            .map(UserOptions)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The `$top` the user asked for, if any: as many incidents as they want in all.
    pub fn top(&self) -> Option<usize> {
        self.0
            .iter()
            .find(|(name, _)| name == "$top")
            .and_then(|(_, value)| value.trim().parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn apostrophes_are_doubled_and_nothing_else_changes() {
        assert_eq!(
            string_literal("o'brien@contoso.com"),
            "'o''brien@contoso.com'"
        );
        assert_eq!(string_literal("''"), "''''''");
        assert_eq!(string_literal("a\"b%20c"), "'a\"b%20c'");
    }

    #[test]
    fn a_value_cannot_close_its_literal() {
        let filter = IncidentFilter {
            assigned_to: Some("x' or status eq 'Resolved".into()),
            ..IncidentFilter::default()
        };
        assert_eq!(
            filter_expression(&filter, FilterDialect::Legacy).unwrap(),
            "assignedTo eq 'x'' or status eq ''Resolved'"
        );
    }

    #[test]
    fn conditions_are_joined_in_order() {
        let filter = IncidentFilter {
            status: Some("Active".into()),
            assigned_to: Some("a@b.c".into()),
            created: Some(TimeBound::AtOrAfter(at("2025-01-01T00:00:00Z"))),
            created_before: None,
            updated_after: Some(at("2025-01-02T03:04:05.5Z")),
        };
        assert_eq!(
            filter_expression(&filter, FilterDialect::Legacy).unwrap(),
            "status eq 'Active' and assignedTo eq 'a@b.c' and createdTime ge 2025-01-01T00:00:00Z and lastUpdateTime gt 2025-01-02T03:04:05.5Z"
        );
        let filter = IncidentFilter {
            created: Some(TimeBound::After(at("2025-01-01T00:00:00Z"))),
            ..IncidentFilter::default()
        };
        assert_eq!(
            filter_expression(&filter, FilterDialect::Legacy).unwrap(),
            "createdTime gt 2025-01-01T00:00:00Z"
        );
        assert_eq!(
            filter_expression(&IncidentFilter::default(), FilterDialect::Legacy),
            None
        );
        // A range of createdTime, as fetching reads it, to the tick.
        let filter = IncidentFilter {
            created: Some(TimeBound::AtOrAfter(at("2025-01-01T00:00:00.1234567Z"))),
            created_before: Some(at("2025-01-01T00:10:00Z")),
            ..IncidentFilter::default()
        };
        assert_eq!(
            filter_expression(&filter, FilterDialect::Legacy).unwrap(),
            "createdTime ge 2025-01-01T00:00:00.1234567Z and createdTime lt 2025-01-01T00:10:00Z"
        );
        assert_eq!(
            filter_expression(&filter, FilterDialect::Graph).unwrap(),
            "createdDateTime ge 2025-01-01T00:00:00.1234567Z and createdDateTime lt 2025-01-01T00:10:00Z"
        );
    }

    #[test]
    fn graph_filters_use_graph_names_and_values_with_the_same_escaping() {
        let filter = IncidentFilter {
            status: Some("InProgress".into()),
            assigned_to: Some("shannon.o'brien@contoso.com".into()),
            created: Some(TimeBound::After(at("2025-01-01T00:00:00Z"))),
            created_before: None,
            updated_after: Some(at("2025-01-02T03:04:05Z")),
        };
        assert_eq!(
            filter_expression(&filter, FilterDialect::Graph).unwrap(),
            "status eq 'inProgress' and assignedTo eq 'shannon.o''brien@contoso.com' and createdDateTime gt 2025-01-01T00:00:00Z and lastUpdateDateTime gt 2025-01-02T03:04:05Z"
        );
        let filter = IncidentFilter {
            status: Some("x' or 1 eq 1".into()),
            ..IncidentFilter::default()
        };
        assert_eq!(
            filter_expression(&filter, FilterDialect::Graph).unwrap(),
            "status eq 'x'' or 1 eq 1'"
        );
    }

    #[test]
    fn user_options_take_an_object_of_scalars_only() {
        let options: Value =
            serde_json::from_str(r#"{"$top": 5, "$filter": "status eq 'Active'", "$count": true}"#)
                .unwrap();
        assert_eq!(
            UserOptions::from_json(&options).unwrap().pairs(),
            [
                ("$top".to_owned(), "5".to_owned()),
                ("$filter".to_owned(), "status eq 'Active'".to_owned()),
                ("$count".to_owned(), "true".to_owned())
            ]
        );
        let options: Value = serde_json::from_str(r#"{"$filter": ["x"]}"#).unwrap();
        assert!(
            UserOptions::from_json(&options)
                .unwrap_err()
                .contains("$filter")
        );
        let options: Value = serde_json::from_str(r#"{"$top": "7"}"#).unwrap();
        assert_eq!(UserOptions::from_json(&options).unwrap().top(), Some(7));
        let error = UserOptions::from_json(&Value::from("status eq 'Active'")).unwrap_err();
        assert!(error.contains("JSON object"), "{error}");
    }
}
