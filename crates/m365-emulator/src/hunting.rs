//! `POST /api/advancedhunting/run`: runs a KQL query over the hunting tables and answers with
//! `Stats`, `Schema` and `Results` as the advanced hunting API does
//! (<https://learn.microsoft.com/defender-xdr/api-advanced-hunting>), capped at its 100,000 rows.
//! Queries run on a blocking thread: scanning the largest table takes a while and must not stall
//! the other requests. Graph's `runHuntingQuery` goes through the same steps ([`serve`]), only
//! reading a time window from its body and answering in its own shape.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Value as Json, json};

use super::EmulatorState;
use super::clock::format_time;
use super::defender::{Defender, DefenderError};
use super::dialect::{ApiError, Dialect, Operation, admit};
use super::kql::{self, Column, ColumnType, QueryOutput, Row, TableSource, Value};
use super::tables::{AlertRows, HuntingTables};

/// "Results can return up to 100,000 rows."
const MAX_ROWS: usize = 100_000;

struct JsonValue<'a>(&'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_none(),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::Long(number) => serializer.serialize_i64(*number),
            Value::Real(number) if number.is_finite() => serializer.serialize_f64(*number),
            Value::Real(_) => serializer.serialize_none(),
            Value::String(text) => serializer.serialize_str(text),
            Value::DateTime(time) => serializer.serialize_str(&format_time(*time)),
            Value::Timespan(span) => {
                let seconds = span.as_secs();
                let sign = if span.is_negative() { "-" } else { "" };
                let seconds = seconds.unsigned_abs();
                serializer.serialize_str(&format!(
                    "{sign}{:02}:{:02}:{:02}",
                    seconds / 3600,
                    seconds / 60 % 60,
                    seconds % 60
                ))
            }
        }
    }
}

struct ResultRow<'a> {
    columns: &'a [Column],
    row: &'a Row,
}

impl Serialize for ResultRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for (column, value) in self.columns.iter().zip(self.row) {
            map.serialize_entry(column.name, &JsonValue(value))?;
        }
        map.end()
    }
}

/// The rows of a query's output as JSON objects, column names as keys.
pub(crate) struct Results<'a>(pub(crate) &'a QueryOutput);

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            sequence.serialize_element(&ResultRow {
                columns: &self.0.columns,
                row,
            })?;
        }
        sequence.end()
    }
}

/// The output's columns, each an object of its name and type under the API's two keys
/// (`Name`/`Type` for the Defender API, `name`/`type` for Graph).
pub(crate) struct Schema<'a> {
    pub(crate) columns: &'a [Column],
    pub(crate) keys: [&'static str; 2],
}

impl Serialize for Schema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.columns.len()))?;
        for column in self.columns {
            sequence.serialize_element(&SchemaColumn {
                column,
                keys: self.keys,
            })?;
        }
        sequence.end()
    }
}

struct SchemaColumn<'a> {
    column: &'a Column,
    keys: [&'static str; 2],
}

impl Serialize for SchemaColumn<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let [name, kind] = self.keys;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(name, self.column.name)?;
        map.serialize_entry(kind, self.column.kind.schema_name())?;
        map.end()
    }
}

/// The instants a query may see, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) from: Timestamp,
    pub(crate) to: Timestamp,
}

/// The hunting tables as seen through a window, if the request gives one: rows whose `Timestamp`
/// falls outside it are not there.
struct Windowed {
    tables: HuntingTables,
    window: Option<Window>,
}

impl TableSource for Windowed {
    fn columns(&self, table: &str) -> Option<&'static [Column]> {
        self.tables.columns(table)
    }

    fn rows(&self, table: &str) -> Box<dyn Iterator<Item = Row> + '_> {
        let rows = self.tables.rows(table);
        let Some(window) = self.window else {
            return rows;
        };
        let timestamp = self.tables.columns(table).and_then(|columns| {
            columns.iter().position(|column| {
                column.name == "Timestamp" && column.kind == ColumnType::DateTime
            })
        });
        let Some(index) = timestamp else {
            return rows;
        };
        Box::new(rows.filter(move |row| match row.get(index) {
            Some(Value::DateTime(time)) => window.from <= *time && *time <= window.to,
            _ => true,
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HuntingResponse<'a> {
    stats: Json,
    schema: Schema<'a>,
    results: Results<'a>,
}

/// The statistics block: the real service reports Kusto's resource usage; the emulator reports
/// its own execution time and plausible figures derived from the result.
fn statistics(output: &QueryOutput, started: Instant) -> Json {
    let rows = output.rows.len();
    let size = rows * output.columns.len() * 24;
    let cpu = format!("00:00:{:010.7}", started.elapsed().as_secs_f64());
    json!({
        "ExecutionTime": started.elapsed().as_secs_f64(),
        "resource_usage": {
            "cache": {
                "memory": {"hits": rows * 3, "misses": rows / 100, "total": rows * 3 + rows / 100},
                "disk": {"hits": rows / 50, "misses": 0, "total": rows / 50}
            },
            "cpu": {"user": cpu, "kernel": "00:00:00", "total cpu": cpu},
            "memory": {"peak_per_node": size * 2 + 1_048_576}
        },
        "dataset_statistics": [{"table_row_count": rows, "table_size": size}]
    })
}

/// The request body: `{"Query": "<KQL>"}`. The Defender API has no time window: the query sees
/// every row.
fn query_of(body: &[u8], _: Timestamp) -> Result<(String, Option<Window>), DefenderError> {
    let parsed: Json = serde_json::from_slice(body).map_err(|error| {
        DefenderError::bad_request(
            "InvalidRequestBody",
            format!("Request body is incorrect: {error}"),
        )
    })?;
    match parsed.get("Query") {
        Some(Json::String(query)) if !query.trim().is_empty() => Ok((query.clone(), None)),
        _ => Err(DefenderError::bad_request(
            "MissingRequiredParameter",
            "Parameter Query is missing. The request body must be {\"Query\": \"<KQL>\"}.",
        )),
    }
}

/// Runs `query` over `tables` on a blocking thread and renders the output there too, with
/// `render` (given the output and when the query started), as the JSON answer. A query Kusto
/// refuses is a bad request in Kusto's wording; one whose thread failed, a server error.
async fn execute<T, R>(
    tables: T,
    query: String,
    now: Timestamp,
    render: R,
) -> Result<Response, DefenderError>
where
    T: TableSource + Send + 'static,
    R: FnOnce(&QueryOutput, Instant) -> Vec<u8> + Send + 'static,
{
    let answer = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        kql::run(&query, &tables, now, MAX_ROWS).map(|output| render(&output, started))
    })
    .await;
    match answer {
        Ok(Ok(json)) => Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response()),
        Ok(Err(error)) => Err(DefenderError::bad_request("BadRequest", error.to_string())),
        Err(_) => Err(DefenderError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The query failed to run.",
        )),
    }
}

fn render(output: &QueryOutput, started: Instant) -> Vec<u8> {
    let response = HuntingResponse {
        stats: statistics(output, started),
        schema: Schema {
            columns: &output.columns,
            keys: ["Name", "Type"],
        },
        results: Results(output),
    };
    serde_json::to_vec(&response).unwrap_or_default()
}

/// What both APIs' hunting calls share: admit the caller, `read` the query and the window it may
/// see from the body (given the emulator's now), run it over the hunting tables and `render` the
/// output as the API answers.
pub(crate) async fn serve<D, R>(
    state: &EmulatorState,
    headers: &HeaderMap,
    body: &[u8],
    read: impl FnOnce(&[u8], Timestamp) -> Result<(String, Option<Window>), ApiError<D>>,
    render: R,
) -> Response
where
    D: Dialect,
    ApiError<D>: From<DefenderError>,
    R: FnOnce(&QueryOutput, Instant) -> Vec<u8> + Send + 'static,
{
    let (now, alerts) = {
        let mut world = state.world();
        if let Err(error) = admit::<D>(&mut world, headers, Operation::RunHunting) {
            return error.into_response();
        }
        let now = world.clock.now();
        (now, AlertRows::of(world.tenant.visible(now)))
    };
    let (query, window) = match read(body, now) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let tables = Windowed {
        tables: HuntingTables {
            generated: state.hunting_tables(),
            alerts,
        },
        window,
    };
    execute(tables, query, now, render)
        .await
        .unwrap_or_else(|error| ApiError::<D>::from(error).into_response())
}

/// `POST /api/advancedhunting/run`
pub(crate) async fn run(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve::<Defender, _>(&state, &headers, &body, query_of, render).await
}
