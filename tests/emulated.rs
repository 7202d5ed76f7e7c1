//! An emulated tenant for the fetch and mirroring tests: the emulator serves on its own thread
//! and runtime, the real binary runs against it as the platform would run it (signing in with the
//! demo app's client credentials, carrying the integration context from run to run), and the
//! test drives the tenant through the control API.

use std::sync::mpsc;
use std::thread::JoinHandle;

use m365_defender::emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Emulator, EmulatorOptions,
};
use serde_json::{Map, Value, json};

use crate::support::{Run, run};

/// The emulator's clock at start in every test: fixed, so created times are predictable.
pub const START: &str = "2026-01-15T12:00:00Z";

pub struct Tenant {
    pub base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    /// The integration context as the last run left it.
    pub context: Map<String, Value>,
}

impl Tenant {
    /// An emulator holding `incidents` seeded incidents (spread over the 30 days before
    /// [`START`]), its clock frozen at [`START`].
    pub fn start(incidents: usize) -> Tenant {
        let options = EmulatorOptions {
            incidents,
            start_time: Some(START.parse().unwrap()),
            // Tests move the clock by hours; tokens must not expire on the way.
            access_token_lifetime_secs: 10 * 365 * 24 * 3600,
            ..EmulatorOptions::default()
        };
        let (url_sender, url_receiver) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let emulator = Emulator::start(options, 0).await.unwrap();
                url_sender.send(emulator.base_url()).unwrap();
                let _ = stopped.await;
                emulator.shutdown().await;
            });
        });
        let base_url = url_receiver.recv().unwrap();
        let tenant = Tenant {
            base_url,
            stop: Some(stop),
            server: Some(server),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
            context: Map::new(),
        };
        tenant.control("POST", "/_emulator/clock", json!({"frozen": true}));
        tenant
    }

    /// A control API call; returns its JSON answer (null when empty).
    pub fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base_url);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.runtime.block_on(async {
            let response = self
                .http
                .request(method, &url)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let bytes = response.bytes().await.unwrap();
            assert!(
                status.is_success(),
                "{path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        })
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
        let mut params = json!({
            "base_url": self.base_url,
            "azure_ad_endpoint": self.base_url,
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

    /// Runs the binary once, carrying the integration context.
    pub fn run(&mut self, envelope: Value) -> Run {
        let mut envelope = envelope;
        envelope["integration_context"] = Value::Object(self.context.clone());
        let result = run(&envelope);
        if let Some(context) = result.document["integration_context"].as_object() {
            self.context = context.clone();
        }
        result
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}
