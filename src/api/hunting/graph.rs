//! Advanced hunting on Microsoft Graph: `POST /security/runHuntingQuery`
//! (<https://learn.microsoft.com/graph/api/security-security-runhuntingquery>), its answer read
//! into the legacy shape.

use std::fmt;

use reqwest::Method;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{HuntingRequest, HuntingResponse};
use crate::api::ApiError;
use crate::api::client::Call;
use crate::api::graph::{GraphApi, TranslateError, is_annotation, kind_of, object};
use crate::api::retry::Replay;

impl GraphApi<'_, '_> {
    pub(super) async fn run_hunting_query(
        &mut self,
        request: &HuntingRequest,
    ) -> Result<HuntingResponse, ApiError> {
        let url = self.client.url("/v1.0/security/runHuntingQuery")?;
        let mut body = json!({"Query": request.query});
        if let Some(timespan) = &request.timespan {
            body["Timespan"] = Value::String(timespan.clone());
        }
        let answer: GraphHunting = self
            .client
            .send_json(Call::json(Method::POST, url, &body, Replay::Safe))
            .await?;
        let legacy = hunting_to_legacy(answer)?;
        let schema = serde_json::from_value(Value::Array(legacy.schema)).map_err(|e| {
            ApiError::Malformed(format!("the hunting schema could not be read ({e})"))
        })?;
        Ok(HuntingResponse {
            schema,
            results: legacy.results,
        })
    }
}

/// Graph's hunting answer, its two parts kept as the JSON text they came as: a result can hold
/// 100,000 rows, which pass on to the output without becoming JSON values. Keys are read
/// without regard to case (Graph's own examples show both `schema` and `Schema`).
#[derive(Debug, Default)]
pub struct GraphHunting {
    schema: Option<Box<RawValue>>,
    results: Option<Box<RawValue>>,
}

impl<'de> Deserialize<'de> for GraphHunting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GraphHunting, D::Error> {
        struct HuntingVisitor;
        impl<'de> Visitor<'de> for HuntingVisitor {
            type Value = GraphHunting;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a hunting result object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GraphHunting, A::Error> {
                let mut hunting = GraphHunting::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key.eq_ignore_ascii_case("schema") {
                        hunting.schema = Some(map.next_value()?);
                    } else if key.eq_ignore_ascii_case("results") {
                        hunting.results = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(hunting)
            }
        }
        deserializer.deserialize_map(HuntingVisitor)
    }
}

/// A hunting answer in the legacy shape: the `Schema` columns `{Name, Type}`, and the
/// `Results` rows as JSON text.
#[derive(Debug)]
pub struct LegacyHunting {
    pub schema: Vec<Value>,
    pub results: Box<RawValue>,
}

/// Graph's hunting answer `{schema: [{name, type}], results: […]}` in the legacy
/// `{Schema: [{Name, Type}], Results: […]}` shape. Rows stay open JSON maps, passed on as the
/// text Graph sent unless they carry OData annotations (`Timestamp@odata.type`), which are
/// dropped.
pub fn hunting_to_legacy(graph: GraphHunting) -> Result<LegacyHunting, TranslateError> {
    let schema = match graph.schema.as_deref().map(parse_raw).transpose()? {
        Some(Value::Array(columns)) => columns
            .iter()
            .map(|column| {
                let column = object(column, "a schema column object")?;
                let get = |name: &str| {
                    column
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(name))
                        .map_or(Value::Null, |(_, value)| value.clone())
                };
                Ok(json!({"Name": get("name"), "Type": get("type")}))
            })
            .collect::<Result<Vec<_>, TranslateError>>()?,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of schema columns",
                found: kind_of(&other),
            });
        }
    };
    let results = match graph.results {
        Some(rows) if rows.get().starts_with('[') => {
            if rows.get().contains("@odata") {
                without_row_annotations(&rows)?
            } else {
                rows
            }
        }
        Some(rows) if rows.get() != "null" => {
            return Err(TranslateError::Unexpected {
                expected: "a list of result rows",
                found: raw_kind(&rows),
            });
        }
        _ => RawValue::from_string("[]".to_owned()).expect("[] is JSON"),
    };
    Ok(LegacyHunting { schema, results })
}

/// A JSON text already checked by the parser that cut it out, as a value.
fn parse_raw(raw: &RawValue) -> Result<Value, TranslateError> {
    serde_json::from_str(raw.get()).map_err(|_| TranslateError::Unexpected {
        expected: "JSON",
        found: "text that is not",
    })
}

/// What a JSON text is, from its first character (the parser that cut it out left no space
/// before it).
fn raw_kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "a list",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The rows of `rows` (a JSON list) without their OData annotation keys, each row's other keys
/// in their order and their values as sent.
fn without_row_annotations(rows: &RawValue) -> Result<Box<RawValue>, TranslateError> {
    let rows: Vec<Box<RawValue>> =
        serde_json::from_str(rows.get()).map_err(|_| TranslateError::Unexpected {
            expected: "a list of result rows",
            found: "something else",
        })?;
    let mut text = String::from("[");
    for (index, row) in rows.iter().enumerate() {
        if raw_kind(row) != "an object" {
            return Err(TranslateError::Unexpected {
                expected: "a result row object",
                found: raw_kind(row),
            });
        }
        let fields: RowFields =
            serde_json::from_str(row.get()).map_err(|_| TranslateError::Unexpected {
                expected: "a result row object",
                found: "something else",
            })?;
        if index > 0 {
            text.push(',');
        }
        text.push('{');
        let kept = fields.0.iter().filter(|(key, _)| !is_annotation(key));
        for (position, (key, value)) in kept.enumerate() {
            if position > 0 {
                text.push(',');
            }
            text.push_str(&Value::String(key.clone()).to_string());
            text.push(':');
            text.push_str(value.get());
        }
        text.push('}');
    }
    text.push(']');
    Ok(RawValue::from_string(text).expect("rows joined from JSON texts are JSON"))
}

/// The fields of one JSON object in their order, each value as its JSON text.
struct RowFields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RowFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RowFields, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = RowFields;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a result row object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RowFields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(RowFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunt(text: &str) -> Result<(Value, String), TranslateError> {
        let graph: GraphHunting = serde_json::from_str(text).unwrap();
        let legacy = hunting_to_legacy(graph)?;
        Ok((Value::Array(legacy.schema), legacy.results.get().to_owned()))
    }

    #[test]
    fn hunting_reads_either_casing_and_drops_annotations() {
        let graph = r##"{
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
            "schema": [{"name": "Timestamp", "type": "DateTime"}, {"Name": "FileName", "Type": "String"}],
            "results": [{"Timestamp": "2024-03-26T09:39:50.7688641Z", "Timestamp@odata.type": "#DateTimeOffset", "FileName": "cmd.exe", "Extra": {"nested": 1}},
                        {"@odata.type": "#x", "FileName": "a\"b"}]
        }"##;
        let (schema, results) = hunt(graph).unwrap();
        assert_eq!(
            schema,
            json!([{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "FileName", "Type": "String"}])
        );
        assert_eq!(
            results,
            r##"[{"Timestamp":"2024-03-26T09:39:50.7688641Z","FileName":"cmd.exe","Extra":{"nested": 1}},{"FileName":"a\"b"}]"##
        );
        assert_eq!(
            hunt(r##"{"Schema": [], "RESULTS": [ {"a": 1} ]}"##).unwrap(),
            (json!([]), r##"[ {"a": 1} ]"##.to_owned())
        );
        assert_eq!(
            hunt(r##"{"schema": null, "results": null}"##).unwrap(),
            (json!([]), "[]".to_owned())
        );
        assert_eq!(hunt("{}").unwrap(), (json!([]), "[]".to_owned()));
    }

    #[test]
    fn hunting_of_another_shape_is_an_error() {
        let unexpected = |expected, found| TranslateError::Unexpected { expected, found };
        assert_eq!(
            hunt(r##"{"results": "x"}"##).unwrap_err(),
            unexpected("a list of result rows", "a string")
        );
        assert_eq!(
            hunt(r##"{"schema": {"name": "x"}}"##).unwrap_err(),
            unexpected("a list of schema columns", "an object")
        );
        assert_eq!(
            hunt(r##"{"schema": ["x"]}"##).unwrap_err(),
            unexpected("a schema column object", "a string")
        );
        assert_eq!(
            hunt(r##"{"results": [{"a@odata.type": "#x"}, 3]}"##).unwrap_err(),
            unexpected("a result row object", "a number")
        );
        assert!(serde_json::from_str::<GraphHunting>("[]").is_err());
    }
}
