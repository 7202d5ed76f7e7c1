//! Memory, measured rather than timed: the peak resident size of one real run, as the kernel
//! counts it for a finished child (`getrusage(RUSAGE_CHILDREN)`, read through Python, which every
//! machine of the project has). Unlike wall time, a peak size does not depend on what else the
//! machine is doing, so a bound on it is a test, not a benchmark. `scripts/bench-memory.sh`
//! measures the 10,000-incident case on a release build.

use std::process::Command;

use serde_json::json;

use crate::support::{EmulatorSettings, RunningEmulator};

/// Runs the binary on `envelope` under Python and returns (peak RSS in bytes, stdout length).
fn peak_and_output(envelope: &serde_json::Value) -> (u64, u64) {
    let measure = r#"
import resource, subprocess, sys
done = subprocess.run([sys.argv[1]], input=sys.argv[2].encode(), stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL)
if done.returncode != 0:
    sys.exit(f"exit {done.returncode}: {done.stdout[:500]!r}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, len(done.stdout))
"#;
    let output = Command::new("python3")
        .args(["-c", measure, env!("CARGO_BIN_EXE_m365-defender")])
        .arg(envelope.to_string())
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut numbers = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

#[test]
fn a_long_graph_list_holds_its_output_about_once() {
    let incidents = 1500;
    let emulator = RunningEmulator::start(&EmulatorSettings {
        incidents: Some(incidents),
        ..EmulatorSettings::default()
    });
    let mut params = emulator.client_secret_params();
    params["api_backend"] = json!("Microsoft Graph");
    let envelope = json!({
        "command": "microsoft-365-defender-incidents-list",
        "args": {"limit": incidents.to_string(), "timeout": "600"},
        "params": params
    });
    let (peak, output) = peak_and_output(&envelope);
    // The process itself (runtime, TLS, the embedded declaration) takes a few tens of MiB
    // before any incident; past that, the list may take about twice its output, as the
    // legacy API's list does. Holding every raw Graph page, then a translated copy, then the
    // output took about five times the output.
    let allowed = 2 * output + 48 * 1024 * 1024;
    assert!(
        peak <= allowed,
        "peak RSS {} MiB for {} MiB of output (allowed {} MiB)",
        peak >> 20,
        output >> 20,
        allowed >> 20
    );
}
