//! The mirroring commands run by the real binary against the emulator: what changed, what to
//! bring in (comments, close, reopen), what to write out, and failures in the shapes XSOAR's
//! mirroring acts on.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::emulated::{START, Tenant};
use crate::support::Run;

const TO_DEFENDER: &str = "CommentToMicrosoft365Defender";
const FROM_DEFENDER: &str = "CommentFromMicrosoft365Defender";

fn start() -> Timestamp {
    START.parse().unwrap()
}

fn iso(time: Timestamp) -> String {
    m365_defender::time::format(time)
}

fn mirror_params(tenant: &Tenant, close_incident: bool) -> Value {
    tenant.params(json!({
        "mirror_direction": "Incoming And Outgoing",
        "close_incident": close_incident,
        "close_out": true,
        "comment_tag": TO_DEFENDER,
        "comment_tag_from_microsoft365defender": FROM_DEFENDER,
    }))
}

fn remote_data(tenant: &mut Tenant, params: &Value, id: u64, last_update: Timestamp) -> Run {
    let result = tenant.run(json!({
        "command": "get-remote-data",
        "args": {"id": id.to_string(), "lastUpdate": iso(last_update)},
        "params": params,
    }));
    assert_eq!(result.code, 0, "{}", result.document);
    result
}

/// The entries after the mirrored incident.
fn entries(result: &Run) -> Vec<Value> {
    result.document["results"].as_array().unwrap()[1..].to_vec()
}

fn contents(entries: &[Value]) -> Vec<Value> {
    entries
        .iter()
        .map(|entry| entry["Contents"].clone())
        .collect()
}

/// The PATCH bodies the emulator received, parsed.
fn patches(tenant: &Tenant) -> Vec<Value> {
    tenant
        .take_requests()
        .iter()
        .filter(|request| request["method"] == "PATCH")
        .map(|request| serde_json::from_str(request["body"].as_str().unwrap()).unwrap())
        .collect()
}

fn new_active_incident(tenant: &Tenant) -> u64 {
    tenant.add_incidents(
        json!({"created_time": iso(start()), "status": "Active", "assigned_to": null}),
    )[0]
}

#[test]
fn modified_ids_are_listed_as_strings_across_pages() {
    let mut tenant = Tenant::start(20);
    let params = mirror_params(&tenant, true);
    tenant.advance_clock(60);
    tenant.portal_change(1003, json!({"tags": ["Reviewed"]}));
    tenant.portal_change(1007, json!({"comment": "Escalated to tier 2"}));
    // New incidents count as changed too; 120 of them make the list two pages long.
    let added = tenant.add_incidents(json!({"count": 120}));
    tenant.take_requests();
    for last_update in [json!(START), json!(start().as_second().to_string())] {
        let result = tenant.run(json!({
            "command": "get-modified-remote-data",
            "args": {"lastUpdate": last_update},
            "params": params,
        }));
        assert_eq!(result.code, 0, "{}", result.document);
        let entry = &result.document["results"][0];
        assert_eq!(entry["Type"], 1);
        assert_eq!(entry["ContentsFormat"], "json");
        let ids: Vec<&str> = entry["Contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().expect("ids are strings"))
            .collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "each id once");
        let expected: BTreeSet<String> = added
            .iter()
            .chain(&[1003, 1007])
            .map(|id| id.to_string())
            .collect();
        assert_eq!(
            unique,
            expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
        );
        let lists: Vec<Value> = tenant
            .take_requests()
            .into_iter()
            .filter(|request| request["path"] == "/api/incidents")
            .collect();
        assert_eq!(lists.len(), 2, "two pages");
        assert!(
            lists[0]["query"]
                .as_str()
                .unwrap()
                .contains("lastUpdateTime+gt+2026-01-15T12%3A00%3A00Z")
        );
    }
}

#[test]
fn remote_data_brings_new_comments_and_closes_and_reopens_once() {
    let mut tenant = Tenant::start(0);
    let params = mirror_params(&tenant, true);
    let id = new_active_incident(&tenant);
    tenant.advance_clock(60);
    tenant.portal_change(id, json!({"comment": "Checked the sign-in logs"}));
    let written = tenant.run(json!({
        "command": "update-remote-system",
        "args": {
            "remoteId": id.to_string(), "incidentChanged": false, "status": 1, "data": {}, "delta": {},
            "entries": [{"id": "1@7", "type": 1, "format": "text", "user": "admin", "contents": "Looks benign", "tags": [TO_DEFENDER]}]
        },
        "params": params,
    }));
    assert_eq!(written.code, 0, "{}", written.document);

    let result = remote_data(&mut tenant, &params, id, start());
    let mirrored = &result.document["results"][0];
    assert_eq!(mirrored["incidentId"], id);
    assert!(mirrored.get("@odata.context").is_none());
    for field in [
        "Categories",
        "Active alerts",
        "Devices",
        "Mailboxes",
        "comments",
    ] {
        assert!(mirrored.get(field).is_some(), "{field}");
    }
    // One note: the analyst's comment. Ours (with the marker) does not come back.
    let notes = entries(&result);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0]["Type"], 1);
    assert_eq!(notes[0]["ContentsFormat"], "html");
    assert_eq!(notes[0]["Note"], true);
    assert_eq!(notes[0]["Tags"], json!([FROM_DEFENDER]));
    assert_eq!(
        notes[0]["Contents"],
        json!(
            "Created By: secops.lead@contoso.com\nCreated On: 2026-01-15T12:01:00Z\nChecked the sign-in logs"
        )
    );
    assert_eq!(
        notes[0]["EntryContext"]["comments"]["comment"],
        "Checked the sign-in logs"
    );
    // Comments up to lastUpdate were brought in before.
    let later = remote_data(
        &mut tenant,
        &params,
        id,
        start() + SignedDuration::from_secs(60),
    );
    assert!(entries(&later).is_empty());

    // Resolved in Defender: one close entry, with XSOAR's reason for the classification.
    tenant.advance_clock(60);
    let resolved_at = start() + SignedDuration::from_secs(120);
    tenant.portal_change(
        id,
        json!({"status": "Resolved", "classification": "FalsePositive", "determination": "NotMalicious"}),
    );
    let result = remote_data(
        &mut tenant,
        &params,
        id,
        resolved_at - SignedDuration::from_secs(1),
    );
    assert_eq!(
        contents(&entries(&result)),
        [json!({
            "dbotIncidentClose": true,
            "closeReason": "False Positive",
            "closeNotes": "Resolved in Microsoft 365 Defender as FalsePositive (NotMalicious)."
        })]
    );
    assert_eq!(entries(&result)[0]["ContentsFormat"], "json");
    // A later change (a tag) of the resolved incident does not close it again.
    tenant.advance_clock(60);
    tenant.portal_change(id, json!({"tags": ["Reviewed"]}));
    let result = remote_data(&mut tenant, &params, id, resolved_at);
    assert!(entries(&result).is_empty(), "{:#?}", entries(&result));

    // Reactivated: one reopen entry, then nothing.
    tenant.advance_clock(60);
    tenant.portal_change(id, json!({"status": "Active"}));
    let result = remote_data(&mut tenant, &params, id, resolved_at);
    assert_eq!(
        contents(&entries(&result)),
        [json!({"dbotIncidentReopen": true})]
    );
    let result = remote_data(&mut tenant, &params, id, resolved_at);
    assert!(entries(&result).is_empty());

    // Without close_incident, a resolution brings no close entry.
    let quiet = mirror_params(&tenant, false);
    tenant.portal_change(id, json!({"status": "Resolved"}));
    let result = remote_data(&mut tenant, &quiet, id, resolved_at);
    assert!(entries(&result).is_empty());
}

#[test]
fn update_remote_system_writes_fields_once_and_each_tagged_entry_as_a_comment() {
    let mut tenant = Tenant::start(0);
    let params = mirror_params(&tenant, true);
    let id = new_active_incident(&tenant);
    tenant.take_requests();
    // XSOAR closes the incident as a false positive (recording 16).
    let result = tenant.run(json!({
        "command": "update-remote-system",
        "args": {
            "remoteId": id.to_string(),
            "incidentChanged": true,
            "status": 2,
            "data": {"id": "42", "name": format!("Microsoft 365 Defender {id}")},
            "delta": {"closeReason": "FalsePositive", "closeNotes": "benign test", "closingUserId": "admin", "tags": "fp,closed"},
            "entries": [
                {"id": "7@42", "type": 1, "format": "markdown", "user": "admin", "contents": "Closing as false positive", "tags": [TO_DEFENDER]},
                {"id": "8@42", "type": 1, "format": "text", "user": "admin", "contents": "internal note", "tags": []}
            ]
        },
        "params": params,
    }));
    assert_eq!(result.code, 0, "{}", result.document);
    assert_eq!(result.document["results"], json!([id.to_string()]));
    assert_eq!(
        patches(&tenant),
        [
            json!({"status": "Resolved", "classification": "FalsePositive", "determination": "Other", "tags": ["fp", "closed"]}),
            json!({"comment": "(admin): Closing as false positive\n\n Mirrored from Cortex XSOAR"}),
        ]
    );
    // Mirroring in does not echo the close nor the comment back.
    let echo = remote_data(&mut tenant, &params, id, start());
    assert_eq!(echo.document["results"][0]["status"], "Resolved");
    assert!(entries(&echo).is_empty(), "{:#?}", entries(&echo));

    // Reopened in XSOAR: Defender's incident becomes active again, with no reopen echo.
    let reopened = tenant.run(json!({
        "command": "update-remote-system",
        "args": {
            "remoteId": id.to_string(), "incidentChanged": true, "status": 1, "data": {}, "entries": [],
            "delta": {"closeReason": "", "closeNotes": "", "closingUserId": ""}
        },
        "params": params,
    }));
    assert_eq!(reopened.code, 0, "{}", reopened.document);
    assert_eq!(patches(&tenant), [json!({"status": "Active"})]);
    let echo = remote_data(&mut tenant, &params, id, start());
    assert!(entries(&echo).is_empty(), "{:#?}", entries(&echo));

    // Only entries changed: no field PATCH.
    let comment_only = tenant.run(json!({
        "command": "update-remote-system",
        "args": {
            "remoteId": id.to_string(), "incidentChanged": false, "status": 1,
            "delta": {"assignedTo": "someone@contoso.com"},
            "entries": [{"id": "9@42", "type": 1, "format": "html", "user": "", "contents": "<b>done</b>", "tags": [TO_DEFENDER]}]
        },
        "params": params,
    }));
    assert_eq!(comment_only.code, 0, "{}", comment_only.document);
    assert_eq!(
        patches(&tenant),
        [
            json!({"comment": "(dbot): <br/><br/>[code]<b>done</b> <br/><br/>[/code] Mirrored from Cortex XSOAR"})
        ]
    );
}

#[test]
fn failures_take_the_shapes_xsoar_acts_on() {
    let mut tenant = Tenant::start(5);
    let params = mirror_params(&tenant, true);
    // An incident that cannot be read: the mirrored object says why, the cycle goes on.
    let missing = tenant.run(json!({
        "command": "get-remote-data",
        "args": {"id": "999999", "lastUpdate": START},
        "params": params,
    }));
    assert_eq!(missing.code, 0, "{}", missing.document);
    let object = &missing.document["results"][0];
    assert_eq!(object["incidentId"], 999999);
    assert!(
        object["in_mirror_error"]
            .as_str()
            .unwrap()
            .contains("[404]"),
        "{object}"
    );
    // Throttled beyond the retries: "API rate limit", so XSOAR resumes from this incident.
    tenant.control(
        "POST",
        "/_emulator/faults",
        json!({"method": "GET", "path": "/api/incidents/1001", "status": 429, "retry_after": 0, "times": 10}),
    );
    let throttled = tenant.run(json!({
        "command": "get-remote-data",
        "args": {"id": "1001", "lastUpdate": START},
        "params": params,
    }));
    throttled.assert_failed(1, "API rate limit");
    tenant.clear_faults();
    // The changed ids cannot be listed: "skip update", so XSOAR skips this cycle.
    tenant.fail_after("/api/incidents", 0, 503);
    let skipped = tenant.run(json!({
        "command": "get-modified-remote-data",
        "args": {"lastUpdate": START},
        "params": params,
    }));
    skipped.assert_failed(1, "skip update - ");
    tenant.clear_faults();
    // Writing to an incident that does not exist fails plainly.
    let failed = tenant.run(json!({
        "command": "update-remote-system",
        "args": {"remoteId": "999999", "incidentChanged": true, "status": 1, "delta": {"tags": "x"}},
        "params": params,
    }));
    failed.assert_failed(1, "[404]");
}

#[test]
fn custom_close_reason_mappings_are_applied_by_the_mirror_both_ways() {
    let mut tenant = Tenant::start(0);
    let mut params = mirror_params(&tenant, true);
    for (name, value) in [
        ("custom_xsoar_to_defender_close_reason", json!("true")),
        (
            "custom_xsoar_to_defender_close_reason_mapping",
            json!("Resolved=TruePositive-Malware,Duplicate=Unknown-Malware"),
        ),
        ("custom_defender_to_xsoar_close_reason", json!(true)),
        (
            "custom_defender_to_xsoar_close_reason_mapping",
            json!("TruePositive=Duplicate,Not a classification=Resolved"),
        ),
    ] {
        params[name] = value;
    }
    let id = new_active_incident(&tenant);
    tenant.take_requests();
    let closed = tenant.run(json!({
        "command": "update-remote-system",
        "args": {
            "remoteId": id.to_string(), "incidentChanged": true, "status": 2, "entries": [],
            "delta": {"closeReason": "Resolved", "closeNotes": "confirmed", "closingUserId": "admin"}
        },
        "params": params,
    }));
    assert_eq!(closed.code, 0, "{}", closed.document);
    assert_eq!(
        patches(&tenant),
        [
            json!({"status": "Resolved", "classification": "TruePositive", "determination": "Malware"})
        ]
    );
    for fragment in [
        "\"Duplicate=Unknown-Malware\" is ignored because \"Malware\" is not a determination Defender allows with Unknown",
        "\"Not a classification=Resolved\" is ignored",
    ] {
        assert!(closed.stderr.contains(fragment), "{}", closed.stderr);
    }

    // Resolved in Defender as a true positive: XSOAR closes it as a duplicate.
    let other = new_active_incident(&tenant);
    tenant.portal_change(
        other,
        json!({"status": "Resolved", "classification": "TruePositive", "determination": "Phishing"}),
    );
    let result = remote_data(&mut tenant, &params, other, start());
    let close = contents(&entries(&result));
    assert_eq!(close[0]["dbotIncidentClose"], true, "{close:?}");
    assert_eq!(close[0]["closeReason"], "Duplicate");
}
