//! The log of requests the emulator received, for tests and for people debugging a playbook: what
//! did the plugin actually send? Entries have the shape of the XSOAR recordings' `*.http.json`
//! (`method`, `path`, `query`, `authorization`, `content_type`, `body`, `form`, `status`), plus
//! the `Prefer` header (Graph's opt-in to newer enumeration members), the emulator time of
//! arrival and the fault applied, if any. Every secret is masked; a masked
//! token keeps the label the emulator gave it (`[redacted:rt-4]`) so rotations can be followed.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::EmulatorState;
use super::clock::format_time;
use super::faults::AppliedFault;
use super::tokens::TokenRegistry;

/// Form fields that carry secrets.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "client_assertion",
    "refresh_token",
    "device_code",
    "code",
    "access_token",
    "password",
];
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const CAPACITY: usize = 10_000;

#[derive(Clone, Debug, Serialize)]
pub(crate) struct LoggedRequest {
    method: String,
    path: String,
    query: String,
    authorization: Option<String>,
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefer: Option<String>,
    body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    form: Option<Map<String, Value>>,
    /// `null` when the connection was dropped without a response.
    status: Option<u16>,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<String>,
}

#[derive(Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
}

impl RequestLog {
    fn push(&mut self, entry: LoggedRequest) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

fn mask(tokens: &TokenRegistry, secret: &str) -> String {
    match tokens.label(secret) {
        Some(label) => format!("[redacted:{label}]"),
        None => "[redacted]".to_owned(),
    }
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn decode_component(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = |byte: u8| char::from(byte).to_digit(16);
                match (hex(bytes[index + 1]), hex(bytes[index + 2])) {
                    (Some(high), Some(low)) => {
                        decoded.push((high * 16 + low) as u8);
                        index += 2;
                    }
                    _ => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The form body with secret values masked, and its fields decoded (masked too).
fn masked_form(tokens: &TokenRegistry, body: &str) -> (String, Map<String, Value>) {
    let mut fields = Map::new();
    let mut parts = Vec::new();
    for pair in body.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(raw_key);
        let value = decode_component(raw_value);
        if SECRET_FIELDS.contains(&key.as_str()) {
            let masked = mask(tokens, &value);
            parts.push(format!("{raw_key}={masked}"));
            fields.insert(key, Value::String(masked));
        } else {
            parts.push(pair.to_owned());
            fields.insert(key, Value::String(value));
        }
    }
    (parts.join("&"), fields)
}

fn masked_authorization(tokens: &TokenRegistry, value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, credentials)) if scheme.eq_ignore_ascii_case("bearer") => {
            format!("{scheme} {}", mask(tokens, credentials.trim()))
        }
        Some((scheme, _)) => format!("{scheme} [redacted]"),
        None => "[redacted]".to_owned(),
    }
}

pub(crate) async fn record(
    State(state): State<Arc<EmulatorState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/_emulator") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let header_text = |name| {
        parts
            .headers
            .get(name)
            .and_then(|value: &axum::http::HeaderValue| value.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header_text(header::AUTHORIZATION);
    let content_type = header_text(header::CONTENT_TYPE);
    let prefer = header_text(header::HeaderName::from_static("prefer"));
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let time = format_time(state.world().clock.now());

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;

    let fault = response
        .extensions()
        .get::<AppliedFault>()
        .map(|fault| fault.0.clone());
    let status = (fault.as_deref() != Some("drop_connection")).then(|| response.status().as_u16());
    let mut world = state.world();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let is_form = content_type
        .as_deref()
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let (body, form) = if is_form {
        let (body, form) = masked_form(&world.tokens, &text);
        (body, Some(form))
    } else {
        (text, None)
    };
    let entry = LoggedRequest {
        method,
        path,
        query,
        authorization: authorization.map(|value| masked_authorization(&world.tokens, &value)),
        content_type,
        prefer,
        body,
        form,
        status,
        time,
        fault,
    };
    world.requests.push(entry);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_components() {
        assert_eq!(
            decode_component("offline_access+https%3A%2F%2Fx%2F.default"),
            "offline_access https://x/.default"
        );
        assert_eq!(decode_component("100%"), "100%");
    }

    #[test]
    fn masks_secret_fields_only() {
        let tokens = TokenRegistry::default();
        let (body, form) = masked_form(
            &tokens,
            "client_id=abc&client_secret=s3cr%3Dt&grant_type=client_credentials",
        );
        assert_eq!(
            body,
            "client_id=abc&client_secret=[redacted]&grant_type=client_credentials"
        );
        assert_eq!(form["client_secret"], "[redacted]");
        assert_eq!(form["client_id"], "abc");
    }
}
