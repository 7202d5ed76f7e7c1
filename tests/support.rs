//! Runs the real binary the way the platform does and checks what every run must satisfy:
//! exactly one JSON document and a newline on stdout, valid against `schemas/output.schema.json`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use m365_defender::api::retry::TEST_BASE_BACKOFF_VARIABLE;
use m365_emulator::{Emulator, EmulatorOptions};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub document: Value,
    pub stderr: String,
}

impl Run {
    /// The `Contents` of the first result, for error entries.
    pub fn message(&self) -> &str {
        self.document["results"][0]["Contents"]
            .as_str()
            .unwrap_or_default()
    }

    /// Fails the test unless the run exited with `code` and its message contains `fragment`.
    #[track_caller]
    pub fn assert_failed(&self, code: i32, fragment: &str) {
        assert_eq!(self.code, code, "{}", self.message());
        assert!(self.message().contains(fragment), "{}", self.message());
    }
}

/// What a finished run of the binary left.
pub struct Finished {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// The base backoff of the binaries the tests run, in milliseconds: the retries after the
/// emulator's 5xx answers and dropped connections happen all the same, without half a second
/// of real sleep each (`RetryPolicy::for_commands`).
const TEST_BASE_BACKOFF_MS: &str = "5";

/// Runs `m365-defender` with `flags` and `env` (no `M365D_LOG` or `RUST_BACKTRACE` from the
/// test's own environment, and the [`TEST_BASE_BACKOFF_MS`] unless `env` names another),
/// feeding `stdin`; kills it and answers `Err` when it is still running after `limit`, so that a
/// test of "never hangs" fails instead of hanging the suite.
pub fn spawn_within(
    stdin: &[u8],
    flags: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<Finished, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365-defender"))
        .args(flags)
        .env_remove("M365D_LOG")
        .env_remove("RUST_BACKTRACE")
        .env(TEST_BASE_BACKOFF_VARIABLE, TEST_BASE_BACKOFF_MS)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("the binary does not start: {e}"))?;
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // The binary may stop reading early (an oversized envelope); a broken pipe is expected then.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    Ok(Finished {
        status,
        stdout: stdout.join().unwrap(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
    })
}

/// Runs `m365-defender` with `flags`, feeding `stdin`, and checks the output document.
pub fn run_bytes(stdin: &[u8], flags: &[&str], env: &[(&str, &str)]) -> Run {
    run_bytes_within(stdin, flags, env, Duration::from_secs(600))
}

/// [`run_bytes`], failing the test when the binary is still running after `limit`.
pub fn run_bytes_within(
    stdin: &[u8],
    flags: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    let finished = spawn_within(stdin, flags, env, limit).unwrap_or_else(|problem| {
        panic!(
            "{problem}: {}",
            String::from_utf8_lossy(&stdin[..stdin.len().min(300)])
        )
    });
    let stdout = String::from_utf8(finished.stdout).expect("stdout is UTF-8");
    let stderr = finished.stderr;
    assert!(
        stdout.ends_with('\n') && stdout.matches('\n').count() == 1,
        "stdout must be exactly one line of JSON (exit {}), got:\n{stdout}\nstderr:\n{stderr}",
        finished.status
    );
    let document: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    assert_valid_output(&document);
    Run {
        code: finished
            .status
            .code()
            .expect("exited normally, not by a signal"),
        document,
        stderr,
    }
}

/// Runs one envelope given as JSON.
pub fn run(envelope: &Value) -> Run {
    run_bytes(envelope.to_string().as_bytes(), &[], &[])
}

/// Fails the test when `document` does not match the committed output schema.
pub fn assert_valid_output(document: &Value) {
    let errors = schema_errors(document);
    assert!(
        errors.is_empty(),
        "output does not match schemas/output.schema.json:\n{}\n{document:#}",
        errors.join("\n")
    );
}

/// Where `document` departs from the committed output schema (empty when it matches).
pub fn schema_errors(document: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(repo_path("schemas/output.schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::validator_for(&schema).expect("the output schema compiles")
    });
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Start time of test emulators unless a test says otherwise: fixed, so the seeded tenant's
/// timestamps, and so the expected outputs, never change.
pub const DEFAULT_START: &str = "2026-01-15T12:00:00Z";

/// How a test's emulator starts.
#[derive(Deserialize, Default)]
pub struct EmulatorSettings {
    pub seed: Option<u64>,
    pub incidents: Option<usize>,
    pub start_time: Option<String>,
    pub access_token_lifetime_secs: Option<u64>,
    pub throttling: Option<bool>,
    /// The clock stands still unless a step moves it (default), so every time the emulator
    /// writes is the same in every run.
    pub frozen: Option<bool>,
    /// The device code flow's polling interval (Entra ID's 5 seconds unless a test shortens it).
    pub device_code_poll_interval_secs: Option<u64>,
}

/// One running emulator, on its own runtime thread so the blocking test can drive the binary.
pub struct RunningEmulator {
    pub base_url: String,
    runtime: tokio::runtime::Runtime,
    /// One client for every control call: building one costs milliseconds (it loads the CA
    /// store), which adds up over the hundreds of calls of a long test.
    client: reqwest::Client,
    emulator: Option<Emulator>,
}

impl RunningEmulator {
    pub fn start(settings: &EmulatorSettings) -> RunningEmulator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // "now" is for cases that must agree with the real clock (signed client assertions).
        let start_time = match settings.start_time.as_deref().unwrap_or(DEFAULT_START) {
            "now" => None,
            time => Some(
                time.parse()
                    .expect("start_time is an RFC 3339 time or \"now\""),
            ),
        };
        let defaults = EmulatorOptions::default();
        let options = EmulatorOptions {
            seed: settings.seed.unwrap_or(defaults.seed),
            incidents: settings.incidents.unwrap_or(defaults.incidents),
            start_time,
            access_token_lifetime_secs: settings
                .access_token_lifetime_secs
                .unwrap_or(defaults.access_token_lifetime_secs),
            throttling: settings.throttling.unwrap_or(defaults.throttling),
            device_code_poll_interval_secs: settings
                .device_code_poll_interval_secs
                .unwrap_or(defaults.device_code_poll_interval_secs),
            ..defaults
        };
        let emulator = runtime
            .block_on(Emulator::start(options, 0))
            .expect("the emulator starts");
        let running = RunningEmulator {
            base_url: emulator.base_url(),
            runtime,
            client: reqwest::Client::new(),
            emulator: Some(emulator),
        };
        let frozen = settings.frozen.unwrap_or(true);
        running.call("POST", "/_emulator/clock", Some(&json!({"frozen": frozen})));
        running
    }

    /// Instance parameters that sign in to this emulator as its demo app with a client secret.
    pub fn client_secret_params(&self) -> Value {
        json!({
            "base_url": self.base_url,
            "azure_ad_endpoint": self.base_url,
            "client_credentials": true,
            "creds_client_id": {"identifier": "", "password": m365_emulator::DEMO_CLIENT_ID},
            "creds_tenant_id": {"identifier": "", "password": m365_emulator::DEMO_TENANT_ID},
            "credentials": {"identifier": "", "password": m365_emulator::DEMO_CLIENT_SECRET}
        })
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{}{path}", self.base_url);
        let method: reqwest::Method = method.parse().expect("an HTTP method");
        self.runtime.block_on(async {
            let mut request = self.client.request(method, &url);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.expect("the emulator answers");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(
                status.is_success(),
                "control call {url} failed: {status} {text}"
            );
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    /// What the emulator received, excluding its own control API, as `METHOD path?query`,
    /// followed by the sign-in form's grant type, client and scope (which show the flow used),
    /// and the `Prefer` header when one was sent.
    pub fn requests(&self) -> Vec<String> {
        let log = self.call("GET", "/_emulator/requests", None);
        log.as_array()
            .expect("the request log is an array")
            .iter()
            .filter(|r| {
                !r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("/_emulator")
            })
            .map(|r| {
                let query = r["query"].as_str().unwrap_or_default();
                let path = r["path"].as_str().unwrap_or_default();
                let method = r["method"].as_str().unwrap_or_default();
                let mut line = if query.is_empty() {
                    format!("{method} {path}")
                } else {
                    format!("{method} {path}?{query}")
                };
                for field in ["grant_type", "client_id", "scope"] {
                    if let Some(value) = r["form"][field].as_str() {
                        line.push_str(&format!(" {field}={value}"));
                    }
                }
                if let Some(prefer) = r["prefer"].as_str() {
                    line.push_str(&format!(" Prefer: {prefer}"));
                }
                line
            })
            .collect()
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}
