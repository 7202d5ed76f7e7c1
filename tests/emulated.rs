//! An emulated tenant for the fetch and mirroring tests: the real binary runs against the
//! emulator as the platform would run it (signing in with the demo app's client credentials,
//! carrying the integration context from run to run), and the test drives the tenant through
//! the control API.

use m365_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID};
use serde_json::{Map, Value, json};

use crate::support::{DEFAULT_START, EmulatorSettings, Run, RunningEmulator, run};

/// The emulator's clock at start in every test: fixed, so created times are predictable.
pub const START: &str = DEFAULT_START;

pub struct Tenant {
    emulator: RunningEmulator,
    /// The integration context as the last run left it.
    pub context: Map<String, Value>,
}

impl Tenant {
    /// An emulator holding `incidents` seeded incidents (spread over the 30 days before
    /// [`START`]), its clock frozen at [`START`].
    pub fn start(incidents: usize) -> Tenant {
        let emulator = RunningEmulator::start(&EmulatorSettings {
            incidents: Some(incidents),
            // Tests move the clock by hours; tokens must not expire on the way.
            access_token_lifetime_secs: Some(10 * 365 * 24 * 3600),
            ..EmulatorSettings::default()
        });
        // Frozen at START exactly, not at START plus however long starting took.
        emulator.call(
            "POST",
            "/_emulator/clock",
            Some(&json!({"set": START, "frozen": true})),
        );
        Tenant {
            emulator,
            context: Map::new(),
        }
    }

    /// A control API call; returns its JSON answer (null when empty).
    pub fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let body = (!body.is_null()).then_some(body);
        self.emulator.call(method, path, body.as_ref())
    }

    /// Adds incidents as Defender would raise them; returns their ids.
    pub fn add_incidents(&self, body: Value) -> Vec<u64> {
        let answer = self.control("POST", "/_emulator/incidents", body);
        answer["incidentIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_u64().unwrap())
            .collect()
    }

    /// Changes an incident as an analyst in the Defender portal would.
    pub fn portal_change(&self, id: u64, body: Value) -> Value {
        self.control("PATCH", &format!("/_emulator/incidents/{id}"), body)
    }

    pub fn advance_clock(&self, seconds: i64) {
        self.control(
            "POST",
            "/_emulator/clock",
            json!({"advance_seconds": seconds}),
        );
    }

    /// Makes the next requests to `path` fail with `status`, after letting `pass` through.
    pub fn fail_after(&self, path: &str, pass: usize, status: u16) {
        let mut faults: Vec<Value> = (0..pass)
            .map(|_| json!({"method": "GET", "path": path, "delay_ms": 0}))
            .collect();
        // Three times: the client's retries (three attempts) all fail too.
        faults.push(json!({"method": "GET", "path": path, "status": status, "times": 3}));
        self.control("POST", "/_emulator/faults", Value::Array(faults));
    }

    pub fn clear_faults(&self) {
        self.control("DELETE", "/_emulator/faults", Value::Null);
    }

    /// The requests the emulator logged since the last call, which clears the log.
    pub fn take_requests(&self) -> Vec<Value> {
        let log = self.control("GET", "/_emulator/requests", Value::Null);
        self.control("DELETE", "/_emulator/requests", Value::Null);
        log.as_array().cloned().unwrap_or_default()
    }

    /// Instance parameters that sign in with the demo app, plus `extra`.
    pub fn params(&self, extra: Value) -> Value {
        let base_url = &self.emulator.base_url;
        let mut params = json!({
            "base_url": base_url,
            "azure_ad_endpoint": base_url,
            "client_credentials": true,
            "creds_client_id": {"password": DEMO_CLIENT_ID},
            "creds_tenant_id": {"password": DEMO_TENANT_ID},
            "credentials": {"password": DEMO_CLIENT_SECRET},
        });
        for (key, value) in extra.as_object().unwrap() {
            params[key] = value.clone();
        }
        params
    }

    /// Runs the binary once with the carried integration context, and carries on the one it
    /// returns.
    pub fn run(&mut self, envelope: Value) -> Run {
        let mut envelope = envelope;
        envelope["integration_context"] = Value::Object(self.context.clone());
        let result = run(&envelope);
        self.keep_context(&result);
        result
    }

    /// Carries on the integration context a run returned.
    pub fn keep_context(&mut self, result: &Run) {
        if let Some(context) = result.document["integration_context"].as_object() {
            self.context = context.clone();
        }
    }
}
