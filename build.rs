//! Turns integration.yml, the one declaration of commands and parameters, into compact JSON at
//! build time: the binary then reads it with serde_json in microseconds instead of parsing
//! YAML on every run, and a YAML error fails the build rather than a command.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=integration.yml");
    let yaml = std::fs::read_to_string("integration.yml").expect("integration.yml is readable");
    let value: serde_json::Value =
        serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("integration.yml: {e}"));
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(
        Path::new(&out_dir).join("integration.json"),
        serde_json::to_string(&value).expect("JSON serializes"),
    )
    .expect("OUT_DIR is writable");
}
