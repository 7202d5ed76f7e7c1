//! Command arguments checked against their declaration in integration.yml before anything else
//! happens. Raw arguments arrive the way XSOAR sends them (strings: `"10"`, `"true"`, `"a,b"`),
//! or as JSON numbers, booleans and arrays; what leaves this module is typed and trusted.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::api::IncidentId;
use crate::api::incident_id::TEXT_IDS_NEED_GRAPH;
use crate::config::ApiBackend;
use crate::declaration::{ArgumentDeclaration, ArgumentType, CommandDeclaration};
use crate::error::{ArgumentError, ShownValue};
use crate::graph::enums::legacy_name_in;

/// A validated argument value.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    Text(String),
    Number(i64),
    Flag(bool),
    List(Vec<String>),
    Json(Value),
}

/// The validated arguments of one command, defaults applied.
#[derive(Debug, Clone, Default)]
pub struct Args {
    values: HashMap<String, ArgValue>,
}

impl Args {
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(ArgValue::Text(text)) => Some(text),
            _ => None,
        }
    }

    pub fn number(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(ArgValue::Number(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(ArgValue::Flag(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name) {
            Some(ArgValue::List(items)) => Some(items),
            _ => None,
        }
    }

    pub fn json(&self, name: &str) -> Option<&Value> {
        match self.values.get(name) {
            Some(ArgValue::Json(value)) => Some(value),
            _ => None,
        }
    }

    /// An incident id argument, for the API `backend`. Ids are numbers on the legacy API, so
    /// there a text id is refused here, before any request; Microsoft Graph's may be any text.
    pub fn incident_id(
        &self,
        name: &str,
        backend: ApiBackend,
    ) -> Result<IncidentId, ArgumentError> {
        let text = self.text(name).unwrap_or_default().trim();
        match (IncidentId::from_text(text), backend) {
            (None, _) => Err(ArgumentError::Missing {
                name: name.to_owned(),
            }),
            (Some(IncidentId::Text(_)), ApiBackend::Legacy) => Err(ArgumentError::Invalid {
                name: name.to_owned(),
                value: ShownValue(text.to_owned()),
                allowed: format!(
                    "Expected a whole number: the legacy Microsoft 365 Defender API numbers its incidents. {TEXT_IDS_NEED_GRAPH}"
                ),
            }),
            (Some(id), _) => Ok(id),
        }
    }
}

/// Validates `raw` against `declaration`. Arguments the declaration does not know are ignored
/// (platforms add their own) with a debug line.
pub fn validate(
    declaration: &CommandDeclaration,
    raw: &Map<String, Value>,
) -> Result<Args, ArgumentError> {
    for name in raw.keys() {
        if !declaration.arguments.iter().any(|a| &a.name == name) {
            tracing::debug!(argument = %name, command = %declaration.name, "ignoring undeclared argument");
        }
    }
    let mut values = HashMap::with_capacity(declaration.arguments.len());
    for argument in &declaration.arguments {
        let given = raw.get(&argument.name).filter(|v| !is_absent(argument, v));
        let value = match (given, &argument.default_value) {
            (Some(value), _) => Some(value),
            (None, Some(default)) => Some(default),
            (None, None) => None,
        };
        match value {
            Some(value) => {
                values.insert(argument.name.clone(), convert(argument, value)?);
            }
            None if argument.required => {
                return Err(ArgumentError::Missing {
                    name: argument.name.clone(),
                });
            }
            None => {}
        }
    }
    Ok(Args { values })
}

/// Whether a given value counts as not given. XSOAR sends `""` for an argument left empty in a
/// playbook; for typed and predefined arguments that can only mean "not set". A plain text
/// argument keeps `""` as a value (an empty `assigned_to` unassigns an incident).
fn is_absent(argument: &ArgumentDeclaration, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) if s.trim().is_empty() => {
            argument.required || argument.kind.is_some() || !argument.predefined.is_empty()
        }
        _ => false,
    }
}

fn convert(argument: &ArgumentDeclaration, value: &Value) -> Result<ArgValue, ArgumentError> {
    let invalid = |allowed: String| ArgumentError::Invalid {
        name: argument.name.clone(),
        value: ShownValue(shown(value)),
        allowed,
    };
    if argument.is_array {
        let items = list_items(value).ok_or_else(|| {
            invalid("Expected a comma-separated list or a JSON array of values.".to_owned())
        })?;
        let items = items
            .into_iter()
            .map(|item| {
                check_predefined(argument, &item).map_err(|allowed| ArgumentError::Invalid {
                    name: argument.name.clone(),
                    value: ShownValue(item.clone()),
                    allowed,
                })
            })
            .collect::<Result<_, _>>()?;
        return Ok(ArgValue::List(items));
    }
    let converted = match argument.kind {
        Some(ArgumentType::Number) => {
            let number = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            ArgValue::Number(number.ok_or_else(|| invalid("Expected a whole number.".to_owned()))?)
        }
        Some(ArgumentType::Boolean) => {
            let flag = match value {
                Value::Bool(b) => Some(*b),
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" => Some(true),
                    "false" | "no" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            ArgValue::Flag(flag.ok_or_else(|| invalid("Expected true or false.".to_owned()))?)
        }
        Some(ArgumentType::Json) => {
            match value {
                Value::String(s) => ArgValue::Json(serde_json::from_str(s).map_err(|e| {
                    invalid(format!("Expected a JSON value; it does not parse: {e}."))
                })?),
                other => ArgValue::Json(other.clone()),
            }
        }
        None => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(invalid("Expected a single text value.".to_owned())),
            };
            ArgValue::Text(check_predefined(argument, &text).map_err(invalid)?)
        }
    };
    Ok(converted)
}

/// The elements of a list argument: a comma-separated string or a JSON array of scalars.
fn list_items(value: &Value) -> Option<Vec<String>> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar).collect::<Option<_>>()?,
        Value::String(s) => s.split(',').map(|i| i.trim().to_owned()).collect(),
        other => vec![scalar(other)?],
    };
    Some(items.into_iter().filter(|i| !i.is_empty()).collect())
}

/// `text` as one of the argument's predefined values, if it has any. A value of one of
/// Defender's enumerations (`status`, `classification`, `determination`) may come in any
/// spelling Microsoft documented — Graph's metadata names, older names, portal labels — and
/// reads as the declared (legacy) value it names.
fn check_predefined(argument: &ArgumentDeclaration, text: &str) -> Result<String, String> {
    let declared = |value: &str| argument.predefined.iter().any(|p| p == value);
    if argument.predefined.is_empty() || declared(text) {
        return Ok(text.to_owned());
    }
    match legacy_name_in(&argument.name, text).filter(|name| declared(name)) {
        Some(name) => Ok(name.to_owned()),
        None => Err(format!(
            "Allowed values: {}.",
            argument.predefined.join(", ")
        )),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declaration(arguments: Value) -> CommandDeclaration {
        serde_json::from_value(json!({"name": "c", "description": "d", "arguments": arguments}))
            .unwrap()
    }

    fn raw(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn applies_defaults_and_parses_numbers() {
        let decl = declaration(json!([
            {"name": "limit", "description": "x", "type": "number", "defaultValue": "100"},
            {"name": "offset", "description": "x", "type": "number"}
        ]));
        let args = validate(&decl, &raw(json!({"offset": "5"}))).unwrap();
        assert_eq!(args.number("limit"), Some(100));
        assert_eq!(args.number("offset"), Some(5));
        let args = validate(&decl, &raw(json!({"limit": 7, "offset": ""}))).unwrap();
        assert_eq!(
            (args.number("limit"), args.number("offset")),
            (Some(7), None)
        );
    }

    #[test]
    fn names_argument_value_and_what_is_allowed() {
        let decl = declaration(json!([
            {"name": "status", "description": "x", "predefined": ["Active", "Resolved"], "auto": "PREDEFINED"},
            {"name": "limit", "description": "x", "type": "number"}
        ]));
        let err = validate(&decl, &raw(json!({"status": "open"}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `status`: \"open\". Allowed values: Active, Resolved."
        );
        let err = validate(&decl, &raw(json!({"limit": "ten"}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `limit`: \"ten\". Expected a whole number."
        );
    }

    #[test]
    fn enumeration_values_read_as_the_declared_spelling() {
        let decl = declaration(json!([
            {"name": "status", "description": "x", "predefined": ["Active", "InProgress"], "auto": "PREDEFINED"},
            {"name": "determination", "description": "x", "predefined": ["NotMalicious", "NoEnoughDataToValidate"]},
            {"name": "kind", "description": "x", "predefined": ["Active"]}
        ]));
        let given = json!({"status": "inProgress", "determination": "insufficientData"});
        let args = validate(&decl, &raw(given)).unwrap();
        assert_eq!(args.text("status"), Some("InProgress"));
        assert_eq!(args.text("determination"), Some("NoEnoughDataToValidate"));
        let args = validate(&decl, &raw(json!({"determination": "Not malicious"}))).unwrap();
        assert_eq!(args.text("determination"), Some("NotMalicious"));
        // A member the argument does not declare, and an argument of no enumeration.
        assert!(validate(&decl, &raw(json!({"status": "resolved"}))).is_err());
        assert!(validate(&decl, &raw(json!({"kind": "active"}))).is_err());
    }

    #[test]
    fn required_arguments_must_be_given() {
        let decl = declaration(json!([{"name": "id", "description": "x", "required": true}]));
        let err = validate(&decl, &raw(json!({"id": ""}))).unwrap_err();
        assert_eq!(err.to_string(), "Missing required argument `id`.");
    }

    #[test]
    fn splits_lists_and_checks_each_item() {
        let decl = declaration(json!([
            {"name": "tags", "description": "x", "isArray": true},
            {"name": "kinds", "description": "x", "isArray": true, "predefined": ["a", "b"]}
        ]));
        let args = validate(&decl, &raw(json!({"tags": "x, y,,z", "kinds": ["a", "b"]}))).unwrap();
        assert_eq!(args.list("tags").unwrap(), ["x", "y", "z"]);
        let err = validate(&decl, &raw(json!({"kinds": "a,c"}))).unwrap_err();
        assert!(err.to_string().contains("\"c\""), "{err}");
    }

    #[test]
    fn json_and_boolean_arguments() {
        let decl = declaration(json!([
            {"name": "odata", "description": "x", "type": "json"},
            {"name": "changed", "description": "x", "type": "boolean"}
        ]));
        let args = validate(
            &decl,
            &raw(json!({"odata": "{\"$top\": 1}", "changed": "True"})),
        )
        .unwrap();
        assert_eq!(args.json("odata"), Some(&json!({"$top": 1})));
        assert_eq!(args.flag("changed"), Some(true));
        let err = validate(&decl, &raw(json!({"odata": "{nope"}))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invalid value for argument `odata`"),
            "{err}"
        );
    }

    #[test]
    fn incident_ids_are_numbers_on_the_legacy_api_and_any_text_on_graph() {
        let decl = declaration(json!([{"name": "id", "description": "x", "required": true}]));
        let args = validate(&decl, &raw(json!({"id": " 1201 "}))).unwrap();
        for backend in [ApiBackend::Legacy, ApiBackend::Graph] {
            assert_eq!(
                args.incident_id("id", backend).unwrap(),
                IncidentId::Number(1201)
            );
        }
        let args = validate(&decl, &raw(json!({"id": 1201}))).unwrap();
        assert_eq!(
            args.incident_id("id", ApiBackend::Legacy).unwrap(),
            IncidentId::Number(1201)
        );
        let args = validate(&decl, &raw(json!({"id": "ed-4c2a/7"}))).unwrap();
        assert_eq!(
            args.incident_id("id", ApiBackend::Graph).unwrap(),
            IncidentId::Text("ed-4c2a/7".to_owned())
        );
        let err = args.incident_id("id", ApiBackend::Legacy).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "Invalid value for argument `id`: \"ed-4c2a/7\". Expected a whole number: the legacy Microsoft 365 Defender API numbers its incidents."
            ),
            "{err}"
        );
        let err = Args::default()
            .incident_id("id", ApiBackend::Graph)
            .unwrap_err();
        assert_eq!(err.to_string(), "Missing required argument `id`.");
    }

    #[test]
    fn text_keeps_empty_string_and_rejects_arrays() {
        let decl = declaration(json!([{"name": "assigned_to", "description": "x"}]));
        let args = validate(&decl, &raw(json!({"assigned_to": ""}))).unwrap();
        assert_eq!(args.text("assigned_to"), Some(""));
        assert!(validate(&decl, &raw(json!({"assigned_to": ["a"]}))).is_err());
    }
}
