//! Advanced hunting: the KQL subset, the response shape and its limits.

use reqwest::StatusCode;
use serde_json::Value;

use super::{Harness, keys, status_and_json};

async fn hunt(harness: &Harness, token: &str, query: &str) -> Value {
    let (status, body) = status_and_json(harness.hunt(token, query).await).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn results(body: &Value) -> &Vec<Value> {
    body["Results"].as_array().unwrap()
}

#[tokio::test]
async fn answers_with_stats_schema_and_results() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    // The query the XSOAR integration sends, with its pasted-on limit.
    let body = hunt(
        &harness,
        &token,
        "AlertInfo | where Severity != \"Informational\"| limit 3 ",
    )
    .await;
    assert_eq!(keys(&body), ["Stats", "Schema", "Results"]);
    assert!(body["Stats"]["ExecutionTime"].is_number());
    assert_eq!(
        body["Schema"][0],
        serde_json::json!({"Name": "Timestamp", "Type": "DateTime"})
    );
    let rows = results(&body);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|row| row["Severity"] != "Informational"));
    assert_eq!(
        keys(&rows[0]),
        [
            "Timestamp",
            "AlertId",
            "Title",
            "Category",
            "Severity",
            "ServiceSource",
            "DetectionSource",
            "AttackTechniques"
        ]
    );
}

#[tokio::test]
async fn where_operators_project_top_count_and_let() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let body = hunt(&harness, &token, "DeviceProcessEvents | where FileName == 'powershell.exe' and ProcessId > 100 | project FileName, ProcessId | take 5").await;
    assert_eq!(results(&body).len(), 5);
    assert_eq!(results(&body)[0].as_object().unwrap().len(), 2);
    assert!(
        results(&body)
            .iter()
            .all(|row| row["FileName"] == "powershell.exe")
    );

    let body = hunt(
        &harness,
        &token,
        "DeviceProcessEvents | where FolderPath has 'system32' | take 3",
    )
    .await;
    assert!(results(&body).iter().all(|row| {
        row["FolderPath"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("system32")
    }));
    let body = hunt(
        &harness,
        &token,
        "DeviceProcessEvents | where FolderPath has 'system3' | take 3",
    )
    .await;
    assert!(results(&body).is_empty(), "has matches whole terms only");
    let body = hunt(
        &harness,
        &token,
        "DeviceProcessEvents | where ProcessCommandLine contains 'NETSVCS' | take 3",
    )
    .await;
    assert_eq!(results(&body).len(), 3);

    let body = hunt(
        &harness,
        &token,
        "EmailEvents | where AttachmentCount >= 2 or UrlCount < 1 | count",
    )
    .await;
    assert_eq!(
        body["Schema"],
        serde_json::json!([{"Name": "Count", "Type": "Int64"}])
    );
    let count = results(&body)[0]["Count"].as_i64().unwrap();
    assert!(count > 0 && count < 8000, "{count}");

    let body = hunt(
        &harness,
        &token,
        "let since = ago(2d);\nlet Network = DeviceNetworkEvents | where Timestamp >= since;\nNetwork | where RemotePort != 443 | top 4 by Timestamp desc",
    )
    .await;
    let times: Vec<jiff::Timestamp> = results(&body)
        .iter()
        .map(|row| row["Timestamp"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 4);
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]));
    assert!(times[3] >= "2025-01-30T00:00:00Z".parse().unwrap());
    assert!(results(&body).iter().all(|row| row["RemotePort"] != 443));

    let body = hunt(&harness, &token, "IdentityLogonEvents | where Timestamp < datetime(2025-01-05) | where ActionType in ('LogonFailed') | take 2").await;
    assert!(
        results(&body)
            .iter()
            .all(|row| row["ActionType"] == "LogonFailed")
    );
}

#[tokio::test]
async fn strings_and_comments_do_not_confuse_the_parser() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let body = hunt(
        &harness,
        &token,
        "AlertInfo | where Title != 'a | b // not a comment' // a trailing comment",
    )
    .await;
    assert!(!results(&body).is_empty());
    let body = hunt(&harness, &token, "// hunting for phish\nAlertInfo\n| where Category == \"InitialAccess\" // the trailing comment\n| limit 5").await;
    assert_eq!(results(&body).len(), 5);
    assert!(
        results(&body)
            .iter()
            .all(|row| row["Category"] == "InitialAccess")
    );
}

#[tokio::test]
async fn syntax_and_name_errors_are_400() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    for (query, fragment) in [
        ("AlertInfo | where", "Syntax error"),
        ("AlertInfo | where Title == 'open", "Syntax error"),
        ("AlertInfo | frobnicate", "Syntax error"),
        (
            "NoSuchTable | take 1",
            "Failed to resolve table or column expression named 'NoSuchTable'",
        ),
        (
            "AlertInfo | where NoSuchColumn == 1",
            "Failed to resolve scalar expression named 'NoSuchColumn'",
        ),
        (
            "AlertInfo | where Title > 3",
            "Cannot compare values of types string and long",
        ),
    ] {
        let (status, body) = status_and_json(harness.hunt(&token, query).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{query}: {message}");
    }
}

#[tokio::test]
async fn results_stop_at_100000_rows() {
    let harness = Harness::start().await;
    let token = harness.app_token().await;
    let body = hunt(&harness, &token, "DeviceProcessEvents | project ReportId").await;
    assert_eq!(results(&body).len(), 100_000);
    let body = hunt(&harness, &token, "DeviceProcessEvents | count").await;
    assert!(results(&body)[0]["Count"].as_i64().unwrap() > 100_000);
}
