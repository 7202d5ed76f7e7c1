//! Incident mirroring: the commands XSOAR's mirroring engine calls to keep an incident in step
//! on both sides. Their answers take the shapes that engine consumes, not war-room entries.

use serde_json::json;

use super::Outcome;
use crate::output::ResultItem;

/// The mirroring scheme's name; XSOAR's outgoing mapper refers to it.
const SCHEME: &str = "Microsoft 365 Defender Incident";

/// `get-mapping-fields`: the incident fields an outgoing mapper may set, with the descriptions
/// the XSOAR integration shows for them.
pub fn mapping_fields() -> Outcome {
    Outcome::single(ResultItem::Raw(json!({
        SCHEME: {
            "status": "Specifies the current status of the incident.",
            "assignedTo": "Owner of the incident.",
            "classification": "Specification of the incident.",
            "determination": "Specifies the determination of the incident.",
            "tags": "List of Incident tags.",
            "comment": "Comment to be added to the incident."
        }
    })))
}
