//! The incident commands: `incidents-list`, `incident-get` and `incident-update`. Each turns its
//! arguments into a backend call and answers with the raw incidents as context and XSOAR's
//! readable table, whose columns playbooks and analysts know.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Outcome;
use crate::api::incidents::model::{
    Field, Incident, IncidentChanges, IncidentFields, allowed_determinations,
};
use crate::api::incidents::summary::IncidentSummary;
use crate::api::odata::UserOptions;
use crate::api::{ApiError, IncidentFilter, IncidentQuery, IncidentsBackend};
use crate::args::Args;
use crate::error::{ArgumentError, Error, ShownValue};
use crate::markdown::{TableOptions, table_to_markdown};
use crate::output::{Entry, Json, ResultItem};

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

/// `microsoft-365-defender-incidents-list`.
pub async fn list(backend: &mut impl IncidentsBackend, args: &Args) -> Result<Outcome, Error> {
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
    let table = table_to_markdown("Incidents:", &Value::Array(rows), &table_options());
    let raw = incidents
        .into_json()
        .map_err(|e| ApiError::Malformed(e.to_string()))?;
    Ok(entry(table, Json::from(raw)))
}

/// `microsoft-365-defender-incident-get`.
pub async fn get(backend: &mut impl IncidentsBackend, args: &Args) -> Result<Outcome, Error> {
    let id = args.incident_id("id", backend.api())?;
    let incident = backend.get_incident(&id).await?;
    Ok(single_incident(&format!("Incident No. {id}:"), &incident))
}

/// `microsoft-365-defender-incident-update`. `add_tags` and `remove_tags` change the incident's
/// current tags (read first), where `tags` replaces them all as the API does.
pub async fn update(backend: &mut impl IncidentsBackend, args: &Args) -> Result<Outcome, Error> {
    let id = args.incident_id("id", backend.api())?;
    let (classification, determination) = verdict(args)?;
    let add = non_empty_list(args, "add_tags");
    let remove = non_empty_list(args, "remove_tags");
    let mut tags = non_empty_list(args, "tags").map(<[String]>::to_vec);
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
        status: args.text("status").map(str::to_owned),
        // An empty `assigned_to` unassigns the incident.
        assigned_to: args.text("assigned_to").map(str::to_owned),
        classification,
        determination,
        tags,
        comment: args
            .text("comment")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    };
    let incident = backend.update_incident(&id, &changes).await?;
    Ok(single_incident(
        &format!("Updated incident No. {id}:"),
        &incident,
    ))
}

/// The list query the arguments ask for.
fn list_query(args: &Args) -> Result<IncidentQuery, Error> {
    let odata = args
        .json("odata")
        .map(|value| {
            UserOptions::from_json(value).map_err(|reason| ArgumentError::Invalid {
                name: "odata".to_owned(),
                value: ShownValue(value.to_string()),
                allowed: reason,
            })
        })
        .transpose()?;
    let filter = IncidentFilter {
        status: args.text("status").map(str::to_owned),
        assigned_to: args
            .text("assigned_to")
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        ..IncidentFilter::default()
    };
    Ok(IncidentQuery {
        filter,
        odata,
        limit: count(args, "limit")?,
        offset: count(args, "offset")?,
    })
}

/// A non-negative whole-number argument.
fn count(args: &Args, name: &str) -> Result<usize, ArgumentError> {
    let number = args.number(name).unwrap_or(0);
    usize::try_from(number).map_err(|_| ArgumentError::Invalid {
        name: name.to_owned(),
        value: ShownValue(number.to_string()),
        allowed: "Expected zero or a positive whole number.".to_owned(),
    })
}

/// A list argument, or none when it is empty: the XSOAR integration sent no tags for `""`.
fn non_empty_list<'a>(args: &'a Args, name: &str) -> Option<&'a [String]> {
    args.list(name).filter(|items| !items.is_empty())
}

/// `classification` and `determination`, checked against Microsoft's table of which
/// determinations go with which classification before anything is sent.
fn verdict(args: &Args) -> Result<(Option<String>, Option<String>), ArgumentError> {
    let classification = args.text("classification");
    let determination = args.text("determination");
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

fn table_options() -> TableOptions<'static> {
    TableOptions {
        headers: &COLUMNS,
        ..TableOptions::default()
    }
}

fn single_incident(title: &str, incident: &Incident) -> Outcome {
    let table = table_to_markdown(title, &readable_row(&incident.fields), &table_options());
    entry(table, Json::from(incident.raw().to_owned()))
}

/// One copy of the raw incidents serves both `Contents` and the context.
fn entry(table: String, raw: Json) -> Outcome {
    Outcome::single(ResultItem::Entry(
        Entry::note(table, raw.clone()).with_context(CONTEXT_PREFIX, CONTEXT_KEY, raw),
    ))
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
    let row = COLUMNS
        .iter()
        .zip(values)
        .map(|(column, value)| ((*column).to_owned(), value))
        .collect();
    Value::Object(row)
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
