//! Microsoft Graph's alerts and custom detection rules in the emulator: `alerts_v2` lists the
//! alerts of the tenant's incidents (filters, pages of 100, errors), updates and comments read
//! back through the incident, rules list and read, permissions, and a 429 injected on cue.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::graph::{
    GRAPH_SCOPE, all_pages, assert_graph_error, device_code_sign_in, get, graph_token,
    no_permissions_graph_token, send_json,
};
use super::{Harness, status_and_json};

const ALERTS: &str = "/v1.0/security/alerts_v2";
const RULES: &str = "/v1.0/security/rules/detectionRules";

/// Every alert `$expand=alerts` shows, over all incidents.
async fn expanded_alerts(harness: &Harness, token: &str) -> Vec<Value> {
    let (incidents, _) = all_pages(
        harness,
        token,
        "/v1.0/security/incidents?$expand=alerts",
        false,
    )
    .await;
    incidents
        .iter()
        .flat_map(|incident| incident["alerts"].as_array().unwrap().clone())
        .collect()
}

fn ids(alerts: &[Value]) -> Vec<&str> {
    alerts
        .iter()
        .map(|alert| alert["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn alerts_v2_lists_every_alert_of_every_incident_newest_first() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let expanded = expanded_alerts(&harness, &token).await;
    let (alerts, sizes) = all_pages(&harness, &token, ALERTS, false).await;
    assert!(alerts.len() > 200, "{}", alerts.len());
    assert!(
        sizes[..sizes.len() - 1].iter().all(|size| *size == 100),
        "{sizes:?}"
    );

    let mut listed = ids(&alerts);
    let mut shown = ids(&expanded);
    listed.sort_unstable();
    shown.sort_unstable();
    assert_eq!(listed, shown);
    // The same shape as `$expand=alerts`.
    let first = &alerts[0];
    let same = expanded
        .iter()
        .find(|alert| alert["id"] == first["id"])
        .unwrap();
    assert_eq!(first, same);
    let created: Vec<&str> = alerts
        .iter()
        .map(|alert| alert["createdDateTime"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|pair| pair[0] >= pair[1]));

    // `$top` beyond 100 answers 100; `$count` counts all; the next link carries the options.
    let (status, page) = get(&harness, &token, &format!("{ALERTS}?$top=500&$count=true")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["value"].as_array().unwrap().len(), 100);
    assert_eq!(page["@odata.count"], alerts.len());
    assert_eq!(
        page["@odata.nextLink"],
        format!("{}{ALERTS}?$count=true&$top=100&$skip=100", harness.base)
    );
    let (_, page) = get(&harness, &token, &format!("{ALERTS}?$top=3&$skip=2")).await;
    assert_eq!(ids(page["value"].as_array().unwrap()), ids(&alerts[2..5]));
    assert!(
        page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#security/alerts_v2")
    );
}

#[tokio::test]
async fn alerts_v2_filters_on_the_documented_properties() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (alerts, _) = all_pages(&harness, &token, ALERTS, false).await;
    let expected = |keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        alerts
            .iter()
            .filter(|alert| keep(alert))
            .map(|alert| alert["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let since = alerts[40]["createdDateTime"].as_str().unwrap().to_owned();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "severity eq 'high'".into(),
            expected(&|alert| alert["severity"] == "high"),
        ),
        (
            format!("status eq 'new' and createdDateTime ge {since}"),
            expected(&|alert| {
                alert["status"] == "new"
                    && alert["createdDateTime"].as_str().unwrap() >= since.as_str()
            }),
        ),
        (
            "serviceSource eq 'microsoftDefenderForOffice365' and classification eq 'unknown'"
                .into(),
            expected(&|alert| {
                alert["serviceSource"] == "microsoftDefenderForOffice365"
                    && alert["classification"] == "unknown"
            }),
        ),
        (
            "determination eq 'notMalicious'".into(),
            expected(&|alert| alert["determination"] == "notMalicious"),
        ),
        (
            "assignedTo eq null and lastUpdateDateTime lt 2025-01-20T00:00:00Z".into(),
            expected(&|alert| {
                alert["assignedTo"].is_null()
                    && alert["lastUpdateDateTime"].as_str().unwrap() < "2025-01-20T00:00:00Z"
            }),
        ),
    ];
    for (filter, wanted) in cases {
        assert!(!wanted.is_empty(), "{filter}");
        let url = reqwest::Url::parse_with_params(
            &harness.url(ALERTS),
            [("$top", "40"), ("$filter", &filter)],
        )
        .unwrap();
        let first = format!("{}?{}", url.path(), url.query().unwrap());
        let (found, _) = all_pages(&harness, &token, &first, false).await;
        assert_eq!(ids(&found), wanted, "{filter}");
    }

    for (bad, message) in [
        (
            "severity eq 'severe'",
            "not a valid enumeration type constant",
        ),
        (
            "status eq 'Active'",
            "not a valid enumeration type constant",
        ),
        (
            "determination eq 'clean'",
            "not a valid enumeration type constant",
        ),
        (
            "title eq 'Password spray'",
            "Could not find a property named 'title' on type 'microsoft.graph.security.alert'",
        ),
        ("severity gt 'low'", "not supported"),
        ("severity eq 'high' or severity eq 'low'", "'or'"),
    ] {
        let (status, body) = get(&harness, &token, &format!("{ALERTS}?$filter={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_graph_error(&body, "BadRequest");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{bad}: {text}");
    }
    let (status, body) = get(&harness, &token, &format!("{ALERTS}?$orderby=severity")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Query option '$orderby' is not supported. Supported query options: $count, $filter, $skip, $top."
    );
}

#[tokio::test]
async fn one_alert_by_id_and_an_unknown_one() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (_, page) = get(&harness, &token, &format!("{ALERTS}?$top=1")).await;
    let listed = page["value"][0].clone();
    let id = listed["id"].as_str().unwrap();
    let (status, mut alert) = get(&harness, &token, &format!("{ALERTS}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{alert}");
    let context = alert
        .as_object_mut()
        .unwrap()
        .shift_remove("@odata.context")
        .unwrap();
    assert!(
        context
            .as_str()
            .unwrap()
            .ends_with("$metadata#security/alerts_v2/$entity")
    );
    assert_eq!(alert, listed);

    let (status, body) = get(&harness, &token, &format!("{ALERTS}/da000_0")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_graph_error(&body, "NotFound");
    assert_eq!(
        body["error"]["message"],
        "Alert with id 'da000_0' was not found."
    );
}

#[tokio::test]
async fn an_alert_update_reads_back_through_its_incident() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let now = harness.freeze_clock().await;
    let (_, page) = get(
        &harness,
        &token,
        &format!("{ALERTS}?$filter=status eq 'new'&$top=1"),
    )
    .await;
    let alert = page["value"][0].clone();
    let id = alert["id"].as_str().unwrap();
    let path = format!("{ALERTS}/{id}");
    let (status, updated) = send_json(
        &harness,
        Method::PATCH,
        &token,
        &path,
        json!({
            "status": "resolved",
            "classification": "falsePositive",
            "determination": "notEnoughDataToValidate",
            "assignedTo": "secops.lead@contoso.com",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "resolved");
    assert_eq!(updated["classification"], "falsePositive");
    assert_eq!(updated["determination"], "notEnoughDataToValidate");
    assert_eq!(updated["assignedTo"], "secops.lead@contoso.com");
    assert_eq!(updated["lastUpdateDateTime"], now);
    assert_eq!(updated["resolvedDateTime"], now);
    assert_eq!(updated["title"], alert["title"]);

    let incident_id = alert["incidentId"].as_str().unwrap();
    let (_, incident) = get(
        &harness,
        &token,
        &format!("/v1.0/security/incidents/{incident_id}?$expand=alerts"),
    )
    .await;
    let through_incident = incident["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|one| one["id"] == id)
        .unwrap();
    let mut expected = updated.clone();
    expected
        .as_object_mut()
        .unwrap()
        .shift_remove("@odata.context");
    assert_eq!(through_incident, &expected);

    // Graph's metadata names only, no sentinel, and only the four updatable properties.
    for (body, message) in [
        (
            json!({"status": "Active"}),
            "Invalid value 'Active' for status",
        ),
        (json!({"status": "unknownFutureValue"}), "Invalid value"),
        (
            json!({"determination": "clean"}),
            "Invalid value 'clean' for determination",
        ),
        (json!({"classification": 3}), "must be a string"),
        (
            json!({"title": "renamed"}),
            "The property 'title' cannot be updated",
        ),
        (
            json!({"customDetails": {}}),
            "Properties that can be updated: assignedTo, classification, determination, status.",
        ),
    ] {
        let (status, error) = send_json(&harness, Method::PATCH, &token, &path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_graph_error(&error, "BadRequest");
        let text = error["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text}");
    }
    let (_, unchanged) = get(&harness, &token, &path).await;
    assert_eq!(unchanged["status"], "resolved");

    // Reopening clears the resolution time; determinations an incident cannot have are fine.
    let (status, reopened) = send_json(
        &harness,
        Method::PATCH,
        &token,
        &path,
        json!({"status": "inProgress", "determination": "apt", "assignedTo": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(reopened["status"], "inProgress");
    assert_eq!(reopened["determination"], "apt");
    assert!(reopened["resolvedDateTime"].is_null());
    assert!(reopened["assignedTo"].is_null());

    let (status, body) = send_json(
        &harness,
        Method::PATCH,
        &token,
        &format!("{ALERTS}/nope"),
        json!({"status": "new"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn comments_on_an_alert_come_back_all_together() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let now = harness.freeze_clock().await;
    let (_, page) = get(&harness, &token, &format!("{ALERTS}?$top=1")).await;
    let id = page["value"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(page["value"][0]["comments"], json!([]));
    let path = format!("{ALERTS}/{id}/comments");
    let comment = |text: &str| json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": text});
    let (status, first) =
        send_json(&harness, Method::POST, &token, &path, comment("First look")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, both) = send_json(
        &harness,
        Method::POST,
        &token,
        &path,
        comment("Second look"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{both}");
    assert!(
        both["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!("$metadata#security/alerts_v2('{id}')/comments"))
    );
    assert_eq!(
        both["value"],
        json!([
            {"comment": "First look", "createdByDisplayName": "API-App", "createdDateTime": now},
            {"comment": "Second look", "createdByDisplayName": "API-App", "createdDateTime": now},
        ])
    );
    let (_, alert) = get(&harness, &token, &format!("{ALERTS}/{id}")).await;
    assert_eq!(alert["comments"], both["value"]);

    for body in [
        json!({"@odata.type": "microsoft.graph.security.alertComment"}),
        comment("  "),
        json!({"comment": "x", "author": "me"}),
    ] {
        let (status, error) = send_json(&harness, Method::POST, &token, &path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_graph_error(&error, "BadRequest");
    }
}

#[tokio::test]
async fn detection_rules_list_and_read() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (status, page) = get(&harness, &token, RULES).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rules = page["value"].as_array().unwrap().clone();
    assert!((3..=5).contains(&rules.len()), "{page}");
    assert!(page.get("@odata.nextLink").is_none());
    let rule = &rules[0];
    for key in [
        "id",
        "displayName",
        "isEnabled",
        "detectorId",
        "createdBy",
        "createdDateTime",
        "lastModifiedBy",
        "lastModifiedDateTime",
        "queryCondition",
        "schedule",
        "lastRunDetails",
        "detectionAction",
    ] {
        assert!(rule.get(key).is_some(), "{key}: {rule}");
    }
    assert!(rule["queryCondition"]["queryText"].is_string());
    assert!(rule["schedule"]["period"].is_string());
    assert!(rule["lastRunDetails"]["status"].is_string());
    let template = &rule["detectionAction"]["alertTemplate"];
    for key in [
        "title",
        "description",
        "severity",
        "category",
        "recommendedActions",
        "mitreTechniques",
        "impactedAssets",
    ] {
        assert!(template.get(key).is_some(), "{key}: {template}");
    }
    assert!(rule["detectionAction"]["responseActions"].is_array());

    // The same seed gives the same rules.
    let other = Harness::start().await;
    let other_token = graph_token(&other).await;
    let (_, again) = get(&other, &other_token, RULES).await;
    assert_eq!(again["value"], page["value"]);

    let (_, first_two) = get(&harness, &token, &format!("{RULES}?$top=2")).await;
    assert_eq!(first_two["value"].as_array().unwrap()[..], rules[..2]);
    assert_eq!(
        first_two["@odata.nextLink"],
        format!("{}{RULES}?$top=2&$skip=2", harness.base)
    );
    let (rest, _) = all_pages(&harness, &token, &format!("{RULES}?$top=2"), false).await;
    assert_eq!(rest, rules);
    let (status, body) = get(
        &harness,
        &token,
        &format!("{RULES}?$filter=isEnabled eq true"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let id = rule["id"].as_str().unwrap();
    let (status, mut one) = get(&harness, &token, &format!("{RULES}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    one.as_object_mut().unwrap().shift_remove("@odata.context");
    assert_eq!(&one, rule);
    let (status, body) = get(&harness, &token, &format!("{RULES}/0")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_graph_error(&body, "NotFound");
}

#[tokio::test]
async fn alerts_and_rules_need_their_own_permissions() {
    let harness = Harness::start().await;
    let token = no_permissions_graph_token(&harness).await;
    let (status, body) = get(&harness, &token, ALERTS).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, "Forbidden");
    assert_eq!(
        body["error"]["message"],
        "Missing application roles. API required roles: SecurityAlert.Read.All, SecurityAlert.ReadWrite.All."
    );
    let (status, body) = get(&harness, &token, RULES).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CustomDetection.Read.All")
    );

    // A user who consented to incidents only may not read alerts; alert reading is not writing.
    let incidents_only = device_code_sign_in(
        &harness,
        "https://graph.microsoft.com/SecurityIncident.ReadWrite.All",
    )
    .await;
    let token = incidents_only["access_token"].as_str().unwrap();
    let (status, _) = get(&harness, token, ALERTS).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let reader = device_code_sign_in(
        &harness,
        "https://graph.microsoft.com/SecurityAlert.Read.All",
    )
    .await;
    let token = reader["access_token"].as_str().unwrap();
    let (status, page) = get(&harness, token, &format!("{ALERTS}?$top=1")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let id = page["value"][0]["id"].as_str().unwrap();
    let (status, body) = send_json(
        &harness,
        Method::PATCH,
        token,
        &format!("{ALERTS}/{id}"),
        json!({"status": "inProgress"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["message"],
        "Missing scope permissions on the request. API requires one of 'SecurityAlert.ReadWrite.All'."
    );
    let (status, _) = get(&harness, token, RULES).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // `.default` consents to everything the user may grant, alerts and rules included.
    let everything = device_code_sign_in(&harness, GRAPH_SCOPE).await;
    let token = everything["access_token"].as_str().unwrap();
    for path in [ALERTS, RULES] {
        let (status, body) = get(&harness, token, &format!("{path}?$top=1")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_fault_on_alerts_answers_429_with_retry_after_once() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let response = harness
        .control(
            "/faults",
            json!({"method": "GET", "path": "/v1.0/security/alerts_v2*", "status": 429, "retry_after": 7}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = harness
        .client
        .get(harness.url(&format!("{ALERTS}?$top=1")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "7");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_graph_error(&body, "TooManyRequests");
    let (status, _) = get(&harness, &token, &format!("{ALERTS}?$top=1")).await;
    assert_eq!(status, StatusCode::OK);
}
