//! The custom detection rule commands (Microsoft Graph's `/security/rules/detectionRules`):
//! rules go to the context as Graph sent them; the table shows what an analyst checks first.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CommandSpec, Outcome, declared, table, table_entry, table_row};
use crate::api::Api;
use crate::api::detection_rules::{DetectionRule, RuleFields};
use crate::api::incidents::model::Field;
use crate::args::{FromArgs, GivenArgs, ItemArgs, NumberRange};
use crate::error::{ArgumentError, Error};
use crate::output::{Entry, Json, ResultItem};

/// The detection rule commands.
pub(super) const COMMANDS: &[CommandSpec] = &[declared(LIST, rules_list), declared(GET, rule_get)];

online_handlers! {
    rules_list(args: ListArgs, _invocation, session) =>
        list(&mut Api::new(session, args.timeout), &args).await;
    rule_get(args: ItemArgs, _invocation, session) =>
        get(&mut Api::new(session, args.timeout), &args).await;
}

const LIST: &str = "microsoft-365-defender-detection-rules-list";
const GET: &str = "microsoft-365-defender-detection-rule-get";

const CONTEXT_PREFIX: &str = "Microsoft365Defender.DetectionRule";

const COLUMNS: [&str; 8] = [
    "ID",
    "Name",
    "Enabled",
    "Period",
    "Last run",
    "Last run status",
    "Created by",
    "Modified",
];

/// `limit` of `detection-rules-list`.
const LIST_LIMIT: NumberRange = NumberRange {
    min: 1,
    max: 10_000,
    unit: "rules",
    negative_means: None,
};

/// The arguments of `detection-rules-list`.
pub struct ListArgs {
    pub limit: usize,
    pub timeout: Duration,
}

impl FromArgs for ListArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<ListArgs, ArgumentError> {
        Ok(ListArgs {
            limit: args.count("limit", LIST_LIMIT)?.unwrap_or(50),
            timeout: args.timeout()?,
        })
    }
}

/// `microsoft-365-defender-detection-rules-list`.
pub async fn list(api: &mut Api<'_, '_>, args: &ListArgs) -> Result<Outcome, Error> {
    let rules = api.graph(LIST)?.list_detection_rules(args.limit).await?;
    if rules.is_empty() {
        return Ok(Outcome::single(ResultItem::Entry(Entry::note(
            "No detection rules found",
            json!([]),
        ))));
    }
    let raw = Json::array_of(rules.iter().map(|rule| &*rule.raw));
    Ok(entry("Detection rules:", &rules, raw))
}

/// `microsoft-365-defender-detection-rule-get`.
pub async fn get(api: &mut Api<'_, '_>, args: &ItemArgs) -> Result<Outcome, Error> {
    let rule = api.graph(GET)?.get_detection_rule(&args.id).await?;
    let raw = Json::from(rule.raw.clone());
    Ok(entry(&format!("Detection rule {}:", args.id), &[rule], raw))
}

fn entry(title: &str, rules: &[DetectionRule], raw: Json) -> Outcome {
    let rows = rules.iter().map(|rule| row(&rule.fields)).collect();
    table_entry(
        table(title, &COLUMNS, &Value::Array(rows)),
        raw,
        CONTEXT_PREFIX,
        "id",
    )
}

fn row(rule: &RuleFields) -> Value {
    let text = |field: &Field<String>| field.get().map_or(Value::Null, |text| json!(text));
    let schedule = rule.schedule.get();
    let run = rule.last_run_details.get();
    let values = [
        json!(rule.id),
        text(&rule.display_name),
        rule.is_enabled
            .get()
            .map_or(Value::Null, |enabled| json!(enabled)),
        schedule.map_or(Value::Null, |schedule| text(&schedule.period)),
        run.map_or(Value::Null, |run| text(&run.last_run_date_time)),
        run.map_or(Value::Null, |run| text(&run.status)),
        text(&rule.created_by),
        text(&rule.last_modified_date_time),
    ];
    table_row(&COLUMNS, values)
}
