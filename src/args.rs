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

/// The values a number argument accepts. A number from outside is checked against its range
/// before any command does arithmetic with it: a timeout becomes a deadline (`Instant +
/// Duration` panics on overflow), a limit and an offset count incidents and pages, and a
/// number past `i64` or a fraction is no count at all. The README's "Limits and caps" lists
/// the same ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRange {
    pub min: i64,
    pub max: i64,
    /// What the number counts, for the error message ("seconds", "incidents").
    pub unit: &'static str,
    /// When set, every negative number is accepted too, meaning this: XSOAR's convention of
    /// `-1` for "no limit".
    pub negative_means: Option<&'static str>,
}

/// The most seconds any command may be given to finish. An hour is longer than any Microsoft
/// API call takes (advanced hunting stops a query after 3 minutes) and keeps every deadline
/// far from `Instant`'s overflow.
pub const MAX_TIMEOUT_SECONDS: i64 = 3600;

/// `timeout` of the commands that call the API: seconds for the whole command.
pub const TIMEOUT_SECONDS: NumberRange = NumberRange {
    min: 1,
    max: MAX_TIMEOUT_SECONDS,
    unit: "seconds",
    negative_means: None,
};

/// The range of every number argument in integration.yml, by command and argument; `None` as
/// the command means every command. A test keeps this table and the declaration in step.
const NUMBER_RANGES: &[(Option<&str>, &str, NumberRange)] = &[
    // The device code step waits for a person, and the platform holds a worker while it
    // does; 0 checks once without waiting.
    (
        Some("microsoft-365-defender-auth-complete"),
        "timeout",
        NumberRange {
            min: 0,
            max: 60,
            unit: "seconds",
            negative_means: None,
        },
    ),
    (None, "timeout", TIMEOUT_SECONDS),
    // 100 pages of the API's 100: more than a war-room table or a playbook loop can use.
    (
        Some("microsoft-365-defender-incidents-list"),
        "limit",
        NumberRange {
            min: 1,
            max: 10_000,
            unit: "incidents",
            negative_means: None,
        },
    ),
    (
        Some("microsoft-365-defender-incidents-list"),
        "offset",
        NumberRange {
            min: 0,
            max: 1_000_000,
            unit: "incidents",
            negative_means: None,
        },
    ),
    // The advanced hunting API returns at most 100,000 rows of one query:
    // https://learn.microsoft.com/en-us/defender-xdr/api-advanced-hunting
    (
        Some("microsoft-365-defender-advanced-hunting"),
        "limit",
        NumberRange {
            min: 1,
            max: 100_000,
            unit: "rows",
            negative_means: Some("no limit"),
        },
    ),
    // XSOAR's incident status: 0 pending, 1 active, 2 done, 3 archived.
    (
        Some("update-remote-system"),
        "status",
        NumberRange {
            min: 0,
            max: 3,
            unit: "(the XSOAR incident status)",
            negative_means: None,
        },
    ),
];

/// A number argument no entry of [`NUMBER_RANGES`] names (a test keeps that from happening)
/// still gets a range that no arithmetic on it can overflow.
const UNLISTED_RANGE: NumberRange = NumberRange {
    min: 0,
    max: i32::MAX as i64,
    unit: "",
    negative_means: None,
};

/// The accepted values of number argument `argument` of `command`.
pub fn number_range(command: &str, argument: &str) -> NumberRange {
    NUMBER_RANGES
        .iter()
        .find(|(c, a, _)| *a == argument && c.is_none_or(|c| c == command))
        .map_or(UNLISTED_RANGE, |(_, _, range)| *range)
}

impl NumberRange {
    /// Whether `number` is accepted.
    pub fn contains(&self, number: i128) -> bool {
        (i128::from(self.min)..=i128::from(self.max)).contains(&number)
            || (self.negative_means.is_some() && (i128::from(i64::MIN)..0).contains(&number))
    }

    /// `number` for argument `name`, or the error that names the argument and the range.
    pub fn check(&self, name: &str, number: i64) -> Result<i64, ArgumentError> {
        if self.contains(i128::from(number)) {
            Ok(number)
        } else {
            Err(ArgumentError::Invalid {
                name: name.to_owned(),
                value: ShownValue(number.to_string()),
                allowed: format!("Out of range. {}", self.accepted()),
            })
        }
    }

    /// The sentence that tells the user which values are accepted.
    pub fn accepted(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        match self.negative_means {
            Some(meaning) => format!(
                "Accepted values: {} to {}{unit}, or -1 for {meaning}.",
                self.min, self.max
            ),
            None => format!("Accepted values: {} to {}{unit}.", self.min, self.max),
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
                values.insert(
                    argument.name.clone(),
                    convert(&declaration.name, argument, value)?,
                );
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

fn convert(
    command: &str,
    argument: &ArgumentDeclaration,
    value: &Value,
) -> Result<ArgValue, ArgumentError> {
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
            let range = number_range(command, &argument.name);
            let number = whole_number(value)
                .ok_or_else(|| invalid(format!("Expected a whole number. {}", range.accepted())))?;
            if !range.contains(number) {
                return Err(invalid(format!("Out of range. {}", range.accepted())));
            }
            // In range, so within `i64`.
            ArgValue::Number(number as i64)
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

/// The whole number `value` stands for: a JSON number or its text, as an integer or in a
/// float's notation with nothing after the point (`"5"`, `5.0`, `"1e3"`). Numbers past `i64`
/// come back too (saturated at `i128`'s ends) so that the error can say "out of range";
/// fractions, NaN and infinities are no whole number.
fn whole_number(value: &Value) -> Option<i128> {
    let from_float = |f: f64| (f.is_finite() && f.fract() == 0.0).then_some(f as i128);
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| n.as_f64().and_then(from_float)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i128>().ok().or_else(|| {
                // Rust reads "inf" and "NaN" as floats; `from_float` refuses both.
                s.parse::<f64>().ok().and_then(from_float)
            })
        }
        _ => None,
    }
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
        let err = validate_in(
            "microsoft-365-defender-incidents-list",
            json!({"limit": "ten"}),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `limit`: \"ten\". Expected a whole number. Accepted values: 1 to 10000 incidents."
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

    fn validate_in(command: &str, given: Value) -> Result<Args, ArgumentError> {
        let integration = crate::declaration::integration().unwrap();
        validate(integration.command(command).unwrap(), &raw(given))
    }

    #[test]
    fn every_declared_number_argument_has_a_range_of_its_own() {
        let integration = crate::declaration::integration().unwrap();
        for command in &integration.script.commands {
            for argument in &command.arguments {
                if argument.kind != Some(ArgumentType::Number) {
                    continue;
                }
                let range = number_range(&command.name, &argument.name);
                assert_ne!(
                    range, UNLISTED_RANGE,
                    "{} {}: add its range to NUMBER_RANGES",
                    command.name, argument.name
                );
                if let Some(default) = &argument.default_value {
                    let default = whole_number(default).expect("a whole default");
                    assert!(
                        range.contains(default),
                        "{} {}: default {default} is out of its range",
                        command.name,
                        argument.name
                    );
                }
            }
        }
    }

    #[test]
    fn the_readme_lists_every_range() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let section = readme
            .split("## Limits and caps")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("README.md has a section `## Limits and caps`");
        for (_, argument, range) in NUMBER_RANGES {
            let shown = format!("{} to {}", range.min, range.max);
            assert!(
                section.contains(&shown) && section.contains(&format!("`{argument}`")),
                "README's limits do not mention `{argument}`: {shown}"
            );
        }
    }

    #[test]
    fn timeouts_are_whole_seconds_within_an_hour() {
        let command = "microsoft-365-defender-incidents-list";
        for accepted in [
            json!("1"),
            json!(" 3600 "),
            json!(30),
            json!(30.0),
            json!("1e3"),
        ] {
            let args = validate_in(command, json!({"timeout": accepted})).unwrap();
            assert!(
                (1..=3600).contains(&args.number("timeout").unwrap()),
                "{accepted}"
            );
        }
        let refused = [
            json!("0"),
            json!("-1"),
            json!("3601"),
            json!("9223372036854775807"),
            json!("9223372036854775808"),
            json!("-9223372036854775809"),
            json!("99999999999999999999999999999999999999999999999"),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e300),
            json!("1.5"),
            json!(1.5),
            json!("1e309"),
            json!("NaN"),
            json!("inf"),
            json!("-inf"),
            json!("0x10"),
            json!("１０"),
            json!(true),
            json!(["5"]),
            json!({"seconds": 5}),
        ];
        for value in refused {
            let err = validate_in(command, json!({"timeout": value})).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with("Invalid value for argument `timeout`")
                    && message.ends_with("Accepted values: 1 to 3600 seconds."),
                "{value}: {message}"
            );
        }
        let err = validate_in(command, json!({"timeout": "9223372036854775807"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `timeout`: \"9223372036854775807\". Out of range. Accepted values: 1 to 3600 seconds."
        );
        let err = validate_in(command, json!({"timeout": "1.5"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `timeout`: \"1.5\". Expected a whole number. Accepted values: 1 to 3600 seconds."
        );
    }

    #[test]
    fn auth_complete_waits_at_most_a_minute_and_zero_checks_once() {
        let command = "microsoft-365-defender-auth-complete";
        let args = validate_in(command, json!({"timeout": "0"})).unwrap();
        assert_eq!(args.number("timeout"), Some(0));
        let args = validate_in(command, json!({})).unwrap();
        assert_eq!(args.number("timeout"), Some(60));
        let err = validate_in(command, json!({"timeout": "61"})).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("Out of range. Accepted values: 0 to 60 seconds."),
            "{err}"
        );
        assert!(validate_in(command, json!({"timeout": -1})).is_err());
    }

    #[test]
    fn incident_limits_and_offsets_have_caps() {
        let command = "microsoft-365-defender-incidents-list";
        let args = validate_in(command, json!({"limit": "10000", "offset": "1000000"})).unwrap();
        assert_eq!(
            (args.number("limit"), args.number("offset")),
            (Some(10_000), Some(1_000_000))
        );
        for (name, value) in [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "10001"),
            ("offset", "-1"),
            ("offset", "1000001"),
            ("offset", "18446744073709551616"),
        ] {
            let err = validate_in(command, json!({ name: value })).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("Invalid value for argument `{name}`")),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn a_negative_hunting_limit_means_no_limit_and_zero_is_refused() {
        let command = "microsoft-365-defender-advanced-hunting";
        for (value, expected) in [
            ("-1", -1),
            ("-9223372036854775808", i64::MIN),
            ("100000", 100_000),
        ] {
            let args = validate_in(command, json!({"query": "T", "limit": value})).unwrap();
            assert_eq!(args.number("limit"), Some(expected));
        }
        for value in ["0", "100001", "-9223372036854775809"] {
            let err = validate_in(command, json!({"query": "T", "limit": value})).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("Accepted values: 1 to 100000 rows, or -1 for no limit."),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn the_mirrored_status_is_an_xsoar_status() {
        let command = "update-remote-system";
        let args = validate_in(command, json!({"remoteId": "1", "status": 2})).unwrap();
        assert_eq!(args.number("status"), Some(2));
        for value in [json!(4), json!(-1), json!("2.5")] {
            assert!(validate_in(command, json!({"remoteId": "1", "status": value})).is_err());
        }
    }

    #[test]
    fn the_range_is_checked_again_where_a_number_is_used() {
        assert_eq!(TIMEOUT_SECONDS.check("timeout", 3600).unwrap(), 3600);
        let err = TIMEOUT_SECONDS.check("timeout", i64::MAX).unwrap_err();
        assert!(
            err.to_string()
                .contains("Accepted values: 1 to 3600 seconds."),
            "{err}"
        );
    }
}
