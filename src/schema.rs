//! JSON Schemas of the contract's two documents, generated from the Rust types that read and
//! write them, so the published schemas cannot describe anything the code does not do. The
//! committed copies in `schemas/` are checked against these by a test.

use crate::envelope::Envelope;
use crate::output::OutputDocument;

/// The schema of the command envelope (stdin), as committed in `schemas/envelope.schema.json`.
pub fn envelope() -> String {
    render(schemars::schema_for!(Envelope))
}

/// The schema of the output document (stdout), as committed in `schemas/output.schema.json`.
pub fn output() -> String {
    render(schemars::schema_for!(OutputDocument))
}

fn render(schema: schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
