//! The legacy Microsoft 365 Defender API (`https://api.security.microsoft.com`), retired on
//! 1 February 2027: its client for one command run. What it serves is in the resource files:
//! incidents (`incidents/legacy.rs`), advanced hunting (`hunting/legacy.rs`).

use std::time::Duration;

use serde_json::{Map, Value};

use super::client::ApiClient;
use crate::auth::Session;
use crate::http::Deadline;

/// A client of the legacy Microsoft 365 Defender API for one command run.
pub struct LegacyApi<'s, 'a> {
    pub(super) client: ApiClient<'s, 'a>,
}

impl<'s, 'a> LegacyApi<'s, 'a> {
    /// Everything this client sends must be answered within `timeout` from now.
    pub fn new(session: &'s mut Session<'a>, timeout: Duration) -> LegacyApi<'s, 'a> {
        let base = session.config().endpoints.api_base.clone();
        LegacyApi {
            client: ApiClient::new(session, &base, Deadline::after(timeout)),
        }
    }
}

/// A single-entity answer carries `@odata.context`, which is about the answer, not the entity;
/// the XSOAR integration removed it too.
pub(super) fn without_context(mut entity: Map<String, Value>) -> Map<String, Value> {
    entity.shift_remove("@odata.context");
    entity
}
