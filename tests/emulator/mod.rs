//! Tests of the emulator through HTTP, as the plugin and people use it: each test starts its own
//! emulator on an ephemeral 127.0.0.1 port with a fixed start time, so data and times are known.

mod alerts;
mod control;
mod graph;
mod hunting;
mod incidents;
mod sign_in;

use m365_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Emulator, EmulatorOptions,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub(crate) const START: &str = "2025-02-01T00:00:00Z";
pub(crate) const DEFENDER_SCOPE: &str = "https://api.security.microsoft.com/.default";
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The keys, in order, of an incident of the Defender API
/// (shared/reference/api/raw_incident.json).
pub(crate) const LEGACY_INCIDENT_KEYS: [&str; 13] = [
    "incidentId",
    "redirectIncidentId",
    "incidentName",
    "createdTime",
    "lastUpdateTime",
    "assignedTo",
    "classification",
    "determination",
    "status",
    "severity",
    "tags",
    "comments",
    "alerts",
];

/// The keys, in order, of an alert inside an incident of the Defender API.
pub(crate) const LEGACY_ALERT_KEYS: [&str; 25] = [
    "alertId",
    "incidentId",
    "serviceSource",
    "creationTime",
    "lastUpdatedTime",
    "resolvedTime",
    "firstActivity",
    "lastActivity",
    "title",
    "description",
    "category",
    "status",
    "severity",
    "investigationId",
    "investigationState",
    "classification",
    "determination",
    "detectionSource",
    "detectorId",
    "assignedTo",
    "actorName",
    "threatFamilyName",
    "mitreTechniques",
    "devices",
    "entities",
];

pub(crate) struct Harness {
    pub(crate) emulator: Emulator,
    pub(crate) client: Client,
    pub(crate) base: String,
}

pub(crate) fn options() -> EmulatorOptions {
    EmulatorOptions {
        start_time: Some(START.parse().unwrap()),
        ..EmulatorOptions::default()
    }
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Harness::with(options()).await
    }

    pub(crate) async fn with(options: EmulatorOptions) -> Harness {
        let emulator = Emulator::start(options, 0)
            .await
            .expect("the emulator starts");
        let base = emulator.base_url();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Harness {
            emulator,
            client: Client::builder().no_proxy().build().unwrap(),
            base,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GET with nothing added: no token, no extra header.
    pub(crate) async fn plain_get(&self, path_and_query: &str) -> Response {
        self.client
            .get(self.url(path_and_query))
            .send()
            .await
            .unwrap()
    }

    /// A GET to the instance metadata service, with the `Metadata` header it insists on.
    pub(crate) async fn imds_get(&self, path_and_query: &str) -> Response {
        self.client
            .get(self.url(path_and_query))
            .header("Metadata", "true")
            .send()
            .await
            .unwrap()
    }

    /// The control API's log of the requests the emulator received.
    pub(crate) async fn request_log(&self) -> Value {
        self.plain_get("/_emulator/requests")
            .await
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn control(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(&format!("/_emulator{path}")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Stops the clock, so that times in responses are exactly predictable.
    pub(crate) async fn freeze_clock(&self) -> String {
        let clock: Value = self
            .control("/clock", json!({"frozen": true}))
            .await
            .json()
            .await
            .unwrap();
        clock["now"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn advance_clock(&self, seconds: i64) {
        let response = self
            .control("/clock", json!({"advance_seconds": seconds}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    pub(crate) async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Starts a device code sign-in of the app `client_id` for `scope`; returns Entra's answer,
    /// which holds the user code and the device code.
    pub(crate) async fn start_device_code(&self, client_id: &str, scope: &str) -> Value {
        let response = self
            .client
            .post(self.url("/organizations/oauth2/v2.0/devicecode"))
            .form(&[("client_id", client_id), ("scope", scope)])
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A client credentials token request of `client_id` for the Defender API.
    pub(crate) async fn client_credentials_token(&self, client_id: &str, secret: &str) -> Response {
        self.client_credentials_token_for(client_id, secret, DEFENDER_SCOPE)
            .await
    }

    /// A client credentials token request of `client_id` for `scope`.
    pub(crate) async fn client_credentials_token_for(
        &self,
        client_id: &str,
        secret: &str,
        scope: &str,
    ) -> Response {
        self.token_request(
            DEMO_TENANT_ID,
            &[
                ("client_id", client_id),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
                ("scope", scope),
            ],
        )
        .await
    }

    /// An application token of the demo app, with every Defender permission.
    pub(crate) async fn app_token(&self) -> String {
        let response = self
            .client_credentials_token(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn api_get(&self, token: &str, path_and_query: &str) -> Response {
        self.client
            .get(self.url(path_and_query))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The status the Defender API answers a listing of one incident with, for `token`.
    pub(crate) async fn list_one_status(&self, token: &str) -> StatusCode {
        self.api_get(token, "/api/incidents?$top=1").await.status()
    }

    pub(crate) async fn api_patch(&self, token: &str, path: &str, body: Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn hunt(&self, token: &str, query: &str) -> Response {
        self.client
            .post(self.url("/api/advancedhunting/run"))
            .bearer_auth(token)
            .json(&json!({"Query": query}))
            .send()
            .await
            .unwrap()
    }
}

/// The status and JSON body of a response, for one-line assertions with a readable failure.
pub(crate) async fn status_and_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// The keys of a JSON object, in the order the emulator wrote them.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}
