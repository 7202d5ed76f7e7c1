//! Advanced hunting (KQL), on either API: the legacy Microsoft 365 Defender API's
//! `/api/advancedhunting/run` (`legacy.rs`) and Microsoft Graph's `/security/runHuntingQuery`
//! (`graph.rs`, whose answer is read into the legacy shape there).

mod graph;
mod legacy;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Api, ApiError};

/// An advanced hunting query, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntingRequest {
    /// The KQL text to send, limit included.
    pub query: String,
    /// How far back to look (ISO-8601 duration); only Microsoft Graph takes it.
    pub timespan: Option<String>,
}

/// The answer of `POST /api/advancedhunting/run`, and of Graph's hunting read into its shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HuntingResponse {
    #[serde(default)]
    pub schema: Vec<SchemaColumn>,
    /// The rows, a JSON array of objects, kept as the text the API sent: there can be 100,000
    /// of them, and the output passes them on unchanged.
    #[serde(default = "no_rows")]
    pub results: Box<RawValue>,
}

fn no_rows() -> Box<RawValue> {
    // A literal that is valid JSON.
    RawValue::from_string("[]".to_owned()).expect("[] is JSON")
}

/// One column of a hunting result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaColumn {
    pub name: String,
    #[serde(default, rename = "Type")]
    pub kind: Option<String>,
}

impl Api<'_, '_> {
    /// Runs `request` on the configured API; the answer is in the legacy shape either way.
    pub async fn run_hunting_query(
        &mut self,
        request: &HuntingRequest,
    ) -> Result<HuntingResponse, ApiError> {
        match self {
            Api::Legacy(api) => api.run_hunting_query(request).await,
            Api::Graph(api) => api.run_hunting_query(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_read_as_values_still_makes_a_response() {
        // A backend that rebuilds answers as `Value`s (Microsoft Graph's, translated to these
        // shapes) gets the same types.
        let hunt: HuntingResponse = serde_json::from_value(serde_json::json!({
            "Schema": [{"Name": "a", "Type": "Int64"}],
            "Results": [{"a": 1}]
        }))
        .unwrap();
        assert_eq!(hunt.results.get(), r#"[{"a":1}]"#);
    }
}
