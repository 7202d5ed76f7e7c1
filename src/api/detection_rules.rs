//! Custom detection rules on Microsoft Graph: `GET /security/rules/detectionRules[/{id}]`
//! (<https://learn.microsoft.com/graph/api/resources/security-detectionrule>). Rules travel as
//! Graph sent them; only the fields a table shows are read.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ApiError;
use super::graph::GraphApi;
use super::incidents::model::Field;
use super::paging::{Items, Listing, read_list};

const RULES: &str = "/v1.0/security/rules/detectionRules";

/// The `$top` of a page of rules; a page bound counts pages of this size.
pub const PAGE_SIZE: usize = 100;

const RULE_LIST: Items = Items {
    noun: "detection rules",
    advice: "try again later, or ask for fewer with `limit`",
};

/// A detection rule as Graph sent it, beside the fields a table shows.
#[derive(Debug)]
pub struct DetectionRule {
    pub raw: Box<RawValue>,
    pub fields: RuleFields,
}

impl DetectionRule {
    fn from_raw(raw: Box<RawValue>) -> Result<DetectionRule, ApiError> {
        let fields = serde_json::from_str(raw.get()).map_err(|e| {
            ApiError::Malformed(format!("a detection rule could not be read ({e})"))
        })?;
        Ok(DetectionRule { raw, fields })
    }
}

/// The fields of a rule that tables show, as Graph names them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleFields {
    pub id: String,
    #[serde(default)]
    pub display_name: Field<String>,
    #[serde(default)]
    pub is_enabled: Field<bool>,
    #[serde(default)]
    pub created_by: Field<String>,
    #[serde(default)]
    pub last_modified_date_time: Field<String>,
    #[serde(default)]
    pub schedule: Field<RuleSchedule>,
    #[serde(default)]
    pub last_run_details: Field<RuleRun>,
}

/// `schedule` of a rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSchedule {
    #[serde(default)]
    pub period: Field<String>,
}

/// `lastRunDetails` of a rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRun {
    #[serde(default)]
    pub last_run_date_time: Field<String>,
    #[serde(default)]
    pub status: Field<String>,
}

impl GraphApi<'_, '_> {
    /// Up to `limit` detection rules.
    pub async fn list_detection_rules(
        &mut self,
        limit: usize,
    ) -> Result<Vec<DetectionRule>, ApiError> {
        let mut rules = Vec::new();
        let listing = Listing {
            path: RULES,
            items: RULE_LIST,
            options: vec![("$top".to_owned(), limit.min(PAGE_SIZE).to_string())],
            limit,
            page_size: PAGE_SIZE,
            offset: 0,
            read_on: None,
        };
        read_list(&mut self.client, listing, |raw: Box<RawValue>| {
            let rule = DetectionRule::from_raw(raw)?;
            let id = rule.fields.id.clone();
            rules.push(rule);
            Ok(id)
        })
        .await?;
        Ok(rules)
    }

    /// Detection rule `id`.
    pub async fn get_detection_rule(&mut self, id: &str) -> Result<DetectionRule, ApiError> {
        let url = self.client.url_with(RULES, &[id])?;
        let raw: Box<RawValue> = self.client.get_json(url, &[]).await?;
        DetectionRule::from_raw(super::alerts::without_context(raw)?)
    }
}
