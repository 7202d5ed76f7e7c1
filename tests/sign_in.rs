//! Sign-in behaviour that needs more than a replay case can show: token values that must
//! change (rotation) or stay (a failed refresh), and polling inside one auth-complete run.

use serde_json::{Value, json};

use crate::support::{EmulatorSettings, RunningEmulator, run};

fn device_params(emulator: &RunningEmulator) -> Value {
    json!({
        "base_url": emulator.base_url,
        "azure_ad_endpoint": emulator.base_url,
        "creds_client_id": {"identifier": "", "password": "11111111-2222-3333-4444-555555555555"}
    })
}

/// Runs auth-start and returns its context and the user code it shows.
fn auth_start(params: &Value) -> (Value, String) {
    let started = run(&json!({"command": "microsoft-365-defender-auth-start", "params": params}));
    assert_eq!(started.code, 0, "{}", started.message());
    let text = started.document["results"][0]["HumanReadable"]
        .as_str()
        .unwrap();
    let code = text
        .split("the code **")
        .nth(1)
        .unwrap()
        .split("**")
        .next()
        .unwrap();
    (
        started.document["integration_context"].clone(),
        code.to_owned(),
    )
}

/// A signed-in context, through the device code flow.
fn signed_in(emulator: &RunningEmulator) -> Value {
    let params = device_params(emulator);
    let (context, code) = auth_start(&params);
    emulator.call(
        "POST",
        "/_emulator/devicelogin",
        Some(&json!({"user_code": code})),
    );
    let completed = run(&json!({
        "command": "microsoft-365-defender-auth-complete",
        "params": params, "integration_context": context
    }));
    assert_eq!(completed.code, 0, "{}", completed.message());
    completed.document["integration_context"].clone()
}

#[test]
fn refresh_tokens_rotate_and_a_failed_refresh_hands_the_context_back_unchanged() {
    let emulator = RunningEmulator::start(&EmulatorSettings::default());
    let params = device_params(&emulator);
    let mut context = signed_in(&emulator);
    let first_refresh = context["current_refresh_token"].clone();
    assert!(first_refresh.as_str().is_some_and(|t| !t.is_empty()));

    context["valid_until"] = json!(0);
    let refreshed = run(&json!({
        "command": "microsoft-365-defender-auth-test", "params": params, "integration_context": context
    }));
    assert_eq!(refreshed.code, 0, "{}", refreshed.message());
    let rotated = &refreshed.document["integration_context"];
    assert_ne!(
        rotated["current_refresh_token"], first_refresh,
        "the refresh token rotated"
    );
    assert_ne!(rotated["access_token"], context["access_token"]);
    assert!(rotated["valid_until"].as_i64().unwrap() > 0);

    // The old refresh token was used up by the rotation: refreshing with it fails, and the
    // context comes back exactly as it went in.
    let stale = run(&json!({
        "command": "microsoft-365-defender-auth-test", "params": params, "integration_context": context
    }));
    stale.assert_failed(1, "invalid_grant");
    assert_eq!(stale.document["integration_context"], context);
}

#[test]
fn auth_complete_polls_until_the_user_approves() {
    // The clock runs, so the emulator sees the client wait its interval between polls.
    // An interval of 1 second (the shortest the plugin honours) instead of Entra ID's 5.
    let emulator = RunningEmulator::start(&EmulatorSettings {
        frozen: Some(false),
        device_code_poll_interval_secs: Some(1),
        ..EmulatorSettings::default()
    });
    let params = device_params(&emulator);
    let (context, code) = auth_start(&params);
    let approver = {
        let base_url = emulator.base_url.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                reqwest::Client::new()
                    .post(format!("{base_url}/_emulator/devicelogin"))
                    .json(&json!({"user_code": code}))
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap();
            });
        })
    };
    let completed = run(&json!({
        "command": "microsoft-365-defender-auth-complete",
        "args": {"timeout": "30"}, "params": params, "integration_context": context
    }));
    approver.join().unwrap();
    assert_eq!(completed.code, 0, "{}", completed.message());
    let polls: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.contains("grant_type=urn:ietf:params:oauth:grant-type:device_code"))
        .collect();
    assert_eq!(
        polls.len(),
        2,
        "one pending poll, then the approved one: {polls:?}"
    );
}

#[test]
fn an_unreachable_sign_in_host_is_named_with_the_cause() {
    let result = run(&json!({
        "command": "test-module",
        "params": {
            "base_url": "http://127.0.0.1:9",
            "azure_ad_endpoint": "http://127.0.0.1:9",
            "client_credentials": true,
            "creds_client_id": {"password": "app"},
            "creds_tenant_id": {"password": "tenant"},
            "credentials": {"password": "a-secret-value"}
        }
    }));
    assert_eq!(result.code, 1);
    let message = result.message();
    assert!(
        message.contains("The sign-in service at http://127.0.0.1:9 could not be reached"),
        "{message}"
    );
    assert!(!message.contains("a-secret-value"));
}
