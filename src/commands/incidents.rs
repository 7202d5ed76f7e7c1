//! The incident commands: `incidents-list`, `incident-get` and `incident-update`. Each turns its
//! arguments into a backend call and answers with the raw incidents as context and XSOAR's
//! readable table, whose columns playbooks and analysts know.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::{CommandSpec, Outcome, declared, table, table_entry, table_row};
use crate::api::incidents::model::{
    Field, Incident, IncidentChanges, IncidentFields, allowed_determinations,
};
use crate::api::incidents::summary::IncidentSummary;
use crate::api::{Api, ApiError, IncidentFilter, IncidentQuery, IncidentsBackend};
use crate::args::{
    Choice, FromArgs, GivenArgs, IncidentIdArgument, NumberRange, graph_enum_argument, user_options,
};
use crate::error::{ArgumentError, Error, ShownValue};
use crate::graph::enums::{Classification, Determination, IncidentStatus};
use crate::output::{Entry, Json, ResultItem};

/// The incident commands.
pub(super) const COMMANDS: &[CommandSpec] = &[
    declared("microsoft-365-defender-incidents-list", incidents_list),
    declared("microsoft-365-defender-incident-get", incident_get),
    declared("microsoft-365-defender-incident-update", incident_update),
];

online_handlers! {
    incidents_list(args: ListArgs, _invocation, session) =>
        list(&mut Api::new(session, args.timeout), &args).await;
    incident_get(args: GetArgs, _invocation, session) =>
        get(&mut Api::new(session, args.timeout), &args).await;
    incident_update(args: UpdateArgs, _invocation, session) =>
        update(&mut Api::new(session, args.timeout), &args).await;
}

const CONTEXT_PREFIX: &str = "Microsoft365Defender.Incident";
const CONTEXT_KEY: &str = "incidentId";

/// The readable table's columns, as the XSOAR integration (pack 4.6) names and orders them.
const COLUMNS: [&str; 16] = [
    "Incident name",
    "Tags",
    "Severity",
    "Incident ID",
    "Categories",
    "Impacted entities",
    "Impacted mailboxes",
    "Active alerts",
    "Service sources",
    "Detection sources",
    "First activity",
    "Last activity",
    "Status",
    "Assigned to",
    "Classification",
    "Device groups",
];

/// The arguments of `incidents-list`.
pub struct ListArgs {
    pub status: Option<StatusArgument>,
    pub assigned_to: Option<String>,
    pub limit: usize,
    pub offset: usize,
    pub timeout: Duration,
    pub odata: Option<Value>,
}

impl FromArgs for ListArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<ListArgs, ArgumentError> {
        Ok(ListArgs {
            status: args.choice("status")?,
            assigned_to: args.text("assigned_to")?,
            limit: args.count("limit", LIST_LIMIT)?.unwrap_or(0),
            offset: args.count("offset", LIST_OFFSET)?.unwrap_or(0),
            timeout: args.timeout()?,
            odata: args.json("odata")?,
        })
    }
}

/// `limit` of `incidents-list`: 100 pages of the API's 100, more than a war-room table or a
/// playbook loop can use.
const LIST_LIMIT: NumberRange = NumberRange {
    min: 1,
    max: 10_000,
    unit: "incidents",
    negative_means: None,
};

/// `offset` of `incidents-list`.
const LIST_OFFSET: NumberRange = NumberRange {
    min: 0,
    max: 1_000_000,
    unit: "incidents",
    negative_means: None,
};

/// The arguments of `incident-get`.
pub struct GetArgs {
    pub id: IncidentIdArgument,
    pub timeout: Duration,
}

impl FromArgs for GetArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<GetArgs, ArgumentError> {
        Ok(GetArgs {
            id: args.incident_id("id")?,
            timeout: args.timeout()?,
        })
    }
}

/// The arguments of `incident-update`.
pub struct UpdateArgs {
    pub id: IncidentIdArgument,
    pub status: Option<StatusArgument>,
    /// An empty `assigned_to` unassigns the incident.
    pub assigned_to: Option<String>,
    pub classification: Option<ClassificationArgument>,
    pub determination: Option<DeterminationArgument>,
    pub comment: Option<String>,
    pub tags: Vec<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    pub timeout: Duration,
}

impl FromArgs for UpdateArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<UpdateArgs, ArgumentError> {
        Ok(UpdateArgs {
            id: args.incident_id("id")?,
            status: args.choice("status")?,
            assigned_to: args.text("assigned_to")?,
            classification: args.choice("classification")?,
            determination: args.choice("determination")?,
            comment: args.text("comment")?,
            tags: args.list("tags")?,
            add_tags: args.list("add_tags")?,
            remove_tags: args.list("remove_tags")?,
            timeout: args.timeout()?,
        })
    }
}

graph_enum_argument!(
    /// `status` of the incident commands: the statuses the legacy API filters on and sets, as
    /// it spells them.
    pub StatusArgument(IncidentStatus) spelled legacy_name: [Active, InProgress, Resolved, Redirected]
);

graph_enum_argument!(
    /// `classification` of `incident-update`, as the legacy API spells it.
    pub ClassificationArgument(Classification) spelled legacy_name: [
        Unknown,
        FalsePositive,
        TruePositive,
        InformationalExpectedActivity,
    ]
);

graph_enum_argument!(
    /// `determination` of `incident-update`: those that belong to some classification, as the
    /// legacy API spells them (`NoEnoughDataToValidate`, `NotAvailable` for Graph's `unknown`),
    /// in the order of Microsoft's table of classifications.
    pub DeterminationArgument(Determination) spelled legacy_name: [
        MultiStagedAttack,
        MaliciousUserActivity,
        Malware,
        Phishing,
        CompromisedAccount,
        UnwantedSoftware,
        Other,
        SecurityTesting,
        LineOfBusinessApplication,
        ConfirmedActivity,
        NotMalicious,
        NotEnoughDataToValidate,
        Unknown,
    ]
);

/// `microsoft-365-defender-incidents-list`.
pub async fn list(backend: &mut impl IncidentsBackend, args: &ListArgs) -> Result<Outcome, Error> {
    let query = list_query(args)?;
    let incidents = backend.list_incidents(&query).await?;
    if incidents.is_empty() {
        // XSOAR's `CommandResults` puts no context key for an empty list.
        return Ok(Outcome::single(ResultItem::Entry(Entry::note(
            "No incidents found",
            json!([]),
        ))));
    }
    let rows: Vec<Value> = incidents.fields().iter().map(readable_row).collect();
    let table = table("Incidents:", &COLUMNS, &Value::Array(rows));
    let raw = incidents
        .into_json()
        .map_err(|e| ApiError::Malformed(e.to_string()))?;
    Ok(table_entry(
        table,
        Json::from(raw),
        CONTEXT_PREFIX,
        CONTEXT_KEY,
    ))
}

/// `microsoft-365-defender-incident-get`.
pub async fn get(backend: &mut impl IncidentsBackend, args: &GetArgs) -> Result<Outcome, Error> {
    let id = args.id.for_api(backend.api())?;
    let incident = backend.get_incident(&id).await?;
    Ok(single_incident(&format!("Incident No. {id}:"), &incident))
}

/// `microsoft-365-defender-incident-update`. `add_tags` and `remove_tags` change the incident's
/// current tags (read first), where `tags` replaces them all as the API does.
pub async fn update(
    backend: &mut impl IncidentsBackend,
    args: &UpdateArgs,
) -> Result<Outcome, Error> {
    let id = args.id.for_api(backend.api())?;
    let (classification, determination) = verdict(args)?;
    let add = non_empty(&args.add_tags);
    let remove = non_empty(&args.remove_tags);
    let mut tags = non_empty(&args.tags).map(<[String]>::to_vec);
    if add.is_some() || remove.is_some() {
        let base = match tags {
            Some(tags) => tags,
            None => backend.get_incident(&id).await?.tag_list().to_vec(),
        };
        tags = Some(changed_tags(
            base,
            add.unwrap_or_default(),
            remove.unwrap_or_default(),
        ));
    }
    let changes = IncidentChanges {
        status: args.status.map(|status| status.declared().to_owned()),
        // An empty `assigned_to` unassigns the incident.
        assigned_to: args.assigned_to.clone(),
        classification,
        determination,
        tags,
        comment: args.comment.clone().filter(|c| !c.is_empty()),
    };
    let incident = backend.update_incident(&id, &changes).await?;
    Ok(single_incident(
        &format!("Updated incident No. {id}:"),
        &incident,
    ))
}

/// The list query the arguments ask for.
fn list_query(args: &ListArgs) -> Result<IncidentQuery, Error> {
    let odata = args
        .odata
        .as_ref()
        .map(|value| user_options("odata", value))
        .transpose()?;
    let filter = IncidentFilter {
        status: args.status.map(|status| status.declared().to_owned()),
        assigned_to: args.assigned_to.clone().filter(|a| !a.is_empty()),
        ..IncidentFilter::default()
    };
    Ok(IncidentQuery {
        filter,
        odata,
        limit: args.limit,
        offset: args.offset,
    })
}

/// A list argument, or none when it is empty: the XSOAR integration sent no tags for `""`.
fn non_empty(list: &[String]) -> Option<&[String]> {
    Some(list).filter(|items| !items.is_empty())
}

/// `classification` and `determination`, checked against Microsoft's table of which
/// determinations go with which classification before anything is sent.
fn verdict(args: &UpdateArgs) -> Result<(Option<String>, Option<String>), ArgumentError> {
    let classification = args.classification.map(Choice::declared);
    let determination = args.determination.map(Choice::declared);
    let invalid = |allowed: String| ArgumentError::Invalid {
        name: "determination".to_owned(),
        value: ShownValue(determination.unwrap_or_default().to_owned()),
        allowed,
    };
    match (classification, determination) {
        (Some(classification), Some(determination)) => {
            let allowed = allowed_determinations(classification).unwrap_or_default();
            if !allowed.contains(&determination) {
                return Err(invalid(format!(
                    "With classification {classification} the allowed values are: {}.",
                    allowed.join(", ")
                )));
            }
        }
        (None, Some(_)) => {
            return Err(invalid(format!(
                "A determination must come with its classification; give `classification` too. Allowed pairs: {}.",
                crate::api::incidents::model::verdict_table()
            )));
        }
        _ => {}
    }
    Ok((
        classification.map(str::to_owned),
        determination.map(str::to_owned),
    ))
}

/// `current` plus `add`, minus `remove`, keeping the order of the tags and dropping repeats.
fn changed_tags(current: Vec<String>, add: &[String], remove: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(current.len() + add.len());
    for tag in current.into_iter().chain(add.iter().cloned()) {
        if !tags.contains(&tag) && !remove.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn single_incident(title: &str, incident: &Incident) -> Outcome {
    let table = table(title, &COLUMNS, &readable_row(&incident.fields));
    let raw = Json::from(incident.raw().to_owned());
    table_entry(table, raw, CONTEXT_PREFIX, CONTEXT_KEY)
}

/// One row of the readable table, computed as the XSOAR integration's
/// `convert_incident_to_readable` does, except that columns it filled from a Python set (and so
/// in a different order on every run) are sorted here.
fn readable_row(fields: &IncidentFields) -> Value {
    let summary = IncidentSummary::of(fields);
    // Text values, each once, sorted, joined; `null` and empty ones left out.
    let sorted_set = |values: &mut dyn Iterator<Item = &String>| -> Value {
        let set: BTreeSet<&str> = values
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .collect();
        Value::String(set.into_iter().collect::<Vec<_>>().join(", "))
    };
    let texts = |fields: &[&Field<String>]| -> Value {
        sorted_set(&mut fields.iter().filter_map(|field| field.get()))
    };
    let text = |field: &Field<String>| -> Value {
        field
            .get()
            .map_or(Value::Null, |s| Value::String(s.clone()))
    };
    // Missing keys read as XSOAR's defaults; `null` stays empty (Python's `dict.get`).
    let or_default = |field: &Field<String>, default: &str| -> Value {
        if field.is_absent() {
            Value::String(default.to_owned())
        } else {
            text(field)
        }
    };
    let mailboxes: Vec<&str> = summary
        .mailboxes
        .iter()
        .filter_map(|mailbox| mailbox.mailbox_address.get().map(String::as_str))
        .collect();
    let values = [
        text(&fields.incident_name),
        Value::String(
            fields
                .tags
                .get()
                .map_or(String::new(), |tags| tags.join(", ")),
        ),
        text(&fields.severity),
        Value::from(&fields.incident_id),
        texts(&summary.categories),
        texts(&summary.user_domains),
        Value::String(mailboxes.join(", ")),
        Value::String(summary.active_alerts_text()),
        texts(&summary.service_sources),
        texts(&summary.detection_sources),
        Value::String(summary.first_activity.unwrap_or_default().to_owned()),
        Value::String(summary.last_activity.unwrap_or_default().to_owned()),
        text(&fields.status),
        or_default(&fields.assigned_to, "Unassigned"),
        or_default(&fields.classification, "Not set"),
        sorted_set(
            &mut summary
                .devices
                .iter()
                .filter_map(|device| device.device_dns_name.get()),
        ),
    ];
    table_row(&COLUMNS, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_added_and_removed_keeping_the_others() {
        let current = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(
            changed_tags(current, &["d".into(), "a".into()], &["b".into()]),
            ["a", "c", "d"]
        );
    }
}
