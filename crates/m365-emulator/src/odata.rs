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
//! options (Graph's `$count` and `$expand=alerts`). Graph's alerts
//! (<https://learn.microsoft.com/graph/api/security-list-alerts_v2>) filter on more properties
//! (classification, determination, severity, serviceSource) in the same language, and its
//! detection rules take only `$top` and `$skip`: each is one more [`FilterDialect`].

use jiff::Timestamp;

use super::clock::parse_time;
use super::model::{Alert, ApiEnum, Incident, IncidentStatus};
use crate::vocabulary::{
    ALERT_STATUS, CLASSIFICATION, DETERMINATION, Enumeration, INCIDENT_STATUS, SERVICE_SOURCE,
    SEVERITY,
};

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

/// The query options of a list, checked as the API's OData layer checks them.
pub(crate) struct ListOptions {
    pub(crate) top: usize,
    pub(crate) skip: usize,
    /// `$count=true` (Graph only).
    pub(crate) count: bool,
    /// `$expand=alerts` (Graph only).
    pub(crate) expand_alerts: bool,
    /// The `$filter` as given, and as parsed.
    pub(crate) filter: Option<(String, Filter)>,
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
            if name.starts_with('$') && !dialect.supported_options().contains(&name.as_str()) {
                return Err(format!(
                    "Query option '{name}' is not {}. Supported query options: {}.",
                    dialect.refusal(),
                    dialect.supported_options().join(", ")
                ));
            }
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
                "$count" => {
                    options.count = match value.trim() {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("'{other}' is not a valid count option.")),
                    }
                }
                "$expand" => {
                    options.expand_alerts = expands_alerts(&value)?;
                }
                "$filter" if value.trim().is_empty() => {}
                "$filter" => {
                    let filter =
                        Filter::parse_in(&value, dialect).map_err(|error| error.to_string())?;
                    options.filter = Some((value, filter));
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

    /// The parsed `$filter`, if one was given.
    pub(crate) fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref().map(|(_, filter)| filter)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid OData query: {0}")]
pub(crate) struct FilterError(String);

/// Whose OData a list is read in: the properties its `$filter` knows and their names, its page
/// size and the options it supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterDialect {
    /// The Defender API's incidents: `createdTime gt …`, `status eq 'Active'`.
    Defender,
    /// Microsoft Graph's incidents: `createdDateTime gt …`, `status eq 'active'`.
    Graph,
    /// Microsoft Graph's alerts: incidents' properties and more, `severity eq 'high'`.
    GraphAlerts,
    /// Microsoft Graph's custom detection rules: pages, no `$filter`.
    GraphDetectionRules,
}

impl FilterDialect {
    /// The page when no `$top` is given, and the largest page: the Defender API returns up to
    /// 100 incidents (<https://learn.microsoft.com/defender-xdr/api-list-incidents>),
    /// Graph pages of 50 incidents, leading through the rest with `@odata.nextLink`. Graph
    /// documents no page size for alerts; `$top=100` is known to work, so pages hold 100.
    fn page_size(self) -> usize {
        match self {
            FilterDialect::Defender => 100,
            FilterDialect::Graph => 50,
            FilterDialect::GraphAlerts | FilterDialect::GraphDetectionRules => 100,
        }
    }

    /// The largest `$top` the API accepts: Defender refuses a larger one; Graph answers pages of
    /// its size whatever `$top` asks.
    fn top_limit(self) -> Option<usize> {
        match self {
            FilterDialect::Defender => Some(self.page_size()),
            _ => None,
        }
    }

    /// Why the query string could not be read at all.
    pub(crate) fn malformed_query(self, reason: impl std::fmt::Display) -> String {
        match self {
            FilterDialect::Defender => format!("The query string is malformed: {reason}"),
            _ => format!("The query specified in the URI is not valid. {reason}"),
        }
    }

    /// How the API refuses a query option it does not know.
    fn refusal(self) -> &'static str {
        match self {
            FilterDialect::Defender => "allowed",
            _ => "supported",
        }
    }

    /// The query options the API knows, in the order its refusals list them.
    fn supported_options(self) -> &'static [&'static str] {
        match self {
            FilterDialect::Defender => &["$filter", "$top", "$skip"],
            FilterDialect::Graph => &["$count", "$filter", "$skip", "$top", "$expand"],
            FilterDialect::GraphAlerts => &["$count", "$filter", "$skip", "$top"],
            FilterDialect::GraphDetectionRules => &["$skip", "$top"],
        }
    }

    /// The filterable properties, under the API's names, in the order its refusals list them
    /// (<https://learn.microsoft.com/graph/api/security-list-alerts_v2#optional-query-parameters>
    /// for alerts).
    fn fields(self) -> &'static [(&'static str, Field)] {
        match self {
            FilterDialect::Defender => &[
                ("createdTime", Field::CreatedTime),
                ("lastUpdateTime", Field::LastUpdateTime),
                ("status", Field::Status),
                ("assignedTo", Field::AssignedTo),
            ],
            FilterDialect::Graph => &[
                ("createdDateTime", Field::CreatedTime),
                ("lastUpdateDateTime", Field::LastUpdateTime),
                ("status", Field::Status),
                ("assignedTo", Field::AssignedTo),
            ],
            FilterDialect::GraphAlerts => &[
                ("assignedTo", Field::AssignedTo),
                ("classification", Field::Classification),
                ("determination", Field::Determination),
                ("createdDateTime", Field::CreatedTime),
                ("lastUpdateDateTime", Field::LastUpdateTime),
                ("severity", Field::Severity),
                ("serviceSource", Field::ServiceSource),
                ("status", Field::Status),
            ],
            FilterDialect::GraphDetectionRules => &[],
        }
    }

    /// What the list holds, for messages.
    fn collection(self) -> &'static str {
        match self {
            FilterDialect::Defender | FilterDialect::Graph => "incidents",
            FilterDialect::GraphAlerts => "alerts",
            FilterDialect::GraphDetectionRules => "detection rules",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            FilterDialect::Defender => "Incident",
            FilterDialect::Graph => "microsoft.graph.security.incident",
            FilterDialect::GraphAlerts => "microsoft.graph.security.alert",
            FilterDialect::GraphDetectionRules => "microsoft.graph.security.detectionRule",
        }
    }

    fn field(self, name: &str) -> Option<Field> {
        self.fields()
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, field)| *field)
    }

    /// The stored (legacy) name of the member of `field`'s enumeration that `text` names: the
    /// Defender API's name or Graph's (`inProgress`), without regard to case. An incident's
    /// status must be one an incident can have.
    fn member(self, field: Field, text: &str) -> Option<&'static str> {
        let graph =
            |enumeration: &Enumeration| enumeration.by_graph_name(text).map(|member| member.legacy);
        match (self, field) {
            (FilterDialect::Defender, Field::Status) => {
                IncidentStatus::parse(text).map(IncidentStatus::as_str)
            }
            (FilterDialect::Graph, Field::Status) => graph(&INCIDENT_STATUS)
                .and_then(IncidentStatus::parse)
                .map(IncidentStatus::as_str),
            (_, Field::Status) => graph(&ALERT_STATUS),
            (_, Field::Classification) => graph(&CLASSIFICATION),
            (_, Field::Determination) => graph(&DETERMINATION),
            (_, Field::Severity) => graph(&SEVERITY),
            (_, Field::ServiceSource) => graph(&SERVICE_SOURCE),
            _ => None,
        }
    }
}

/// A property a `$filter` can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    CreatedTime,
    LastUpdateTime,
    Status,
    AssignedTo,
    Classification,
    Determination,
    Severity,
    ServiceSource,
}

/// The value of one filterable property of a listed item.
pub(crate) enum Property<'a> {
    Time(Timestamp),
    /// An enumeration member, under its stored (legacy) name.
    Member(&'a str),
    Text(Option<&'a str>),
}

/// Something a `$filter` can be applied to.
pub(crate) trait Filterable {
    /// The value of `field`; the dialect's field list keeps it to the item's own properties.
    fn property(&self, field: Field) -> Property<'_>;
}

impl Filterable for Incident {
    fn property(&self, field: Field) -> Property<'_> {
        match field {
            Field::LastUpdateTime => Property::Time(self.last_update_time),
            Field::CreatedTime => Property::Time(self.created_time),
            Field::AssignedTo => Property::Text(self.assigned_to.as_deref()),
            Field::Status => Property::Member(self.status.as_str()),
            Field::Classification => Property::Member(self.classification.as_str()),
            Field::Determination => Property::Member(self.determination.as_str()),
            Field::Severity => Property::Member(self.severity.as_str()),
            Field::ServiceSource => Property::Text(None),
        }
    }
}

impl Filterable for Alert {
    fn property(&self, field: Field) -> Property<'_> {
        match field {
            Field::LastUpdateTime => Property::Time(self.last_updated_time),
            Field::CreatedTime => Property::Time(self.creation_time),
            Field::AssignedTo => Property::Text(self.assigned_to.as_deref()),
            Field::Status => Property::Member(self.status),
            Field::Classification => Property::Member(self.classification_or_unknown()),
            Field::Determination => Property::Member(self.determination_or_unknown()),
            Field::Severity => Property::Member(self.severity.as_str()),
            Field::ServiceSource => Property::Member(self.service_source),
        }
    }
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
    /// An enumeration member, under its stored (legacy) name.
    Member(Field, Comparison, &'static str),
    AssignedTo(Comparison, Option<String>),
}

/// A parsed `$filter`: every condition must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Filter {
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

impl Filter {
    pub(crate) fn parse_in(text: &str, dialect: FilterDialect) -> Result<Filter, FilterError> {
        let tokens = tokenize(text)?;
        let mut position = 0;
        let mut conditions = Vec::new();
        parse_conjunction(&tokens, &mut position, &mut conditions, dialect)?;
        if let Some(extra) = tokens.get(position) {
            return Err(FilterError(format!(
                "syntax error at {extra:?} in '{text}'"
            )));
        }
        Ok(Filter { conditions })
    }

    pub(crate) fn matches(&self, item: &impl Filterable) -> bool {
        self.conditions.iter().all(|condition| match condition {
            Condition::Time(field, comparison, value) => match item.property(*field) {
                Property::Time(time) => holds(*comparison, time.cmp(value)),
                _ => false,
            },
            Condition::Member(field, comparison, member) => match item.property(*field) {
                Property::Member(stored) => holds(*comparison, stored.cmp(member)),
                _ => false,
            },
            Condition::AssignedTo(comparison, owner) => {
                let same = match (item.property(Field::AssignedTo), owner) {
                    (Property::Text(Some(assigned)), Some(owner)) => {
                        assigned.eq_ignore_ascii_case(owner)
                    }
                    (Property::Text(None), None) => true,
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
                return Err(FilterError(format!(
                    "the 'or' operator is not supported on {}; use 'and'",
                    dialect.collection()
                )));
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
                dialect
                    .fields()
                    .iter()
                    .map(|(known, _)| *known)
                    .collect::<Vec<_>>()
                    .join(", ")
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
        (_, _) if !matches!(comparison, Comparison::Equal | Comparison::NotEqual) => {
            Err(FilterError(format!(
                "the operator '{comparison:?}' is not supported on {field:?}; use eq or ne"
            )))
        }
        (Field::AssignedTo, Token::Text(text)) => {
            Ok(Condition::AssignedTo(comparison, Some(text.clone())))
        }
        (_, Token::Text(text)) => dialect
            .member(field, text)
            .map(|member| Condition::Member(field, comparison, member))
            .ok_or_else(|| {
                FilterError(format!(
                    "The string '{text}' is not a valid enumeration type constant."
                ))
            }),
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
    fn parse(text: &str) -> Result<Filter, FilterError> {
        Filter::parse_in(text, FilterDialect::Defender)
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
        let filter = Filter::parse_in(
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
            Condition::Member(Field::Status, Comparison::Equal, "InProgress")
        );
        for bad in [
            "createdTime gt 2025-01-01T00:00:00Z",
            "status eq 'Open'",
            "status eq 'NotAStatus'",
        ] {
            assert!(
                Filter::parse_in(bad, FilterDialect::Graph).is_err(),
                "{bad}"
            );
        }
        assert!(parse("createdDateTime gt 2025-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn alerts_filter_on_their_own_properties() {
        let filter = Filter::parse_in(
            "severity eq 'unknown' and serviceSource eq 'microsoftDefenderForCloudApps' and determination eq 'notEnoughDataToValidate'",
            FilterDialect::GraphAlerts,
        )
        .unwrap();
        assert_eq!(
            filter.conditions,
            [
                Condition::Member(Field::Severity, Comparison::Equal, "UnSpecified"),
                Condition::Member(
                    Field::ServiceSource,
                    Comparison::Equal,
                    "MicrosoftCloudAppSecurity"
                ),
                Condition::Member(
                    Field::Determination,
                    Comparison::Equal,
                    "NoEnoughDataToValidate"
                ),
            ]
        );
        for bad in [
            "severity eq 'severe'",
            "status eq 'active'",
            "title eq 'x'",
            "severity ge 'low'",
        ] {
            assert!(
                Filter::parse_in(bad, FilterDialect::GraphAlerts).is_err(),
                "{bad}"
            );
        }
        assert!(Filter::parse_in("severity eq 'high'", FilterDialect::Graph).is_err());
        assert!(
            ListOptions::parse(
                vec![("$filter".into(), "isEnabled eq true".into())],
                FilterDialect::GraphDetectionRules
            )
            .is_err()
        );
    }
}
