//! What `M365D_LOG=debug` shows of a command: one line per HTTP request, sign-in included, with
//! its method, path, status, time and retry reason, inside the command's span; and nothing a
//! person must not see in a log: no secret, no query (a filter can hold the customer's data).

use m365_emulator::{DEMO_CLIENT_SECRET, DEMO_TENANT_ID};
use serde_json::json;

use crate::support::{EmulatorSettings, RunningEmulator, run_bytes};

#[test]
fn every_request_leaves_one_debug_line_in_the_command_span() {
    let emulator = RunningEmulator::start(&EmulatorSettings::default());
    emulator.call(
        "POST",
        "/_emulator/faults",
        Some(&json!({"path": "/api/incidents", "status": 503})),
    );
    let envelope = json!({
        "command": "microsoft-365-defender-incidents-list",
        // A status makes a `$filter` in the query, which must stay out of the log.
        "args": {"limit": "2", "status": "Active"},
        "params": emulator.client_secret_params()
    });
    let result = run_bytes(
        envelope.to_string().as_bytes(),
        &[],
        &[("M365D_LOG", "debug")],
    );
    assert_eq!(result.code, 0, "{}", result.message());
    let sent = emulator.requests();
    assert!(
        sent[1].contains("%24filter="),
        "the API request had a query to hide: {sent:?}"
    );

    let attempts: Vec<&str> = result
        .stderr
        .lines()
        .filter(|line| line.contains("http attempt"))
        .collect();
    let span = "command{name=microsoft-365-defender-incidents-list}";
    let token_path = format!("path=\"/{DEMO_TENANT_ID}/oauth2/v2.0/token\"");
    let expected = [
        ("method=POST", token_path.as_str(), "status=200", None),
        (
            "method=GET",
            "path=\"/api/incidents\"",
            "status=503",
            Some("retry=\"server error\""),
        ),
        ("method=GET", "path=\"/api/incidents\"", "status=200", None),
    ];
    assert_eq!(
        attempts.len(),
        expected.len(),
        "one line per request:\n{}",
        result.stderr
    );
    for (line, (method, path, status, retry)) in attempts.iter().zip(expected) {
        for part in [span, "DEBUG", method, path, status, " ms="] {
            assert!(line.contains(part), "{part} is missing from: {line}");
        }
        match retry {
            Some(retry) => assert!(line.contains(retry), "{retry} is missing from: {line}"),
            None => assert!(!line.contains("retry="), "no retry follows: {line}"),
        }
        for hidden in ["?", "$filter", "%24", "[redacted]", "Bearer"] {
            assert!(!line.contains(hidden), "{hidden:?} is in: {line}");
        }
    }

    let access_token = result.document["integration_context"]["access_token"]
        .as_str()
        .unwrap_or_else(|| {
            panic!(
                "the context keeps the access token: {}",
                result.document["integration_context"]
            )
        });
    assert!(!access_token.is_empty());
    for secret in [DEMO_CLIENT_SECRET, access_token] {
        assert!(
            !result.stderr.contains(secret),
            "a secret reached stderr:\n{}",
            result.stderr
        );
    }
}
