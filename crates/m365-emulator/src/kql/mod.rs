//! A subset of the Kusto Query Language, enough for the queries SOC playbooks send to advanced
//! hunting: `let` statements, `where` with comparisons, `has`/`contains`/`in` and `and`/`or`,
//! `project`, `take`/`limit`, `top`, `sort`/`order by`, `count`, and `//` comments anywhere. The
//! emulator answers real KQL rather than canned results so that the plugin's query handling (a
//! `limit` appended after a comment, pipes inside strings) is tested against a real parser, and its
//! errors carry Kusto's wording (<https://learn.microsoft.com/kusto/query/>).

mod eval;
mod lexer;
mod parser;

pub(crate) use eval::{Column, ColumnType, QueryOutput, Row, TableSource, Value};

use jiff::Timestamp;

#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum KqlError {
    #[error("Syntax error: Query could not be parsed at '{near}' on line [{line},{column}]")]
    Syntax {
        near: String,
        line: usize,
        column: usize,
    },
    #[error("Semantic error: {0}")]
    Semantic(String),
}

/// Runs `query` over `tables`. `now` is what `now()` and `ago()` measure from; at most `row_limit`
/// rows are returned.
pub(crate) fn run(
    query: &str,
    tables: &dyn TableSource,
    now: Timestamp,
    row_limit: usize,
) -> Result<QueryOutput, KqlError> {
    let tokens = lexer::tokenize(query)?;
    let parsed = parser::parse(&tokens)?;
    eval::evaluate(&parsed, tables, now, row_limit)
}
