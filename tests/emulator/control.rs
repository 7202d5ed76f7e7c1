//! The control API: faults, rate limits, the request log and reset.

use m365_emulator::EmulatorOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Harness, keys, options, status_and_json};

#[tokio::test]
async fn an_injected_status_answers_n_times_then_the_real_service_does() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let response = harness
        .control("/faults", json!({"method": "GET", "path": "/api/incidents", "status": 429, "retry_after": 7, "times": 2}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for _ in 0..2 {
        let response = harness.api_get(&token, "/api/incidents?$top=1").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "7");
        let (_, body) = status_and_json(response).await;
        assert_eq!(body["error"]["code"], "TooManyRequests");
    }
    assert_eq!(harness.list_one_status(&token).await, StatusCode::OK);

    harness
        .control(
            "/faults",
            json!({"path": "/*/oauth2/v2.0/token", "status": 503}),
        )
        .await;
    let (status, body) = status_and_json(
        harness
            .client_credentials_token(m365_emulator::DEMO_CLIENT_ID, "x")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn a_dropped_connection_gets_no_response() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    harness
        .control(
            "/faults",
            json!({"path": "/api/incidents*", "drop_connection": true}),
        )
        .await;
    let error = harness
        .client
        .get(harness.url("/api/incidents"))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("the connection is closed without a response");
    assert!(!error.is_status(), "{error}");
    assert_eq!(harness.list_one_status(&token).await, StatusCode::OK);
    let log = harness.request_log().await;
    let dropped = log
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["fault"] == "drop_connection")
        .unwrap();
    assert_eq!(dropped["status"], Value::Null);
}

#[tokio::test]
async fn an_html_page_where_json_was_expected() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    harness
        .control("/faults", json!({"path": "/api/advancedhunting/run", "html": true, "status": 502, "delay_ms": 20}))
        .await;
    let response = harness.hunt(&token, "AlertInfo | take 1").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert!(response.text().await.unwrap().starts_with("<html>"));
    harness
        .control("/faults", json!({"path": "/api/incidents", "html": true}))
        .await;
    let response = harness.api_get(&token, "/api/incidents").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<Value>().await.is_err());
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_until_the_minute_passes() {
    let harness = Harness::with(EmulatorOptions {
        throttling: true,
        ..options()
    })
    .await;
    let token = harness.app_token().await;
    harness.freeze_clock().await;
    for call in 0..50 {
        let status = harness.list_one_status(&token).await;
        assert_eq!(status, StatusCode::OK, "call {call}");
    }
    let throttled = harness.api_get(&token, "/api/incidents?$top=1").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "60");
    harness.advance_clock(60).await;
    assert_eq!(harness.list_one_status(&token).await, StatusCode::OK);

    harness
        .control("/throttling", json!({"enabled": false}))
        .await;
    for _ in 0..60 {
        assert_eq!(harness.list_one_status(&token).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_request_log_has_the_recordings_shape_and_no_secrets() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    harness.api_get(&token, "/api/incidents?%24top=5").await;
    let log = harness.request_log().await;
    let entries = log.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let sign_in = &entries[0];
    assert_eq!(sign_in["method"], "POST");
    assert_eq!(sign_in["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(sign_in["form"]["client_secret"], "[redacted]");
    assert_eq!(sign_in["form"]["grant_type"], "client_credentials");
    assert!(
        !sign_in["body"]
            .as_str()
            .unwrap()
            .contains("client-secret-value")
    );
    assert_eq!(sign_in["status"], 200);
    let api = &entries[1];
    assert_eq!(
        keys(api),
        [
            "method",
            "path",
            "query",
            "authorization",
            "content_type",
            "body",
            "status",
            "time"
        ]
    );
    assert_eq!(api["path"], "/api/incidents");
    assert_eq!(api["query"], "%24top=5");
    assert_eq!(api["authorization"], "Bearer [redacted:at-1]");
    assert!(!log.to_string().contains(&token));

    let cleared = harness
        .client
        .delete(harness.url("/_emulator/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn reset_returns_to_the_seeded_state() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let (_, before) = status_and_json(harness.api_get(&token, "/api/incidents?$top=3").await).await;
    let id = before["value"][0]["incidentId"].as_u64().unwrap();
    harness
        .api_patch(
            &token,
            &format!("/api/incidents/{id}"),
            json!({"comment": "changed"}),
        )
        .await;
    harness.control("/incidents", json!({"count": 3})).await;
    let response = harness.control("/reset", json!({})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        harness.api_get(&token, "/api/incidents").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let token = harness.app_token().await;
    let (_, after) = status_and_json(harness.api_get(&token, "/api/incidents?$top=3").await).await;
    assert_eq!(before["value"], after["value"]);
}

#[tokio::test]
async fn portal_changes_move_last_update_time() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let now = harness.freeze_clock().await;
    let (_, page) = status_and_json(harness.api_get(&token, "/api/incidents?$top=1").await).await;
    let id = page["value"][0]["incidentId"].as_u64().unwrap();
    let response = harness
        .client
        .patch(harness.url(&format!("/_emulator/incidents/{id}")))
        .json(&json!({"status": "InProgress", "comment": "Taking this one"}))
        .send()
        .await
        .unwrap();
    let (status, incident) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{incident}");
    let filter = format!("/api/incidents?$filter=lastUpdateTime ge {now}");
    let (_, changed) = status_and_json(harness.api_get(&token, &filter).await).await;
    assert_eq!(changed["value"][0]["incidentId"], id);
    assert_eq!(
        changed["value"][0]["comments"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["createdBy"],
        "secops.lead@contoso.com"
    );
    harness.emulator.shutdown().await;
}
