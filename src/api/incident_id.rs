//! Incident ids. The legacy Defender API numbers its incidents, and playbooks, fetch cursors and
//! the mirroring state keep those numbers as numbers. Microsoft Graph types an incident's `id`
//! as a string, and does not promise digits: the translation into the legacy shape makes an
//! all-digits id the legacy number and keeps any other as text
//! ([`crate::api::incidents::from_graph::incident_to_legacy`]). One type carries both kinds
//! through the commands, fetching and mirroring, so numeric ids read and write exactly as the legacy API's,
//! and a text id works wherever Graph is the backend.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// What a user can do about a text id on the legacy API; shared by the argument check and the
/// legacy client's own refusal.
pub const TEXT_IDS_NEED_GRAPH: &str = "IDs that are not numbers are Microsoft Graph's: set the API backend parameter (api_backend) to Microsoft Graph to use them.";

/// An incident's id: a number (every legacy id, and Graph's all-digits ids), or Graph text.
/// Build one with [`IncidentId::from_text`] or `From<u64>`, which keep digits as numbers, so that
/// the same incident always has the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentId {
    Number(u64),
    /// Text that is not a number that fits in a `u64`.
    Text(String),
}

impl IncidentId {
    /// The id `text` names: a number when it is all ASCII digits and fits in a `u64` (as the
    /// translation from Graph decides), the text as it is otherwise. None for empty text.
    pub fn from_text(text: &str) -> Option<IncidentId> {
        if text.is_empty() {
            return None;
        }
        let number = text
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| text.parse::<u64>().ok())
            .flatten();
        Some(match number {
            Some(number) => IncidentId::Number(number),
            None => IncidentId::Text(text.to_owned()),
        })
    }

    /// The legacy API's number for this incident; none for a text id.
    pub fn number(&self) -> Option<u64> {
        match self {
            IncidentId::Number(number) => Some(*number),
            IncidentId::Text(_) => None,
        }
    }

    /// The id as the text of one URL path segment, which the URL percent-encodes as it adds it
    /// ([`crate::api::client::ApiClient::url_with`]), so that a `/`, `?`, `#`, `%` or space in
    /// it cannot change the URL's structure. None for `.` and `..`: URL parsers resolve those as
    /// steps in the path however they are encoded (the WHATWG URL standard's "single-dot" and
    /// "double-dot path segments"), so no URL names an incident with such an id.
    pub fn path_segment(&self) -> Option<String> {
        match self {
            IncidentId::Number(number) => Some(number.to_string()),
            IncidentId::Text(text) if matches!(text.as_str(), "." | "..") => None,
            IncidentId::Text(text) => Some(text.clone()),
        }
    }
}

impl From<u64> for IncidentId {
    fn from(number: u64) -> IncidentId {
        IncidentId::Number(number)
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncidentId::Number(number) => number.fmt(f),
            IncidentId::Text(text) => f.write_str(text),
        }
    }
}

/// A JSON number for a number, a JSON string for text: `incidentId` as the API sent it.
impl From<&IncidentId> for Value {
    fn from(id: &IncidentId) -> Value {
        match id {
            IncidentId::Number(number) => Value::from(*number),
            IncidentId::Text(text) => Value::String(text.clone()),
        }
    }
}

impl Serialize for IncidentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IncidentId::Number(number) => serializer.serialize_u64(*number),
            IncidentId::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for IncidentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = IncidentId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an incident id: a whole number that is not negative, or a non-empty string")
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<IncidentId, E> {
        Ok(IncidentId::Number(number))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<IncidentId, E> {
        u64::try_from(number)
            .map(IncidentId::Number)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(number), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<IncidentId, E> {
        IncidentId::from_text(text)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(id: &str) -> IncidentId {
        IncidentId::Text(id.to_owned())
    }

    #[test]
    fn digits_are_numbers_and_anything_else_is_text() {
        assert_eq!(
            IncidentId::from_text("1201"),
            Some(IncidentId::Number(1201))
        );
        assert_eq!(IncidentId::from_text("007"), Some(IncidentId::Number(7)));
        assert_eq!(IncidentId::from_text("ed-4c2a/7"), Some(text("ed-4c2a/7")));
        for not_a_number in ["-5", "+5", "1.0", " 12", "99999999999999999999999"] {
            assert_eq!(
                IncidentId::from_text(not_a_number),
                Some(text(not_a_number)),
                "{not_a_number}"
            );
        }
        assert_eq!(IncidentId::from_text(""), None);
        assert_eq!(IncidentId::from(9).number(), Some(9));
        assert_eq!(text("a").number(), None);
    }

    #[test]
    fn json_keeps_numbers_as_numbers_and_text_as_strings() {
        for (id, written) in [
            (IncidentId::Number(1201), "1201"),
            (text("ed-4c2a/7"), r#""ed-4c2a/7""#),
        ] {
            assert_eq!(serde_json::to_string(&id).unwrap(), written);
            assert_eq!(serde_json::from_str::<IncidentId>(written).unwrap(), id);
            assert_eq!(
                Value::from(&id),
                serde_json::from_str::<Value>(written).unwrap()
            );
        }
        // Digits in a string are the number, as Graph's ids are read.
        assert_eq!(
            serde_json::from_value::<IncidentId>(json!("1201")).unwrap(),
            IncidentId::Number(1201)
        );
        for bad in [json!(-1), json!(1.5), json!(""), json!(null), json!([1])] {
            assert!(
                serde_json::from_value::<IncidentId>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn shows_as_the_api_writes_it() {
        assert_eq!(IncidentId::Number(1201).to_string(), "1201");
        assert_eq!(text("ed-4c2a/7").to_string(), "ed-4c2a/7");
    }

    #[test]
    fn a_path_segment_cannot_change_the_urls_structure() {
        let url_of = |id: &IncidentId| {
            let mut url =
                reqwest::Url::parse("https://graph.microsoft.com/v1.0/security/incidents").unwrap();
            url.path_segments_mut()
                .unwrap()
                .push(&id.path_segment().unwrap());
            url
        };
        assert_eq!(
            url_of(&IncidentId::Number(1201)).path(),
            "/v1.0/security/incidents/1201"
        );
        assert_eq!(
            url_of(&text("ed-4c2a/7")).path(),
            "/v1.0/security/incidents/ed-4c2a%2F7"
        );
        assert_eq!(
            url_of(&text("a?b#c%d e")).path(),
            "/v1.0/security/incidents/a%3Fb%23c%25d%20e"
        );
        for odd in [
            "ed-4c2a/7",
            "a?b#c",
            "%2e%2e",
            "../x",
            "...",
            "a b",
            "a\\b",
            "x|y^[]",
        ] {
            let url = url_of(&text(odd));
            let url = reqwest::Url::parse(url.as_str()).unwrap();
            assert_eq!(url.query(), None, "{odd}");
            assert_eq!(url.fragment(), None, "{odd}");
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            assert_eq!(segments.len(), 4, "{odd}: {url}");
        }
        assert_eq!(text(".").path_segment(), None);
        assert_eq!(text("..").path_segment(), None);
    }

    #[test]
    fn numbers_sort_before_text_and_by_value() {
        let mut ids = vec![
            text("b"),
            IncidentId::Number(10),
            text("a"),
            IncidentId::Number(9),
        ];
        ids.sort();
        assert_eq!(
            ids,
            [
                IncidentId::Number(9),
                IncidentId::Number(10),
                text("a"),
                text("b")
            ]
        );
    }
}
