//! The command envelope the platform writes to stdin (CONTRACT §2), read defensively: the input
//! may be anything at all, and whatever it is, the run must end in one output document. Limits
//! are enforced before parsing so a hostile or broken envelope costs bounded time and memory.

use std::io::Read;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::EnvelopeError;

/// The largest envelope accepted. Real envelopes are a few kilobytes; migrated XSOAR instances
/// may carry a few megabytes of `last_run`. Anything past this is refused unread.
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;

/// One command run, as the platform describes it.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(title = "m365-defender command envelope")]
pub struct Envelope {
    /// The command to run, e.g. `microsoft-365-defender-incidents-list` or `fetch-incidents`.
    pub command: String,
    /// The command's arguments. XSOAR sends strings (`"10"`, `"true"`, `"a,b"`); numbers,
    /// booleans and arrays are accepted and mean the same.
    #[schemars(default)]
    pub args: Map<String, Value>,
    /// The instance parameters, keyed by the `name`s in integration.yml.
    #[schemars(default)]
    pub params: Map<String, Value>,
    /// State kept by the platform between runs: stored tokens and device codes.
    #[schemars(default)]
    pub integration_context: Map<String, Value>,
    /// The fetch cursor handed back by the previous `fetch-incidents`.
    #[schemars(default)]
    pub last_run: Map<String, Value>,
    /// The platform's name for this instance; mirroring stamps it on fetched incidents.
    pub integration_instance: Option<String>,
}

impl Envelope {
    /// Reads at most [`MAX_ENVELOPE_BYTES`] from `input` and parses them.
    pub fn read_from(input: impl Read) -> Result<Envelope, EnvelopeError> {
        let mut bytes = Vec::new();
        input
            .take(MAX_ENVELOPE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| EnvelopeError::Read(e.to_string()))?;
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        Envelope::parse(&bytes)
    }

    /// Parses one envelope. Duplicate keys are refused at every level: which of two values the
    /// platform meant cannot be known.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        // A byte-order mark is how some Windows tools start UTF-8 text; it carries no meaning.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(EnvelopeError::Empty);
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let StrictValue(value) = serde::Deserialize::deserialize(&mut deserializer)
            .map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        deserializer
            .end()
            .map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        Envelope::from_value(value)
    }

    fn from_value(value: Value) -> Result<Envelope, EnvelopeError> {
        let Value::Object(mut fields) = value else {
            return Err(EnvelopeError::NotAnObject {
                found: kind_of(&value),
            });
        };
        let command = match fields.remove("command") {
            None | Some(Value::Null) => return Err(EnvelopeError::MissingCommand),
            Some(Value::String(command)) => command,
            Some(other) => return Err(wrong_type("command", "a string", &other)),
        };
        let mut object = |field: &'static str| match fields.remove(field) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(wrong_type(field, "a JSON object", &other)),
        };
        let args = object("args")?;
        let params = object("params")?;
        let integration_context = object("integration_context")?;
        let last_run = object("last_run")?;
        let integration_instance = match fields.remove("integration_instance") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(other) => return Err(wrong_type("integration_instance", "a string", &other)),
        };
        for unknown in fields.keys() {
            tracing::debug!(field = %unknown, "ignoring unknown envelope field");
        }
        Ok(Envelope {
            command,
            args,
            params,
            integration_context,
            last_run,
            integration_instance,
        })
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Value) -> EnvelopeError {
    EnvelopeError::WrongType {
        field,
        expected,
        found: kind_of(found),
    }
}

/// The JSON kind of a value, worded for an error message.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value whose objects may not repeat a key. serde_json's own `Value` keeps the last
/// duplicate silently; its depth limit (128) still guards the recursion here.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_absent_and_null_sections_to_empty_objects() {
        let envelope = Envelope::parse(br#"{"command":"x","args":null}"#).unwrap();
        assert_eq!(envelope.command, "x");
        assert!(envelope.args.is_empty() && envelope.params.is_empty());
        assert_eq!(envelope.integration_instance, None);
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let err = Envelope::parse(br#"{"command":"x","args":{"a":"1","a":"2"}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"a\""), "{err}");
    }

    #[test]
    fn names_the_field_of_the_wrong_type() {
        let err = Envelope::parse(br#"{"command":"x","params":[]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the envelope field `params` must be a JSON object, but it is an array"
        );
    }

    #[test]
    fn refuses_trailing_data() {
        assert!(Envelope::parse(br#"{"command":"x"} {}"#).is_err());
    }
}
