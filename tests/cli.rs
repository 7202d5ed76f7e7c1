//! The binary as the platform sees it: bad input of every kind, the commands that need no
//! network, and the flags.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{repo_path, run, run_bytes};

/// Checks the common promise for an unusable envelope: exit 2, one error entry, a message
/// naming the problem.
fn assert_unusable(name: &str, input: &[u8], expected: &str) {
    let started = Instant::now();
    let result = run_bytes(input, &[], &[]);
    // Generous bound: this guards against a hang or quadratic blow-up, not a benchmark.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{name}: took {:?}",
        started.elapsed()
    );
    assert_eq!(
        result.code, 2,
        "{name}: exit status; stderr: {}",
        result.stderr
    );
    let results = result.document["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{name}: one entry");
    assert_eq!(results[0]["Type"], 4, "{name}: an error entry");
    assert!(
        result.message().contains(expected),
        "{name}: message\n  expected to contain: {expected}\n  actual: {}",
        result.message()
    );
    assert!(
        result.document.get("integration_context").is_none(),
        "{name}: no context after exit 2, so the platform keeps its own"
    );
}

#[test]
fn every_broken_envelope_in_the_corpus_is_refused_with_exit_2() {
    let dir = repo_path("test_data/envelopes/broken");
    let expected: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "expected.json" {
            continue;
        }
        let message = expected
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no expected message in expected.json"));
        assert_unusable(&name, &std::fs::read(&path).unwrap(), message);
        seen += 1;
    }
    assert_eq!(seen, expected.len(), "every expected.json entry has a file");
}

#[test]
fn a_20_mb_envelope_is_refused_unread() {
    let mut input = br#"{"command":"get-mapping-fields","args":{"x":""#.to_vec();
    input.resize(20 * 1024 * 1024, b'a');
    input.extend_from_slice(br#""}}"#);
    assert_unusable("20 MB", &input, "larger than 16777216 bytes");
}

#[test]
fn nesting_100000_levels_deep_is_refused() {
    let mut input = br#"{"command":"get-mapping-fields","args":{"x":"#.to_vec();
    input.extend(std::iter::repeat_n(b'[', 100_000));
    input.extend(std::iter::repeat_n(b']', 100_000));
    input.extend_from_slice(b"}}");
    assert_unusable("deep nesting", &input, "recursion limit exceeded");
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let result = run_bytes(
        b"\xef\xbb\xbf{\"command\":\"get-mapping-fields\"}",
        &[],
        &[],
    );
    assert_eq!(result.code, 0, "{}", result.message());
}

#[test]
fn get_mapping_fields_returns_the_mirroring_scheme() {
    let result = run(&json!({"command": "get-mapping-fields"}));
    assert_eq!(result.code, 0);
    assert_eq!(
        result.document,
        json!({
            "results": [{"Microsoft 365 Defender Incident": {
                "status": "Specifies the current status of the incident.",
                "assignedTo": "Owner of the incident.",
                "classification": "Specification of the incident.",
                "determination": "Specifies the determination of the incident.",
                "tags": "List of Incident tags.",
                "comment": "Comment to be added to the incident."
            }}],
            "integration_context": {}
        })
    );
}

#[test]
fn auth_reset_forgets_tokens_and_keeps_other_keys() {
    let result = run(&json!({
        "command": "microsoft-365-defender-auth-reset",
        "integration_context": {
            "access_token": "at-secret", "valid_until": 1795908690,
            "current_refresh_token": "rt-secret", "device_code": "dc-secret",
            "someone_elses_key": {"kept": true}
        }
    }));
    assert_eq!(result.code, 0);
    assert_eq!(
        result.document["integration_context"],
        json!({"someone_elses_key": {"kept": true}})
    );
    let entry = &result.document["results"][0];
    assert_eq!(entry["Type"], 1);
    assert!(
        entry["HumanReadable"]
            .as_str()
            .unwrap()
            .starts_with("Authorization was reset successfully.")
    );
    let text = result.document.to_string();
    assert!(!text.contains("secret"), "no token survives: {text}");
}

#[test]
fn argument_errors_name_the_argument_the_value_and_what_is_allowed() {
    let cases = [
        (
            json!({"command": "microsoft-365-defender-incidents-list", "args": {"status": "open"}}),
            "Invalid value for argument `status`: \"open\". Allowed values: Active, InProgress, Resolved, Redirected.",
        ),
        (
            json!({"command": "microsoft-365-defender-incidents-list", "args": {"limit": "lots"}}),
            "Invalid value for argument `limit`: \"lots\". Expected a whole number.",
        ),
        (
            json!({"command": "microsoft-365-defender-incident-get", "args": {}}),
            "Missing required argument `id`.",
        ),
        (
            json!({"command": "microsoft-365-defender-incidents-list", "args": {"odata": "{$top: 1"}}),
            "Invalid value for argument `odata`: \"{$top: 1\". Expected a JSON value",
        ),
    ];
    for (envelope, expected) in cases {
        let result = run(&envelope);
        assert_eq!(result.code, 1, "{envelope}");
        let prefix = format!(
            "Failed to execute {} command.\nError:\n",
            envelope["command"].as_str().unwrap()
        );
        assert!(
            result.message().starts_with(&format!("{prefix}{expected}")),
            "expected: {prefix}{expected}\nactual:   {}",
            result.message()
        );
    }
}

#[test]
fn unknown_arguments_and_fields_are_ignored() {
    let result = run(&json!({
        "command": "get-mapping-fields",
        "args": {"surprise": "1"},
        "platform_extra": {"x": 1}
    }));
    assert_eq!(result.code, 0, "{}", result.message());
}

#[test]
fn the_context_survives_a_failed_command() {
    let context = json!({"access_token": "at", "valid_until": 1, "other": [1, 2]});
    let result = run(&json!({
        "command": "microsoft-365-defender-incident-get",
        "args": {"id": "x"},
        "integration_context": context
    }));
    assert_eq!(result.code, 1);
    assert_eq!(result.document["integration_context"], context);
}

#[test]
fn pretty_output_is_the_same_document() {
    let envelope = br#"{"command":"get-mapping-fields"}"#;
    let compact = run_bytes(envelope, &[], &[]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_m365-defender"))
        .arg("--pretty")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(envelope)?;
            child.wait_with_output()
        })
        .unwrap();
    let pretty: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("\n  "));
    assert_eq!(pretty, compact.document);
}

#[test]
fn version_and_help_print_text_and_exit_0() {
    for flag in ["--version", "--help"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_m365-defender"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(output.status.success(), "{flag}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with("m365-defender"), "{flag}: {text}");
    }
}

#[test]
fn an_unknown_flag_still_answers_with_a_document() {
    let result = run_bytes(b"{}", &["--frobnicate"], &[]);
    result.assert_failed(2, "unknown option");
}

#[test]
fn debug_logging_goes_to_stderr_only() {
    let result = run_bytes(
        br#"{"command":"get-mapping-fields","args":{"surprise":"1"}}"#,
        &[],
        &[("M365D_LOG", "debug")],
    );
    assert_eq!(result.code, 0);
    assert!(
        result.stderr.contains("ignoring undeclared argument"),
        "{}",
        result.stderr
    );
}

#[test]
fn the_sandbox_serves_either_backend_over_the_same_tenant() {
    let list = |backend: &str| -> Vec<Value> {
        let envelope = json!({
            "command": "microsoft-365-defender-incidents-list",
            "args": {"limit": "3"},
            "params": {"api_backend": backend}
        });
        let result = run_bytes(envelope.to_string().as_bytes(), &["--sandbox"], &[]);
        assert_eq!(result.code, 0, "{backend}: {}", result.message());
        result.document["results"][0]["Contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|incident| incident["incidentId"].clone())
            .collect()
    };
    let legacy = list("Legacy Defender API");
    assert_eq!(legacy.len(), 3);
    assert!(legacy.iter().all(Value::is_u64), "{legacy:?}");
    assert_eq!(list("Microsoft Graph"), legacy);
}
