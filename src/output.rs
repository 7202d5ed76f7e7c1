//! The output document the platform reads from stdout (CONTRACT §3) and the war-room entries in
//! it. Field names and their order follow CommonServerPython's `CommandResults.to_context()`,
//! because playbooks and the platform's entry parser read them by those exact names.

use std::io::{self, Write};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Everything one run hands back to the platform.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "m365-defender output document")]
pub struct OutputDocument {
    /// War-room entries, raw mirroring answers, or one error entry.
    pub results: Vec<ResultItem>,
    /// The whole integration context after the command, refreshed tokens included (exit 0
    /// and 1). Absent after exit 2: the envelope could not be used, so there is no context to
    /// hand back, and the platform must not write anything over the context it has stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_context: Option<Map<String, Value>>,
    /// The new fetch cursor; present only after a successful `fetch-incidents`. The platform
    /// stores it and hands it back in the next fetch's envelope.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::fetch::cursor::LastRun>")]
    pub last_run: Option<Map<String, Value>>,
    /// Incidents for the platform to create; present only for `fetch-incidents`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<Vec<Value>>,
}

/// One element of `results`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ResultItem {
    Entry(Entry),
    Error(ErrorEntry),
    Mirror(MirrorEntry),
    /// Answers whose shape the platform's mirroring defines (a mapping scheme, a remote id, a
    /// mirrored incident object).
    Raw(#[schemars(schema_with = "raw_answer_schema")] Value),
}

/// A raw answer is anything but an object with a `Type` key: that would be an entry, and
/// entries must match their own schemas exactly.
fn raw_answer_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A mirroring answer (mapping scheme, remote id, mirrored incident); never an object with `Type`.",
        "not": {"type": "object", "required": ["Type"]}
    })
}

fn note_type_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"const": EntryType::Note as u8})
}

fn error_type_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"const": EntryType::Error as u8})
}

/// XSOAR's entry types that this integration emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EntryType {
    Note = 1,
    Error = 4,
}

impl Serialize for EntryType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

/// A war-room entry: the equivalent of `CommandResults.to_context()`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct Entry {
    #[schemars(schema_with = "note_type_schema")]
    pub Type: EntryType,
    pub ContentsFormat: String,
    #[schemars(with = "Value")]
    pub Contents: Json,
    pub HumanReadable: String,
    #[schemars(with = "Map<String, Value>")]
    #[serde(serialize_with = "serialize_pairs")]
    pub EntryContext: Vec<(String, Json)>,
    pub IndicatorTimeline: Vec<Value>,
    pub IgnoreAutoExtract: bool,
    pub Note: bool,
    pub Relationships: Vec<Value>,
}

impl Entry {
    /// A note entry with readable Markdown and raw contents, and no context.
    pub fn note(human_readable: impl Into<String>, contents: impl Into<Json>) -> Entry {
        Entry {
            Type: EntryType::Note,
            ContentsFormat: "json".to_owned(),
            Contents: contents.into(),
            HumanReadable: human_readable.into(),
            EntryContext: Vec::new(),
            IndicatorTimeline: Vec::new(),
            IgnoreAutoExtract: false,
            Note: false,
            Relationships: Vec::new(),
        }
    }

    /// Adds `outputs` to the context under `prefix`, merged by `key_field`.
    pub fn with_context(
        mut self,
        prefix: &str,
        key_field: &str,
        outputs: impl Into<Json>,
    ) -> Entry {
        self.EntryContext
            .push((context_key(prefix, key_field), outputs.into()));
        self
    }
}

/// A JSON value in an entry: parsed, or kept as the text an API sent. A large answer (a hunting
/// result of 100,000 rows) passes through as text, never held as `Value`s, and one copy of it
/// serves both `Contents` and `EntryContext`.
#[derive(Debug, Clone)]
pub enum Json {
    Value(Value),
    /// Shared text; the `Box` is the allocation the text was parsed into, so sharing it copies
    /// nothing.
    Text(Arc<Box<RawValue>>),
}

impl Json {
    /// One JSON array of texts as an API sent them, without reading them into values.
    pub fn array_of<'r>(items: impl IntoIterator<Item = &'r RawValue>) -> Json {
        let mut text = String::from("[");
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(item.get());
        }
        text.push(']');
        // Commas between JSON texts, in brackets, are a JSON text.
        match RawValue::from_string(text) {
            Ok(array) => Json::from(array),
            Err(_) => Json::Value(Value::Array(Vec::new())),
        }
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Json {
        Json::Value(value)
    }
}

impl From<Box<RawValue>> for Json {
    fn from(text: Box<RawValue>) -> Json {
        Json::Text(Arc::new(text))
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Value(value) => value.serialize(serializer),
            Json::Text(text) => text.serialize(serializer),
        }
    }
}

fn serialize_pairs<S: serde::Serializer>(
    pairs: &[(String, Json)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (key, value) in pairs {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

/// The short entry XSOAR's mirroring consumes: an incident's new notes, close and reopen
/// entries (`get-remote-data`), or the changed ids (`get-modified-remote-data`), in the shape
/// CommonServerPython's `GetRemoteDataResponse` and `GetModifiedRemoteDataResponse` produce.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct MirrorEntry {
    #[schemars(schema_with = "note_type_schema")]
    pub Type: EntryType,
    pub Contents: Value,
    pub ContentsFormat: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Note: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub EntryContext: Option<Map<String, Value>>,
}

impl MirrorEntry {
    /// An entry with JSON contents and nothing else.
    pub fn json(contents: Value) -> MirrorEntry {
        MirrorEntry {
            Type: EntryType::Note,
            Contents: contents,
            ContentsFormat: "json".to_owned(),
            Tags: None,
            Note: None,
            EntryContext: None,
        }
    }
}

/// The failure entry XSOAR's `return_error` produces.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct ErrorEntry {
    #[schemars(schema_with = "error_type_schema")]
    pub Type: EntryType,
    pub ContentsFormat: String,
    pub Contents: String,
    #[schemars(with = "()")]
    pub EntryContext: (),
}

impl ErrorEntry {
    pub fn new(message: impl Into<String>) -> ErrorEntry {
        ErrorEntry {
            Type: EntryType::Error,
            ContentsFormat: "text".to_owned(),
            Contents: message.into(),
            EntryContext: (),
        }
    }

    /// The wording of XSOAR's `return_error` for a failed command, which playbooks match on.
    pub fn command_failed(command: &str, reason: &str) -> ErrorEntry {
        ErrorEntry::new(format!(
            "Failed to execute {command} command.\nError:\n{reason}"
        ))
    }
}

/// The EntryContext key that tells the platform how to merge new objects with the ones already
/// in context: `Prefix(val.k && val.k == obj.k)`.
pub fn context_key(prefix: &str, key_field: &str) -> String {
    format!("{prefix}(val.{key_field} && val.{key_field} == obj.{key_field})")
}

impl OutputDocument {
    /// Writes the document followed by the newline the contract requires, straight into `out`:
    /// a document can be hundreds of megabytes (a large hunting result), which are not copied
    /// into one string first. Serializing strings, numbers, maps and raw JSON cannot fail, so
    /// only the writer can stop the document midway.
    pub fn write_line(&self, out: &mut impl Write, pretty: bool) -> io::Result<()> {
        if pretty {
            // JSON passed through as it came (incident lists, hunting rows) would be written
            // unindented; read back as values, it is indented with the rest. `--pretty` is for
            // people reading a document, so the copy is worth it there.
            let value = serde_json::to_value(self).map_err(io::Error::other)?;
            serde_json::to_writer_pretty(&mut *out, &value)?;
        } else {
            serde_json::to_writer(&mut *out, self)?;
        }
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entry_keys_follow_command_results_order() {
        let entry = Entry::note("### T", json!([])).with_context("P", "id", json!([]));
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(
            text,
            r####"{"Type":1,"ContentsFormat":"json","Contents":[],"HumanReadable":"### T","EntryContext":{"P(val.id && val.id == obj.id)":[]},"IndicatorTimeline":[],"IgnoreAutoExtract":false,"Note":false,"Relationships":[]}"####
        );
    }

    #[test]
    fn pretty_output_indents_raw_json_too() {
        let raw = serde_json::value::RawValue::from_string(
            r#"[{"incidentId":7,"alerts":[]}]"#.to_owned(),
        )
        .unwrap();
        let document = OutputDocument {
            results: vec![ResultItem::Entry(Entry::note("### T", Json::from(raw)))],
            integration_context: None,
            last_run: None,
            incidents: None,
        };
        let mut text = Vec::new();
        document.write_line(&mut text, true).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("\n          \"incidentId\": 7,\n"), "{text}");
        let mut compact = Vec::new();
        document.write_line(&mut compact, false).unwrap();
        assert!(
            String::from_utf8(compact)
                .unwrap()
                .contains(r#"[{"incidentId":7,"alerts":[]}]"#)
        );
    }

    #[test]
    fn error_entry_matches_return_error() {
        let entry = ErrorEntry::command_failed("x", "boom");
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"Type":4,"ContentsFormat":"text","Contents":"Failed to execute x command.\nError:\nboom","EntryContext":null}"#
        );
    }
}
