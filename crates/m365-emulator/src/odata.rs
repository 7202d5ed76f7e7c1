//! The `$filter` language of the incidents API: comparisons on `createdTime`, `lastUpdateTime`,
//! `status` and `assignedTo` joined by `and`
//! (<https://learn.microsoft.com/defender-xdr/api-list-incidents>). It is where the plugin's fetch
//! cursor and user input meet the API, so the emulator accepts what Defender accepts — unquoted
//! ISO-8601 instants (seven-digit fractions included), OData string literals with `''` for an
//! apostrophe — and refuses the rest with Defender's `ODataError`. Microsoft Graph's incidents
//! take the same filters under Graph's names (`createdDateTime`, `lastUpdateDateTime`, statuses in
//! camelCase, <https://learn.microsoft.com/graph/api/security-list-incidents>): one parser serves
//! both, told the [`FilterDialect`]. The other list options are read by one parser too
//! ([`ListOptions`]): `$top` and `$skip` alike, with each API's page size, limit and extra
//! options (Graph's `$count` and `$expand=alerts`).

use jiff::Timestamp;

use super::clock::parse_time;
use super::model::{ApiEnum, Incident, IncidentStatus};
use crate::vocabulary::INCIDENT_STATUS;

/// The value of `$top` or `$skip`, or why the OData layer refuses it.
fn whole_number(name: &str, value: &str) -> Result<usize, String> {
    value.trim().parse::<usize>().map_err(|_| {
        format!(
            "Invalid value '{value}' for {name} query option found. The {name} query option requires a non-negative integer value."
        )
    })
}

/// The `$expand` of a Graph incident: `alerts` is its only navigation property.
pub(crate) fn expands_alerts(value: &str) -> Result<bool, String> {
    for item in value.split(',').map(str::trim) {
        if item != "alerts" {
            return Err(format!(
                "Could not find a property named '{item}' on type 'microsoft.graph.security.incident'."
            ));
        }
    }
    Ok(true)
}

/// The query options of an incident list, checked as the API's OData layer checks them.
pub(crate) struct ListOptions {
    pub(crate) top: usize,
    pub(crate) skip: usize,
    /// `$count=true` (Graph only).
    pub(crate) count: bool,
    /// `$expand=alerts` (Graph only).
    pub(crate) expand_alerts: bool,
    /// The `$filter` as given, and as parsed.
    pub(crate) filter: Option<(String, IncidentFilter)>,
}

impl ListOptions {
    /// Reads the query's `(name, value)` pairs; an option the API does not support, or a value
    /// it refuses, is an error worded as the API words it.
    pub(crate) fn parse(
        pairs: Vec<(String, String)>,
        dialect: FilterDialect,
    ) -> Result<ListOptions, String> {
        let mut options = ListOptions {
            top: dialect.page_size(),
            skip: 0,
            count: false,
            expand_alerts: false,
            filter: None,
        };
        for (name, value) in pairs {
            match name.as_str() {
                "$top" => {
                    options.top = whole_number("$top", &value)?;
                    if let Some(limit) = dialect.top_limit()
                        && options.top > limit
                    {
                        return Err(format!(
                            "The limit of '{limit}' for Top query has been exceeded. The value from the incoming request is '{}'.",
                            options.top
                        ));
                    }
                }
                "$skip" => options.skip = whole_number("$skip", &value)?,
                "$count" if dialect == FilterDialect::Graph => {
                    options.count = match value.trim() {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("'{other}' is not a valid count option.")),
                    }
                }
                "$expand" if dialect == FilterDialect::Graph => {
                    options.expand_alerts = expands_alerts(&value)?;
                }
                "$filter" if value.trim().is_empty() => {}
                "$filter" => {
                    let filter = IncidentFilter::parse_in(&value, dialect)
                        .map_err(|error| error.to_string())?;
                    options.filter = Some((value, filter));
                }
                other if other.starts_with('$') => {
                    let (refusal, supported) = dialect.supported_options();
                    return Err(format!(
                        "Query option '{other}' is not {refusal}. Supported query options: {supported}."
                    ));
                }
                _ => {}
            }
        }
        Ok(options)
    }

    /// The size of the page to answer: `$top`, up to the API's page size.
    pub(crate) fn page_size(&self, dialect: FilterDialect) -> usize {
        self.top.min(dialect.page_size())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid OData query: {0}")]
pub(crate) struct FilterError(String);

/// Whose OData an incident list is read in: the names its `$filter` uses, its page size and the
/// options it supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterDialect {
    /// The Defender API: `createdTime gt …`, `status eq 'Active'`.
    Defender,
    /// Microsoft Graph: `createdDateTime gt …`, `status eq 'active'`.
    Graph,
}

impl FilterDialect {
    /// The page when no `$top` is given, and the largest page: the Defender API returns up to
    /// 100 incidents (<https://learn.microsoft.com/defender-xdr/api-list-incidents>),
    /// Graph pages of 50, leading through the rest with `@odata.nextLink`.
    fn page_size(self) -> usize {
        match self {
            FilterDialect::Defender => 100,
            FilterDialect::Graph => 50,
        }
    }

    /// The largest `$top` the API accepts: Defender refuses a larger one; Graph answers pages of
    /// its size whatever `$top` asks.
    fn top_limit(self) -> Option<usize> {
        match self {
            FilterDialect::Defender => Some(self.page_size()),
            FilterDialect::Graph => None,
        }
    }

    /// Why the query string could not be read at all.
    pub(crate) fn malformed_query(self, reason: impl std::fmt::Display) -> String {
        match self {
            FilterDialect::Defender => format!("The query string is malformed: {reason}"),
            FilterDialect::Graph => {
                format!("The query specified in the URI is not valid. {reason}")
            }
        }
    }

    /// How the API refuses a query option it does not know, and the ones it does.
    fn supported_options(self) -> (&'static str, &'static str) {
        match self {
            FilterDialect::Defender => ("allowed", "$filter, $top, $skip"),
            FilterDialect::Graph => ("supported", "$count, $filter, $skip, $top, $expand"),
        }
    }

    /// The property names, as `Field::CreatedTime`, `LastUpdateTime`, `Status`, `AssignedTo`.
    fn names(self) -> [&'static str; 4] {
        match self {
            FilterDialect::Defender => ["createdTime", "lastUpdateTime", "status", "assignedTo"],
            FilterDialect::Graph => [
                "createdDateTime",
                "lastUpdateDateTime",
                "status",
                "assignedTo",
            ],
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            FilterDialect::Defender => "Incident",
            FilterDialect::Graph => "microsoft.graph.security.incident",
        }
    }

    fn field(self, name: &str) -> Option<Field> {
        let fields = [
            Field::CreatedTime,
            Field::LastUpdateTime,
            Field::Status,
            Field::AssignedTo,
        ];
        self.names()
            .iter()
            .position(|known| *known == name)
            .map(|index| fields[index])
    }

    /// A status literal: Defender's name, or Graph's (`inProgress`), without regard to case.
    fn status(self, text: &str) -> Option<IncidentStatus> {
        match self {
            FilterDialect::Defender => IncidentStatus::parse(text),
            FilterDialect::Graph => INCIDENT_STATUS
                .by_graph_name(text)
                .and_then(|status| IncidentStatus::parse(status.legacy)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    CreatedTime,
    LastUpdateTime,
    Status,
    AssignedTo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

#[derive(Clone, Debug, PartialEq)]
enum Condition {
    Time(Field, Comparison, Timestamp),
    Status(Comparison, IncidentStatus),
    AssignedTo(Comparison, Option<String>),
}

/// A parsed `$filter`: every condition must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct IncidentFilter {
    conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&character) = chars.peek() {
        match character {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                tokens.push(if character == '(' {
                    Token::Open
                } else {
                    Token::Close
                });
            }
            '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            value.push('\'');
                        }
                        Some('\'') => break,
                        Some(other) => value.push(other),
                        None => {
                            return Err(FilterError(format!(
                                "unterminated string literal in '{text}'"
                            )));
                        }
                    }
                }
                tokens.push(Token::Text(value));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

impl IncidentFilter {
    pub(crate) fn parse_in(
        text: &str,
        dialect: FilterDialect,
    ) -> Result<IncidentFilter, FilterError> {
        let tokens = tokenize(text)?;
        let mut position = 0;
        let mut conditions = Vec::new();
        parse_conjunction(&tokens, &mut position, &mut conditions, dialect)?;
        if let Some(extra) = tokens.get(position) {
            return Err(FilterError(format!(
                "syntax error at {extra:?} in '{text}'"
            )));
        }
        Ok(IncidentFilter { conditions })
    }

    pub(crate) fn matches(&self, incident: &Incident) -> bool {
        self.conditions.iter().all(|condition| match condition {
            Condition::Time(field, comparison, value) => {
                let time = match field {
                    Field::LastUpdateTime => incident.last_update_time,
                    _ => incident.created_time,
                };
                holds(*comparison, time.cmp(value))
            }
            Condition::Status(comparison, status) => {
                holds(*comparison, incident.status.as_str().cmp(status.as_str()))
            }
            Condition::AssignedTo(comparison, owner) => {
                let same = match (&incident.assigned_to, owner) {
                    (Some(assigned), Some(owner)) => assigned.eq_ignore_ascii_case(owner),
                    (None, None) => true,
                    _ => false,
                };
                same == (*comparison == Comparison::Equal)
            }
        })
    }
}

fn holds(comparison: Comparison, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match comparison {
        Comparison::Equal => ordering == Equal,
        Comparison::NotEqual => ordering != Equal,
        Comparison::Greater => ordering == Greater,
        Comparison::GreaterOrEqual => ordering != Less,
        Comparison::Less => ordering == Less,
        Comparison::LessOrEqual => ordering != Greater,
    }
}

fn parse_conjunction(
    tokens: &[Token],
    position: &mut usize,
    conditions: &mut Vec<Condition>,
    dialect: FilterDialect,
) -> Result<(), FilterError> {
    loop {
        if tokens.get(*position) == Some(&Token::Open) {
            *position += 1;
            parse_conjunction(tokens, position, conditions, dialect)?;
            if tokens.get(*position) != Some(&Token::Close) {
                return Err(FilterError("')' or operator expected".into()));
            }
            *position += 1;
        } else {
            conditions.push(parse_condition(tokens, position, dialect)?);
        }
        match tokens.get(*position) {
            Some(Token::Word(word)) if word == "and" => *position += 1,
            Some(Token::Word(word)) if word == "or" => {
                return Err(FilterError(
                    "the 'or' operator is not supported on incidents; use 'and'".into(),
                ));
            }
            _ => return Ok(()),
        }
    }
}

fn parse_condition(
    tokens: &[Token],
    position: &mut usize,
    dialect: FilterDialect,
) -> Result<Condition, FilterError> {
    let field = match tokens.get(*position) {
        Some(Token::Word(name)) => dialect.field(name).ok_or_else(|| {
            FilterError(format!(
                "Could not find a property named '{name}' on type '{}', or filtering on it is not supported. Supported: {}.",
                dialect.type_name(),
                dialect.names().join(", ")
            ))
        })?,
        other => {
            return Err(FilterError(format!(
                "property name expected, found {other:?}"
            )));
        }
    };
    let comparison = match tokens.get(*position + 1) {
        Some(Token::Word(operator)) => match operator.as_str() {
            "eq" => Comparison::Equal,
            "ne" => Comparison::NotEqual,
            "gt" => Comparison::Greater,
            "ge" => Comparison::GreaterOrEqual,
            "lt" => Comparison::Less,
            "le" => Comparison::LessOrEqual,
            other => return Err(FilterError(format!("unknown operator '{other}'"))),
        },
        other => {
            return Err(FilterError(format!(
                "operator expected after property, found {other:?}"
            )));
        }
    };
    let value = tokens
        .get(*position + 2)
        .ok_or_else(|| FilterError("value expected after operator".into()))?;
    *position += 3;
    match (field, value) {
        (Field::CreatedTime | Field::LastUpdateTime, Token::Word(literal)) => {
            let time = parse_time(literal).ok_or_else(|| {
                FilterError(format!(
                    "'{literal}' is not a valid Edm.DateTimeOffset literal"
                ))
            })?;
            Ok(Condition::Time(field, comparison, time))
        }
        (Field::CreatedTime | Field::LastUpdateTime, _) => Err(FilterError(format!(
            "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind '{comparison:?}'."
        ))),
        (Field::Status | Field::AssignedTo, _)
            if !matches!(comparison, Comparison::Equal | Comparison::NotEqual) =>
        {
            Err(FilterError(format!(
                "the operator '{comparison:?}' is not supported on {field:?}; use eq or ne"
            )))
        }
        (Field::Status, Token::Text(text)) => dialect
            .status(text)
            .map(|status| Condition::Status(comparison, status))
            .ok_or_else(|| {
                FilterError(format!(
                    "The string '{text}' is not a valid enumeration type constant."
                ))
            }),
        (Field::AssignedTo, Token::Text(text)) => {
            Ok(Condition::AssignedTo(comparison, Some(text.clone())))
        }
        (Field::AssignedTo, Token::Word(word)) if word == "null" => {
            Ok(Condition::AssignedTo(comparison, None))
        }
        (_, other) => Err(FilterError(format!(
            "a string literal in single quotes was expected, found {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a Defender API `$filter`.
    fn parse(text: &str) -> Result<IncidentFilter, FilterError> {
        IncidentFilter::parse_in(text, FilterDialect::Defender)
    }

    #[test]
    fn parses_times_with_seven_digit_fractions() {
        let filter = parse("createdTime gt 2025-01-14T11:11:11.1234567Z and lastUpdateTime le 2025-02-01T00:00:00Z").unwrap();
        assert_eq!(filter.conditions.len(), 2);
        assert!(
            matches!(filter.conditions[0], Condition::Time(Field::CreatedTime, Comparison::Greater, time) if time.subsec_nanosecond() == 123_456_700)
        );
    }

    #[test]
    fn doubled_apostrophes_are_one() {
        let filter =
            parse("assignedTo eq 'shannon.o''brien@contoso.com' and status eq 'Active'").unwrap();
        assert_eq!(
            filter.conditions[0],
            Condition::AssignedTo(
                Comparison::Equal,
                Some("shannon.o'brien@contoso.com".into())
            )
        );
    }

    #[test]
    fn refuses_what_defender_refuses() {
        for bad in [
            "severity eq 'High'",
            "status eq 'Open'",
            "status gt 'Active'",
            "createdTime gt '2025-01-01T00:00:00Z'",
            "createdTime gt yesterday",
            "status eq 'Active' or status eq 'Resolved'",
            "assignedTo eq 'o'brien@contoso.com'",
            "status eq",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn graph_uses_its_own_names() {
        let filter = IncidentFilter::parse_in(
            "createdDateTime ge 2025-01-14T00:00:00Z and status eq 'inProgress'",
            FilterDialect::Graph,
        )
        .unwrap();
        assert!(matches!(
            filter.conditions[0],
            Condition::Time(Field::CreatedTime, Comparison::GreaterOrEqual, _)
        ));
        assert_eq!(
            filter.conditions[1],
            Condition::Status(Comparison::Equal, IncidentStatus::InProgress)
        );
        for bad in [
            "createdTime gt 2025-01-01T00:00:00Z",
            "status eq 'Open'",
            "status eq 'NotAStatus'",
        ] {
            assert!(
                IncidentFilter::parse_in(bad, FilterDialect::Graph).is_err(),
                "{bad}"
            );
        }
        assert!(parse("createdDateTime gt 2025-01-01T00:00:00Z").is_err());
    }
}
