//! Runs a parsed query: resolves names against the tables (Kusto's semantic errors), checks the
//! types of comparisons, then streams rows through the operators. Streaming matters: the largest
//! table has more rows than a result may hold, and `take` must not make the whole table.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::KqlError;
use super::parser::{CompareOp, Expr, LetValue, Name, Operator, Query, Tabular};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    String(Arc<str>),
    DateTime(Timestamp),
    Timespan(SignedDuration),
}

impl Value {
    fn kind(&self) -> Option<ColumnType> {
        match self {
            Value::Null => None,
            Value::Bool(_) => Some(ColumnType::Bool),
            Value::Long(_) => Some(ColumnType::Long),
            Value::Real(_) => Some(ColumnType::Real),
            Value::String(_) => Some(ColumnType::String),
            Value::DateTime(_) => Some(ColumnType::DateTime),
            Value::Timespan(_) => Some(ColumnType::Timespan),
        }
    }
}

/// Column types, named in responses as the advanced hunting API names them (`Schema[].Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Bool,
    Int,
    Long,
    Real,
    String,
    DateTime,
    Timespan,
}

impl ColumnType {
    pub(crate) fn schema_name(self) -> &'static str {
        match self {
            ColumnType::Bool => "Boolean",
            ColumnType::Int => "Int32",
            ColumnType::Long => "Int64",
            ColumnType::Real => "Double",
            ColumnType::String => "String",
            ColumnType::DateTime => "DateTime",
            ColumnType::Timespan => "TimeSpan",
        }
    }

    /// The Kusto type name, as semantic errors spell it.
    fn kusto_name(self) -> &'static str {
        match self {
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Long => "long",
            ColumnType::Real => "real",
            ColumnType::String => "string",
            ColumnType::DateTime => "datetime",
            ColumnType::Timespan => "timespan",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Long | ColumnType::Real)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: ColumnType,
}

pub(crate) type Row = Vec<Value>;

/// The tables a query can read.
pub(crate) trait TableSource {
    fn columns(&self, table: &str) -> Option<&'static [Column]>;
    fn rows(&self, table: &str) -> Box<dyn Iterator<Item = Row> + '_>;
}

pub(crate) struct QueryOutput {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
}

const COUNT_COLUMN: Column = Column {
    name: "Count",
    kind: ColumnType::Long,
};

/// A scalar expression with its names resolved to row positions or constants.
enum Bound {
    Column(usize),
    Constant(Value),
    Compare(CompareOp, Box<Bound>, Box<Bound>),
    In(bool, Box<Bound>, Vec<Value>),
    And(Box<Bound>, Box<Bound>),
    Or(Box<Bound>, Box<Bound>),
    Not(Box<Bound>),
    IsEmpty(bool, Box<Bound>),
    Case(bool, Box<Bound>),
}

enum Step {
    Filter(Bound),
    Project(Vec<usize>),
    Take(usize),
    Sort(Vec<(usize, bool)>, Option<usize>),
    Count,
}

struct Plan<'q> {
    source: Source<'q>,
    steps: Vec<Step>,
    columns: Vec<Column>,
}

enum Source<'q> {
    Table(&'q str),
    Let(Box<Plan<'q>>),
}

enum Binding<'q> {
    Tabular(&'q Tabular),
    Scalar(Value),
}

struct Scope<'q, 't> {
    tables: &'t dyn TableSource,
    now: Timestamp,
    lets: HashMap<&'q str, Binding<'q>>,
}

fn unresolved(operator: &str, name: &Name) -> KqlError {
    KqlError::Semantic(format!(
        "'{operator}' operator: Failed to resolve scalar expression named '{}'",
        name
    ))
}

/// Parses the text of `datetime(...)`: ISO-8601 with or without `T`, seconds, fraction or zone;
/// a time without zone is UTC, as in Kusto.
fn parse_datetime(text: &str) -> Option<Timestamp> {
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Some(instant);
    }
    let civil: DateTime = text.trim_end_matches(['Z', 'z']).parse().ok().or_else(|| {
        text.parse::<jiff::civil::Date>()
            .ok()
            .map(|date| date.to_datetime(jiff::civil::Time::midnight()))
    })?;
    civil
        .to_zoned(TimeZone::UTC)
        .ok()
        .map(|zoned| zoned.timestamp())
}

impl<'q> Scope<'q, '_> {
    fn plan(&self, tabular: &'q Tabular) -> Result<Plan<'q>, KqlError> {
        let name = tabular.source.as_str();
        let (source, mut columns) = match self.lets.get(name) {
            Some(Binding::Tabular(inner)) => {
                let inner = self.plan(inner)?;
                let columns = inner.columns.clone();
                (Source::Let(Box::new(inner)), columns)
            }
            _ => match self.tables.columns(name) {
                Some(columns) => (Source::Table(name), columns.to_vec()),
                None => {
                    return Err(KqlError::Semantic(format!(
                        "Failed to resolve table or column expression named '{name}'"
                    )));
                }
            },
        };
        let mut steps = Vec::new();
        for operator in &tabular.operators {
            let position = |operator_name: &str, column: &Name| {
                columns
                    .iter()
                    .position(|candidate| candidate.name == column)
                    .ok_or_else(|| unresolved(operator_name, column))
            };
            let step = match operator {
                Operator::Where(expression) => {
                    let bound = self.bind(expression, &columns)?;
                    match self.kind(&bound, &columns) {
                        Some(ColumnType::Bool) | None => Step::Filter(bound),
                        Some(other) => {
                            return Err(KqlError::Semantic(format!(
                                "'where' operator: the predicate must be of type bool, not {}",
                                other.kusto_name()
                            )));
                        }
                    }
                }
                Operator::Project(names) => {
                    let positions = names
                        .iter()
                        .map(|name| position("project", name))
                        .collect::<Result<Vec<_>, _>>()?;
                    let projected = positions.iter().map(|index| columns[*index]).collect();
                    columns = projected;
                    Step::Project(positions)
                }
                Operator::Take(count) => Step::Take(self.count("take", count)?),
                Operator::Top {
                    count,
                    by,
                    descending,
                } => {
                    let limit = self.count("top", count)?;
                    Step::Sort(vec![(position("top", by)?, *descending)], Some(limit))
                }
                Operator::Sort(keys) => Step::Sort(
                    keys.iter()
                        .map(|(name, descending)| Ok((position("sort", name)?, *descending)))
                        .collect::<Result<_, KqlError>>()?,
                    None,
                ),
                Operator::Count => {
                    columns = vec![COUNT_COLUMN];
                    Step::Count
                }
            };
            steps.push(step);
        }
        Ok(Plan {
            source,
            steps,
            columns,
        })
    }

    fn count(&self, operator: &str, expression: &Expr) -> Result<usize, KqlError> {
        match self.bind(expression, &[])? {
            Bound::Constant(Value::Long(count)) if count >= 0 => Ok(count as usize),
            _ => Err(KqlError::Semantic(format!(
                "'{operator}' operator: the number of rows must be a non-negative constant of type long"
            ))),
        }
    }

    fn bind(&self, expression: &Expr, columns: &[Column]) -> Result<Bound, KqlError> {
        Ok(match expression {
            Expr::Literal(value) => Bound::Constant(value.clone()),
            Expr::DateTime { text, token } => Bound::Constant(Value::DateTime(
                parse_datetime(text).ok_or_else(|| token.syntax_error())?,
            )),
            Expr::Name(name) => match columns.iter().position(|column| column.name == name) {
                Some(index) => Bound::Column(index),
                None => match self.lets.get(name.as_str()) {
                    Some(Binding::Scalar(value)) => Bound::Constant(value.clone()),
                    _ => return Err(unresolved("where", name)),
                },
            },
            Expr::And(left, right) => Bound::And(
                Box::new(self.bind(left, columns)?),
                Box::new(self.bind(right, columns)?),
            ),
            Expr::Or(left, right) => Bound::Or(
                Box::new(self.bind(left, columns)?),
                Box::new(self.bind(right, columns)?),
            ),
            Expr::Not(inner) => Bound::Not(Box::new(self.bind(inner, columns)?)),
            Expr::Compare { op, left, right } => {
                let left = self.bind(left, columns)?;
                let right = self.bind(right, columns)?;
                self.check_comparison(*op, &left, &right, columns)?;
                Bound::Compare(*op, Box::new(left), Box::new(right))
            }
            Expr::In {
                negated,
                left,
                list,
            } => {
                let left = self.bind(left, columns)?;
                let values = list
                    .iter()
                    .map(|item| match self.bind(item, &[])? {
                        Bound::Constant(value) => Ok(value),
                        _ => Err(KqlError::Semantic(
                            "'in' operator: the list must hold constants".into(),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Bound::In(*negated, Box::new(left), values)
            }
            Expr::Call { name, args } => self.call(name, args, columns)?,
        })
    }

    fn call(&self, name: &Name, args: &[Expr], columns: &[Column]) -> Result<Bound, KqlError> {
        let arity = |expected: usize| {
            if args.len() == expected {
                Ok(())
            } else {
                Err(KqlError::Semantic(format!(
                    "Function '{}': expected {expected} argument(s), got {}",
                    name,
                    args.len()
                )))
            }
        };
        let argument = |index: usize| self.bind(&args[index], columns);
        match name.as_str() {
            "now" => {
                arity(0)?;
                Ok(Bound::Constant(Value::DateTime(self.now)))
            }
            "ago" => {
                arity(1)?;
                match argument(0)? {
                    Bound::Constant(Value::Timespan(span)) => {
                        Ok(Bound::Constant(Value::DateTime(self.now - span)))
                    }
                    _ => Err(KqlError::Semantic(
                        "Function 'ago': the argument must be a timespan, e.g. ago(1d)".into(),
                    )),
                }
            }
            "todatetime" => {
                arity(1)?;
                match argument(0)? {
                    Bound::Constant(Value::String(text)) => Ok(Bound::Constant(
                        parse_datetime(&text).map_or(Value::Null, Value::DateTime),
                    )),
                    _ => Err(KqlError::Semantic(
                        "Function 'todatetime': the argument must be a string constant".into(),
                    )),
                }
            }
            "isempty" | "isnotempty" => {
                arity(1)?;
                Ok(Bound::IsEmpty(name == "isempty", Box::new(argument(0)?)))
            }
            "tolower" | "toupper" => {
                arity(1)?;
                Ok(Bound::Case(name == "toupper", Box::new(argument(0)?)))
            }
            _ => Err(KqlError::Semantic(format!(
                "Failed to resolve function named '{}'",
                name
            ))),
        }
    }

    fn kind(&self, bound: &Bound, columns: &[Column]) -> Option<ColumnType> {
        match bound {
            Bound::Column(index) => Some(columns[*index].kind),
            Bound::Constant(value) => value.kind(),
            Bound::Case(..) => Some(ColumnType::String),
            Bound::Compare(..)
            | Bound::In(..)
            | Bound::And(..)
            | Bound::Or(..)
            | Bound::Not(..)
            | Bound::IsEmpty(..) => Some(ColumnType::Bool),
        }
    }

    fn check_comparison(
        &self,
        op: CompareOp,
        left: &Bound,
        right: &Bound,
        columns: &[Column],
    ) -> Result<(), KqlError> {
        let (Some(left), Some(right)) = (self.kind(left, columns), self.kind(right, columns))
        else {
            return Ok(());
        };
        let ordering = matches!(
            op,
            CompareOp::Less
                | CompareOp::LessOrEqual
                | CompareOp::Greater
                | CompareOp::GreaterOrEqual
        );
        let equality = matches!(op, CompareOp::Equal | CompareOp::NotEqual);
        let comparable = (left.is_numeric() && right.is_numeric())
            || (left == right && (equality || (ordering && left != ColumnType::Bool)))
            || (!equality && !ordering && right == ColumnType::String);
        if comparable {
            Ok(())
        } else {
            Err(KqlError::Semantic(format!(
                "Cannot compare values of types {} and {}. Try adding explicit casts",
                left.kusto_name(),
                right.kusto_name()
            )))
        }
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Long(number) => Some(number.to_string()),
        Value::Real(number) => Some(number.to_string()),
        Value::DateTime(time) => Some(super::super::clock::format_time(*time)),
        Value::Timespan(span) => Some(format!("{span:#}")),
    }
}

/// Kusto's `has`: the needle occurs as whole terms, i.e. bounded by non-alphanumeric characters.
/// Both sides are compared without regard to case.
fn has_term(haystack: &str, needle: &str) -> bool {
    let haystack = haystack.to_lowercase();
    let needle = needle.to_lowercase();
    if needle.is_empty() {
        return true;
    }
    haystack.match_indices(&needle).any(|(start, _)| {
        let before = haystack[..start].chars().next_back();
        let after = haystack[start + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Orders values: numbers numerically, text by code point, nulls first; values of different
/// types never compare equal.
fn compare_values(left: &Value, right: &Value) -> Ordering {
    let rank = |value: &Value| match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Long(_) | Value::Real(_) => 2,
        Value::String(_) => 3,
        Value::DateTime(_) => 4,
        Value::Timespan(_) => 5,
    };
    match (left, right) {
        (Value::Long(a), Value::Long(b)) => a.cmp(b),
        (Value::Long(a), Value::Real(b)) => (*a as f64).total_cmp(b),
        (Value::Real(a), Value::Long(b)) => a.total_cmp(&(*b as f64)),
        (Value::Real(a), Value::Real(b)) => a.total_cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
        (Value::Timespan(a), Value::Timespan(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => rank(left).cmp(&rank(right)),
    }
}

impl Bound {
    fn evaluate(&self, row: &Row) -> Value {
        match self {
            Bound::Column(index) => row[*index].clone(),
            Bound::Constant(value) => value.clone(),
            Bound::And(left, right) => Value::Bool(left.is_true(row) && right.is_true(row)),
            Bound::Or(left, right) => Value::Bool(left.is_true(row) || right.is_true(row)),
            Bound::Not(inner) => match inner.evaluate(row) {
                Value::Bool(flag) => Value::Bool(!flag),
                _ => Value::Null,
            },
            Bound::IsEmpty(empty, inner) => {
                let is_empty = text_of(&inner.evaluate(row)).is_none_or(|text| text.is_empty());
                Value::Bool(is_empty == *empty)
            }
            Bound::Case(upper, inner) => match text_of(&inner.evaluate(row)) {
                Some(text) if *upper => Value::String(text.to_uppercase().into()),
                Some(text) => Value::String(text.to_lowercase().into()),
                None => Value::Null,
            },
            Bound::In(negated, left, list) => {
                let value = left.evaluate(row);
                if value == Value::Null {
                    return Value::Null;
                }
                let found = list
                    .iter()
                    .any(|item| compare_values(&value, item) == Ordering::Equal);
                Value::Bool(found != *negated)
            }
            Bound::Compare(op, left, right) => {
                compare(*op, &left.evaluate(row), &right.evaluate(row))
            }
        }
    }

    fn is_true(&self, row: &Row) -> bool {
        self.evaluate(row) == Value::Bool(true)
    }
}

fn compare(op: CompareOp, left: &Value, right: &Value) -> Value {
    if matches!(left, Value::Null) || matches!(right, Value::Null) {
        return match op {
            CompareOp::Equal => Value::Bool(false),
            CompareOp::NotEqual => Value::Bool(true),
            _ => Value::Null,
        };
    }
    let ordering = compare_values(left, right);
    let text = || {
        (
            text_of(left).unwrap_or_default(),
            text_of(right).unwrap_or_default(),
        )
    };
    let result = match op {
        CompareOp::Equal => ordering == Ordering::Equal,
        CompareOp::NotEqual => ordering != Ordering::Equal,
        CompareOp::Less => ordering == Ordering::Less,
        CompareOp::LessOrEqual => ordering != Ordering::Greater,
        CompareOp::Greater => ordering == Ordering::Greater,
        CompareOp::GreaterOrEqual => ordering != Ordering::Less,
        CompareOp::EqualNoCase | CompareOp::NotEqualNoCase => {
            let (left, right) = text();
            left.to_lowercase() == right.to_lowercase()
        }
        CompareOp::Has | CompareOp::NotHas => {
            let (left, right) = text();
            has_term(&left, &right)
        }
        CompareOp::Contains | CompareOp::NotContains => {
            let (left, right) = text();
            left.to_lowercase().contains(&right.to_lowercase())
        }
        CompareOp::StartsWith | CompareOp::NotStartsWith => {
            let (left, right) = text();
            left.to_lowercase().starts_with(&right.to_lowercase())
        }
        CompareOp::EndsWith | CompareOp::NotEndsWith => {
            let (left, right) = text();
            left.to_lowercase().ends_with(&right.to_lowercase())
        }
    };
    let negated = matches!(
        op,
        CompareOp::NotEqualNoCase
            | CompareOp::NotHas
            | CompareOp::NotContains
            | CompareOp::NotStartsWith
            | CompareOp::NotEndsWith
    );
    Value::Bool(result != negated)
}

impl Plan<'_> {
    fn rows<'s>(&'s self, tables: &'s dyn TableSource) -> Box<dyn Iterator<Item = Row> + 's> {
        let mut rows: Box<dyn Iterator<Item = Row> + 's> = match &self.source {
            Source::Table(name) => tables.rows(name),
            Source::Let(inner) => inner.rows(tables),
        };
        for step in &self.steps {
            rows = match step {
                Step::Filter(predicate) => Box::new(rows.filter(move |row| predicate.is_true(row))),
                Step::Project(positions) => {
                    Box::new(rows.map(move |row| {
                        positions.iter().map(|index| row[*index].clone()).collect()
                    }))
                }
                Step::Take(count) => Box::new(rows.take(*count)),
                Step::Sort(keys, limit) => {
                    let mut all: Vec<Row> = rows.collect();
                    all.sort_by(|a, b| {
                        keys.iter()
                            .map(|(index, descending)| {
                                let ordering = compare_values(&a[*index], &b[*index]);
                                if *descending {
                                    ordering.reverse()
                                } else {
                                    ordering
                                }
                            })
                            .find(|ordering| *ordering != Ordering::Equal)
                            .unwrap_or(Ordering::Equal)
                    });
                    if let Some(limit) = limit {
                        all.truncate(*limit);
                    }
                    Box::new(all.into_iter())
                }
                Step::Count => {
                    let count = rows.count();
                    Box::new(std::iter::once(vec![Value::Long(count as i64)]))
                }
            };
        }
        rows
    }
}

pub(super) fn evaluate(
    query: &Query,
    tables: &dyn TableSource,
    now: Timestamp,
    row_limit: usize,
) -> Result<QueryOutput, KqlError> {
    let mut scope = Scope {
        tables,
        now,
        lets: HashMap::new(),
    };
    for (name, value) in &query.lets {
        let binding = match value {
            LetValue::Tabular(tabular) => {
                scope.plan(tabular)?;
                Binding::Tabular(tabular)
            }
            LetValue::Scalar(Expr::Name(alias))
                if scope.tables.columns(alias).is_some()
                    || matches!(scope.lets.get(alias.as_str()), Some(Binding::Tabular(_))) =>
            {
                return Err(KqlError::Semantic(format!(
                    "'let' statement: '{}' names a table; write it as a tabular expression, e.g. `{} | take 10`",
                    alias, alias
                )));
            }
            LetValue::Scalar(expression) => match scope.bind(expression, &[])? {
                Bound::Constant(value) => Binding::Scalar(value),
                _ => {
                    return Err(KqlError::Semantic(format!(
                        "'let' statement: the value of '{}' must be a constant",
                        name
                    )));
                }
            },
        };
        scope.lets.insert(name.as_str(), binding);
    }
    let plan = scope.plan(&query.result)?;
    let rows = plan.rows(tables).take(row_limit).collect();
    Ok(QueryOutput {
        columns: plan.columns.clone(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_matches_whole_terms_only() {
        assert!(has_term("powershell.exe -enc AAA", "powershell"));
        assert!(has_term("C:\\Windows\\System32", "system32"));
        assert!(!has_term("powershell.exe", "shell"));
    }

    #[test]
    fn datetime_literals_in_the_forms_kusto_accepts() {
        let expected: Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(parse_datetime("2025-01-02T03:04:05Z"), Some(expected));
        assert_eq!(parse_datetime("2025-01-02 03:04:05"), Some(expected));
        assert_eq!(
            parse_datetime("2025-01-02T03:04:05.1234567Z").map(|t| t.subsec_nanosecond()),
            Some(123_456_700)
        );
        assert_eq!(
            parse_datetime("2025-01-02"),
            Some("2025-01-02T00:00:00Z".parse().unwrap())
        );
    }
}
