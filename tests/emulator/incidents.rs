//! The incidents API: shapes, filtering, paging, updates and their validation.

use std::collections::HashSet;

use m365_emulator::EmulatorOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Harness, LEGACY_ALERT_KEYS, LEGACY_INCIDENT_KEYS, keys, options, status_and_json};

async fn list(harness: &Harness, token: &str, query: &str) -> (StatusCode, Value) {
    status_and_json(
        harness
            .api_get(token, &format!("/api/incidents{query}"))
            .await,
    )
    .await
}

fn ids(page: &Value) -> Vec<u64> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["incidentId"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn incidents_have_the_reference_shape() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let (status, page) = list(&harness, &token, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&page), ["@odata.context", "value", "@odata.nextLink"]);
    assert_eq!(page["value"].as_array().unwrap().len(), 100);

    let with_devices = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|incident| incident["alerts"].as_array().unwrap())
        .find(|alert| !alert["devices"].as_array().unwrap().is_empty())
        .expect("an alert with a device");
    assert_eq!(keys(&page["value"][0]), LEGACY_INCIDENT_KEYS);
    assert_eq!(keys(with_devices), LEGACY_ALERT_KEYS);
    assert_eq!(
        keys(&with_devices["devices"][0]),
        [
            "mdatpDeviceId",
            "aadDeviceId",
            "deviceDnsName",
            "osPlatform",
            "version",
            "osProcessor",
            "osBuild",
            "healthStatus",
            "riskScore",
            "rbacGroupName",
            "firstSeen",
            "tags",
            "defenderAvStatus",
            "onboardingStatus",
            "vmMetadata"
        ]
    );
}

#[tokio::test]
async fn pages_are_newest_first_and_stable_with_ties() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    harness.freeze_clock().await;
    // Hundreds of incidents created in the same instant, as a burst of alerts makes them.
    let added = harness
        .control(
            "/incidents",
            json!({"count": 230, "created_time": "2025-01-31T12:00:00.1234567Z"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);

    let mut seen = Vec::new();
    let mut next =
        "/api/incidents?$top=100&$filter=createdTime%20ge%202025-01-31T12:00:00.1234567Z"
            .to_owned();
    loop {
        let (status, page) = status_and_json(harness.api_get(&token, &next).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page));
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.strip_prefix(&harness.base).unwrap().to_owned(),
            None => break,
        }
    }
    assert!(seen.len() >= 230, "{}", seen.len());
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "no incident twice"
    );

    let (_, all) = list(&harness, &token, "?$top=100").await;
    let times: Vec<&str> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["createdTime"].as_str().unwrap())
        .collect();
    let parsed: Vec<jiff::Timestamp> = times.iter().map(|time| time.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );
    let (_, skipped) = list(&harness, &token, "?$top=10&$skip=5").await;
    assert_eq!(ids(&skipped), ids(&all)[5..15]);
    assert_eq!(
        skipped["@odata.nextLink"],
        format!("{}/api/incidents?$top=10&$skip=15", harness.base)
    );
}

#[tokio::test]
async fn filters_on_status_owner_and_times() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let (status, active) = list(&harness, &token, "?$filter=status eq 'Active'").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!active["value"].as_array().unwrap().is_empty());
    assert!(
        active["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "Active")
    );

    let (status, owned) = list(
        &harness,
        &token,
        "?$filter=assignedTo eq 'shannon.o''brien@contoso.com' and status ne 'Redirected'",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{owned}");
    let owned = owned["value"].as_array().unwrap();
    assert!(!owned.is_empty());
    assert!(
        owned
            .iter()
            .all(|i| i["assignedTo"] == "shannon.o'brien@contoso.com")
    );

    let (status, recent) = list(&harness, &token, "?$filter=createdTime gt 2025-01-30T00:00:00.0000000Z and lastUpdateTime le 2025-02-01T00:00:00Z").await;
    assert_eq!(status, StatusCode::OK);
    for incident in recent["value"].as_array().unwrap() {
        let created: jiff::Timestamp = incident["createdTime"].as_str().unwrap().parse().unwrap();
        assert!(created > "2025-01-30T00:00:00Z".parse().unwrap());
    }

    for bad in [
        "?$filter=severity eq 'High'",
        "?$filter=status eq Active",
        "?$filter=createdTime gt 'yesterday'",
        "?$top=101",
        "?$top=ten",
        "?$orderby=createdTime",
    ] {
        let (status, body) = list(&harness, &token, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "ODataError", "{bad}");
        assert!(body["error"]["target"].is_string());
    }
}

#[tokio::test]
async fn get_returns_one_incident_or_404() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let (_, page) = list(&harness, &token, "?$top=1").await;
    let id = ids(&page)[0];
    let (status, incident) = status_and_json(
        harness
            .api_get(&token, &format!("/api/incidents/{id}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(incident["incidentId"], id);
    assert_eq!(
        incident["@odata.context"],
        format!("{}/api/$metadata#Incidents/$entity", harness.base)
    );
    let (status, body) = status_and_json(harness.api_get(&token, "/api/incidents/999").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NotFound");
    assert_eq!(body["error"]["message"], "Incident 999 was not found");
}

#[tokio::test]
async fn patch_follows_the_classification_table() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let (_, page) = list(&harness, &token, "?$top=1&$filter=status eq 'Active'").await;
    let path = format!("/api/incidents/{}", ids(&page)[0]);
    let table: &[(&str, &[&str])] = &[
        (
            "TruePositive",
            &[
                "MultiStagedAttack",
                "MaliciousUserActivity",
                "Malware",
                "Phishing",
                "CompromisedAccount",
                "UnwantedSoftware",
                "Other",
            ],
        ),
        (
            "InformationalExpectedActivity",
            &[
                "SecurityTesting",
                "LineOfBusinessApplication",
                "ConfirmedActivity",
                "Other",
            ],
        ),
        (
            "FalsePositive",
            &["NotMalicious", "NoEnoughDataToValidate", "Other"],
        ),
        ("Unknown", &["NotAvailable"]),
    ];
    let every: HashSet<&str> = table
        .iter()
        .flat_map(|(_, allowed)| allowed.iter().copied())
        .collect();
    for (classification, allowed) in table {
        for determination in &every {
            let response = harness
                .api_patch(
                    &token,
                    &path,
                    json!({"classification": classification, "determination": determination}),
                )
                .await;
            let (status, body) = status_and_json(response).await;
            if allowed.contains(determination) {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{classification}/{determination}: {body}"
                );
                assert_eq!(body["determination"], *determination);
            } else {
                assert_eq!(
                    status,
                    StatusCode::BAD_REQUEST,
                    "{classification}/{determination} must be refused"
                );
            }
        }
    }
    for bad in [
        json!({"status": "Closed"}),
        json!({"classification": "Maybe"}),
        json!({"tags": "one"}),
        json!({"Status": "Active"}),
    ] {
        let (status, body) =
            status_and_json(harness.api_patch(&token, &path, bad.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = status_and_json(
        harness
            .api_patch(&token, "/api/incidents/999", json!({"status": "Active"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn patch_replaces_tags_appends_comments_and_touches_last_update() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let now = harness.freeze_clock().await;
    let (_, page) = list(&harness, &token, "?$top=1").await;
    let before = &page["value"][0];
    let path = format!("/api/incidents/{}", before["incidentId"]);
    let response = harness
        .api_patch(
            &token,
            &path,
            json!({"status": "Resolved", "assignedTo": "analyst2@contoso.com", "classification": "TruePositive",
                   "determination": "Phishing", "tags": ["phish", "reported"], "comment": "Confirmed phishing, closing"}),
        )
        .await;
    let (status, after) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["tags"], json!(["phish", "reported"]));
    assert_eq!(after["status"], "Resolved");
    assert_eq!(after["assignedTo"], "analyst2@contoso.com");
    assert_eq!(after["lastUpdateTime"], now);
    let comments = after["comments"].as_array().unwrap();
    assert_eq!(
        comments.len(),
        before["comments"].as_array().unwrap().len() + 1
    );
    assert_eq!(
        comments.last().unwrap(),
        &json!({"comment": "Confirmed phishing, closing", "createdBy": "API-App", "createdTime": now})
    );
    let (_, again) = status_and_json(harness.api_get(&token, &path).await).await;
    assert_eq!(again["tags"], json!(["phish", "reported"]));
    let (_, cleared) =
        status_and_json(harness.api_patch(&token, &path, json!({"tags": []})).await).await;
    assert_eq!(cleared["tags"], json!([]));
}

#[tokio::test]
async fn late_incidents_appear_only_after_their_ingestion_lag() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let now = harness.freeze_clock().await;
    let added = harness
        .control("/incidents", json!({"created_time": now, "visible_after_seconds": 300, "severity": "High", "assigned_to": null}))
        .await;
    let (_, added) = status_and_json(added).await;
    let id = added["incidentIds"][0].as_u64().unwrap();
    let filter = format!("?$filter=createdTime ge {now}");
    let (_, before) = list(&harness, &token, &filter).await;
    assert!(!ids(&before).contains(&id));
    assert_eq!(
        harness
            .api_get(&token, &format!("/api/incidents/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    harness.advance_clock(300).await;
    let (_, after) = list(&harness, &token, &filter).await;
    assert_eq!(ids(&after), [id]);
    assert_eq!(after["value"][0]["createdTime"], now);
    assert_eq!(after["value"][0]["severity"], "High");
    assert_eq!(after["value"][0]["assignedTo"], Value::Null);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_incidents() {
    let first = Harness::start().await;
    let second = Harness::start().await;
    let other = Harness::with(EmulatorOptions {
        seed: 2,
        ..options()
    })
    .await;
    let mut bodies = Vec::new();
    for harness in [&first, &second, &other] {
        let token = harness.app_token().await;
        let (_, page) = list(harness, &token, "?$top=100&$skip=100").await;
        bodies.push(page["value"].to_string());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_ne!(bodies[0], bodies[2]);
}
