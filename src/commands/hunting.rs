//! `microsoft-365-defender-advanced-hunting`: runs a KQL query and answers with every row in the
//! context and the first rows as a readable table.

use std::fmt;
use std::time::Duration;

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{CommandSpec, Outcome, declared, table};
use crate::api::hunting::SchemaColumn;
use crate::api::{Api, ApiError, HuntingRequest};
use crate::args::{FromArgs, GivenArgs, NumberRange};
use crate::error::{ArgumentError, Error};
use crate::output::{Entry, Json, ResultItem};

/// `advanced-hunting`.
pub(super) const COMMANDS: &[CommandSpec] = &[declared(
    "microsoft-365-defender-advanced-hunting",
    advanced_hunting,
)];

online_handlers! {
    advanced_hunting(args: HuntingArgs, _invocation, session) =>
        run(&mut Api::new(session, args.timeout), &args).await;
}

const CONTEXT_PREFIX: &str = "Microsoft365Defender.Hunt";
const CONTEXT_KEY: &str = "query";

/// Rows shown in the war room; the context holds all of them. A war-room entry of 100,000 rows
/// helps nobody and slows the platform's UI.
const MAX_TABLE_ROWS: usize = 1000;

/// The arguments of `advanced-hunting`.
pub struct HuntingArgs {
    pub query: String,
    pub limit: Option<i64>,
    pub timeout: Duration,
    pub timespan: Option<String>,
}

impl FromArgs for HuntingArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<HuntingArgs, ArgumentError> {
        Ok(HuntingArgs {
            query: args.required_text("query")?,
            limit: args.number("limit", ROW_LIMIT)?,
            timeout: args.timeout()?,
            timespan: args.text("timespan")?,
        })
    }
}

/// `limit`: the advanced hunting API returns at most 100,000 rows of one query
/// (<https://learn.microsoft.com/en-us/defender-xdr/api-advanced-hunting>).
const ROW_LIMIT: NumberRange = NumberRange {
    min: 1,
    max: 100_000,
    unit: "rows",
    negative_means: Some("no limit"),
};

pub async fn run(backend: &mut Api<'_, '_>, args: &HuntingArgs) -> Result<Outcome, Error> {
    let query = &args.query;
    // XSOAR's convention: a negative limit means no limit.
    let limit = args.limit.and_then(|n| u64::try_from(n).ok());
    let request = HuntingRequest {
        query: with_limit(query, limit),
        timespan: args
            .timespan
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_owned),
    };
    let response = backend.run_hunting_query(&request).await?;
    let preview: Preview = serde_json::from_str(response.results.get()).map_err(|e| {
        ApiError::Malformed(format!("the hunting results are not a list of rows ({e})"))
    })?;
    let table = readable_table(&request.query, &response.schema, preview);
    let result = hunt_result(&request.query, response.results)?;
    Ok(Outcome::single(ResultItem::Entry(
        Entry::note(table, result.clone()).with_context(CONTEXT_PREFIX, CONTEXT_KEY, result),
    )))
}

/// `{"query": …, "results": […]}`, the context object the XSOAR integration wrote, made from the
/// API's text of the rows without parsing them.
fn hunt_result(query: &str, results: Box<RawValue>) -> Result<Json, ApiError> {
    let query = Value::String(query.to_owned()).to_string();
    let rows = results.get();
    let mut text = String::with_capacity(rows.len() + query.len() + 24);
    text.push_str("{\"query\":");
    text.push_str(&query);
    text.push_str(",\"results\":");
    text.push_str(rows);
    text.push('}');
    drop(results);
    RawValue::from_string(text)
        .map(Json::from)
        .map_err(|e| ApiError::Malformed(format!("the hunting results are not JSON ({e})")))
}

/// The first rows of a result, parsed for the table, and how many rows there are in all; the
/// other rows are only counted.
struct Preview {
    rows: Vec<Value>,
    total: usize,
}

impl<'de> Deserialize<'de> for Preview {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Preview, D::Error> {
        struct PreviewVisitor;
        impl<'de> Visitor<'de> for PreviewVisitor {
            type Value = Preview;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of rows")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Preview, A::Error> {
                let mut rows = Vec::new();
                let mut total = 0;
                loop {
                    let more = if rows.len() < MAX_TABLE_ROWS {
                        seq.next_element::<Value>()?.map(|row| rows.push(row))
                    } else {
                        seq.next_element::<IgnoredAny>()?.map(|_| ())
                    };
                    if more.is_none() {
                        return Ok(Preview { rows, total });
                    }
                    total += 1;
                }
            }
        }
        deserializer.deserialize_seq(PreviewVisitor)
    }
}

/// The query with the row limit appended as a statement of its own. The user's text is never
/// edited: whatever it holds (pipes in strings, `take` inside `let` or `join`, a trailing
/// comment), a new line ends a `//` comment and `| limit N` then applies to the whole query.
fn with_limit(query: &str, limit: Option<u64>) -> String {
    match limit {
        None => query.to_owned(),
        // A query ending in `|` already has the pipe the limit needs.
        Some(n) if ends_with_pipe(query) => format!("{query}\nlimit {n}"),
        Some(n) => format!("{query}\n| limit {n}"),
    }
}

/// Whether the last token of a KQL query, comments and whitespace aside, is `|`. String
/// literals are skipped whole (`"…"` and `'…'` with backslash escapes, verbatim `@"…"` with
/// doubled quotes, multi-line ```` ```…``` ````), so a `|` or `//` inside one counts for nothing
/// (<https://learn.microsoft.com/kusto/query/scalar-data-types/string>).
fn ends_with_pipe(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut last = None;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with(b"```") {
            let body = &rest[3..];
            i += 3 + find(body, b"```").map_or(body.len(), |end| end + 3);
            last = Some(b'`');
            continue;
        }
        match rest[0] {
            b'@' if matches!(rest.get(1), Some(b'"' | b'\'')) => {
                i += 1 + verbatim_len(&rest[1..]);
                last = Some(b'"');
            }
            quote @ (b'"' | b'\'') => {
                i += quoted_len(rest, quote);
                last = Some(b'"');
            }
            b if b.is_ascii_whitespace() => i += 1,
            b => {
                last = Some(b);
                i += 1;
            }
        }
    }
    last == Some(b'|')
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of a `"…"` or `'…'` literal at the start of `text`, backslash escapes included; the
/// rest of the text when it is not closed.
fn quoted_len(text: &[u8], quote: u8) -> usize {
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// Length of a verbatim literal body (`"…"` after the `@`), where a doubled quote stands for one.
fn verbatim_len(text: &[u8]) -> usize {
    let quote = text[0];
    let mut i = 1;
    while i < text.len() {
        if text[i] == quote {
            if text.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    text.len()
}

/// The title and table XSOAR showed (`###  Result of query: …:`, columns in `Schema` order),
/// cut at [`MAX_TABLE_ROWS`] with a line saying how many rows were left out.
fn readable_table(query: &str, schema: &[SchemaColumn], preview: Preview) -> String {
    let title = format!(" Result of query: {}:", one_line(query));
    let headers: Vec<String> = if schema.is_empty() {
        preview
            .rows
            .first()
            .and_then(Value::as_object)
            .map(|row| row.keys().cloned().collect())
            .unwrap_or_default()
    } else {
        schema.iter().map(|c| c.name.clone()).collect()
    };
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let shown = preview.rows.len();
    let mut table = table(&title, &headers, &Value::Array(preview.rows));
    if preview.total > shown {
        table.push_str(&format!(
            "\n*Showing the first {shown} of {} rows; the other {} are in the context under {CONTEXT_PREFIX}.results.*\n",
            preview.total,
            preview.total - shown
        ));
    }
    table
}

/// A heading holds one line: line breaks in the query become spaces.
fn one_line(query: &str) -> String {
    query
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_appended_never_spliced_in() {
        assert_eq!(with_limit("T", Some(5)), "T\n| limit 5");
        assert_eq!(with_limit("T | take 10", None), "T | take 10");
        let tricky = r#"T | where Url has "a|b" | where x == 'it''s' // take 3 | done"#;
        assert_eq!(with_limit(tricky, Some(2)), format!("{tricky}\n| limit 2"));
    }

    #[test]
    fn a_trailing_pipe_gets_no_second_one() {
        assert_eq!(with_limit("T |", Some(3)), "T |\nlimit 3");
        assert_eq!(
            with_limit("T | // filter next\n", Some(3)),
            "T | // filter next\n\nlimit 3"
        );
        assert_eq!(
            with_limit(r#"T | where a == "|""#, Some(3)),
            "T | where a == \"|\"\n| limit 3"
        );
        assert_eq!(
            with_limit("T | where a == @\"c:\\\"\"|\" ", Some(3)),
            "T | where a == @\"c:\\\"\"|\" \n| limit 3"
        );
        assert_eq!(
            with_limit("T | where a == ```x |``` ", Some(1)),
            "T | where a == ```x |``` \n| limit 1"
        );
    }

    #[test]
    fn titles_stay_on_one_line() {
        assert_eq!(
            one_line("T\n| where x  \r\n| limit 3"),
            "T | where x | limit 3"
        );
    }
}
