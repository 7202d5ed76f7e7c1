//! Replay cases: `test_data/cases/*.json`, each a short story of envelopes run by the real
//! binary against a fresh emulator, with the expected output documents. Adding a case is adding
//! a file and its line in [`replay_cases!`] below; `UPDATE_CASES=1 cargo test replay` records
//! the current outputs into the files (review the diff before committing).
//!
//! A case file:
//! ```json
//! {
//!   "description": "what the case shows",
//!   "backends": ["legacy", "graph"],
//!   "emulator": {"seed": 1, "incidents": 250, "start_time": "2026-01-15T12:00:00Z", "frozen": true},
//!   "params": {"...": "instance params shared by every step, {{EMULATOR}} = the emulator's URL"},
//!   "redact": ["/results/0/Contents/lastUpdateTime"],
//!   "steps": [{
//!     "name": "auth-start",
//!     "control": [{"method": "POST", "path": "/_emulator/...", "body": {}}],
//!     "env": {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "{{EMULATOR}}"},
//!     "envelope": {"command": "...", "args": {}},
//!     "expect": {"exit": 0, "output": {}, "requests": ["GET /api/incidents?%24top=5"],
//!                "graph": {"requests": ["GET /v1.0/security/incidents?%24top=1 Prefer: …"]}}
//!   }]
//! }
//! ```
//! Each step's envelope gets the case's `params` (its own params win) and, unless it sets
//! them, the previous step's `integration_context` (with the step's `context_patch` merged in)
//! and `last_run`. In control calls, `{{USER_CODE}}` is the code the last auth-start showed. Outputs are compared after
//! redaction: the emulator's URL becomes `{{EMULATOR}}`, the device login's user code
//! `{{USER_CODE}}`, token values in the integration
//! context `<secret>`, epoch times there `<epoch>`, Microsoft Graph's request ids
//! `<request-id>`, and the case's `redact` pointers (`*`
//! matches any key or index) `<redacted>`. Every step runs with `M365D_LOG=debug`, and no
//! secret may appear on stderr or outside the integration context.
//!
//! **Two backends, one table.** Every case runs once per backend in `backends` (default: the
//! legacy Defender API, then Microsoft Graph), each against a fresh emulator over the same
//! tenant, with `api_backend` set in the params. The first backend's results are `exit`,
//! `output` and `requests`; Graph's requests, which differ by design, are recorded under
//! `graph.requests`, and its output must be the same as the legacy one — see [`legacy_view`]
//! for the few differences Graph is allowed. A step may give the Graph run its own `graph_control`
//! (instead of `control`: a recorded answer in Graph's shape, a fault on the request Graph
//! sends) and `graph_args` (merged into the args: an `odata` in Graph's syntax). Faults without
//! a body are moved to the Graph route of the same operation by themselves. Where Graph's answer
//! is rightly not the legacy one (the service's own error text), the step says why in
//! `graph_output_differs`, and Graph's `exit` and `output` are recorded under `graph` too. A
//! case that cannot run on Graph says why in `graph_opt_out`.

use std::path::Path;

use m365_emulator as emulator;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::support::{EmulatorSettings, RunningEmulator, repo_path, run_bytes};

#[derive(Deserialize)]
struct Case {
    #[allow(dead_code)]
    description: String,
    #[serde(default = "both_backends")]
    backends: Vec<Backend>,
    /// Why the case does not run against Microsoft Graph.
    #[serde(default)]
    graph_opt_out: Option<String>,
    #[serde(default)]
    emulator: EmulatorSettings,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    redact: Vec<String>,
    steps: Vec<Step>,
}

/// The `api_backend` a case runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Legacy,
    Graph,
}

impl Backend {
    fn param(self) -> &'static str {
        match self {
            Backend::Legacy => "Legacy Defender API",
            Backend::Graph => "Microsoft Graph",
        }
    }
}

fn both_backends() -> Vec<Backend> {
    vec![Backend::Legacy, Backend::Graph]
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
    /// Control calls for the Graph run instead of `control`.
    #[serde(default)]
    graph_control: Option<Vec<ControlCall>>,
    /// Args merged into the envelope's for the Graph run.
    #[serde(default)]
    graph_args: Map<String, Value>,
    /// Why Graph's output of this step is not the legacy one.
    #[serde(default)]
    graph_output_differs: Option<String>,
}

#[derive(Clone, Deserialize)]
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

/// What went wrong in a case: leaks and broken promises always count, mismatches with the
/// recorded expectations only when not re-recording.
#[derive(Default)]
struct Failures {
    always: Vec<String>,
    mismatches: Vec<String>,
}

/// What one step produced on one backend, as recorded in a case file.
struct Recorded {
    exit: i32,
    output: Value,
    requests: Value,
}

/// Runs one case on each of its backends; returns the case file rewritten with actual outputs,
/// and the failures.
fn run_case(path: &Path) -> (Value, Failures) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut file: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let case: Case = serde_json::from_value(file.clone())
        .unwrap_or_else(|e| panic!("{}: not a case: {e}", path.display()));
    let mut failures = Failures::default();
    if !case.backends.contains(&Backend::Graph) && case.graph_opt_out.is_none() {
        failures.always.push(format!(
            "{}: the case does not run on Microsoft Graph and gives no reason (graph_opt_out)",
            path.display()
        ));
    }
    let Some((&primary, others)) = case.backends.split_first() else {
        panic!("{}: backends is empty", path.display());
    };
    let first = run_steps(path, &case, primary, &mut failures);
    for (index, (step, recorded)) in case.steps.iter().zip(&first).enumerate() {
        let label = step_label(path, index, step, primary);
        let actual = json!({"exit": recorded.exit, "output": recorded.output, "requests": recorded.requests});
        let expected = step.expect.as_ref().map(|expect| {
            json!({"exit": expect["exit"], "output": expect["output"], "requests": expect["requests"]})
        });
        compare(&label, expected.as_ref(), &actual, &mut failures);
        file["steps"][index]["expect"] = actual;
    }
    for &backend in others {
        assert_eq!(
            backend,
            Backend::Graph,
            "{}: the legacy backend runs first",
            path.display()
        );
        let graph = run_steps(path, &case, backend, &mut failures);
        for (index, ((step, legacy), recorded)) in
            case.steps.iter().zip(&first).zip(graph).enumerate()
        {
            let label = step_label(path, index, step, backend);
            let mut actual = json!({"requests": recorded.requests});
            match &step.graph_output_differs {
                Some(_) => {
                    actual["exit"] = json!(recorded.exit);
                    actual["output"] = recorded.output;
                }
                None => {
                    let same = recorded.exit == legacy.exit;
                    match legacy_view(recorded.output, &legacy.output) {
                        Ok(view) if same && view == legacy.output => {}
                        Ok(view) => failures.always.push(format!(
                            "{label}: Microsoft Graph's output is not the legacy API's (or say why in graph_output_differs)\n--- legacy (exit {}) ---\n{}\n--- graph (exit {}), legacy view ---\n{}",
                            legacy.exit,
                            serde_json::to_string_pretty(&legacy.output).unwrap(),
                            recorded.exit,
                            serde_json::to_string_pretty(&view).unwrap()
                        )),
                        Err(problems) => failures.always.push(format!(
                            "{label}: Microsoft Graph's output has what the legacy API's has not:\n{}",
                            problems.join("\n")
                        )),
                    }
                }
            }
            let expected = step.expect.as_ref().map(|expect| expect["graph"].clone());
            compare(&label, expected.as_ref(), &actual, &mut failures);
            file["steps"][index]["expect"]["graph"] = actual;
        }
    }
    (file, failures)
}

fn step_label(path: &Path, index: usize, step: &Step, backend: Backend) -> String {
    format!(
        "{} step {} ({}) on {}",
        path.display(),
        index + 1,
        step.name,
        backend.param()
    )
}

/// Documents are compared as text: `Value`'s equality ignores key order, and key order is part
/// of what the platform and its readers see.
fn same_text(expected: &Value, actual: &Value) -> bool {
    serde_json::to_string(expected).ok() == serde_json::to_string(actual).ok()
}

fn compare(label: &str, expected: Option<&Value>, actual: &Value, failures: &mut Failures) {
    match expected {
        Some(expected) if same_text(expected, actual) => {}
        Some(expected) => {
            let mut differences = Vec::new();
            json_differences("", expected, actual, &mut differences);
            failures.mismatches.push(format!(
                "{label}: output differs (UPDATE_CASES=1 records the actual output)\n{}",
                differences.join("\n")
            ))
        }
        None => failures.mismatches.push(format!(
            "{label}: no expected output recorded; run with UPDATE_CASES=1 and review"
        )),
    }
}

/// Where two documents differ, as JSON pointers with both values (key order counts: the
/// output is compared as text); at most 20 places, so a failure reads as a diff.
fn json_differences(at: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    const MOST: usize = 20;
    if out.len() >= MOST || same_text(expected, actual) {
        return;
    }
    let shown = |value: Option<&Value>| match value {
        Some(value) => {
            let text = value.to_string();
            match text.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
        None => "(absent)".to_owned(),
    };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let expected_keys: Vec<&String> = e.keys().collect();
            let actual_keys: Vec<&String> = a.keys().collect();
            for key in e.keys().chain(a.keys().filter(|k| !e.contains_key(*k))) {
                let here = format!("{at}/{key}");
                match (e.get(key), a.get(key)) {
                    (Some(x), Some(y)) => json_differences(&here, x, y, out),
                    (x, y) => out.push(format!("{here}: expected {}, got {}", shown(x), shown(y))),
                }
            }
            if out.is_empty() && expected_keys != actual_keys {
                out.push(format!(
                    "{at}: keys in another order: expected {expected_keys:?}, got {actual_keys:?}"
                ));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (index, (x, y)) in e.iter().zip(a).enumerate() {
                json_differences(&format!("{at}/{index}"), x, y, out);
            }
        }
        _ => out.push(format!(
            "{}: expected {}, got {}",
            if at.is_empty() { "/" } else { at },
            shown(Some(expected)),
            shown(Some(actual))
        )),
    }
}

/// Keys of incidents and alerts that only Microsoft Graph has. The Graph backend keeps them
/// after the legacy keys, so nothing Graph says is lost (`systemTags` above all, which the
/// legacy API never had); a playbook written for the legacy API does not see them.
const GRAPH_ONLY_KEYS: &[&str] = &[
    "incidentUri",
    "tenantId",
    "systemTags",
    "description",
    "summary",
    "lastModifiedBy",
    "resolvingComment",
    "evidence",
    "providerAlertId",
    "recommendedActions",
    "alertWebUrl",
    "incidentWebUrl",
    "threatDisplayName",
    "comments",
    "productName",
    "alertPolicyId",
];

/// Legacy fields Graph has no counterpart for, which the Graph backend leaves `null`:
/// automated investigations are not part of Graph's alert, Graph's device evidence has no
/// processor architecture, and its analyzed message names the recipient's address but not the
/// mailbox owner's UPN. Each is the key, and the `entityType` of the entities it is a gap in
/// (none: in any object).
const GRAPH_GAPS: &[(&str, Option<&str>)] = &[
    ("investigationId", None),
    ("investigationState", None),
    ("osProcessor", None),
    ("userPrincipalName", Some("MailMessage")),
];

/// What Graph adds after the service's error message (see `mask_request_ids`).
const REQUEST_ID_SUFFIX: &str = " (request-id: <request-id>)";

/// Microsoft Graph's output of a step as the legacy API's would read, or what in it has no
/// place there. The differences Graph is allowed, and nothing else:
/// - keys the legacy output does not have: `null` ones (Graph's evidence fills every legacy
///   entity key, the legacy API sends only some), and [`GRAPH_ONLY_KEYS`];
/// - `null` for the legacy fields of [`GRAPH_GAPS`];
/// - the request id after the service's error message;
/// - the same in JSON held as text (a fetched incident's `rawJSON`);
/// - the token owner in the integration context names Graph's resource.
fn legacy_view(mut graph: Value, legacy: &Value) -> Result<Value, Vec<String>> {
    if let Some(Value::String(owner)) = graph.pointer_mut("/integration_context/token_owner") {
        for (graph_resource, legacy_resource) in [
            (
                "|https://graph.microsoft.com",
                "|https://security.microsoft.com/mtp",
            ),
            (
                "|https://graph.microsoft.us",
                "|https://security.microsoft.us/mtp",
            ),
            (
                "|https://dod-graph.microsoft.us",
                "|https://security.microsoft.us/mtp",
            ),
        ] {
            if let Some(prefix) = owner.strip_suffix(graph_resource) {
                *owner = format!("{prefix}{legacy_resource}");
            }
        }
    }
    let mut problems = Vec::new();
    align(&mut graph, legacy, "", &mut problems);
    if problems.is_empty() {
        Ok(graph)
    } else {
        Err(problems)
    }
}

fn align(graph: &mut Value, legacy: &Value, at: &str, problems: &mut Vec<String>) {
    match (graph, legacy) {
        (Value::Object(graph), Value::Object(legacy)) => {
            graph.retain(|key, value| {
                if legacy.contains_key(key) {
                    return true;
                }
                if !value.is_null() && !GRAPH_ONLY_KEYS.contains(&key.as_str()) {
                    problems.push(format!("{at}/{key}: {value}"));
                }
                false
            });
            let entity_type = graph
                .get("entityType")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for (key, value) in graph.iter_mut() {
                let expected = &legacy[key];
                let gap = GRAPH_GAPS.iter().any(|(gap, in_type)| {
                    gap == key && in_type.is_none_or(|t| entity_type.as_deref() == Some(t))
                });
                if value.is_null() && gap {
                    *value = expected.clone();
                }
                align(value, expected, &format!("{at}/{key}"), problems);
            }
        }
        (Value::String(graph), Value::String(legacy))
            if graph.replace(REQUEST_ID_SUFFIX, "") == *legacy =>
        {
            *graph = legacy.clone();
        }
        // A fetched incident's `rawJSON` is the incident as JSON text.
        (Value::String(graph), Value::String(legacy)) if graph != legacy => {
            let parsed = |text: &str| serde_json::from_str::<Value>(text).ok();
            if let (Some(mut inner), Some(expected)) = (parsed(graph), parsed(legacy)) {
                let mut inner_problems = Vec::new();
                align(
                    &mut inner,
                    &expected,
                    &format!("{at}(JSON)"),
                    &mut inner_problems,
                );
                if inner_problems.is_empty() && inner == expected {
                    *graph = legacy.clone();
                }
                problems.extend(inner_problems);
            }
        }
        (Value::Array(graph), Value::Array(legacy)) => {
            for (index, (value, expected)) in graph.iter_mut().zip(legacy).enumerate() {
                align(value, expected, &format!("{at}/{index}"), problems);
            }
        }
        _ => {}
    }
}

/// The control calls of `step` for `backend`. `control` is written for the case's first
/// backend; for Graph after the legacy API, the step's own `graph_control`, or its faults moved
/// to the Graph route of the same operation.
fn controls(step: &Step, backend: Backend, primary: Backend, label: &str) -> Vec<ControlCall> {
    if backend == primary {
        return step.control.clone();
    }
    if let Some(calls) = &step.graph_control {
        return calls.clone();
    }
    step.control
        .iter()
        .map(|call| {
            let mut call = call.clone();
            if call.path == "/_emulator/faults" {
                let body = call.body.as_mut().expect("a fault has a body");
                assert!(
                    body.get("body").is_none(),
                    "{label}: the fault answers with a legacy API body; give the step a graph_control"
                );
                if let Some(Value::String(path)) = body.get_mut("path") {
                    *path = graph_route(path);
                }
            }
            call
        })
        .collect()
}

/// The Graph route of a legacy API route.
fn graph_route(path: &str) -> String {
    if path == "/api/advancedhunting/run" {
        return "/v1.0/security/runHuntingQuery".to_owned();
    }
    match path.strip_prefix("/api/incidents") {
        Some(rest) => format!("/v1.0/security/incidents{rest}"),
        None => path.to_owned(),
    }
}

/// Graph stamps every error with a new request id.
fn mask_request_ids(value: &mut Value) {
    match value {
        Value::String(text) if text.contains("request-id: ") => {
            let mut masked = String::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("request-id: ") {
                let (before, after) = rest.split_at(at + "request-id: ".len());
                masked.push_str(before);
                let id_len = after
                    .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
                    .unwrap_or(after.len());
                masked.push_str("<request-id>");
                rest = &after[id_len..];
            }
            masked.push_str(rest);
            *text = masked;
        }
        Value::Array(items) => items.iter_mut().for_each(mask_request_ids),
        Value::Object(map) => map.values_mut().for_each(mask_request_ids),
        _ => {}
    }
}

/// Runs the steps of `case` on `backend` against a fresh emulator.
fn run_steps(path: &Path, case: &Case, backend: Backend, failures: &mut Failures) -> Vec<Recorded> {
    let emulator = RunningEmulator::start(&case.emulator);
    let base = emulator.base_url.clone();
    let mut recorded = Vec::new();
    let mut last_user_code = String::new();
    let mut carried_context = Value::Object(Map::new());
    let mut carried_last_run: Option<Value> = None;
    for (index, step) in case.steps.iter().enumerate() {
        let label = step_label(path, index, step, backend);
        for control in controls(step, backend, case.backends[0], &label) {
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
        params
            .as_object_mut()
            .unwrap()
            .insert("api_backend".to_owned(), json!(backend.param()));
        if let Some(own) = object.get("params").and_then(Value::as_object) {
            params.as_object_mut().unwrap().extend(own.clone());
        }
        object.insert("params".to_owned(), params);
        if backend == Backend::Graph && !step.graph_args.is_empty() {
            let args = object
                .entry("args")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("args is an object");
            args.extend(
                fill(&Value::Object(step.graph_args.clone()), &base)
                    .as_object()
                    .unwrap()
                    .clone(),
            );
        }
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
                failures.always.push(format!(
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
        mask_request_ids(&mut actual);
        recorded.push(Recorded {
            exit: result.code,
            output: actual,
            requests,
        });
    }
    recorded
}

/// One test per case file, named after it, so the cases run in parallel and a failure names
/// its case; adding a case is adding its file and its line here (a test checks the two agree).
macro_rules! replay_cases {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                replay_case($file);
            }
        )*

        const CASE_FILES: &[&str] = &[$($file),*];
    };
}

replay_cases! {
    alerts_on_the_legacy_api => "alerts-on-the-legacy-api",
    auth_certificate => "auth-certificate",
    auth_certificate_pkcs1_deprecated_params => "auth-certificate-pkcs1-deprecated-params",
    auth_client_secret => "auth-client-secret",
    auth_client_secret_wrong => "auth-client-secret-wrong",
    auth_configuration_change => "auth-configuration-change",
    auth_device_code_declined => "auth-device-code-declined",
    auth_device_code_expired => "auth-device-code-expired",
    auth_device_code_not_started => "auth-device-code-not-started",
    auth_device_code_slow_user => "auth-device-code-slow-user",
    auth_gcc_high => "auth-gcc-high",
    auth_managed_identity => "auth-managed-identity",
    auth_no_permissions => "auth-no-permissions",
    auth_revoked_refresh_token => "auth-revoked-refresh-token",
    auth_token_refresh_and_rotation => "auth-token-refresh-and-rotation",
    fetch_across_runs => "fetch-across-runs",
    fetch_alerts_across_runs => "fetch-alerts-across-runs",
    graph_alerts => "graph-alerts",
    graph_comments => "graph-comments",
    graph_enum_spellings_and_string_ids => "graph-enum-spellings-and-string-ids",
    graph_hunting_timespan => "graph-hunting-timespan",
    graph_next_link_host => "graph-next-link-host",
    graph_text_incident_id => "graph-text-incident-id",
    graph_unsupported_cloud => "graph-unsupported-cloud",
    hunting_limit_appended => "hunting-limit-appended",
    hunting_xsoar_recording => "hunting-xsoar-recording",
    incident_get_update_xsoar_recordings => "incident-get-update-xsoar-recordings",
    incident_update_tags => "incident-update-tags",
    incident_update_verdicts => "incident-update-verdicts",
    incidents_list_filters => "incidents-list-filters",
    incidents_list_paging => "incidents-list-paging",
    incidents_list_xsoar_recordings => "incidents-list-xsoar-recordings",
    incidents_retries => "incidents-retries",
    legacy_text_incident_id => "legacy-text-incident-id",
    mirroring => "mirroring",
}

#[test]
fn every_case_file_has_its_test() {
    let dir = repo_path("test_data/cases");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = CASE_FILES.to_vec();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "test_data/cases and the replay_cases! list in tests/replay.rs must name the same cases"
    );
}

/// Runs one case (`UPDATE_CASES=1` records its outputs instead of comparing them).
fn replay_case(name: &str) {
    let path = repo_path("test_data/cases").join(format!("{name}.json"));
    let (rewritten, case_failures) = run_case(&path);
    let mut failures = case_failures.always;
    if std::env::var_os("UPDATE_CASES").is_some() {
        let mut text = serde_json::to_string_pretty(&rewritten).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
    } else {
        failures.extend(case_failures.mismatches);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
