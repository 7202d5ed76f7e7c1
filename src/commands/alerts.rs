//! The alert commands: list, get, update and comment on Microsoft Graph's alerts
//! (`/security/alerts_v2`), and an incident's alerts on either API. Alerts go to the context as
//! the API sent them; the readable table shows the columns an analyst scans first.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::incidents;
use super::{CommandSpec, Outcome, declared, table, table_entry, table_row};
use crate::api::alerts::{AlertChanges, AlertFields, AlertFilter, AlertQuery};
use crate::api::incidents::model::Field;
use crate::api::{Api, IncidentsBackend};
use crate::args::{FromArgs, GivenArgs, ItemArgs, NumberRange, graph_enum_argument, user_options};
use crate::error::{ArgumentError, Error, ShownValue};
use crate::graph::enums::{AlertStatus, Classification, Determination, ServiceSource, Severity};
use crate::output::{Entry, Json, ResultItem};
use crate::time;

/// The alert commands.
pub(super) const COMMANDS: &[CommandSpec] = &[
    declared(LIST, alerts_list),
    declared(GET, alert_get),
    declared(UPDATE, alert_update),
    declared(COMMENT, alert_comment),
    declared(
        "microsoft-365-defender-incident-alerts-list",
        incident_alerts,
    ),
];

online_handlers! {
    alerts_list(args: ListArgs, _invocation, session) =>
        list(&mut Api::new(session, args.timeout), &args).await;
    alert_get(args: ItemArgs, _invocation, session) =>
        get(&mut Api::new(session, args.timeout), &args).await;
    alert_update(args: UpdateArgs, _invocation, session) =>
        update(&mut Api::new(session, args.timeout), &args).await;
    alert_comment(args: CommentArgs, _invocation, session) =>
        comment(&mut Api::new(session, args.timeout), &args).await;
    incident_alerts(args: incidents::GetArgs, _invocation, session) =>
        of_incident(&mut Api::new(session, args.timeout), &args).await;
}

const LIST: &str = "microsoft-365-defender-alerts-list";
const GET: &str = "microsoft-365-defender-alert-get";
const UPDATE: &str = "microsoft-365-defender-alert-update";
const COMMENT: &str = "microsoft-365-defender-alert-create-comment";

const CONTEXT_PREFIX: &str = "Microsoft365Defender.Alert";

/// The readable table's columns.
const COLUMNS: [&str; 10] = [
    "ID",
    "Title",
    "Severity",
    "Status",
    "Category",
    "Service source",
    "Detection source",
    "Incident ID",
    "Assigned to",
    "Created",
];

/// `limit` of `alerts-list`.
const LIST_LIMIT: NumberRange = NumberRange {
    min: 1,
    max: 10_000,
    unit: "alerts",
    negative_means: None,
};

graph_enum_argument!(
    /// `status` of the alert commands, as Graph spells it.
    pub AlertStatusArgument(AlertStatus) spelled graph_name: [New, InProgress, Resolved]
);

graph_enum_argument!(
    /// `severity` of `alerts-list`, as Graph spells it.
    pub AlertSeverityArgument(Severity) spelled graph_name: [Informational, Low, Medium, High]
);

graph_enum_argument!(
    /// `service_source` of `alerts-list`: the products that raise alerts, as Graph spells them.
    pub ServiceSourceArgument(ServiceSource) spelled graph_name: [
        MicrosoftDefenderForEndpoint,
        MicrosoftDefenderForIdentity,
        MicrosoftDefenderForCloudApps,
        MicrosoftDefenderForOffice365,
        Microsoft365Defender,
        AzureAdIdentityProtection,
        MicrosoftAppGovernance,
        DataLossPrevention,
        MicrosoftDefenderForCloud,
    ]
);

graph_enum_argument!(
    /// `classification` of the alert commands, as Graph spells it.
    pub AlertClassificationArgument(Classification) spelled graph_name: [
        Unknown,
        FalsePositive,
        TruePositive,
        InformationalExpectedActivity,
    ]
);

graph_enum_argument!(
    /// `determination` of the alert commands: Graph's metadata members, as Graph spells them.
    pub AlertDeterminationArgument(Determination) spelled graph_name: [
        Unknown,
        Apt,
        Malware,
        SecurityPersonnel,
        SecurityTesting,
        UnwantedSoftware,
        Other,
        MultiStagedAttack,
        CompromisedAccount,
        Phishing,
        MaliciousUserActivity,
        NotMalicious,
        NotEnoughDataToValidate,
        ConfirmedActivity,
        LineOfBusinessApplication,
    ]
);

/// The arguments of `alerts-list`.
pub struct ListArgs {
    pub status: Option<AlertStatusArgument>,
    pub severity: Option<AlertSeverityArgument>,
    pub service_source: Option<ServiceSourceArgument>,
    pub classification: Option<AlertClassificationArgument>,
    pub determination: Option<AlertDeterminationArgument>,
    pub assigned_to: Option<String>,
    pub created_after: Option<String>,
    pub limit: usize,
    pub odata: Option<Value>,
    pub timeout: Duration,
}

impl FromArgs for ListArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<ListArgs, ArgumentError> {
        Ok(ListArgs {
            status: args.choice("status")?,
            severity: args.choice("severity")?,
            service_source: args.choice("service_source")?,
            classification: args.choice("classification")?,
            determination: args.choice("determination")?,
            assigned_to: args.text("assigned_to")?,
            created_after: args.text("created_after")?,
            limit: args.count("limit", LIST_LIMIT)?.unwrap_or(50),
            odata: args.json("odata")?,
            timeout: args.timeout()?,
        })
    }
}

/// The arguments of `alert-update`.
pub struct UpdateArgs {
    pub id: String,
    pub status: Option<AlertStatusArgument>,
    pub classification: Option<AlertClassificationArgument>,
    pub determination: Option<AlertDeterminationArgument>,
    /// An empty `assigned_to` unassigns the alert.
    pub assigned_to: Option<String>,
    pub timeout: Duration,
}

impl FromArgs for UpdateArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<UpdateArgs, ArgumentError> {
        Ok(UpdateArgs {
            id: args.required_text("id")?,
            status: args.choice("status")?,
            classification: args.choice("classification")?,
            determination: args.choice("determination")?,
            assigned_to: args.text("assigned_to")?,
            timeout: args.timeout()?,
        })
    }
}

/// The arguments of `alert-create-comment`.
pub struct CommentArgs {
    pub id: String,
    pub comment: String,
    pub timeout: Duration,
}

impl FromArgs for CommentArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<CommentArgs, ArgumentError> {
        Ok(CommentArgs {
            id: args.required_text("id")?,
            comment: args.required_text("comment")?,
            timeout: args.timeout()?,
        })
    }
}

/// `microsoft-365-defender-alerts-list`.
pub async fn list(api: &mut Api<'_, '_>, args: &ListArgs) -> Result<Outcome, Error> {
    let graph = api.graph(LIST)?;
    let odata = args
        .odata
        .as_ref()
        .map(|value| user_options("odata", value))
        .transpose()?;
    let created_after = args
        .created_after
        .as_deref()
        .map(|text| {
            time::parse_point_in_time(text, Timestamp::now()).ok_or_else(|| {
                ArgumentError::Invalid {
                    name: "created_after".to_owned(),
                    value: ShownValue(text.to_owned()),
                    allowed:
                        "Expected an ISO 8601 time (2026-12-01T00:00:00Z) or a time ago (3 days)."
                            .to_owned(),
                }
            })
        })
        .transpose()?;
    let query = AlertQuery {
        filter: AlertFilter {
            status: args.status.map(|status| status.0),
            severity: args.severity.map(|severity| severity.0),
            service_source: args.service_source.map(|source| source.0),
            classification: args.classification.map(|classification| classification.0),
            determination: args.determination.map(|determination| determination.0),
            assigned_to: args.assigned_to.clone(),
            created_after,
        },
        odata,
        limit: args.limit,
    };
    let alerts = graph.list_alerts(&query).await?;
    if alerts.fields.is_empty() {
        return Ok(Outcome::single(ResultItem::Entry(Entry::note(
            "No alerts found",
            json!([]),
        ))));
    }
    let rows = alerts.fields.iter().map(graph_row).collect();
    let raw = Json::array_of(alerts.raw.iter().map(|raw| &**raw));
    Ok(entry("Alerts:", rows, raw, "id"))
}

/// `microsoft-365-defender-alert-get`.
pub async fn get(api: &mut Api<'_, '_>, args: &ItemArgs) -> Result<Outcome, Error> {
    let alert = api.graph(GET)?.get_alert(&args.id).await?;
    Ok(entry(
        &format!("Alert {}:", args.id),
        vec![graph_row(&alert.fields)],
        Json::from(alert.raw().to_owned()),
        "id",
    ))
}

/// `microsoft-365-defender-alert-update`: one PATCH with only the given fields.
pub async fn update(api: &mut Api<'_, '_>, args: &UpdateArgs) -> Result<Outcome, Error> {
    let graph = api.graph(UPDATE)?;
    let changes = AlertChanges {
        status: args.status.map(|status| status.0),
        classification: args.classification.map(|classification| classification.0),
        determination: args.determination.map(|determination| determination.0),
        assigned_to: args.assigned_to.clone(),
    };
    if changes.is_empty() {
        return Err(ArgumentError::NothingToChange(
            "status, classification, determination or assigned_to",
        )
        .into());
    }
    let alert = graph.update_alert(&args.id, &changes).await?;
    Ok(entry(
        &format!("Updated alert {}:", args.id),
        vec![graph_row(&alert.fields)],
        Json::from(alert.raw().to_owned()),
        "id",
    ))
}

/// `microsoft-365-defender-alert-create-comment`.
pub async fn comment(api: &mut Api<'_, '_>, args: &CommentArgs) -> Result<Outcome, Error> {
    let comments = api
        .graph(COMMENT)?
        .comment_alert(&args.id, &args.comment)
        .await?;
    const COMMENT_COLUMNS: [&str; 3] = ["Comment", "Created by", "Created"];
    let rows: Vec<Value> = comments
        .iter()
        .map(|comment| {
            let field = |name| comment.get(name).cloned().unwrap_or(Value::Null);
            table_row(
                &COMMENT_COLUMNS,
                [
                    field("comment"),
                    field("createdByDisplayName"),
                    field("createdDateTime"),
                ],
            )
        })
        .collect();
    let title = format!("Comments of alert {}:", args.id);
    let context = json!({"id": args.id, "comments": comments});
    Ok(table_entry(
        table(&title, &COMMENT_COLUMNS, &Value::Array(rows)),
        Json::from(context),
        CONTEXT_PREFIX,
        "id",
    ))
}

/// `microsoft-365-defender-incident-alerts-list`: the incident's alerts as the configured API
/// sends them (Graph's alerts with `id`; the legacy API's with `alertId`).
pub async fn of_incident(
    api: &mut Api<'_, '_>,
    args: &incidents::GetArgs,
) -> Result<Outcome, Error> {
    let id = args.id.for_api(api.api())?;
    let (alerts, key) = match api {
        Api::Graph(graph) => (graph.incident_alerts(&id).await?, "id"),
        Api::Legacy(_) => {
            let incident = api.get_incident(&id).await?.to_object();
            let alerts = match incident.get("alerts") {
                Some(Value::Array(alerts)) => alerts.clone(),
                _ => Vec::new(),
            };
            (alerts, "alertId")
        }
    };
    if alerts.is_empty() {
        return Ok(Outcome::single(ResultItem::Entry(Entry::note(
            format!("No alerts found in incident {id}"),
            json!([]),
        ))));
    }
    let rows = alerts.iter().map(any_row).collect();
    Ok(entry(
        &format!("Alerts of incident {id}:"),
        rows,
        Json::from(Value::Array(alerts)),
        key,
    ))
}

fn entry(title: &str, rows: Vec<Value>, raw: Json, key: &str) -> Outcome {
    table_entry(
        table(title, &COLUMNS, &Value::Array(rows)),
        raw,
        CONTEXT_PREFIX,
        key,
    )
}

/// A table row of a Graph alert.
fn graph_row(alert: &AlertFields) -> Value {
    let text = |field: &Field<String>| field.get().map_or(Value::Null, |text| json!(text));
    row([
        json!(alert.id),
        text(&alert.title),
        text(&alert.severity),
        text(&alert.status),
        text(&alert.category),
        text(&alert.service_source),
        text(&alert.detection_source),
        text(&alert.incident_id),
        text(&alert.assigned_to),
        text(&alert.created_date_time),
    ])
}

/// A table row of an alert in either API's shape (Graph's names first, the legacy API's
/// after).
fn any_row(alert: &Value) -> Value {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| alert.get(*name).filter(|value| !value.is_null()))
            .cloned()
            .unwrap_or(Value::Null)
    };
    row([
        field(&["id", "alertId"]),
        field(&["title"]),
        field(&["severity"]),
        field(&["status"]),
        field(&["category"]),
        field(&["serviceSource"]),
        field(&["detectionSource"]),
        field(&["incidentId"]),
        field(&["assignedTo"]),
        field(&["createdDateTime", "creationTime"]),
    ])
}

fn row(values: [Value; 10]) -> Value {
    table_row(&COLUMNS, values)
}
