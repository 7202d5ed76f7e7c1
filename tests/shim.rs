//! The Python shim in integration.yml is what XSOAR runs: its tests (tests/shim/, Python's
//! unittest, no packages) run it against this build of the binary and its emulator.

use std::process::Command;

use crate::support::repo_path;

#[test]
fn the_xsoar_shim_passes_its_python_tests() {
    let python = match Command::new("python3").arg("--version").output() {
        Ok(output) if output.status.success() => "python3",
        _ => {
            eprintln!("skipped: no python3 on PATH to run the shim's tests in tests/shim/");
            return;
        }
    };
    let output = Command::new(python)
        .args(["-B", "-m", "unittest", "discover", "-v", "-s"])
        .arg(repo_path("tests/shim"))
        .current_dir(repo_path(""))
        .env("M365D_BINARY", env!("CARGO_BIN_EXE_m365-defender"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("M365D_SHIM_TIMEOUT_MARGIN")
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the shim's Python tests failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
