//! Runs the real binary the way the platform does and checks what every run must satisfy:
//! exactly one JSON document and a newline on stdout, valid against `schemas/output.schema.json`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

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
}

/// Runs `m365-defender` with `flags`, feeding `stdin`, and checks the output document.
pub fn run_bytes(stdin: &[u8], flags: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365-defender"))
        .args(flags)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // The binary may stop reading early (an oversized envelope); a broken pipe is expected then.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("the binary finishes");
    writer.join().unwrap();
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stdout.ends_with('\n') && stdout.matches('\n').count() == 1,
        "stdout must be exactly one line of JSON, got:\n{stdout}\nstderr:\n{stderr}"
    );
    let document: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    assert_valid_output(&document);
    Run {
        code: output.status.code().expect("exited normally"),
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
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(repo_path("schemas/output.schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::validator_for(&schema).expect("the output schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match schemas/output.schema.json:\n{}\n{document:#}",
        errors.join("\n")
    );
}
