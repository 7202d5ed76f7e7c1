//! Microsoft Graph's security API (`https://graph.microsoft.com/v1.0/security`), the successor
//! of the legacy Defender API, which retires on 1 February 2027: its client for one command run,
//! and what reading Graph's shapes into the legacy ones needs whatever the resource. What it
//! serves is in the resource files: incidents (`incidents/graph.rs`, read by
//! `incidents/from_graph.rs` and `incidents/evidence.rs`, written by `incidents/to_graph.rs`),
//! advanced hunting (`hunting/graph.rs`).
//!
//! The commands, their context paths and readable tables were built on the legacy JSON
//! (`raw_incident.json`'s keys and order, PascalCase enums, numeric incident ids); every Graph
//! answer is turned into the legacy shape in this layer, every write into Graph's body, and the
//! commands never learn which API they talk to. Reading, the legacy keys come first and in the
//! legacy order, then what only Graph has (`incidentUri`, `systemTags`, `summary`, the raw
//! `evidence` of alerts, any property Graph adds later), so nothing Graph says is lost. OData
//! annotations (`@odata.type`, `…@odata.type`) describe the payload rather than the data and
//! are dropped.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::client::ApiClient;
use crate::auth::Session;
use crate::graph::enums::{GraphEnum, legacy_spelling, pascal_case};
use crate::http::Deadline;

/// Graph sends the members of its evolvable enumerations that come after `unknownFutureValue`
/// (incident status `awaitingAction`, newer service and detection sources) only to clients
/// that ask; without it they all read `unknownFutureValue`, which says nothing
/// (<https://learn.microsoft.com/graph/best-practices-concept#handling-future-members-in-evolvable-enumerations>).
const PREFER: (HeaderName, HeaderValue) = (
    HeaderName::from_static("prefer"),
    HeaderValue::from_static("include-unknown-enum-members"),
);

/// A client of Microsoft Graph's security API for one command run.
pub struct GraphApi<'s, 'a> {
    pub(super) client: ApiClient<'s, 'a>,
}

impl<'s, 'a> GraphApi<'s, 'a> {
    /// Everything this client sends must be answered within `timeout` from now.
    pub fn new(session: &'s mut Session<'a>, timeout: Duration) -> GraphApi<'s, 'a> {
        let base = session.config().endpoints.api_base.clone();
        let (name, value) = PREFER;
        GraphApi {
            client: ApiClient::new(session, &base, Deadline::after(timeout))
                .with_header(name, value),
        }
    }

    /// The Graph base URL, for messages.
    pub fn host(&self) -> String {
        self.client.base().to_owned()
    }

    /// From now on, everything must be answered within `timeout`.
    pub fn limit_to(&mut self, timeout: Duration) {
        self.client.limit_to(timeout);
    }
}

/// Why a Graph body or a legacy update could not be translated.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("Microsoft Graph sent {found} where {expected} was expected.")]
    Unexpected {
        expected: &'static str,
        found: &'static str,
    },
    #[error("{value:?} is not a {field} value; use one of: {allowed}.")]
    UnknownValue {
        field: &'static str,
        value: String,
        allowed: String,
    },
}

pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(super) fn object<'a>(
    value: &'a Value,
    expected: &'static str,
) -> Result<&'a Map<String, Value>, TranslateError> {
    value.as_object().ok_or(TranslateError::Unexpected {
        expected,
        found: kind_of(value),
    })
}

/// An OData annotation rather than data: `@odata.context`, `@odata.type`,
/// `Timestamp@odata.type`.
pub fn is_annotation(key: &str) -> bool {
    key.starts_with('@') || key.contains("@odata.")
}

/// An id as the legacy API types it: a number when it is all digits (incident ids), the string
/// otherwise.
pub(super) fn legacy_id(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text))
            if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            text.parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(text.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// An enumeration value in its legacy spelling; `null` stays `null`.
pub(super) fn legacy_enum<E: GraphEnum>(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text)) => Value::String(legacy_spelling::<E>(text)),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// An open enumeration (verdicts, health states) in the legacy spelling: first letter raised.
pub(super) fn legacy_open_enum(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text)) => Value::String(pascal_case(text)),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// Builds a legacy object: the legacy keys in order, then every source key not consumed and not
/// an annotation, as Graph sent it.
pub(super) struct LegacyObject<'a> {
    source: &'a Map<String, Value>,
    consumed: Vec<&'static str>,
    target: Map<String, Value>,
}

impl<'a> LegacyObject<'a> {
    pub(super) fn from(source: &'a Map<String, Value>) -> LegacyObject<'a> {
        LegacyObject {
            source,
            consumed: Vec::new(),
            target: Map::new(),
        }
    }

    /// The Graph property `graph`, marked as translated.
    pub(super) fn take(&mut self, graph: &'static str) -> Option<&'a Value> {
        self.consumed.push(graph);
        self.source.get(graph)
    }

    pub(super) fn put(&mut self, legacy: &str, value: Value) {
        self.target.insert(legacy.to_owned(), value);
    }

    /// `legacy` ← Graph's `graph`, unchanged.
    pub(super) fn rename(&mut self, legacy: &str, graph: &'static str) {
        let value = self.take(graph).cloned().unwrap_or(Value::Null);
        self.put(legacy, value);
    }

    pub(super) fn finish(mut self) -> Map<String, Value> {
        for (key, value) in self.source {
            if !self.consumed.contains(&key.as_str())
                && !is_annotation(key)
                && !self.target.contains_key(key)
            {
                self.target.insert(key.clone(), value.clone());
            }
        }
        self.target
    }
}
