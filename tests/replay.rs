//! Replay cases: `test_data/cases/*.json`, each a short story of envelopes run by the real
//! binary against a fresh emulator, with the expected output documents. Adding a case is adding
//! a file; `UPDATE_CASES=1 cargo test replay` records the current outputs into the files
//! (review the diff before committing).
//!
//! A case file:
//! ```json
//! {
//!   "description": "what the case shows",
//!   "emulator": {"seed": 1, "incidents": 250, "start_time": "2026-01-15T12:00:00Z", "frozen": true},
//!   "params": {"...": "instance params shared by every step, {{EMULATOR}} = the emulator's URL"},
//!   "redact": ["/results/0/Contents/lastUpdateTime"],
//!   "steps": [{
//!     "name": "auth-start",
//!     "control": [{"method": "POST", "path": "/_emulator/...", "body": {}}],
//!     "env": {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "{{EMULATOR}}"},
//!     "envelope": {"command": "...", "args": {}},
//!     "expect": {"exit": 0, "output": {}, "requests": ["GET /api/incidents?%24top=5"]}
//!   }]
//! }
//! ```
//! Each step's envelope gets the case's `params` (its own params win) and, unless it sets
//! them, the previous step's `integration_context` (with the step's `context_patch` merged in)
//! and `last_run`. In control calls, `{{USER_CODE}}` is the code the last auth-start showed. Outputs are compared after
//! redaction: the emulator's URL becomes `{{EMULATOR}}`, the device login's user code
//! `{{USER_CODE}}`, token values in the integration
//! context `<secret>`, epoch times there `<epoch>`, and the case's `redact` pointers (`*`
//! matches any key or index) `<redacted>`. Every step runs with `M365D_LOG=debug`, and no
//! secret may appear on stderr or outside the integration context.

use std::path::Path;

use m365_defender::emulator;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::support::{EmulatorSettings, RunningEmulator, repo_path, run_bytes};

#[derive(Deserialize)]
struct Case {
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    emulator: EmulatorSettings,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    redact: Vec<String>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    name: String,
    #[serde(default)]
    control: Vec<ControlCall>,
    #[serde(default)]
    env: Map<String, Value>,
    envelope: Value,
    /// Keys merged into the carried integration context (e.g. an expired `valid_until`).
    #[serde(default)]
    context_patch: Map<String, Value>,
    #[serde(default)]
    expect: Option<Value>,
}

#[derive(Deserialize)]
struct ControlCall {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
}

/// Replaces `{{EMULATOR}}` in every string.
fn fill(value: &Value, base_url: &str) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("{{EMULATOR}}", base_url)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, base_url)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, base_url)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Puts `{{EMULATOR}}` back where the emulator's URL appears (the port changes every run).
fn unfill(value: &mut Value, base_url: &str) {
    replace_text(value, base_url, "{{EMULATOR}}");
}

fn replace_text(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_text(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_text(v, from, to)),
        _ => {}
    }
}

const SECRET_KEYS: &[&str] = &["access_token", "current_refresh_token", "device_code"];
const EPOCH_KEYS: &[&str] = &["valid_until", "device_code_expires_at"];

fn redact(document: &mut Value, pointers: &[String]) {
    if let Some(context) = document
        .get_mut("integration_context")
        .and_then(Value::as_object_mut)
    {
        for key in SECRET_KEYS {
            if let Some(v) = context
                .get_mut(*key)
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            {
                *v = json!("<secret>");
            }
        }
        for key in EPOCH_KEYS {
            if let Some(v) = context.get_mut(*key).filter(|v| v.is_number()) {
                *v = json!("<epoch>");
            }
        }
    }
    for pointer in pointers {
        let segments: Vec<&str> = pointer.split('/').skip(1).collect();
        redact_path(document, &segments);
    }
}

fn redact_path(value: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        *value = json!("<redacted>");
        return;
    };
    match value {
        Value::Object(map) if *first == "*" => map.values_mut().for_each(|v| redact_path(v, rest)),
        Value::Object(map) => {
            if let Some(v) = map.get_mut(*first) {
                redact_path(v, rest)
            }
        }
        Value::Array(items) if *first == "*" => items.iter_mut().for_each(|v| redact_path(v, rest)),
        Value::Array(items) => {
            if let Some(v) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                redact_path(v, rest)
            }
        }
        _ => {}
    }
}

/// Every value that must never leave through stderr or the visible part of stdout.
fn secrets_of(context: &Value) -> Vec<String> {
    let mut secrets = vec![
        emulator::DEMO_CLIENT_SECRET.to_owned(),
        emulator::DEMO_NO_PERMISSIONS_CLIENT_SECRET.to_owned(),
    ];
    // The body lines of the demo private key.
    secrets.extend(
        emulator::DEMO_PRIVATE_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
            .map(str::to_owned),
    );
    for key in SECRET_KEYS {
        if let Some(s) = context
            .get(*key)
            .and_then(Value::as_str)
            .filter(|s| s.len() >= 8)
        {
            secrets.push(s.to_owned());
        }
    }
    secrets
}

/// The secret parameters of an envelope: client secrets and private keys (by line).
fn param_secrets(params: &Value) -> Vec<String> {
    let mut secrets = Vec::new();
    for name in ["credentials", "creds_certificate", "enc_key", "private_key"] {
        let value = match &params[name] {
            Value::String(s) => s.clone(),
            other => other["password"].as_str().unwrap_or_default().to_owned(),
        };
        secrets.extend(
            value
                .split(['\n', ' '])
                .filter(|part| {
                    part.len() >= 8 && !part.starts_with("-----") && !part.contains("PRIVATE")
                })
                .map(str::to_owned),
        );
    }
    secrets
}

/// The user code an auth-start output shows (`… enter the code **CODE** …`).
fn user_code(document: &Value) -> Option<String> {
    let text = document["results"][0]["HumanReadable"].as_str()?;
    let (_, rest) = text.split_once("the code **")?;
    Some(rest.split_once("**")?.0.to_owned())
}

/// What went wrong in a case: leaks always count, mismatches only when not re-recording.
#[derive(Default)]
struct Failures {
    leaks: Vec<String>,
    mismatches: Vec<String>,
}

/// Runs one case; returns the case file rewritten with actual outputs, and the failures.
fn run_case(path: &Path) -> (Value, Failures) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut file: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let case: Case = serde_json::from_value(file.clone())
        .unwrap_or_else(|e| panic!("{}: not a case: {e}", path.display()));
    let emulator = RunningEmulator::start(&case.emulator);
    let base = emulator.base_url.clone();
    let mut failures = Failures::default();
    let mut last_user_code = String::new();
    let mut carried_context = Value::Object(Map::new());
    let mut carried_last_run: Option<Value> = None;
    for (index, step) in case.steps.iter().enumerate() {
        let label = format!("{} step {} ({})", path.display(), index + 1, step.name);
        for control in &step.control {
            let body = control.body.as_ref().map(|b| {
                let text = fill(b, &base)
                    .to_string()
                    .replace("{{USER_CODE}}", &last_user_code);
                serde_json::from_str::<Value>(&text).unwrap()
            });
            emulator.call(&control.method, &control.path, body.as_ref());
        }
        if let Some(context) = carried_context.as_object_mut() {
            context.extend(step.context_patch.clone());
        }
        let before = emulator.requests().len();
        let mut envelope = fill(&step.envelope, &base);
        let object = envelope.as_object_mut().expect("an envelope is an object");
        let mut params = fill(&Value::Object(case.params.clone()), &base);
        if let Some(own) = object.get("params").and_then(Value::as_object) {
            params.as_object_mut().unwrap().extend(own.clone());
        }
        object.insert("params".to_owned(), params);
        object
            .entry("integration_context")
            .or_insert_with(|| carried_context.clone());
        if let Some(last_run) = &carried_last_run {
            object.entry("last_run").or_insert_with(|| last_run.clone());
        }
        let input_context = object["integration_context"].clone();
        let mut env: Vec<(String, String)> = step
            .env
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .unwrap_or_default()
                        .replace("{{EMULATOR}}", &base),
                )
            })
            .collect();
        env.push(("M365D_LOG".to_owned(), "debug".to_owned()));
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let result = run_bytes(envelope.to_string().as_bytes(), &[], &env_refs);
        let requests: Vec<String> = emulator.requests().split_off(before);

        // No secret on stderr, nor in stdout outside the integration context.
        let mut visible = result.document.clone();
        visible
            .as_object_mut()
            .unwrap()
            .remove("integration_context");
        let visible = visible.to_string();
        let mut secrets = secrets_of(&result.document["integration_context"]);
        secrets.extend(secrets_of(&input_context));
        secrets.extend(param_secrets(&envelope["params"]));
        for secret in &secrets {
            if result.stderr.contains(secret.as_str()) || visible.contains(secret.as_str()) {
                failures.leaks.push(format!(
                    "{label}: a secret leaked to stderr or the visible output"
                ));
            }
        }

        if let Some(code) = user_code(&result.document) {
            last_user_code = code;
        }
        carried_context = result.document["integration_context"].clone();
        if let Some(last_run) = result.document.get("last_run") {
            carried_last_run = Some(last_run.clone());
        }
        let mut actual = result.document.clone();
        unfill(&mut actual, &base);
        if !last_user_code.is_empty() {
            // User codes are random, like Entra ID's.
            replace_text(&mut actual, &last_user_code, "{{USER_CODE}}");
        }
        redact(&mut actual, &case.redact);
        let mut requests = Value::from(requests);
        unfill(&mut requests, &base);
        let recorded = json!({"exit": result.code, "output": actual, "requests": requests});
        match &step.expect {
            Some(expected) if expected == &recorded => {}
            Some(expected) => failures.mismatches.push(format!(
                "{label}: output differs\n--- expected ---\n{}\n--- actual ---\n{}\n--- stderr ---\n{}",
                serde_json::to_string_pretty(expected).unwrap(),
                serde_json::to_string_pretty(&recorded).unwrap(),
                result.stderr
            )),
            None => failures.mismatches.push(format!(
                "{label}: no expected output recorded; run with UPDATE_CASES=1 and review"
            )),
        }
        file["steps"][index]["expect"] = recorded;
    }
    (file, failures)
}

#[test]
fn replay_cases() {
    let dir = repo_path("test_data/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no replay cases in {}", dir.display());
    let only = std::env::var("CASE").ok();
    let update = std::env::var_os("UPDATE_CASES").is_some();
    let mut failures = Vec::new();
    for path in paths {
        if only
            .as_deref()
            .is_some_and(|o| !path.to_string_lossy().contains(o))
        {
            continue;
        }
        let (rewritten, case_failures) = run_case(&path);
        failures.extend(case_failures.leaks);
        if update {
            let mut text = serde_json::to_string_pretty(&rewritten).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
        } else {
            failures.extend(case_failures.mismatches);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
