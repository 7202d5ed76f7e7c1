//! Microsoft Graph's security API in the emulator: sign-in for Graph, Graph's shapes and errors,
//! paging at 50, filters, updates and comments, hunting, and the same tenant read through both
//! APIs.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use m365_defender::api::incidents::from_graph::incident_to_legacy;
use m365_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_NO_PERMISSIONS_CLIENT_ID,
    DEMO_NO_PERMISSIONS_CLIENT_SECRET, DEMO_TENANT_ID, DEMO_USER_PRINCIPAL_NAME, EmulatorOptions,
};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::{
    DEVICE_CODE_GRANT, Harness, LEGACY_ALERT_KEYS, LEGACY_INCIDENT_KEYS, keys, options,
    status_and_json,
};

pub(super) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
pub(super) const PREFER_UNKNOWN_MEMBERS: (&str, &str) = ("Prefer", "include-unknown-enum-members");

/// A client-credentials token of `client_id` for `scope`.
pub(super) async fn app_token_for(
    harness: &Harness,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> String {
    let response = harness
        .client_credentials_token_for(client_id, secret, scope)
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The demo app's Graph token, with every Graph security permission.
pub(super) async fn graph_token(harness: &Harness) -> String {
    app_token_for(harness, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, GRAPH_SCOPE).await
}

/// The Graph token of the app that holds no permissions.
pub(super) async fn no_permissions_graph_token(harness: &Harness) -> String {
    app_token_for(
        harness,
        DEMO_NO_PERMISSIONS_CLIENT_ID,
        DEMO_NO_PERMISSIONS_CLIENT_SECRET,
        GRAPH_SCOPE,
    )
    .await
}

fn request(harness: &Harness, method: Method, token: &str, path: &str) -> RequestBuilder {
    harness
        .client
        .request(method, harness.url(path))
        .bearer_auth(token)
}

pub(super) async fn get(harness: &Harness, token: &str, path: &str) -> (StatusCode, Value) {
    status_and_json(
        request(harness, Method::GET, token, path)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(super) async fn send_json(
    harness: &Harness,
    method: Method,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    status_and_json(
        request(harness, method, token, path)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn patch(harness: &Harness, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/v1.0/security/incidents/{id}");
    send_json(harness, Method::PATCH, token, &path, body).await
}

/// Every incident of a listing, following `@odata.nextLink` to the end; the pages' sizes too.
pub(super) async fn all_pages(
    harness: &Harness,
    token: &str,
    first: &str,
    prefer: bool,
) -> (Vec<Value>, Vec<usize>) {
    let mut url = harness.url(first);
    let mut incidents = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let mut builder = harness.client.get(&url).bearer_auth(token);
        if prefer {
            builder = builder.header(PREFER_UNKNOWN_MEMBERS.0, PREFER_UNKNOWN_MEMBERS.1);
        }
        let (status, page) = status_and_json(builder.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let value = page["value"].as_array().unwrap();
        sizes.push(value.len());
        incidents.extend(value.iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&harness.base), "{next}");
                url = next.to_owned();
            }
            None => return (incidents, sizes),
        }
    }
}

/// Graph's error body, with the request id in the body and the headers alike.
pub(super) fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let inner = &body["error"]["innerError"];
    assert!(inner["request-id"].is_string(), "{body}");
    assert!(inner["client-request-id"].is_string(), "{body}");
    assert!(inner["date"].is_string(), "{body}");
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn graph_tokens_carry_the_graph_audience_in_every_cloud() {
    let harness = Harness::start().await;
    for (scope, audience) in [
        (GRAPH_SCOPE, "https://graph.microsoft.com"),
        (
            "https://graph.microsoft.us/.default",
            "https://graph.microsoft.us",
        ),
        (
            "https://dod-graph.microsoft.us/.default",
            "https://dod-graph.microsoft.us",
        ),
    ] {
        let token = app_token_for(&harness, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, scope).await;
        let claims = claims(&token);
        assert_eq!(claims["aud"], audience);
        assert_eq!(
            claims["roles"],
            json!([
                "SecurityIncident.ReadWrite.All",
                "ThreatHunting.Read.All",
                "SecurityAlert.ReadWrite.All",
                "CustomDetection.Read.All"
            ])
        );
        let (status, body) = get(&harness, &token, "/v1.0/security/incidents?$top=1").await;
        assert_eq!(status, StatusCode::OK, "{scope}: {body}");
    }

    // A managed identity gets Graph tokens from IMDS too.
    let response = harness
        .imds_get(
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://graph.microsoft.com/",
        )
        .await;
    let (_, body) = status_and_json(response).await;
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = get(&harness, token, "/v1.0/security/incidents?$top=1").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn each_api_accepts_only_its_own_audience() {
    let harness = Harness::start().await;
    let defender = harness.app_token().await;
    let graph = graph_token(&harness).await;

    let response = request(&harness, Method::GET, &defender, "/v1.0/security/incidents")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_graph_error(&body, "InvalidAuthenticationToken");
    assert_eq!(body["error"]["innerError"]["request-id"], request_id);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid audience")
    );

    let (status, body) = status_and_json(harness.api_get(&graph, "/api/incidents").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "Unauthorized", "{body}");
    let (status, _) = status_and_json(harness.hunt(&graph, "AlertInfo | take 1").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let missing = harness
        .client
        .post(harness.url("/v1.0/security/runHuntingQuery"))
        .json(&json!({"Query": "AlertInfo | take 1"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(missing).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");

    harness.control("/access-tokens/expire", json!({})).await;
    let (status, body) = get(&harness, &graph, "/v1.0/security/incidents").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn an_app_without_graph_permissions_gets_403() {
    let harness = Harness::start().await;
    let token = no_permissions_graph_token(&harness).await;
    let (status, body) = get(&harness, &token, "/v1.0/security/incidents").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, "Forbidden");
    assert_eq!(
        body["error"]["message"],
        "Missing application roles. API required roles: SecurityIncident.Read.All, SecurityIncident.ReadWrite.All."
    );
    let (status, body) = send_json(
        &harness,
        Method::POST,
        &token,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "AlertInfo | take 1"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ThreatHunting.Read.All")
    );
}

/// Signs a user in with the device code flow for `scope`; returns the token response.
pub(super) async fn device_code_sign_in(harness: &Harness, scope: &str) -> Value {
    harness.freeze_clock().await;
    let started = harness.start_device_code(DEMO_CLIENT_ID, scope).await;
    let approval = harness
        .control("/devicelogin", json!({"user_code": started["user_code"]}))
        .await;
    assert_eq!(approval.status(), StatusCode::OK);
    let response = harness
        .token_request(
            "organizations",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", started["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    let (status, tokens) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

#[tokio::test]
async fn users_sign_in_for_graph_security_scopes() {
    let harness = Harness::start().await;
    let tokens = device_code_sign_in(
        &harness,
        "offline_access https://graph.microsoft.com/SecurityIncident.ReadWrite.All https://graph.microsoft.com/ThreatHunting.Read.All",
    )
    .await;
    assert_eq!(
        tokens["scope"],
        "https://graph.microsoft.com/SecurityIncident.ReadWrite.All https://graph.microsoft.com/ThreatHunting.Read.All"
    );
    assert!(tokens["refresh_token"].is_string());
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["aud"], "https://graph.microsoft.com");

    let (status, _) = get(&harness, token, "/v1.0/security/incidents?$top=1").await;
    assert_eq!(status, StatusCode::OK);
    let (status, comments) = send_json(
        &harness,
        Method::POST,
        token,
        "/v1.0/security/incidents/1001/comments",
        json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": "Signed in as a user"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{comments}");
    let last = comments["value"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["createdByDisplayName"], DEMO_USER_PRINCIPAL_NAME);
    let (status, _) = status_and_json(harness.api_get(token, "/api/incidents").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The refresh token renews the Graph token.
    let response = harness
        .token_request(
            "organizations",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    let (status, renewed) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let (status, _) = get(
        &harness,
        renewed["access_token"].as_str().unwrap(),
        "/v1.0/security/incidents?$top=1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_read_only_user_cannot_update_or_hunt() {
    let harness = Harness::start().await;
    let tokens = device_code_sign_in(
        &harness,
        "https://graph.microsoft.com/SecurityIncident.Read.All",
    )
    .await;
    let token = tokens["access_token"].as_str().unwrap();
    let (status, _) = get(&harness, token, "/v1.0/security/incidents/1001").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = patch(&harness, token, "1001", json!({"status": "active"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["message"],
        "Missing scope permissions on the request. API requires one of 'SecurityIncident.ReadWrite.All'."
    );
    let (status, _) = send_json(
        &harness,
        Method::POST,
        token,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "AlertInfo | take 1"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn incidents_have_graph_shapes() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (status, page) = get(&harness, &token, "/v1.0/security/incidents").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&page), ["@odata.context", "value", "@odata.nextLink"]);
    assert_eq!(
        page["@odata.context"],
        format!("{}/v1.0/$metadata#security/incidents", harness.base)
    );
    let incidents = page["value"].as_array().unwrap();
    assert_eq!(incidents.len(), 50);
    let incident_keys = [
        "id",
        "incidentWebUrl",
        "tenantId",
        "redirectIncidentId",
        "displayName",
        "createdDateTime",
        "lastUpdateDateTime",
        "assignedTo",
        "classification",
        "determination",
        "status",
        "severity",
        "customTags",
        "comments",
        "systemTags",
        "description",
        "summary",
        "lastModifiedBy",
        "resolvingComment",
    ];
    for incident in incidents {
        assert_eq!(keys(incident), incident_keys);
        let id = incident["id"].as_str().unwrap();
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        assert_eq!(
            incident["incidentWebUrl"],
            format!("https://security.microsoft.com/incidents/{id}?tid={DEMO_TENANT_ID}")
        );
        assert_eq!(incident["tenantId"], DEMO_TENANT_ID);
        for (property, members) in [
            (
                "status",
                &["active", "inProgress", "resolved", "redirected"][..],
            ),
            (
                "classification",
                &[
                    "unknown",
                    "truePositive",
                    "falsePositive",
                    "informationalExpectedActivity",
                ],
            ),
            ("severity", &["informational", "low", "medium", "high"]),
        ] {
            let value = incident[property].as_str().unwrap();
            assert!(members.contains(&value), "{property} {value}");
        }
        for comment in incident["comments"].as_array().unwrap() {
            assert_eq!(
                keys(comment),
                ["comment", "createdByDisplayName", "createdDateTime"]
            );
        }
    }
    let redirected = incidents
        .iter()
        .find(|incident| incident["status"] == "redirected");
    if let Some(redirected) = redirected {
        assert!(redirected["redirectIncidentId"].is_string());
    }

    let (status, expanded) = get(
        &harness,
        &token,
        "/v1.0/security/incidents?$expand=alerts&$top=50",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        expanded["@odata.context"],
        format!(
            "{}/v1.0/$metadata#security/incidents(alerts())",
            harness.base
        )
    );
    let alerts: Vec<&Value> = expanded["value"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|incident| incident["alerts"].as_array().unwrap())
        .collect();
    assert!(!alerts.is_empty());
    assert_eq!(
        keys(alerts[0]),
        [
            "id",
            "providerAlertId",
            "incidentId",
            "status",
            "severity",
            "classification",
            "determination",
            "serviceSource",
            "detectionSource",
            "detectorId",
            "tenantId",
            "title",
            "description",
            "recommendedActions",
            "category",
            "assignedTo",
            "alertWebUrl",
            "incidentWebUrl",
            "actorDisplayName",
            "threatDisplayName",
            "threatFamilyName",
            "mitreTechniques",
            "createdDateTime",
            "lastUpdateDateTime",
            "resolvedDateTime",
            "firstActivityDateTime",
            "lastActivityDateTime",
            "comments",
            "evidence",
            "systemTags"
        ]
    );
    for alert in &alerts {
        assert!(alert["incidentId"].is_string());
        let status = alert["status"].as_str().unwrap();
        assert!(
            ["new", "inProgress", "resolved"].contains(&status),
            "{status}"
        );
    }
}

#[tokio::test]
async fn evidence_is_typed_with_the_documented_fields() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (incidents, _) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$expand=alerts",
        false,
    )
    .await;
    let mut by_kind: HashMap<String, Value> = HashMap::new();
    for evidence in incidents
        .iter()
        .flat_map(|incident| incident["alerts"].as_array().unwrap())
        .flat_map(|alert| alert["evidence"].as_array().unwrap())
    {
        let kind = evidence["@odata.type"].as_str().unwrap().to_owned();
        by_kind.entry(kind).or_insert_with(|| evidence.clone());
    }
    let base = [
        "@odata.type",
        "createdDateTime",
        "verdict",
        "remediationStatus",
        "remediationStatusDetails",
        "roles",
        "detailedRoles",
        "tags",
    ];
    let expected: &[(&str, &[&str])] = &[
        (
            "deviceEvidence",
            &[
                "firstSeenDateTime",
                "mdeDeviceId",
                "azureAdDeviceId",
                "deviceDnsName",
                "osPlatform",
                "osBuild",
                "version",
                "rbacGroupId",
                "rbacGroupName",
                "healthStatus",
                "riskScore",
                "onboardingStatus",
                "defenderAvStatus",
                "vmMetadata",
                "ipInterfaces",
                "loggedOnUsers",
            ],
        ),
        ("userEvidence", &["userAccount"]),
        ("ipEvidence", &["ipAddress", "countryLetterCode"]),
        ("urlEvidence", &["url"]),
        (
            "fileEvidence",
            &["fileDetails", "mdeDeviceId", "detectionStatus"],
        ),
        (
            "processEvidence",
            &[
                "processId",
                "parentProcessId",
                "processCommandLine",
                "processCreationDateTime",
                "parentProcessCreationDateTime",
                "detectionStatus",
                "mdeDeviceId",
                "imageFile",
                "parentProcessImageFile",
                "userAccount",
            ],
        ),
        (
            "mailboxEvidence",
            &["displayName", "primaryAddress", "upn", "userAccount"],
        ),
        (
            "analyzedMessageEvidence",
            &[
                "networkMessageId",
                "internetMessageId",
                "subject",
                "language",
                "senderIp",
                "recipientEmailAddress",
                "antiSpamDirection",
                "deliveryAction",
                "deliveryLocation",
                "urn",
                "threats",
                "threatDetectionMethods",
                "urls",
                "urlCount",
                "attachmentsCount",
                "receivedDateTime",
                "p1Sender",
                "p2Sender",
            ],
        ),
        (
            "mailClusterEvidence",
            &[
                "clusterBy",
                "clusterByValue",
                "emailCount",
                "networkMessageIds",
                "query",
                "urn",
            ],
        ),
        (
            "registryValueEvidence",
            &[
                "mdeDeviceId",
                "registryKey",
                "registryHive",
                "registryValue",
                "registryValueName",
                "registryValueType",
            ],
        ),
        ("securityGroupEvidence", &["securityGroupId", "displayName"]),
    ];
    for (kind, fields) in expected {
        let odata_type = format!("#microsoft.graph.security.{kind}");
        let evidence = by_kind
            .get(&odata_type)
            .unwrap_or_else(|| panic!("no {kind} in the tenant"));
        let expected_keys: Vec<&str> = base.iter().chain(fields.iter()).copied().collect();
        assert_eq!(keys(evidence), expected_keys, "{kind}");
        let verdict = evidence["verdict"].as_str().unwrap();
        assert!(
            ["unknown", "suspicious", "malicious", "noThreatsFound"].contains(&verdict),
            "{verdict}"
        );
    }
    let user = &by_kind["#microsoft.graph.security.userEvidence"]["userAccount"];
    assert_eq!(
        keys(user),
        [
            "accountName",
            "azureAdUserId",
            "displayName",
            "domainName",
            "userPrincipalName",
            "userSid"
        ]
    );
}

#[tokio::test]
async fn pages_of_50_follow_the_next_link_newest_first() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (incidents, sizes) = all_pages(&harness, &token, "/v1.0/security/incidents", false).await;
    assert_eq!(sizes, [50, 50, 50, 50, 50]);
    let ids: HashSet<&str> = incidents
        .iter()
        .map(|incident| incident["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 250);
    let created: Vec<jiff::Timestamp> = incidents
        .iter()
        .map(|incident| {
            incident["createdDateTime"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(created.windows(2).all(|pair| pair[0] >= pair[1]));

    // A larger $top is still served 50 at a time; a smaller one sets the page size.
    let (_, sizes) = all_pages(&harness, &token, "/v1.0/security/incidents?$top=120", false).await;
    assert_eq!(sizes, [50, 50, 50, 50, 50]);
    let (_, sizes) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$top=100&$skip=200",
        false,
    )
    .await;
    assert_eq!(sizes, [50]);
    let (_, sizes) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$top=40&$skip=150",
        false,
    )
    .await;
    assert_eq!(sizes, [40, 40, 20]);

    let (status, page) = get(
        &harness,
        &token,
        "/v1.0/security/incidents?$count=true&$top=5&$expand=alerts",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&page),
        ["@odata.context", "@odata.count", "value", "@odata.nextLink"]
    );
    assert_eq!(page["@odata.count"], 250);
    assert_eq!(
        page["@odata.nextLink"],
        format!(
            "{}/v1.0/security/incidents?$expand=alerts&$count=true&$top=5&$skip=5",
            harness.base
        )
    );
    let (status, page) = get(&harness, &token, "/v1.0/security/incidents?$top=0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&page), ["@odata.context", "value"]);

    for bad in [
        "?$top=ten",
        "?$skip=-1",
        "?$expand=comments",
        "?$count=yes",
        "?$orderby=createdDateTime",
        "?$select=id",
    ] {
        let (status, body) = get(&harness, &token, &format!("/v1.0/security/incidents{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_graph_error(&body, "BadRequest");
    }
}

#[tokio::test]
async fn filters_use_graph_property_names() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;

    let (in_progress, _) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$filter=status eq 'inProgress'",
        false,
    )
    .await;
    assert!(!in_progress.is_empty());
    assert!(in_progress.iter().all(|i| i["status"] == "inProgress"));

    let (owned, _) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$filter=assignedTo eq 'shannon.o''brien@contoso.com' and status ne 'redirected'",
        false,
    )
    .await;
    assert!(!owned.is_empty());
    assert!(
        owned.iter().all(
            |i| i["assignedTo"] == "shannon.o'brien@contoso.com" && i["status"] != "redirected"
        )
    );

    let since: jiff::Timestamp = "2025-01-20T00:00:00Z".parse().unwrap();
    let until: jiff::Timestamp = "2025-01-25T00:00:00Z".parse().unwrap();
    let (window, sizes) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$filter=createdDateTime ge 2025-01-20T00:00:00.0000000Z and createdDateTime lt 2025-01-25T00:00:00Z&$top=10",
        false,
    )
    .await;
    assert!(
        sizes.len() > 1,
        "the filter survives the next link: {sizes:?}"
    );
    for incident in &window {
        let created: jiff::Timestamp = incident["createdDateTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(created >= since && created < until);
    }
    let (updated, _) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$filter=lastUpdateDateTime gt 2025-01-30T00:00:00Z",
        false,
    )
    .await;
    assert!(!updated.is_empty());
    for incident in &updated {
        let time: jiff::Timestamp = incident["lastUpdateDateTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(time > "2025-01-30T00:00:00Z".parse().unwrap());
    }

    for bad in [
        "createdTime gt 2025-01-01T00:00:00Z",
        "lastUpdateTime gt 2025-01-01T00:00:00Z",
        "status eq 'Open'",
        "createdDateTime gt '2025-01-01'",
        "assignedTo eq 'o'brien@contoso.com'",
    ] {
        let (status, body) = get(
            &harness,
            &token,
            &format!("/v1.0/security/incidents?$filter={bad}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_graph_error(&body, "BadRequest");
    }
}

#[tokio::test]
async fn one_incident_by_its_string_id() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let (status, incident) = get(&harness, &token, "/v1.0/security/incidents/1001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(incident["id"], "1001");
    assert_eq!(
        incident["@odata.context"],
        format!("{}/v1.0/$metadata#security/incidents/$entity", harness.base)
    );
    assert!(incident.get("alerts").is_none());
    let (status, expanded) = get(
        &harness,
        &token,
        "/v1.0/security/incidents/1001?$expand=alerts",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(expanded["alerts"].is_array());
    for missing in ["999", "abc"] {
        let (status, body) = get(
            &harness,
            &token,
            &format!("/v1.0/security/incidents/{missing}"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_graph_error(&body, "NotFound");
    }
    let (status, body) = get(&harness, &token, "/v1.0/security/alerts_v3").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'alerts_v3'."
    );
    let (status, _) = send_json(
        &harness,
        Method::DELETE,
        &token,
        "/v1.0/security/incidents/1001",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn patch_takes_graph_names_and_validates_like_the_service() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let now = harness.freeze_clock().await;
    let (status, incident) = patch(
        &harness,
        &token,
        "1002",
        json!({
            "status": "resolved",
            "assignedTo": "secops.lead@contoso.com",
            "classification": "falsePositive",
            "determination": "notEnoughDataToValidate",
            "customTags": ["Reviewed", "Tier2"]
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{incident}");
    assert_eq!(incident["status"], "resolved");
    assert_eq!(incident["classification"], "falsePositive");
    assert_eq!(incident["determination"], "notEnoughDataToValidate");
    assert_eq!(incident["assignedTo"], "secops.lead@contoso.com");
    assert_eq!(incident["customTags"], json!(["Reviewed", "Tier2"]));
    assert_eq!(incident["lastUpdateDateTime"], now);

    // Member names are matched without regard to case, as Graph's own example sends them.
    let (status, incident) = patch(
        &harness,
        &token,
        "1002",
        json!({"classification": "TruePositive", "determination": "MultiStagedAttack", "status": "inProgress"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{incident}");
    assert_eq!(incident["determination"], "multiStagedAttack");
    for (property, value) in [
        ("informationalExpectedActivity", "confirmedActivity"),
        ("informationalExpectedActivity", "lineOfBusinessApplication"),
        ("informationalExpectedActivity", "securityTesting"),
        ("truePositive", "compromisedAccount"),
        ("truePositive", "maliciousUserActivity"),
        ("falsePositive", "notMalicious"),
    ] {
        let (status, body) = patch(
            &harness,
            &token,
            "1002",
            json!({"classification": property, "determination": value}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{property} {value}: {body}");
        assert_eq!(body["determination"], value);
    }

    // Spellings that are not the service's metadata names are refused.
    for (property, value) in [
        ("determination", "NoEnoughDataToValidate"),
        ("determination", "insufficientData"),
        ("determination", "clean"),
        ("determination", "compromisedUser"),
        ("determination", "unknownFutureValue"),
        ("classification", "benignPositive"),
        ("status", "Closed"),
        ("status", "unknownFutureValue"),
    ] {
        let (status, body) = patch(&harness, &token, "1002", json!({property: value})).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{property} {value}: {body}"
        );
        assert_graph_error(&body, "BadRequest");
    }
    let (_, body) = patch(&harness, &token, "1002", json!({"status": "Closed"})).await;
    assert_eq!(
        body["error"]["message"],
        "Invalid value 'Closed' for status. Allowed values: active, resolved, inProgress, redirected."
    );

    // awaitingAction comes after the sentinel: unknown without the Prefer header, and only
    // Defender Experts set it with it.
    let (status, body) = patch(
        &harness,
        &token,
        "1002",
        json!({"status": "awaitingAction"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid value")
    );
    let response = request(
        &harness,
        Method::PATCH,
        &token,
        "/v1.0/security/incidents/1002",
    )
    .header(PREFER_UNKNOWN_MEMBERS.0, PREFER_UNKNOWN_MEMBERS.1)
    .json(&json!({"status": "awaitingAction"}))
    .send()
    .await
    .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Defender Experts")
    );

    // The classification table holds, and determinations left from the old alerts API fit none.
    let (status, body) = patch(
        &harness,
        &token,
        "1002",
        json!({"classification": "falsePositive", "determination": "malware"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = patch(
        &harness,
        &token,
        "1002",
        json!({"classification": "truePositive", "determination": "apt"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("With truePositive:")
    );

    for (body, fragment) in [
        (json!({"severity": "high"}), "read-only"),
        (json!({"displayName": "x"}), "read-only"),
        (json!({"tags": ["x"]}), "does not exist"),
        (json!({"comment": "x"}), "does not exist"),
    ] {
        let (status, answer) = patch(&harness, &token, "1002", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(fragment),
            "{answer}"
        );
    }
    let (status, _) = patch(&harness, &token, "999", json!({"status": "active"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn comments_are_posted_and_the_collection_comes_back() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let now = harness.freeze_clock().await;
    let (_, before) = get(&harness, &token, "/v1.0/security/incidents/1003").await;
    let count = before["comments"].as_array().unwrap().len();
    let (status, body) = send_json(
        &harness,
        Method::POST,
        &token,
        "/v1.0/security/incidents/1003/comments",
        json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": "Isolated the device"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&body), ["@odata.context", "value"]);
    assert_eq!(
        body["@odata.context"],
        format!(
            "{}/v1.0/$metadata#security/incidents('1003')/comments",
            harness.base
        )
    );
    let comments = body["value"].as_array().unwrap();
    assert_eq!(comments.len(), count + 1);
    assert_eq!(
        comments[count],
        json!({"comment": "Isolated the device", "createdByDisplayName": "API-App", "createdDateTime": now})
    );
    // The legacy API shows the same comment.
    let defender = harness.app_token().await;
    let (_, legacy) =
        status_and_json(harness.api_get(&defender, "/api/incidents/1003").await).await;
    assert_eq!(
        legacy["comments"][count],
        json!({"comment": "Isolated the device", "createdBy": "API-App", "createdTime": now})
    );
    assert_eq!(legacy["lastUpdateTime"], now);

    for bad in [
        json!({"comment": ""}),
        json!({"@odata.type": "microsoft.graph.security.incident", "comment": "x"}),
        json!({"text": "x"}),
        json!("x"),
    ] {
        let (status, body) = send_json(
            &harness,
            Method::POST,
            &token,
            "/v1.0/security/incidents/1003/comments",
            bad.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_graph_error(&body, "BadRequest");
    }
    let (status, _) = send_json(
        &harness,
        Method::POST,
        &token,
        "/v1.0/security/incidents/999/comments",
        json!({"comment": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn run_hunting(harness: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    send_json(
        harness,
        Method::POST,
        token,
        "/v1.0/security/runHuntingQuery",
        body,
    )
    .await
}

#[tokio::test]
async fn hunting_answers_in_graph_casing_over_the_same_tables() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    harness.freeze_clock().await;
    let query = "AlertInfo | where Severity != \"Informational\" | sort by Timestamp desc | take 5";
    let (status, body) = run_hunting(&harness, &token, json!({"Query": query})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&body), ["@odata.context", "schema", "results"]);
    assert_eq!(
        body["@odata.context"],
        format!(
            "{}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
            harness.base
        )
    );
    assert_eq!(
        body["schema"][0],
        json!({"name": "Timestamp", "type": "DateTime"})
    );
    let defender = harness.app_token().await;
    let (_, legacy) = status_and_json(harness.hunt(&defender, query).await).await;
    assert_eq!(body["results"], legacy["Results"]);

    let count = |body: &Value| body["results"][0]["Count"].as_i64().unwrap();
    let (_, month) = run_hunting(
        &harness,
        &token,
        json!({"Query": "DeviceProcessEvents | count", "Timespan": "P90D"}),
    )
    .await;
    let (_, day) = run_hunting(
        &harness,
        &token,
        json!({"Query": "DeviceProcessEvents | count", "Timespan": "P1D"}),
    )
    .await;
    let (_, default) = run_hunting(
        &harness,
        &token,
        json!({"Query": "DeviceProcessEvents | count"}),
    )
    .await;
    let (_, thirty_days) = run_hunting(
        &harness,
        &token,
        json!({"Query": "DeviceProcessEvents | count", "Timespan": "P30D"}),
    )
    .await;
    assert!(count(&day) > 0);
    assert!(count(&day) < count(&month), "{day} {month}");
    assert_eq!(count(&default), count(&thirty_days));
    let (_, interval) = run_hunting(
        &harness,
        &token,
        json!({"Query": "DeviceProcessEvents | count", "Timespan": "2025-01-31T00:00:00Z/2025-02-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(count(&interval), count(&day));

    for bad in [
        json!({"Timespan": "P1D"}),
        json!({"Query": ""}),
        json!({"Query": "AlertInfo | take 1", "Timespan": "one day"}),
        json!({"Query": "AlertInfo | take 1", "Limit": 5}),
        json!({"Query": "NoSuchTable | take 1"}),
        json!({"Query": "AlertInfo | where"}),
    ] {
        let (status, body) = run_hunting(&harness, &token, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_graph_error(&body, "BadRequest");
    }
}

#[tokio::test]
async fn unknown_enum_members_need_the_prefer_header() {
    let harness = Harness::start().await;
    let token = graph_token(&harness).await;
    let cloud_alert = |incidents: &[Value]| -> Option<Value> {
        incidents
            .iter()
            .flat_map(|incident| incident["alerts"].as_array().unwrap())
            .find(|alert| alert["title"] == "Suspicious process executed on a virtual machine")
            .cloned()
    };
    let (plain, _) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$expand=alerts",
        false,
    )
    .await;
    let alert = cloud_alert(&plain).expect("a Defender for Cloud alert");
    assert_eq!(alert["serviceSource"], "unknownFutureValue");
    assert_eq!(alert["detectionSource"], "unknownFutureValue");
    let (opted_in, _) = all_pages(
        &harness,
        &token,
        "/v1.0/security/incidents?$expand=alerts",
        true,
    )
    .await;
    let alert = cloud_alert(&opted_in).unwrap();
    assert_eq!(alert["serviceSource"], "microsoftDefenderForCloud");
    assert_eq!(alert["detectionSource"], "microsoftDefenderForCloud");

    let response = request(
        &harness,
        Method::GET,
        &token,
        "/v1.0/security/incidents?$top=1",
    )
    .header(PREFER_UNKNOWN_MEMBERS.0, PREFER_UNKNOWN_MEMBERS.1)
    .send()
    .await
    .unwrap();
    assert_eq!(
        response.headers()["preference-applied"],
        "include-unknown-enum-members"
    );
    assert!(response.headers().contains_key("request-id"));
    let response = request(
        &harness,
        Method::GET,
        &token,
        "/v1.0/security/incidents?$top=1",
    )
    .header("client-request-id", "3f1c9e51-0000-4000-8000-000000000001")
    .send()
    .await
    .unwrap();
    assert!(!response.headers().contains_key("preference-applied"));
    assert_eq!(
        response.headers()["client-request-id"],
        "3f1c9e51-0000-4000-8000-000000000001"
    );
}

/// Every incident through the Defender API, by id.
async fn legacy_incidents(harness: &Harness, token: &str) -> HashMap<u64, Value> {
    let mut incidents = HashMap::new();
    let mut skip = 0;
    loop {
        let (status, page) = status_and_json(
            harness
                .api_get(token, &format!("/api/incidents?$top=100&$skip={skip}"))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let value = page["value"].as_array().unwrap();
        for incident in value {
            incidents.insert(incident["incidentId"].as_u64().unwrap(), incident.clone());
        }
        if value.len() < 100 {
            return incidents;
        }
        skip += 100;
    }
}

fn assert_same(legacy: &Value, graph: &Value, fields: &[&str], what: &str) {
    for field in fields {
        assert_eq!(legacy[field], graph[field], "{what}: {field}");
    }
}

#[tokio::test]
async fn the_same_incident_reads_the_same_through_both_apis() {
    let harness = Harness::start().await;
    harness.freeze_clock().await;
    let defender = harness.app_token().await;
    let graph = graph_token(&harness).await;
    let legacy = legacy_incidents(&harness, &defender).await;
    let (incidents, _) = all_pages(
        &harness,
        &graph,
        "/v1.0/security/incidents?$expand=alerts",
        true,
    )
    .await;
    assert_eq!(incidents.len(), legacy.len());
    // Alerts, their devices and their entities are compared one by one below; Graph's alert
    // has no automated investigation.
    let incident_fields: Vec<&str> = LEGACY_INCIDENT_KEYS
        .into_iter()
        .filter(|key| *key != "alerts")
        .collect();
    let alert_fields: Vec<&str> = LEGACY_ALERT_KEYS
        .into_iter()
        .filter(|key| {
            !matches!(
                *key,
                "investigationId" | "investigationState" | "devices" | "entities"
            )
        })
        .collect();
    let mut entities_seen = 0;
    for graph_incident in &incidents {
        let translated = incident_to_legacy(graph_incident).unwrap();
        let id = translated["incidentId"].as_u64().unwrap();
        let legacy = &legacy[&id];
        let what = format!("incident {id}");
        assert_same(legacy, &translated, &incident_fields, &what);
        let legacy_alerts = legacy["alerts"].as_array().unwrap();
        let alerts = translated["alerts"].as_array().unwrap();
        assert_eq!(legacy_alerts.len(), alerts.len(), "{what}");
        for (legacy_alert, alert) in legacy_alerts.iter().zip(alerts) {
            let what = format!("{what}, alert {}", legacy_alert["alertId"]);
            assert_same(legacy_alert, alert, &alert_fields, &what);
            let legacy_devices = legacy_alert["devices"].as_array().unwrap();
            let devices = alert["devices"].as_array().unwrap();
            assert_eq!(legacy_devices.len(), devices.len(), "{what}");
            for (legacy_device, device) in legacy_devices.iter().zip(devices) {
                // Graph's device evidence has no processor architecture.
                let fields: Vec<&str> = keys(legacy_device)
                    .into_iter()
                    .filter(|key| *key != "osProcessor")
                    .collect();
                assert_same(legacy_device, device, &fields, &what);
            }
            let legacy_entities = legacy_alert["entities"].as_array().unwrap();
            let entities = alert["entities"].as_array().unwrap();
            assert_eq!(legacy_entities.len(), entities.len(), "{what}");
            for (legacy_entity, entity) in legacy_entities.iter().zip(entities) {
                entities_seen += 1;
                // Graph's analyzed message names its recipient, not the mailbox's UPN.
                let fields: Vec<&str> = keys(legacy_entity)
                    .into_iter()
                    .filter(|key| {
                        !(legacy_entity["entityType"] == "MailMessage"
                            && *key == "userPrincipalName")
                    })
                    .collect();
                assert_eq!(keys(legacy_entity), keys(entity), "{what}");
                assert_same(legacy_entity, entity, &fields, &what);
            }
        }
    }
    assert!(entities_seen > 100, "{entities_seen}");
}

#[tokio::test]
async fn a_change_through_one_api_shows_through_the_other() {
    let harness = Harness::start().await;
    harness.freeze_clock().await;
    let defender = harness.app_token().await;
    let graph = graph_token(&harness).await;

    let (status, _) = patch(
        &harness,
        &graph,
        "1010",
        json!({"status": "inProgress", "assignedTo": "soc.analyst2@contoso.com", "customTags": ["Escalated"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, legacy) =
        status_and_json(harness.api_get(&defender, "/api/incidents/1010").await).await;
    assert_eq!(legacy["status"], "InProgress");
    assert_eq!(legacy["assignedTo"], "soc.analyst2@contoso.com");
    assert_eq!(legacy["tags"], json!(["Escalated"]));

    let response = harness
        .api_patch(
            &defender,
            "/api/incidents/1010",
            json!({"status": "Resolved", "classification": "TruePositive", "determination": "Phishing", "comment": "Closed from the legacy API"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, incident) = get(
        &harness,
        &graph,
        "/v1.0/security/incidents/1010?$expand=alerts",
    )
    .await;
    assert_eq!(incident["status"], "resolved");
    assert_eq!(incident["classification"], "truePositive");
    assert_eq!(incident["determination"], "phishing");
    let last = incident["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["comment"], "Closed from the legacy API");
    assert_eq!(last["createdByDisplayName"], "API-App");
    for alert in incident["alerts"].as_array().unwrap() {
        assert_eq!(alert["status"], "resolved");
        assert!(alert["resolvedDateTime"].is_string());
    }
}

#[tokio::test]
async fn an_incident_added_with_a_graph_id_of_its_own_is_graphs_alone() {
    let harness = Harness::start().await;
    harness.freeze_clock().await;
    let defender = harness.app_token().await;
    let graph = graph_token(&harness).await;
    let legacy_before = legacy_incidents(&harness, &defender).await;

    let response = harness
        .control(
            "/incidents",
            json!({"graph_id": "ed-4c2a/7", "severity": "High"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let added: Value = response.json().await.unwrap();
    assert_eq!(added, json!({"incidentIds": ["ed-4c2a/7"]}));
    for (body, status) in [
        (json!({"graph_id": "ed-4c2a/7"}), StatusCode::CONFLICT),
        (
            json!({"graph_id": "x", "count": 2}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"graph_id": "1234"}), StatusCode::BAD_REQUEST),
        (json!({"graph_id": ""}), StatusCode::BAD_REQUEST),
    ] {
        let response = harness.control("/incidents", body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
    }

    // Graph shows it under its id, newest first, its alerts pointing to it.
    let path = "/v1.0/security/incidents/ed-4c2a%2F7?$expand=alerts";
    let (status, incident) = get(&harness, &graph, path).await;
    assert_eq!(status, StatusCode::OK, "{incident}");
    assert_eq!(incident["id"], "ed-4c2a/7");
    assert_eq!(incident["severity"], "high");
    assert!(
        incident["incidentWebUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://security.microsoft.com/incidents/ed-4c2a%2F7?tid=")
    );
    let alerts = incident["alerts"].as_array().unwrap();
    assert!(!alerts.is_empty());
    assert!(
        alerts
            .iter()
            .all(|alert| alert["incidentId"] == "ed-4c2a/7")
    );
    let (_, page) = get(&harness, &graph, "/v1.0/security/incidents?$top=1").await;
    assert_eq!(page["value"][0]["id"], "ed-4c2a/7");
    assert_eq!(
        incident_to_legacy(&incident).unwrap()["incidentId"],
        "ed-4c2a/7"
    );

    // It changes through Graph and through the control API, addressed by that id.
    let (status, _) = patch(
        &harness,
        &graph,
        "ed-4c2a%2F7",
        json!({"status": "inProgress"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, comments) = send_json(
        &harness,
        Method::POST,
        &graph,
        "/v1.0/security/incidents/ed-4c2a%2F7/comments",
        json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": "Looked at it"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{comments}");
    let response = harness
        .client
        .patch(harness.url("/_emulator/incidents/ed-4c2a%2F7"))
        .json(&json!({"tags": ["Reviewed"]}))
        .send()
        .await
        .unwrap();
    let (status, changed) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["incidentId"], "ed-4c2a/7");
    assert_eq!(changed["status"], "InProgress");
    assert_eq!(changed["tags"], json!(["Reviewed"]));
    assert!(
        changed["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|alert| alert["incidentId"] == "ed-4c2a/7")
    );
    let (_, incident) = get(&harness, &graph, "/v1.0/security/incidents/ed-4c2a%2F7").await;
    assert_eq!(incident["customTags"], json!(["Reviewed"]));
    assert_eq!(
        incident["comments"].as_array().unwrap().last().unwrap()["comment"],
        "Looked at it"
    );
    for other in ["ed-4c2a", "ed-4c2a%2F7x"] {
        let (status, _) = get(
            &harness,
            &graph,
            &format!("/v1.0/security/incidents/{other}"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }

    // The Defender API, which numbers its incidents, does not know it: not listed, and the
    // number it holds inside the emulator (the one before the next incident's) finds nothing.
    assert_eq!(
        legacy_incidents(&harness, &defender).await.len(),
        legacy_before.len()
    );
    let response = harness.control("/incidents", json!({})).await;
    let added: Value = response.json().await.unwrap();
    let next = added["incidentIds"][0].as_u64().unwrap();
    for path in [
        format!("/api/incidents/{}", next - 1),
        "/api/incidents/ed-4c2a%2F7".to_owned(),
    ] {
        let response = harness.api_get(&defender, &path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = harness
        .api_patch(
            &defender,
            &format!("/api/incidents/{}", next - 1),
            json!({"status": "Active"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        legacy_incidents(&harness, &defender)
            .await
            .contains_key(&next)
    );
}

#[tokio::test]
async fn faults_throttling_and_the_request_log_cover_graph() {
    let harness = Harness::with(EmulatorOptions {
        throttling: true,
        ..options()
    })
    .await;
    let token = graph_token(&harness).await;
    harness.freeze_clock().await;

    let added = harness
        .control(
            "/faults",
            json!({"method": "GET", "path": "/v1.0/security/incidents", "status": 503, "retry_after": 7}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let response = request(&harness, Method::GET, &token, "/v1.0/security/incidents")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_graph_error(&body, "ServiceUnavailable");

    // The fault answered before the quota was counted: 50 calls fit the minute, the next is
    // refused.
    for call in 0..50 {
        let (status, _) = get(&harness, &token, "/v1.0/security/incidents?$top=1").await;
        assert_eq!(status, StatusCode::OK, "call {call}");
    }
    let response = request(
        &harness,
        Method::GET,
        &token,
        "/v1.0/security/incidents?$top=1",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "60");
    let body: Value = response.json().await.unwrap();
    assert_graph_error(&body, "TooManyRequests");
    harness.advance_clock(60).await;
    let (status, _) = get(&harness, &token, "/v1.0/security/incidents?$top=1").await;
    assert_eq!(status, StatusCode::OK);

    let log = harness.request_log().await;
    let graph_calls: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["path"] == "/v1.0/security/incidents")
        .collect();
    assert_eq!(graph_calls.len(), 53);
    assert_eq!(graph_calls[0]["status"], 503);
    assert_eq!(graph_calls[0]["fault"], "status 503");
    assert_eq!(graph_calls[51]["status"], 429);
    let authorization = graph_calls[1]["authorization"].as_str().unwrap();
    assert!(
        authorization.starts_with("Bearer [redacted:at-"),
        "{authorization}"
    );
}
