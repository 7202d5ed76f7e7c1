//! `POST /v1.0/security/runHuntingQuery`: the same KQL over the same tables as the Defender API's
//! advanced hunting, answered as `huntingQueryResults` — `schema` of `{name, type}` and
//! `results`, lower-case as Graph writes them — and limited to the query's `Timespan`, 30 days
//! back from now when none is given
//! (<https://learn.microsoft.com/graph/api/security-security-runhuntingquery>).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::Serialize;
use serde_json::Value;

use super::super::EmulatorState;
use super::super::clock::parse_time;
use super::super::hunting::{Results, Schema, Window, serve};
use super::super::kql::QueryOutput;
use super::{Graph, GraphError, body_object};

/// "If not provided, the default timespan of 30 days will be used."
const DEFAULT_TIMESPAN: SignedDuration = SignedDuration::from_hours(30 * 24);

/// An ISO 8601 duration (`P30D`, `PT12H`, `P1M`) moved from `anchor`, forwards or backwards.
fn shifted(anchor: Timestamp, duration: &str, forwards: bool) -> Option<Timestamp> {
    let span: Span = duration.trim().parse().ok()?;
    let zoned = anchor.to_zoned(TimeZone::UTC);
    let moved = if forwards {
        zoned.checked_add(span)
    } else {
        zoned.checked_sub(span)
    };
    moved.ok().map(|zoned| zoned.timestamp())
}

fn is_duration(text: &str) -> bool {
    text.trim_start().starts_with(['P', 'p'])
}

/// Reads `Timespan` in the forms Graph documents: `P30D` (back from now), `start/end`,
/// `P30D/end`, `start/P30D`, or a lone `start` (until now).
fn window(timespan: &str, now: Timestamp) -> Option<Window> {
    let (from, to) = match timespan.split_once('/') {
        None if is_duration(timespan) => (shifted(now, timespan, false)?, now),
        None => (parse_time(timespan)?, now),
        Some((duration, end)) if is_duration(duration) => {
            let to = parse_time(end)?;
            (shifted(to, duration, false)?, to)
        }
        Some((start, duration)) if is_duration(duration) => {
            let from = parse_time(start)?;
            (from, shifted(from, duration, true)?)
        }
        Some((start, end)) => (parse_time(start)?, parse_time(end)?),
    };
    (from <= to).then_some(Window { from, to })
}

/// The request body: `Query`, and optionally `Timespan`.
fn parameters(body: &[u8], now: Timestamp) -> Result<(String, Option<Window>), GraphError> {
    let body = body_object(body)?;
    if let Some(other) = body
        .keys()
        .find(|key| !matches!(key.as_str(), "Query" | "Timespan"))
    {
        return Err(GraphError::bad_request(format!(
            "The parameter '{other}' in the request payload is not a valid parameter for the operation 'runHuntingQuery'."
        )));
    }
    let query = match body.get("Query") {
        Some(Value::String(query)) if !query.trim().is_empty() => query.clone(),
        _ => {
            return Err(GraphError::bad_request(
                "The parameter 'Query' is missing or empty. The request body must be {\"Query\": \"<KQL>\"}, with an optional \"Timespan\".",
            ));
        }
    };
    let window = match body.get("Timespan") {
        None | Some(Value::Null) => Window {
            from: now - DEFAULT_TIMESPAN,
            to: now,
        },
        Some(Value::String(timespan)) => window(timespan, now).ok_or_else(|| {
            GraphError::bad_request(format!(
                "The Timespan '{timespan}' is not valid. Use an ISO 8601 duration (P30D), an interval (2024-02-01T08:00:00Z/2024-02-15T08:00:00Z, P30D/2024-02-15T08:00:00Z, 2024-02-01T08:00:00Z/P30D) or a start time."
            ))
        })?,
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "The Timespan must be a string, not {other}."
            )));
        }
    };
    Ok((query, Some(window)))
}

/// `microsoft.graph.security.huntingQueryResults`.
#[derive(Serialize)]
struct HuntingQueryResults<'a> {
    #[serde(rename = "@odata.context")]
    context: String,
    schema: Schema<'a>,
    results: Results<'a>,
}

/// `POST /v1.0/security/runHuntingQuery`
pub(crate) async fn run(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let context = format!(
        "{}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
        state.base_url
    );
    let render = move |output: &QueryOutput, _| {
        let answer = HuntingQueryResults {
            context,
            schema: Schema {
                columns: &output.columns,
                keys: ["name", "type"],
            },
            results: Results(output),
        };
        serde_json::to_vec(&answer).unwrap_or_default()
    };
    serve::<Graph, _>(&state, &headers, &body, parameters, render).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn reads_every_documented_timespan_form() {
        let now = at("2025-02-01T00:00:00Z");
        let cases = [
            ("P30D", "2025-01-02T00:00:00Z", "2025-02-01T00:00:00Z"),
            ("PT12H", "2025-01-31T12:00:00Z", "2025-02-01T00:00:00Z"),
            ("P1M", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"),
            (
                "2025-01-10T08:00:00Z/2025-01-15T08:00:00Z",
                "2025-01-10T08:00:00Z",
                "2025-01-15T08:00:00Z",
            ),
            (
                "P2D/2025-01-15T00:00:00Z",
                "2025-01-13T00:00:00Z",
                "2025-01-15T00:00:00Z",
            ),
            (
                "2025-01-10T00:00:00Z/P1D",
                "2025-01-10T00:00:00Z",
                "2025-01-11T00:00:00Z",
            ),
            (
                "2025-01-20T00:00:00Z",
                "2025-01-20T00:00:00Z",
                "2025-02-01T00:00:00Z",
            ),
        ];
        for (timespan, from, to) in cases {
            assert_eq!(
                window(timespan, now),
                Some(Window {
                    from: at(from),
                    to: at(to)
                }),
                "{timespan}"
            );
        }
        for bad in [
            "",
            "30 days",
            "P",
            "2025-01-15T00:00:00Z/2025-01-10T00:00:00Z",
            "x/y",
        ] {
            assert_eq!(window(bad, now), None, "{bad}");
        }
    }
}
