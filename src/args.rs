//! Command arguments, from what the platform sends to the typed values a handler trusts. Raw
//! arguments arrive the way XSOAR sends them (strings: `"10"`, `"true"`, `"a,b"`), or as JSON
//! numbers, booleans and arrays.
//!
//! Each command's arguments are one struct implementing [`FromArgs`], built once from
//! [`GivenArgs`] before the handler runs, before the instance's configuration is read and before
//! any network call. Each field is read with a parser whose type decides what is accepted: a
//! number within its [`NumberRange`], a member of a [`Choice`] type in any spelling that type
//! knows, a list, JSON. integration.yml still decides what the platform shows, what is required
//! and what the default is; a test reads every command's struct against it (names, order, kinds,
//! predefined values), so the two cannot drift.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::api::IncidentId;
use crate::api::incident_id::TEXT_IDS_NEED_GRAPH;
use crate::api::odata::UserOptions;
use crate::config::ApiBackend;
use crate::declaration::{ArgumentDeclaration, CommandDeclaration};
use crate::error::{ArgumentError, ShownValue};

/// A command's arguments as one typed value. The impl reads each field with one parser of
/// [`GivenArgs`], in the order integration.yml declares the arguments (the first error is then
/// about the first argument in error, as the user reads them).
pub trait FromArgs: Sized {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<Self, ArgumentError>;
}

/// A command that takes no arguments.
impl FromArgs for () {
    fn from_args(_: &mut GivenArgs<'_>) -> Result<(), ArgumentError> {
        Ok(())
    }
}

/// The arguments of a command that reads one item by its id as the service gives it (text):
/// `id` and `timeout`.
pub struct ItemArgs {
    pub id: String,
    pub timeout: Duration,
}

impl FromArgs for ItemArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<ItemArgs, ArgumentError> {
        Ok(ItemArgs {
            id: args.required_text("id")?,
            timeout: args.timeout()?,
        })
    }
}

/// A user's own OData query options given as argument `name` (a JSON object of scalars), read
/// when the handler builds its query.
pub fn user_options(name: &str, value: &Value) -> Result<UserOptions, ArgumentError> {
    UserOptions::from_json(value).map_err(|reason| ArgumentError::Invalid {
        name: name.to_owned(),
        value: ShownValue(value.to_string()),
        allowed: reason,
    })
}

/// A fixed set of values an argument accepts. The type, not the argument's name, decides which
/// members are accepted and how each may be spelled; integration.yml's `predefined` list shows
/// the same members, spelled [`Choice::declared`], to the platform's UI.
pub trait Choice: Copy + Eq + 'static {
    /// The members accepted, in the order integration.yml lists them.
    const ACCEPTED: &'static [Self];

    /// The member as integration.yml spells it, which is also the value the handler sends on.
    fn declared(self) -> &'static str;

    /// The member any spelling the type knows names, accepted or not.
    fn spelled(text: &str) -> Option<Self>;

    /// The accepted member `text` names: its declared spelling, or any other the type knows.
    fn from_text(text: &str) -> Option<Self> {
        Self::ACCEPTED
            .iter()
            .copied()
            .find(|member| member.declared() == text)
            .or_else(|| Self::spelled(text).filter(|member| Self::ACCEPTED.contains(member)))
    }

    /// The declared spellings of the accepted members, in order.
    fn accepted_spellings() -> Vec<&'static str> {
        Self::ACCEPTED
            .iter()
            .map(|member| member.declared())
            .collect()
    }
}

/// Declares an argument type over one of Defender's enumerations (a
/// [`GraphEnum`](crate::graph::enums::GraphEnum)): the members it accepts, in the order
/// integration.yml lists them, spelled there by `legacy_name` or `graph_name`. A value may come
/// in any spelling Microsoft documented for a member (Graph's metadata names, older names,
/// portal labels) and reads as the declared spelling of the member it names. The member itself
/// is `.0`, for a handler that sends another spelling than integration.yml shows.
macro_rules! graph_enum_argument {
    (
        $(#[$meta:meta])*
        $vis:vis $name:ident($enum:ident) spelled $spelling:ident: [$($member:ident),+ $(,)?]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis struct $name(pub $enum);

        impl $crate::args::Choice for $name {
            const ACCEPTED: &'static [$name] = &[$($name($enum::$member)),+];

            fn declared(self) -> &'static str {
                $crate::graph::enums::GraphEnum::$spelling(self.0)
            }

            fn spelled(text: &str) -> Option<$name> {
                <$enum as $crate::graph::enums::GraphEnum>::parse(text).map($name)
            }
        }
    };
}
pub(crate) use graph_enum_argument;

/// The arguments of one command as the platform gave them, beside their declaration. The
/// parsers read one argument each: the given value, or the declaration's default, checked
/// against what the field's type accepts.
pub struct GivenArgs<'a> {
    declaration: Option<&'a CommandDeclaration>,
    given: &'a Map<String, Value>,
    read: Vec<Read>,
}

/// How a command's struct read one argument. A test compares these with the declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub name: &'static str,
    /// Whether the struct cannot do without it.
    pub required: bool,
    pub kind: ReadKind,
}

/// What a parser took an argument for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadKind {
    Text,
    Number(NumberRange),
    Flag,
    List,
    Json,
    /// One of these declared spellings.
    Choice(Vec<&'static str>),
}

impl<'a> GivenArgs<'a> {
    /// The arguments `given` to a command of this `declaration`. Arguments the declaration does
    /// not know are ignored (platforms add their own) with a debug line.
    pub fn new(declaration: &'a CommandDeclaration, given: &'a Map<String, Value>) -> Self {
        for name in given.keys() {
            if !declaration.arguments.iter().any(|a| &a.name == name) {
                tracing::debug!(argument = %name, command = %declaration.name, "ignoring undeclared argument");
            }
        }
        GivenArgs {
            declaration: Some(declaration),
            given,
            read: Vec::new(),
        }
    }

    /// The arguments of a command integration.yml does not declare (the platform's own): none
    /// is read.
    pub fn undeclared(given: &'a Map<String, Value>) -> Self {
        GivenArgs {
            declaration: None,
            given,
            read: Vec::new(),
        }
    }

    /// The arguments read so far, in order.
    pub fn reads(&self) -> &[Read] {
        &self.read
    }

    /// A text argument. An empty text stays a value (an empty `assigned_to` unassigns).
    pub fn text(&mut self, name: &'static str) -> Result<Option<String>, ArgumentError> {
        self.value(name, false, ReadKind::Text)?
            .map(|value| single_text(name, value))
            .transpose()
    }

    /// A text argument that must be given.
    pub fn required_text(&mut self, name: &'static str) -> Result<String, ArgumentError> {
        let value = self.value(name, true, ReadKind::Text)?;
        value.map_or_else(|| Err(missing(name)), |value| single_text(name, value))
    }

    /// A whole number within `range`.
    pub fn number(
        &mut self,
        name: &'static str,
        range: NumberRange,
    ) -> Result<Option<i64>, ArgumentError> {
        let Some(value) = self.value(name, false, ReadKind::Number(range))? else {
            return Ok(None);
        };
        let number = whole_number(value).ok_or_else(|| {
            invalid(
                name,
                value,
                format!("Expected a whole number. {}", range.accepted()),
            )
        })?;
        if !range.contains(number) {
            return Err(invalid(
                name,
                value,
                format!("Out of range. {}", range.accepted()),
            ));
        }
        // In range, so within `i64`.
        Ok(Some(number as i64))
    }

    /// A count within `range`, whose least value is not negative.
    pub fn count(
        &mut self,
        name: &'static str,
        range: NumberRange,
    ) -> Result<Option<usize>, ArgumentError> {
        self.number(name, range)?
            .map(|number| non_negative(name, number))
            .transpose()
    }

    /// A number of seconds within `range`.
    pub fn seconds(
        &mut self,
        name: &'static str,
        range: NumberRange,
    ) -> Result<Option<Duration>, ArgumentError> {
        self.number(name, range)?
            .map(|number| non_negative(name, number).map(Duration::from_secs))
            .transpose()
    }

    /// `timeout` of a command that calls the API: its seconds for the whole command
    /// ([`TIMEOUT_SECONDS`]), [`DEFAULT_TIMEOUT`] when the declaration gives no default.
    pub fn timeout(&mut self) -> Result<Duration, ArgumentError> {
        Ok(self
            .seconds("timeout", TIMEOUT_SECONDS)?
            .unwrap_or(DEFAULT_TIMEOUT))
    }

    /// `true` or `false` (also `yes` and `no`, in any case).
    pub fn flag(&mut self, name: &'static str) -> Result<Option<bool>, ArgumentError> {
        let Some(value) = self.value(name, false, ReadKind::Flag)? else {
            return Ok(None);
        };
        let flag = match value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" => Some(true),
                "false" | "no" => Some(false),
                _ => None,
            },
            _ => None,
        };
        flag.map(Some)
            .ok_or_else(|| invalid(name, value, "Expected true or false.".to_owned()))
    }

    /// A comma-separated list or a JSON array of values, without empty items; empty when not
    /// given.
    pub fn list(&mut self, name: &'static str) -> Result<Vec<String>, ArgumentError> {
        let Some(value) = self.value(name, false, ReadKind::List)? else {
            return Ok(Vec::new());
        };
        list_items(value).ok_or_else(|| {
            invalid(
                name,
                value,
                "Expected a comma-separated list or a JSON array of values.".to_owned(),
            )
        })
    }

    /// A JSON value, given as JSON or as its text.
    pub fn json(&mut self, name: &'static str) -> Result<Option<Value>, ArgumentError> {
        let Some(value) = self.value(name, false, ReadKind::Json)? else {
            return Ok(None);
        };
        match value {
            Value::String(s) => serde_json::from_str(s).map(Some).map_err(|e| {
                invalid(
                    name,
                    value,
                    format!("Expected a JSON value; it does not parse: {e}."),
                )
            }),
            other => Ok(Some(other.clone())),
        }
    }

    /// A member of `T`, in any spelling `T` knows.
    pub fn choice<T: Choice>(&mut self, name: &'static str) -> Result<Option<T>, ArgumentError> {
        let kind = ReadKind::Choice(T::accepted_spellings());
        let Some(value) = self.value(name, false, kind)? else {
            return Ok(None);
        };
        let text = single_text(name, value)?;
        T::from_text(&text).map(Some).ok_or_else(|| {
            let allowed = T::accepted_spellings().join(", ");
            invalid(name, value, format!("Allowed values: {allowed}."))
        })
    }

    /// An incident id that must be given. Which ids the API takes is known only once the
    /// instance's configuration is read: the handler checks it then
    /// ([`IncidentIdArgument::for_api`]).
    pub fn incident_id(&mut self, name: &'static str) -> Result<IncidentIdArgument, ArgumentError> {
        let text = self.required_text(name)?;
        IncidentId::from_text(text.trim())
            .map(|id| IncidentIdArgument { name, id })
            .ok_or_else(|| missing(name))
    }

    /// The value of argument `name` to convert: the given one, or the declaration's default;
    /// none when neither is there and the argument is not required.
    fn value(
        &mut self,
        name: &'static str,
        required: bool,
        kind: ReadKind,
    ) -> Result<Option<&'a Value>, ArgumentError> {
        self.read.push(Read {
            name,
            required,
            kind,
        });
        let argument = self
            .declaration
            .and_then(|declaration| declaration.arguments.iter().find(|a| a.name == name));
        let value = argument.and_then(|argument| {
            let given = self.given.get(name).filter(|v| !is_absent(argument, v));
            given.or(argument.default_value.as_ref())
        });
        let required = required || argument.is_some_and(|argument| argument.required);
        match value {
            None if required => Err(missing(name)),
            value => Ok(value),
        }
    }
}

/// An incident id argument, for the handler to check against the API the instance uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentIdArgument {
    name: &'static str,
    id: IncidentId,
}

impl IncidentIdArgument {
    /// The id, for the API `backend`. Ids are numbers on the legacy API, so there a text id is
    /// refused here, before any request; Microsoft Graph's may be any text.
    pub fn for_api(&self, backend: ApiBackend) -> Result<IncidentId, ArgumentError> {
        match (&self.id, backend) {
            (IncidentId::Text(text), ApiBackend::Legacy) => Err(ArgumentError::Invalid {
                name: self.name.to_owned(),
                value: ShownValue(text.clone()),
                allowed: format!(
                    "Expected a whole number: the legacy Microsoft 365 Defender API numbers its incidents. {TEXT_IDS_NEED_GRAPH}"
                ),
            }),
            (id, _) => Ok(id.clone()),
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

/// `timeout` of a command that calls the API when its declaration gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl NumberRange {
    /// Whether `number` is accepted.
    pub fn contains(&self, number: i128) -> bool {
        (i128::from(self.min)..=i128::from(self.max)).contains(&number)
            || (self.negative_means.is_some() && (i128::from(i64::MIN)..0).contains(&number))
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

/// One scalar as text.
fn single_text(name: &str, value: &Value) -> Result<String, ArgumentError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(invalid(
            name,
            value,
            "Expected a single text value.".to_owned(),
        )),
    }
}

/// A number of a range whose least value is not negative, as the unsigned type it counts in.
fn non_negative<T: TryFrom<i64>>(name: &str, number: i64) -> Result<T, ArgumentError> {
    T::try_from(number).map_err(|_| ArgumentError::Invalid {
        name: name.to_owned(),
        value: ShownValue(number.to_string()),
        allowed: "Expected zero or a positive whole number.".to_owned(),
    })
}

fn missing(name: &str) -> ArgumentError {
    ArgumentError::Missing {
        name: name.to_owned(),
    }
}

fn invalid(name: &str, value: &Value, allowed: String) -> ArgumentError {
    ArgumentError::Invalid {
        name: name.to_owned(),
        value: ShownValue(shown(value)),
        allowed,
    }
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

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::enums::{AlertStatus, Determination, IncidentStatus};
    use serde_json::json;

    fn declaration(arguments: Value) -> CommandDeclaration {
        serde_json::from_value(json!({"name": "c", "description": "d", "arguments": arguments}))
            .unwrap()
    }

    /// What `parse` reads from `given` to a command of `declaration`.
    fn read<T>(
        declaration: &CommandDeclaration,
        given: Value,
        parse: impl FnOnce(&mut GivenArgs<'_>) -> Result<T, ArgumentError>,
    ) -> Result<T, ArgumentError> {
        let given = given.as_object().unwrap().clone();
        parse(&mut GivenArgs::new(declaration, &given))
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    const INCIDENTS: NumberRange = NumberRange {
        min: 1,
        max: 10_000,
        unit: "incidents",
        negative_means: None,
    };

    const ROWS: NumberRange = NumberRange {
        min: 1,
        max: 100_000,
        unit: "rows",
        negative_means: Some("no limit"),
    };

    graph_enum_argument!(
        Status(IncidentStatus) spelled legacy_name: [Active, InProgress, Resolved]
    );

    graph_enum_argument!(
        Verdict(Determination) spelled legacy_name: [NotMalicious, NotEnoughDataToValidate]
    );

    graph_enum_argument!(
        NewOrResolved(AlertStatus) spelled graph_name: [New, Resolved]
    );

    #[test]
    fn applies_defaults_and_parses_numbers() {
        let decl = declaration(json!([
            {"name": "limit", "description": "x", "type": "number", "defaultValue": "100"},
            {"name": "offset", "description": "x", "type": "number"}
        ]));
        let both = |args: &mut GivenArgs<'_>| {
            Ok((
                args.number("limit", INCIDENTS)?,
                args.number("offset", INCIDENTS)?,
            ))
        };
        assert_eq!(
            read(&decl, json!({"offset": "5"}), both).unwrap(),
            (Some(100), Some(5))
        );
        assert_eq!(
            read(&decl, json!({"limit": 7, "offset": ""}), both).unwrap(),
            (Some(7), None)
        );
    }

    #[test]
    fn names_argument_value_and_what_is_allowed() {
        let decl = declaration(json!([
            {"name": "status", "description": "x", "predefined": ["Active", "InProgress", "Resolved"], "auto": "PREDEFINED"},
            {"name": "limit", "description": "x", "type": "number"}
        ]));
        let err = read(&decl, json!({"status": "open"}), |a| {
            a.choice::<Status>("status")
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `status`: \"open\". Allowed values: Active, InProgress, Resolved."
        );
        let err = read(&decl, json!({"limit": "ten"}), |a| {
            a.number("limit", INCIDENTS)
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `limit`: \"ten\". Expected a whole number. Accepted values: 1 to 10000 incidents."
        );
    }

    #[test]
    fn enumeration_values_read_as_the_declared_spelling() {
        let decl = declaration(json!([
            {"name": "status", "description": "x", "predefined": ["Active", "InProgress", "Resolved"]},
            {"name": "determination", "description": "x", "predefined": ["NotMalicious", "NoEnoughDataToValidate"]}
        ]));
        let both = |args: &mut GivenArgs<'_>| {
            let status = args.choice::<Status>("status")?;
            let determination = args.choice::<Verdict>("determination")?;
            Ok((
                status.map(Choice::declared),
                determination.map(Choice::declared),
            ))
        };
        let given = json!({"status": "inProgress", "determination": "insufficientData"});
        assert_eq!(
            read(&decl, given, both).unwrap(),
            (Some("InProgress"), Some("NoEnoughDataToValidate"))
        );
        let given = json!({"status": "Active", "determination": "Not malicious"});
        assert_eq!(
            read(&decl, given, both).unwrap(),
            (Some("Active"), Some("NotMalicious"))
        );
        // A member the type does not accept, and a member of another enumeration.
        assert!(read(&decl, json!({"status": "redirected"}), both).is_err());
        assert!(read(&decl, json!({"status": "new"}), both).is_err());
    }

    #[test]
    fn the_type_decides_the_spellings_not_the_argument_name() {
        let decl = declaration(json!([
            {"name": "status", "description": "x", "predefined": ["new", "resolved"]}
        ]));
        let alert = |given| read(&decl, given, |a| a.choice::<NewOrResolved>("status"));
        assert_eq!(
            alert(json!({"status": "New"}))
                .unwrap()
                .map(Choice::declared),
            Some("new")
        );
        let err = alert(json!({"status": "Active"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `status`: \"Active\". Allowed values: new, resolved."
        );
        let incident = read(&decl, json!({"status": "new"}), |a| {
            a.choice::<Status>("status")
        });
        assert!(incident.is_err());
    }

    #[test]
    fn every_accepted_member_reads_back_from_its_declared_spelling() {
        fn round_trips<T: Choice + std::fmt::Debug>() {
            for member in T::ACCEPTED {
                assert_eq!(T::from_text(member.declared()), Some(*member));
            }
        }
        round_trips::<Status>();
        round_trips::<Verdict>();
        round_trips::<NewOrResolved>();
    }

    #[test]
    fn required_arguments_must_be_given() {
        let decl = declaration(json!([{"name": "id", "description": "x", "required": true}]));
        let err = read(&decl, json!({"id": ""}), |a| a.required_text("id")).unwrap_err();
        assert_eq!(err.to_string(), "Missing required argument `id`.");
        // Also when the struct insists and the declaration does not.
        let decl = declaration(json!([{"name": "id", "description": "x"}]));
        let err = read(&decl, json!({}), |a| a.required_text("id")).unwrap_err();
        assert_eq!(err.to_string(), "Missing required argument `id`.");
    }

    #[test]
    fn splits_lists() {
        let decl = declaration(json!([
            {"name": "tags", "description": "x", "isArray": true},
            {"name": "kinds", "description": "x", "isArray": true}
        ]));
        let both = |args: &mut GivenArgs<'_>| Ok((args.list("tags")?, args.list("kinds")?));
        let (tags, kinds) =
            read(&decl, json!({"tags": "x, y,,z", "kinds": ["a", 1]}), both).unwrap();
        assert_eq!(
            (tags, kinds),
            (strings(&["x", "y", "z"]), strings(&["a", "1"]))
        );
        let (tags, kinds) = read(&decl, json!({"tags": ""}), both).unwrap();
        assert!(tags.is_empty() && kinds.is_empty());
        let err = read(&decl, json!({"tags": [["x"]]}), |a| a.list("tags")).unwrap_err();
        assert!(err.to_string().contains("comma-separated list"), "{err}");
    }

    #[test]
    fn json_and_boolean_arguments() {
        let decl = declaration(json!([
            {"name": "odata", "description": "x", "type": "json"},
            {"name": "changed", "description": "x", "type": "boolean"}
        ]));
        let both = |args: &mut GivenArgs<'_>| Ok((args.json("odata")?, args.flag("changed")?));
        let given = json!({"odata": "{\"$top\": 1}", "changed": "True"});
        assert_eq!(
            read(&decl, given, both).unwrap(),
            (Some(json!({"$top": 1})), Some(true))
        );
        let err = read(&decl, json!({"odata": "{nope"}), both).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invalid value for argument `odata`"),
            "{err}"
        );
        let err = read(&decl, json!({"changed": "maybe"}), both).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for argument `changed`: \"maybe\". Expected true or false."
        );
    }

    #[test]
    fn incident_ids_are_numbers_on_the_legacy_api_and_any_text_on_graph() {
        let decl = declaration(json!([{"name": "id", "description": "x", "required": true}]));
        let id = |given| read(&decl, given, |a| a.incident_id("id"));
        for backend in [ApiBackend::Legacy, ApiBackend::Graph] {
            assert_eq!(
                id(json!({"id": " 1201 "}))
                    .unwrap()
                    .for_api(backend)
                    .unwrap(),
                IncidentId::Number(1201)
            );
        }
        assert_eq!(
            id(json!({"id": 1201}))
                .unwrap()
                .for_api(ApiBackend::Legacy)
                .unwrap(),
            IncidentId::Number(1201)
        );
        let text = id(json!({"id": "ed-4c2a/7"})).unwrap();
        assert_eq!(
            text.for_api(ApiBackend::Graph).unwrap(),
            IncidentId::Text("ed-4c2a/7".to_owned())
        );
        let err = text.for_api(ApiBackend::Legacy).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "Invalid value for argument `id`: \"ed-4c2a/7\". Expected a whole number: the legacy Microsoft 365 Defender API numbers its incidents."
            ),
            "{err}"
        );
        let err = id(json!({"id": "  "})).unwrap_err();
        assert_eq!(err.to_string(), "Missing required argument `id`.");
    }

    #[test]
    fn text_keeps_empty_string_and_rejects_arrays() {
        let decl = declaration(json!([{"name": "assigned_to", "description": "x"}]));
        let text = |given| read(&decl, given, |a| a.text("assigned_to"));
        assert_eq!(
            text(json!({"assigned_to": ""})).unwrap().as_deref(),
            Some("")
        );
        assert!(text(json!({"assigned_to": ["a"]})).is_err());
    }

    #[test]
    fn each_read_is_recorded_in_order() {
        let decl = declaration(json!([
            {"name": "b", "description": "x", "type": "number"},
            {"name": "a", "description": "x", "predefined": ["Active"]}
        ]));
        let given = Map::new();
        let mut args = GivenArgs::new(&decl, &given);
        args.number("b", INCIDENTS).unwrap();
        args.choice::<Status>("a").unwrap();
        let kinds: Vec<(&str, ReadKind)> = args
            .reads()
            .iter()
            .map(|r| (r.name, r.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("b", ReadKind::Number(INCIDENTS)),
                (
                    "a",
                    ReadKind::Choice(vec!["Active", "InProgress", "Resolved"])
                )
            ]
        );
    }

    #[test]
    fn timeouts_are_whole_seconds_within_an_hour() {
        let decl = declaration(json!([
            {"name": "timeout", "description": "x", "type": "number", "defaultValue": "30"}
        ]));
        let timeout = |value| read(&decl, json!({"timeout": value}), |a| a.timeout());
        for accepted in [
            json!("1"),
            json!(" 3600 "),
            json!(30),
            json!(30.0),
            json!("1e3"),
        ] {
            let seconds = timeout(accepted.clone()).unwrap().as_secs();
            assert!((1..=3600).contains(&seconds), "{accepted}");
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
            let message = timeout(value.clone()).unwrap_err().to_string();
            assert!(
                message.starts_with("Invalid value for argument `timeout`")
                    && message.ends_with("Accepted values: 1 to 3600 seconds."),
                "{value}: {message}"
            );
        }
        assert_eq!(
            timeout(json!("9223372036854775807"))
                .unwrap_err()
                .to_string(),
            "Invalid value for argument `timeout`: \"9223372036854775807\". Out of range. Accepted values: 1 to 3600 seconds."
        );
        assert_eq!(
            timeout(json!("1.5")).unwrap_err().to_string(),
            "Invalid value for argument `timeout`: \"1.5\". Expected a whole number. Accepted values: 1 to 3600 seconds."
        );
        let no_default =
            declaration(json!([{"name": "timeout", "description": "x", "type": "number"}]));
        assert_eq!(
            read(&no_default, json!({}), |a| a.timeout()).unwrap(),
            DEFAULT_TIMEOUT
        );
    }

    #[test]
    fn counts_have_caps_and_a_negative_limit_can_mean_none() {
        let decl = declaration(json!([{"name": "limit", "description": "x", "type": "number"}]));
        let count = |value| {
            read(&decl, json!({"limit": value}), |a| {
                a.count("limit", INCIDENTS)
            })
        };
        assert_eq!(count(json!("10000")).unwrap(), Some(10_000));
        for value in ["0", "-1", "10001", "18446744073709551616"] {
            assert!(count(json!(value)).is_err(), "{value}");
        }
        let rows = |value| read(&decl, json!({"limit": value}), |a| a.number("limit", ROWS));
        for (value, expected) in [
            ("-1", -1),
            ("-9223372036854775808", i64::MIN),
            ("100000", 100_000),
        ] {
            assert_eq!(rows(json!(value)).unwrap(), Some(expected));
        }
        for value in ["0", "100001", "-9223372036854775809"] {
            let err = rows(json!(value)).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("Accepted values: 1 to 100000 rows, or -1 for no limit."),
                "{value}: {err}"
            );
        }
    }
}
