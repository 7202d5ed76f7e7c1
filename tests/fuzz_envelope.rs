//! Random and extreme envelopes fed to the real binary: whatever arrives on stdin, the run ends
//! in exactly one JSON document and a newline, exits 0, 1 or 2, never panics, never shows a
//! secret, and hands back the integration context it was given, changed only where the
//! command changes it on purpose (CONTRACT §3, §5, §8).
//!
//! The envelopes come from a seeded generator, so a run is reproducible: `FUZZ_SEED=<n>` picks
//! another sequence, `FUZZ_CASE=<i>` runs one case of it, `FUZZ_CASES=<n>` and
//! `FUZZ_SECONDS=<s>` move the bounds (300 cases or 20 seconds, whichever comes first).
//! Every host the binary could reach is on 127.0.0.1: the emulator, or a port nothing listens
//! on; host parameters are never left empty, since empty means Microsoft's real hosts. In about
//! a third of the cases the emulator misanswers too (its faults: throttling, errors, HTML,
//! dropped connections, bodies with extreme numbers), so that answers are fuzzed as well.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use m365_defender::declaration::{ArgumentType, integration};
use m365_emulator::{
    DEMO_CERT_THUMBPRINT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_MANAGED_IDENTITY_CLIENT_ID,
    DEMO_PRIVATE_KEY_PEM, DEMO_TENANT_ID,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::support::{EmulatorSettings, Finished, RunningEmulator, spawn_within};

/// The sequence CI runs; `FUZZ_SEED` adds to it.
const BASE_SEED: u64 = 0x6d33_3635_6466_7a31;
const DEFAULT_CASES: usize = 300;
const DEFAULT_SECONDS: u64 = 20;
/// A run taking longer than this is a hang: every timeout the generator gives is a few seconds.
const HANG_AFTER: Duration = Duration::from_secs(60);
/// A loopback port nothing listens on. Not one the system hands out (`127.0.0.1:0`): the
/// emulators of tests running beside this one could get it.
const CLOSED: &str = "http://127.0.0.1:1";
const BOM: &[u8] = b"\xef\xbb\xbf";
/// A failing envelope longer than this goes to a file instead of the test's output.
const PRINT_AT_MOST: usize = 64 * 1024;

/// Context keys a command may add, replace or remove on purpose: the tokens and device code a
/// sign-in stores and auth-reset forgets (CONTRACT §5).
fn is_token_key(key: &str) -> bool {
    matches!(
        key,
        "access_token" | "valid_until" | "current_refresh_token" | "token_owner"
    ) || key.starts_with("device_code")
}

/// Context keys the mirroring commands keep their state in.
fn is_mirroring_key(key: &str) -> bool {
    key.starts_with("mirror_")
}

const MIRRORING_COMMANDS: [&str; 3] = [
    "get-modified-remote-data",
    "get-remote-data",
    "update-remote-system",
];

/// Everything one case needs from the world around it: where the emulator and a closed port are.
struct World {
    emulator: String,
    closed: String,
}

/// One generated input.
struct Case {
    index: usize,
    stdin: Vec<u8>,
    env: Vec<(&'static str, String)>,
    /// The envelope as parsed JSON, when the input is a JSON object.
    envelope: Option<Value>,
    /// Secrets placed in the parameters; none may show on stdout or stderr.
    secrets: Vec<String>,
    /// How the emulator misanswers during the case (its `/_emulator/faults` specs).
    faults: Vec<Value>,
}

#[test]
fn random_and_extreme_envelopes_end_in_one_document_without_panic() {
    let seed = BASE_SEED.wrapping_add(env_number("FUZZ_SEED").unwrap_or(0));
    let cases = env_number("FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as usize);
    let budget = Duration::from_secs(env_number("FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS));
    let only = env_number("FUZZ_CASE").map(|n| n as usize);
    let started = Instant::now();
    let first = only.unwrap_or(0);
    let last = only.map_or(cases, |i| i + 1);
    let next = AtomicUsize::new(first);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let ran = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                // One emulator for each thread: a case's faults must meet that case's requests.
                // On the real clock: the emulator checks the time in signed client assertions.
                let emulator = RunningEmulator::start(&EmulatorSettings {
                    start_time: Some("now".to_owned()),
                    ..EmulatorSettings::default()
                });
                let world = World {
                    emulator: emulator.base_url.clone(),
                    closed: CLOSED.to_owned(),
                };
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= last || started.elapsed() > budget {
                        break;
                    }
                    let case = generate(seed, index, &world);
                    emulator.call("DELETE", "/_emulator/faults", None);
                    if !case.faults.is_empty() {
                        let faults = Value::Array(case.faults.clone());
                        emulator.call("POST", "/_emulator/faults", Some(&faults));
                    }
                    let outcome = check(&case);
                    tally.lock().unwrap().count(&case, &outcome);
                    if let Err(Problem::Panic(problem) | Problem::Broken(problem)) = outcome {
                        failures.lock().unwrap().push(report(seed, &case, &problem));
                    }
                    ran.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let ran = ran.into_inner();
    eprintln!(
        "fuzz_envelope: {ran} envelopes in {:.1} s (seed {seed:#x})\n{}",
        started.elapsed().as_secs_f64(),
        tally.into_inner().unwrap()
    );
    assert!(
        failures.is_empty(),
        "{} of {ran} envelopes broke the contract:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        ran >= 50.min(last - first),
        "only {ran} envelopes ran in the time allowed"
    );
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {value:?}")),
    )
}

/// Exit statuses by command, to show what the generator reached.
#[derive(Default)]
struct Tally(std::collections::BTreeMap<String, [usize; 4]>);

impl Tally {
    fn count(&mut self, case: &Case, outcome: &Result<i32, Problem>) {
        let command = case
            .envelope
            .as_ref()
            .and_then(|e| e["command"].as_str())
            .filter(|c| command_names().iter().any(|n| n == c))
            .unwrap_or("(other input)");
        let column = match outcome {
            Ok(code) => *code as usize,
            Err(_) => 3,
        };
        self.0.entry(command.to_owned()).or_default()[column] += 1;
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exit 0 / 1 / 2 / broken, by command:")?;
        for (command, [ok, failed, unusable, broken]) in &self.0 {
            writeln!(f, "  {command}: {ok} / {failed} / {unusable} / {broken}")?;
        }
        Ok(())
    }
}

// --- Checking one run.

/// How a run broke the contract.
enum Problem {
    /// Exit status 101 or a panic message.
    Panic(String),
    Broken(String),
}

/// Runs one case; its exit status when everything held.
fn check(case: &Case) -> Result<i32, Problem> {
    use Problem::Broken;

    let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Finished {
        status,
        stdout,
        stderr,
    } = spawn_within(&case.stdin, &[], &env, HANG_AFTER).map_err(Broken)?;
    let describe = |problem: String| {
        format!(
            "{problem}\nexit status: {status}\nstdout: {}\nstderr: {}",
            cut(&String::from_utf8_lossy(&stdout), PRINT_AT_MOST),
            cut(&stderr, 4000)
        )
    };
    let shown = |problem: String| Broken(describe(problem));
    let code = status
        .code()
        .ok_or_else(|| shown("killed by a signal".to_owned()))?;
    if code == 101 || stderr.contains("panicked") {
        return Err(Problem::Panic(describe("the binary panicked".to_owned())));
    }
    if !(0..=2).contains(&code) {
        return Err(shown(format!("exit status {code} is not 0, 1 or 2")));
    }
    let text =
        std::str::from_utf8(&stdout).map_err(|e| shown(format!("stdout is not UTF-8: {e}")))?;
    let Some(line) = text.strip_suffix('\n') else {
        return Err(shown("stdout does not end in a newline".to_owned()));
    };
    if line.contains('\n') {
        return Err(shown("stdout is more than one line".to_owned()));
    }
    let document: Value = serde_json::from_str(line)
        .map_err(|e| shown(format!("stdout is not one JSON document: {e}")))?;
    schema_errors(&document)
        .map_err(|errors| shown(format!("the output does not match its schema: {errors}")))?;
    for secret in &case.secrets {
        if text.contains(secret.as_str()) || stderr.contains(secret.as_str()) {
            return Err(shown(format!("the secret {secret:?} shows in the output")));
        }
    }
    check_context(case, code, &document).map_err(shown)?;
    Ok(code)
}

/// What `document` breaks of `schemas/output.schema.json`.
fn schema_errors(document: &Value) -> Result<(), String> {
    let errors = crate::support::schema_errors(document);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The integration context goes back as it came, but for what the command changes on purpose.
fn check_context(case: &Case, code: i32, document: &Value) -> Result<(), String> {
    let given = case
        .envelope
        .as_ref()
        .and_then(|e| e.get("integration_context"))
        .and_then(Value::as_object);
    let returned = document.get("integration_context");
    if code == 2 {
        // After exit 2 the key is absent (CONTRACT §3): the platform keeps what it stored.
        return match returned {
            None => Ok(()),
            Some(_) => Err("after exit 2 the output carries an integration_context".to_owned()),
        };
    }
    let Some(Value::Object(returned)) = returned else {
        return Err(format!(
            "after exit {code} the output has no integration_context object"
        ));
    };
    let command = case
        .envelope
        .as_ref()
        .and_then(|e| e["command"].as_str())
        .unwrap_or_default();
    let may_change = |key: &str| {
        is_token_key(key) || (MIRRORING_COMMANDS.contains(&command) && is_mirroring_key(key))
    };
    for (key, value) in given.into_iter().flatten() {
        if may_change(key) {
            continue;
        }
        if returned.get(key) != Some(value) {
            return Err(format!(
                "context key {key:?} was {value} and came back as {}",
                returned
                    .get(key)
                    .map_or("(absent)".to_owned(), Value::to_string)
            ));
        }
    }
    for key in returned.keys() {
        let new = given.is_none_or(|g| !g.contains_key(key));
        if new && !may_change(key) {
            return Err(format!("context key {key:?} appeared from nowhere"));
        }
    }
    if command != "fetch-incidents"
        && (document.get("last_run").is_some() || document.get("incidents").is_some())
    {
        return Err(
            "last_run or incidents in the output of a command other than fetch-incidents"
                .to_owned(),
        );
    }
    Ok(())
}

/// The failure, with everything needed to run the case again.
fn report(seed: u64, case: &Case, problem: &str) -> String {
    let input = String::from_utf8_lossy(&case.stdin);
    let shown = if case.stdin.len() <= PRINT_AT_MOST {
        format!("stdin ({} bytes): {input}", case.stdin.len())
    } else {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fuzz-envelope-{seed:x}-{}.json", case.index));
        std::fs::write(&path, &case.stdin).unwrap();
        format!(
            "stdin ({} bytes, in full in {}): {}…",
            case.stdin.len(),
            path.display(),
            cut(&input, PRINT_AT_MOST)
        )
    };
    let env: Vec<String> = case.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "case {} (FUZZ_SEED={} FUZZ_CASE={}): {problem}\nenvironment: {}\nemulator faults: {}\n{shown}",
        case.index,
        seed.wrapping_sub(BASE_SEED),
        case.index,
        env.join(" "),
        Value::Array(case.faults.clone())
    )
}

fn cut(text: &str, at_most: usize) -> &str {
    let mut end = text.len().min(at_most);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

// --- Generating cases.

fn generate(seed: u64, index: usize, world: &World) -> Case {
    let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let imds = if rng.random_bool(0.5) {
        world.emulator.clone()
    } else {
        world.closed.clone()
    };
    let mut env = vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds)];
    // A proxy from the environment (the `proxy` parameter) leads to a closed loopback port too.
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        env.push((name, world.closed.clone()));
    }
    env.push(("NO_PROXY", "127.0.0.1".to_owned()));
    if rng.random_bool(0.2) {
        // Debug logs must not show a secret either.
        env.push(("M365D_LOG", "debug".to_owned()));
    }
    let mut secrets = Vec::new();
    // Every command first, so each one runs in every run of the test.
    let commands = command_names();
    let command = match commands.get(index) {
        Some(name) => Value::String(name.clone()),
        None => pick_command(&mut rng, &commands),
    };
    let name = command.as_str().unwrap_or_default().to_owned();
    let mut envelope = Map::new();
    envelope.insert("command".into(), command);
    envelope.insert("args".into(), Value::Object(arguments(&mut rng, &name)));
    envelope.insert(
        "params".into(),
        Value::Object(params(&mut rng, world, &name, &mut secrets)),
    );
    envelope.insert(
        "integration_context".into(),
        Value::Object(context(&mut rng)),
    );
    if rng.random_bool(0.5) {
        envelope.insert("last_run".into(), last_run(&mut rng));
    }
    if rng.random_bool(0.2) {
        let instance = if rng.random_bool(0.8) {
            json!(random_text(&mut rng))
        } else {
            random_value(&mut rng, 1)
        };
        envelope.insert("integration_instance".into(), instance);
    }
    if rng.random_bool(0.1) {
        envelope.insert(random_text(&mut rng), random_value(&mut rng, 2));
    }
    if rng.random_bool(0.04) {
        // A known field of the wrong type.
        let field = *[
            "command",
            "args",
            "params",
            "integration_context",
            "last_run",
        ]
        .choose(&mut rng)
        .unwrap();
        envelope.insert(field.into(), random_value(&mut rng, 2));
    }
    let envelope = Value::Object(envelope);
    let text = envelope.to_string().into_bytes();
    let stdin = if rng.random_bool(0.08) {
        broken_bytes(&mut rng, &text)
    } else {
        text
    };
    // What the binary can read of it: broken bytes may still hold an envelope after a BOM.
    let envelope = serde_json::from_slice::<Value>(stdin.strip_prefix(BOM).unwrap_or(&stdin))
        .ok()
        .filter(Value::is_object);
    let faults = if rng.random_bool(0.3) {
        faults(&mut rng, world)
    } else {
        Vec::new()
    };
    Case {
        index,
        stdin,
        env,
        envelope,
        secrets,
        faults,
    }
}

fn command_names() -> Vec<String> {
    let mut names: Vec<String> = integration()
        .unwrap()
        .script
        .commands
        .iter()
        .map(|c| c.name.clone())
        .collect();
    names.extend(["test-module".to_owned(), "fetch-incidents".to_owned()]);
    names
}

fn pick_command(rng: &mut StdRng, known: &[String]) -> Value {
    match rng.random_range(0..40) {
        0 => random_value(rng, 1),
        1 => Value::String(random_text(rng)),
        2 | 3 => {
            let name = known.choose(rng).unwrap();
            let variants = [
                name.to_uppercase(),
                format!(" {name}"),
                format!("{name}\u{0}"),
                format!("{name}\u{200f}"),
                name.replace('-', "_"),
                String::new(),
            ];
            Value::String(variants.choose(rng).unwrap().clone())
        }
        _ => Value::String(known.choose(rng).unwrap().clone()),
    }
}

/// Every declared argument of `command`, each given or not, with a value of its kind or any
/// value at all; and now and then one nobody declared.
fn arguments(rng: &mut StdRng, command: &str) -> Map<String, Value> {
    let mut args = Map::new();
    let Some(declaration) = integration().unwrap().command(command) else {
        if rng.random_bool(0.5) {
            args.insert("timeout".into(), json!("1"));
        }
        return args;
    };
    for argument in &declaration.arguments {
        let name = argument.name.as_str();
        if name == "timeout" {
            // Short, so runs stay fast; or one of the values no range accepts. Never absent:
            // auth-complete's default waits a minute for a person.
            args.insert(name.into(), timeout_value(rng));
            continue;
        }
        if !argument.required && rng.random_bool(0.3) {
            continue;
        }
        let value = if rng.random_bool(0.1) {
            random_value(rng, 3)
        } else if name == "query" {
            // Hunting: small answers; any text reaches only the emulator.
            let queries = [
                json!("DeviceProcessEvents | take 2"),
                json!("DeviceProcessEvents | take 1 | project DeviceId"),
                json!("DeviceProcessEvents\n| take 3 // a comment |"),
                json!("T | where x == \"|\" // c"),
                json!(random_text(rng)),
            ];
            queries.choose(rng).unwrap().clone()
        } else if name == "lastUpdate" {
            let times = [
                "2026-01-15T11:00:00Z",
                "9999-12-31T23:59:59Z",
                "0001-01-01T00:00:00Z",
                "-1",
                "0",
                "1e20",
                "99999999999999999999",
                "2 days ago",
                "",
            ];
            json!(times.choose(rng).unwrap())
        } else if !argument.predefined.is_empty() && rng.random_bool(0.7) {
            json!(argument.predefined.choose(rng).unwrap())
        } else {
            match argument.kind {
                Some(ArgumentType::Number) if rng.random_bool(0.5) => {
                    json!(["1", "2", "3", "10"].choose(rng).unwrap())
                }
                Some(ArgumentType::Number) => number_value(rng),
                Some(ArgumentType::Boolean) => {
                    json!(
                        ["true", "false", "yes", "No", "1", "", "maybe"]
                            .choose(rng)
                            .unwrap()
                    )
                }
                Some(ArgumentType::Json) => json_argument(rng),
                None if name.to_lowercase().contains("id") => id_value(rng),
                None => json!(random_text(rng)),
            }
        };
        args.insert(name.into(), value);
    }
    if rng.random_bool(0.2) {
        args.insert(random_text(rng), random_value(rng, 2));
    }
    args
}

/// One of the values of a JSON array written out: lists of odd values read best as JSON.
fn one_of(rng: &mut StdRng, values: &str) -> Value {
    let values: Vec<Value> = serde_json::from_str(values).expect("a JSON array");
    values.choose(rng).unwrap().clone()
}

fn timeout_value(rng: &mut StdRng) -> Value {
    if rng.random_bool(0.8) {
        return one_of(rng, r#"["1", "2", 1, "1.0", " 2 "]"#);
    }
    // None of these is in any timeout's range.
    one_of(
        rng,
        r#"["9223372036854775807", "18446744073709551616", 18446744073709551615,
            -9223372036854775808, "-1", "3601", 1e300, "1e309", "NaN", "-inf", "1.5", true,
            ["1"], {"s": 1}]"#,
    )
}

fn number_value(rng: &mut StdRng) -> Value {
    one_of(
        rng,
        r#"["0", "1", "-1", "3", 2, "100", "10000", "10001", "100001", "1000000",
            "9223372036854775807", "-9223372036854775808", "99999999999999999999999999",
            18446744073709551615, -9223372036854775808, -0.0, 2.5, 5e-324, 1e300, "1e309",
            "NaN", "Infinity", "0x1F", "٣", "", " "]"#,
    )
}

fn id_value(rng: &mut StdRng) -> Value {
    if rng.random_bool(0.5) {
        return json!(rng.random_range(1001..1250).to_string());
    }
    one_of(
        rng,
        r#"[1001, "0", "-1", "18446744073709551616", "9223372036854775807", "ed-4c2a/7",
            "../../api/incidents", "1001?$top=1", "1%2F2", "\u202e1001"]"#,
    )
}

fn json_argument(rng: &mut StdRng) -> Value {
    one_of(
        rng,
        r#"[{"$top": 1}, {"$top": "1"}, {"$top": -1}, {"$top": 1e300},
            {"$top": "99999999999999999999"}, {"$skip": 18446744073709551615},
            {"$filter": "status eq 'Active'"}, {"$filter": "'"}, "{\"$top\": 2}", "{not json",
            {"status": "Resolved", "closeReason": "x"}, {"tags": ["a", "b"], "assignedTo": null},
            [{"type": 1, "contents": "note", "tags": ["CommentToMicrosoft365Defender"]}],
            [{"contents": {"nested": [1, 2]}}], [], {}, null]"#,
    )
}

/// The instance parameters: a coherent sign-in against the emulator or a closed port, then some
/// of the declared parameters given values of any kind. Host parameters are always loopback.
fn params(
    rng: &mut StdRng,
    world: &World,
    command: &str,
    secrets: &mut Vec<String>,
) -> Map<String, Value> {
    let host = if rng.random_bool(0.75) {
        &world.emulator
    } else {
        &world.closed
    };
    let mut params = Map::new();
    params.insert("base_url".into(), json!(host));
    params.insert("azure_ad_endpoint".into(), json!(host));
    let marker = format!("fz-secret-{}", rng.random::<u32>());
    // Mostly a sign-in the emulator accepts, so that commands run past it.
    match *[0, 0, 0, 1, 1, 2, 3, 4].choose(rng).unwrap() {
        0 => {
            params.insert("client_credentials".into(), json!(true));
            params.insert(
                "creds_client_id".into(),
                json!({"identifier": "", "password": DEMO_CLIENT_ID}),
            );
            params.insert(
                "creds_tenant_id".into(),
                json!({"identifier": "", "password": DEMO_TENANT_ID}),
            );
            params.insert(
                "credentials".into(),
                json!({"identifier": "", "password": DEMO_CLIENT_SECRET}),
            );
            secrets.push(DEMO_CLIENT_SECRET.to_owned());
        }
        1 => {
            params.insert("client_credentials".into(), json!(true));
            params.insert(
                "creds_client_id".into(),
                json!({"identifier": "", "password": DEMO_CLIENT_ID}),
            );
            params.insert(
                "creds_tenant_id".into(),
                json!({"identifier": "", "password": DEMO_TENANT_ID}),
            );
            params.insert(
                "creds_certificate".into(),
                json!({"identifier": DEMO_CERT_THUMBPRINT, "password": DEMO_PRIVATE_KEY_PEM}),
            );
            // A line from the middle of the key: no output may quote any of it.
            let key_line = DEMO_PRIVATE_KEY_PEM.lines().nth(3).unwrap_or_default();
            secrets.push(key_line.to_owned());
        }
        2 => {
            params.insert("use_managed_identities".into(), json!(true));
            if rng.random_bool(0.5) {
                params.insert(
                    "managed_identities_client_id".into(),
                    json!({"identifier": "", "password": DEMO_MANAGED_IDENTITY_CLIENT_ID}),
                );
            }
        }
        3 => {
            // The device code flow with the default app.
        }
        _ => {
            params.insert("client_credentials".into(), json!(true));
            params.insert(
                "creds_client_id".into(),
                json!({"identifier": "", "password": random_text(rng)}),
            );
            params.insert("creds_tenant_id".into(), json!(random_text(rng)));
            params.insert(
                "credentials".into(),
                json!({"identifier": "", "password": marker.clone()}),
            );
            secrets.push(marker.clone());
        }
    }
    if rng.random_bool(0.3) {
        params.insert("api_backend".into(), json!("Microsoft Graph"));
    }
    if command == "fetch-incidents" {
        for name in [
            "first_fetch",
            "fetch_timeout",
            "max_fetch",
            "fetch_lookback",
        ] {
            if rng.random_bool(0.3) {
                params.insert(name.into(), fetch_like(rng));
            }
        }
    }
    // A few parameters changed at a time: with many, hardly a run would sign in.
    let declared = &integration().unwrap().configuration;
    let changed = *[0, 0, 0, 1, 1, 2, 3, 6].choose(rng).unwrap();
    for param in declared.choose_multiple(rng, changed) {
        let name = param.name.as_str();
        let value = match name {
            "base_url" | "azure_ad_endpoint" => host_variant(rng, world),
            // Secrets of the deprecated parameters are secrets too.
            "credentials" | "enc_key" | "private_key" => {
                let secret = format!("fz-secret-{}", rng.random::<u32>());
                secrets.push(secret.clone());
                if rng.random_bool(0.5) {
                    json!({"identifier": random_text(rng), "password": secret})
                } else {
                    json!(secret)
                }
            }
            _ if rng.random_bool(0.3) => random_value(rng, 2),
            _ => match param.kind {
                8 => [
                    json!(true),
                    json!(false),
                    json!("true"),
                    json!("false"),
                    json!(""),
                    json!("nope"),
                ]
                .choose(rng)
                .unwrap()
                .clone(),
                9 => json!({"identifier": random_text(rng), "password": random_text(rng)}),
                15 if !param.options.is_empty() => json!(param.options.choose(rng).unwrap()),
                _ => fetch_like(rng),
            },
        };
        params.insert(name.into(), value);
    }
    params
}

/// A loopback host in a few spellings, or a value of the wrong type; never empty or null,
/// which would mean Microsoft's own hosts.
fn host_variant(rng: &mut StdRng, world: &World) -> Value {
    let base = [&world.emulator, &world.closed]
        .choose(rng)
        .unwrap()
        .to_string();
    [
        json!(base.clone()),
        json!(format!("{base}/")),
        json!(format!("{base}/some/path")),
        json!(base.to_uppercase()),
        json!(format!("{base}?q=1#f")),
        json!(7),
        json!(true),
        json!([base.clone()]),
        json!({"url": base}),
    ]
    .choose(rng)
    .unwrap()
    .clone()
}

/// Values of the kind the text parameters (`first_fetch`, `max_fetch`, `fetch_timeout`, …) take.
fn fetch_like(rng: &mut StdRng) -> Value {
    if rng.random_bool(0.1) {
        return json!(random_text(rng));
    }
    one_of(
        rng,
        r#"["10", "1", "0", "-5", "200", "100000", "9223372036854775807", 18446744073709551615,
            1.5, "3 days", "12 hours", "1000 years", "2026-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", ""]"#,
    )
}

/// An integration context: token keys of the right and wrong types with extreme numbers, state
/// of the mirroring, and keys of someone else, which must come back as they went.
fn context(rng: &mut StdRng) -> Map<String, Value> {
    let mut context = Map::new();
    const EPOCHS: &str = r#"[4102444800, 1768478400, 0, -1, 9223372036854775807,
        -9223372036854775808, 18446744073709551615, 1e300, "4102444800", null]"#;
    if rng.random_bool(0.4) {
        context.insert(
            "access_token".into(),
            json!(format!("at-{}", rng.random::<u32>())),
        );
        let until = one_of(rng, EPOCHS);
        context.insert("valid_until".into(), until);
    }
    if rng.random_bool(0.3) {
        let token = if rng.random_bool(0.7) {
            json!(format!("rt-{}", rng.random::<u32>()))
        } else {
            random_value(rng, 1)
        };
        context.insert("current_refresh_token".into(), token);
    }
    if rng.random_bool(0.4) {
        // The owners of the emulator's sign-ins, so that the stored tokens are used.
        let owner = |resource: &str| {
            json!(format!(
                "client_secret|{DEMO_CLIENT_ID}|{DEMO_TENANT_ID}|{resource}"
            ))
        };
        let owners = [
            owner("https://security.microsoft.com/mtp"),
            owner("https://graph.microsoft.com"),
            random_value(rng, 1),
        ];
        context.insert("token_owner".into(), owners.choose(rng).unwrap().clone());
    }
    if rng.random_bool(0.25) {
        let code = if rng.random_bool(0.7) {
            json!(format!("dc-{}", rng.random::<u32>()))
        } else {
            random_value(rng, 1)
        };
        context.insert("device_code".into(), code);
        let interval = one_of(
            rng,
            r#"[5, 0, -1, 18446744073709551615, 9223372036854775807, 1e300, "x"]"#,
        );
        context.insert("device_code_interval".into(), interval);
        let expires = one_of(rng, EPOCHS);
        context.insert("device_code_expires_at".into(), expires);
    }
    if rng.random_bool(0.2) {
        let ids = one_of(
            rng,
            r#"["1-5,1001", "9-1", "x", ["a"], 7, "0-18446744073709551615",
                "1-9223372036854775807"]"#,
        );
        context.insert("mirror_resolved_ids".into(), ids);
    }
    for _ in 0..rng.random_range(0..4) {
        context.insert(random_text(rng), random_value(rng, 3));
    }
    context
}

/// Times at and past the ends of what a timestamp can hold.
fn extreme_time(rng: &mut StdRng) -> Value {
    one_of(
        rng,
        r#"["2026-01-15T11:00:00Z", "2026-01-15T11:00:00.1234567Z",
            "9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
            "-009999-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "", 0,
            9223372036854775807]"#,
    )
}

/// A fetch cursor: this version's (with extreme times, windows and positions), the XSOAR
/// integration's, a few megabytes of one, or anything at all.
fn last_run(rng: &mut StdRng) -> Value {
    match rng.random_range(0..25) {
        // A few megabytes: a cursor that remembers ids for 10,000 minutes.
        0 => {
            let seen: Map<String, Value> = (0..10_000_u64)
                .map(|i| {
                    let (day, hour, minute) = (15 - i / 1440, (i / 60) % 24, i % 60);
                    let ranges: Vec<String> = (0..20)
                        .map(|r| format!("{}-{}", i * 100 + r * 4, i * 100 + r * 4 + 2))
                        .collect();
                    (
                        format!("2026-01-{day:02}T{hour:02}:{minute:02}"),
                        json!(ranges.join(",")),
                    )
                })
                .collect();
            json!({
                "version": 1,
                "origin": "2026-01-01T00:00:00Z",
                "settled": "2026-01-15T11:00:00Z",
                "start": "2026-01-15T11:00:00Z",
                "seen": seen,
            })
        }
        1 => json!({"last_run": extreme_time(rng)}),
        2..=10 => {
            let mut cursor = json!({
                "version": 1,
                "origin": extreme_time(rng),
                "settled": extreme_time(rng),
                "start": extreme_time(rng),
            });
            if rng.random_bool(0.5) {
                cursor["window"] = one_of(
                    rng,
                    r#"["PT3H", "PT0S", "-PT1H", "PT87600000H", "P1000Y", 7]"#,
                );
            }
            if rng.random_bool(0.3) {
                cursor["ahead"] = extreme_time(rng);
            }
            if rng.random_bool(0.3) {
                cursor["newest"] = extreme_time(rng);
            }
            const SKIPS: &str = r#"[0, 200, 18446744073709551615, -1, 1e300]"#;
            if rng.random_bool(0.3) {
                cursor["burst"] = json!({
                    "at": extreme_time(rng),
                    "skip": one_of(rng, SKIPS),
                    "settles": rng.random_bool(0.5),
                });
            }
            if rng.random_bool(0.3) {
                cursor["lookback"] = json!({
                    "from": extreme_time(rng),
                    "to": extreme_time(rng),
                    "skip": one_of(rng, SKIPS),
                    "settles": extreme_time(rng),
                });
            }
            if rng.random_bool(0.5) {
                let minute = one_of(
                    rng,
                    r#"["2026-01-15T10:59", "9999-12-31T23:59", "0001-01-01T00:00", "later"]"#,
                );
                let ranges = one_of(
                    rng,
                    r#"["101-150,160", "0-18446744073709551615", "5-1", "x"]"#,
                );
                cursor["seen"] = json!({ minute.as_str().unwrap(): ranges });
            }
            if rng.random_bool(0.2) {
                cursor["seen_text"] = json!({"2026-01-15T10:59": ["ed-4c2a/7", random_text(rng)]});
            }
            cursor
        }
        11..=13 => random_value(rng, 3),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.random_range(0..4) {
                map.insert(random_text(rng), random_value(rng, 2));
            }
            Value::Object(map)
        }
    }
}

/// Answers Microsoft should not give: throttling with any `Retry-After`, server errors, HTML
/// from a proxy, dropped connections, slow answers, and bodies with numbers and times at their
/// limits. Every URL in them is on 127.0.0.1.
fn faults(rng: &mut StdRng, world: &World) -> Vec<Value> {
    let paths = r#"["*", "/*/oauth2/v2.0/token", "/*/oauth2/v2.0/devicecode",
        "/metadata/identity/oauth2/token", "/api/incidents", "/api/incidents/*",
        "/api/advancedhunting/run", "/v1.0/*"]"#;
    (0..rng.random_range(1..=3))
        .map(|_| {
            let path = one_of(rng, paths);
            let mut fault = json!({"path": path, "times": rng.random_range(1..=3)});
            match rng.random_range(0..6) {
                0 => {
                    fault["status"] = one_of(rng, "[429, 500, 503, 401, 403, 400, 404]");
                    fault["retry_after"] = one_of(
                        rng,
                        "[0, 1, 4294967295, 9223372036854775807, 18446744073709551615]",
                    );
                }
                1 => fault["drop_connection"] = json!(true),
                2 => {
                    fault["html"] = json!(true);
                    fault["status"] = one_of(rng, "[200, 502]");
                }
                3 => fault["delay_ms"] = json!(rng.random_range(0..300)),
                _ => {
                    fault["body"] =
                        json!(answer_body(rng, path.as_str().unwrap_or(""), world).to_string());
                    if rng.random_bool(0.3) {
                        fault["status"] = one_of(rng, "[200, 400, 401, 429, 500]");
                    }
                }
            }
            fault
        })
        .collect()
}

/// A body in the shape the endpoint at `path` answers with, its numbers and times extreme.
fn answer_body(rng: &mut StdRng, path: &str, world: &World) -> Value {
    let numbers = r#"[3600, 5, 0, -1, 9223372036854775807, -9223372036854775808,
        18446744073709551615, 1e300, "3600", "9223372036854775807", null, "soon"]"#;
    let link = format!("{}/api/incidents?$skip=100", world.emulator);
    if path.contains("token") {
        json!({"access_token": random_text(rng), "token_type": "Bearer",
               "expires_in": one_of(rng, numbers), "expires_on": one_of(rng, numbers),
               "refresh_token": one_of(rng, r#"["rt-x", "", null, 7]"#)})
    } else if path.contains("devicecode") {
        json!({"device_code": "dc-x", "user_code": random_text(rng),
               "verification_uri": format!("{}/devicelogin", world.emulator),
               "expires_in": one_of(rng, numbers), "interval": one_of(rng, numbers)})
    } else if path.contains("hunting") {
        json!({"Schema": [{"Name": random_text(rng), "Type": "String"}],
               "Results": [{"a": one_of(rng, numbers)}, random_value(rng, 2)],
               "Stats": random_value(rng, 1)})
    } else if rng.random_bool(0.7) {
        let incident = json!({"incidentId": one_of(rng, numbers), "incidentName": random_text(rng),
            "createdTime": extreme_time(rng), "lastUpdateTime": extreme_time(rng),
            "status": one_of(rng, r#"["Active", "Resolved", "", 7]"#), "alerts": [],
            "tags": one_of(rng, r#"[[], null, "x", [1]]"#)});
        json!({"value": [incident], "@odata.nextLink": one_of(rng, &format!(r#"[null, "{link}", "/x", 7]"#))})
    } else {
        random_value(rng, 3)
    }
}

/// Bytes that are no usable envelope, or are one only after a BOM.
fn broken_bytes(rng: &mut StdRng, envelope: &[u8]) -> Vec<u8> {
    let cut_at = rng.random_range(0..=envelope.len());
    match rng.random_range(0..16) {
        0 => Vec::new(),
        1 => b" \n\t\r ".to_vec(),
        2 => (0..rng.random_range(1..300))
            .map(|_| rng.random())
            .collect(),
        3 => [BOM, envelope].concat(),
        4 => [BOM, BOM, envelope].concat(),
        5 => [b"\xff\xfe".as_slice(), envelope].concat(),
        6 => envelope[..cut_at].to_vec(),
        7 => [envelope, b" {}".as_slice()].concat(),
        8 => [envelope, b"\n\0".as_slice()].concat(),
        9 => br#"{"command":"get-mapping-fields","args":{"x":"\ud800"}}"#.to_vec(),
        10 => {
            br#"{"command":"get-mapping-fields","args":{"x":"\udc00\ud800 \ud83d\udee1"}}"#.to_vec()
        }
        11 => br#"{"command":"microsoft-365-defender-incidents-list","args":{"limit":1e309}}"#
            .to_vec(),
        12 => br#"{"command":"get-mapping-fields","command":"test-module"}"#.to_vec(),
        13 => {
            let depth = rng.random_range(100..5000);
            format!(
                r#"{{"command":"get-mapping-fields","args":{{"x":{}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
            .into_bytes()
        }
        14 => b"{\"command\":\"get-mapping-fields\",\"args\":{\"x\":\"a\0b\xc3\x28\"}}".to_vec(),
        _ => {
            let mut bytes = envelope.to_vec();
            if !bytes.is_empty() {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            bytes
        }
    }
}

/// Text with what breaks naive code: right-to-left marks, NULs, emoji, combining marks, a BOM,
/// quotes of every language the code speaks (JSON, OData, KQL, Markdown), or a lot of it.
fn random_text(rng: &mut StdRng) -> String {
    let pieces = [
        "a",
        "Z",
        "0",
        "-1",
        " ",
        "\u{200f}",
        "\u{202e}",
        "\u{0}",
        "\u{1}",
        "🛡️",
        "👩‍💻",
        "e\u{301}",
        "\u{feff}",
        "'",
        "\"",
        "\\",
        "|",
        "`",
        "\n",
        "\r\n",
        "%00",
        "${x}",
        "<b>",
        "ｱ",
        "𝔘",
        "\u{fffd}",
        "\u{10ffff}",
        ",",
        "@",
        "/",
        "..",
        "NaN",
        "1e309",
    ];
    let mut text = String::new();
    for _ in 0..rng.random_range(0..12) {
        text.push_str(pieces.choose(rng).unwrap());
    }
    if rng.random_bool(0.03) {
        text.push_str(&"x".repeat(rng.random_range(10_000..200_000)));
    }
    text
}

/// Any JSON value, at most `depth` levels deep.
fn random_value(rng: &mut StdRng, depth: usize) -> Value {
    let kinds = if depth == 0 { 4 } else { 6 };
    match rng.random_range(0..kinds) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 if rng.random_bool(0.2) => json!(rng.random::<i32>()),
        2 => one_of(
            rng,
            r#"[0, -1, 9223372036854775807, -9223372036854775808, 18446744073709551615, 1.5,
                -0.0, 1e300, -1e300, 5e-324]"#,
        ),
        3 => json!(random_text(rng)),
        4 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..4))
                .map(|_| (random_text(rng), random_value(rng, depth - 1)))
                .collect(),
        ),
    }
}
