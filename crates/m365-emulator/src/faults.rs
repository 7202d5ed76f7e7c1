//! Things going wrong on purpose: faults injected through the control API (an error status with
//! `Retry-After`, a delay, a connection closed without an answer, an HTML page where JSON was
//! expected), and Defender's own rate limits. The plugin's retry and error paths can only be tested
//! against a server that fails on cue.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::EmulatorState;
use super::defender::DefenderError;
use super::entra::EntraError;

/// What to do to requests that match `method` and `path` (a pattern where `*` matches anything),
/// for the next `times` of them.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    #[serde(default)]
    pub(crate) method: Option<String>,
    pub(crate) path: String,
    /// Answer with this status and the service's error body.
    #[serde(default)]
    pub(crate) status: Option<u16>,
    /// `Retry-After` header value in seconds.
    #[serde(default)]
    pub(crate) retry_after: Option<u64>,
    /// Wait this long (real time) before answering or passing the request on.
    #[serde(default)]
    pub(crate) delay_ms: Option<u64>,
    /// Close the connection without any response.
    #[serde(default)]
    pub(crate) drop_connection: bool,
    /// Answer with an HTML page (status `status`, default 200), as a proxy or gateway would.
    #[serde(default)]
    pub(crate) html: bool,
    /// Answer with exactly this body (status `status`, default 200).
    #[serde(default)]
    pub(crate) body: Option<String>,
    #[serde(default = "once")]
    pub(crate) times: u32,
}

fn once() -> u32 {
    1
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct ActiveFault {
    pub(crate) id: u64,
    #[serde(flatten)]
    pub(crate) spec: FaultSpec,
}

#[derive(Default)]
pub(crate) struct Faults {
    active: Vec<ActiveFault>,
    next_id: u64,
}

/// `*` matches any run of characters, everything else itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(remainder) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=remainder.len())
                .filter(|index| remainder.is_char_boundary(*index))
                .any(|index| glob_matches(rest, &remainder[index..]))
        }
    }
}

impl Faults {
    pub(crate) fn add(&mut self, spec: FaultSpec) -> Result<u64, String> {
        if let Some(status) = spec.status {
            StatusCode::from_u16(status)
                .map_err(|_| format!("status {status} is not an HTTP status"))?;
        }
        if spec.times == 0 {
            return Err("times must be at least 1".into());
        }
        self.next_id += 1;
        self.active.push(ActiveFault {
            id: self.next_id,
            spec,
        });
        Ok(self.next_id)
    }

    pub(crate) fn list(&self) -> &[ActiveFault] {
        &self.active
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
    }

    /// The first fault matching the request, counted as used once.
    fn take(&mut self, method: &str, path: &str) -> Option<FaultSpec> {
        let index = self.active.iter().position(|fault| {
            fault
                .spec
                .method
                .as_deref()
                .is_none_or(|wanted| wanted.eq_ignore_ascii_case(method))
                && glob_matches(&fault.spec.path, path)
        })?;
        let fault = &mut self.active[index];
        fault.spec.times -= 1;
        let spec = fault.spec.clone();
        if fault.spec.times == 0 {
            self.active.remove(index);
        }
        Some(spec)
    }
}

/// Marks a response as produced by a fault, for the request log.
#[derive(Clone, Debug)]
pub(crate) struct AppliedFault(pub(crate) String);

pub(crate) async fn inject(
    State(state): State<Arc<EmulatorState>>,
    ConnectInfo(connection): ConnectInfo<ConnectionControl>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_emulator") {
        return next.run(request).await;
    }
    let Some(fault) = state.world().faults.take(request.method().as_str(), &path) else {
        return next.run(request).await;
    };
    if let Some(delay) = fault.delay_ms {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = fault
        .status
        .and_then(|status| StatusCode::from_u16(status).ok());
    let (mut response, description) = if fault.drop_connection {
        connection.drop_connection();
        (
            StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            "drop_connection".to_owned(),
        )
    } else if fault.html {
        let status = status.unwrap_or(StatusCode::OK);
        let reason = status.canonical_reason().unwrap_or("Error");
        let page = format!(
            "<html>\r\n<head><title>{} {reason}</title></head>\r\n<body>\r\n<center><h1>{} {reason}</h1></center>\r\n</body>\r\n</html>\r\n",
            status.as_u16(),
            status.as_u16()
        );
        let response = (status, [(header::CONTENT_TYPE, "text/html")], page).into_response();
        (response, format!("html {}", status.as_u16()))
    } else if let Some(body) = fault.body {
        let status = status.unwrap_or(StatusCode::OK);
        let content_type = if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
            "application/json"
        } else {
            "text/plain"
        };
        let response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        (response, format!("body {}", status.as_u16()))
    } else if let Some(status) = status {
        (
            service_error(&path, status),
            format!("status {}", status.as_u16()),
        )
    } else {
        let response = next.run(request).await;
        (
            response,
            format!("delay {} ms", fault.delay_ms.unwrap_or(0)),
        )
    };
    if let Some(seconds) = fault.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response.extensions_mut().insert(AppliedFault(description));
    response
}

/// The error body the service behind `path` would send with `status`.
fn service_error(path: &str, status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    if path.contains("/oauth2/") && !path.starts_with("/metadata/") {
        let (error, code) = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            ("temporarily_unavailable", 90024)
        } else {
            ("invalid_request", 90023)
        };
        return EntraError::new(
            status,
            error,
            code,
            format!("{reason}. The server could not handle the request."),
        )
        .into_response();
    }
    if path.starts_with("/v1.0/") {
        return super::graph::fault_response(status);
    }
    if path.starts_with("/metadata/") {
        let body = json!({"error": "server_error", "error_description": reason});
        return (status, Json(body)).into_response();
    }
    let code: String = reason.split_whitespace().collect();
    DefenderError::new(status, code, "Something went wrong").into_response()
}

/// A handle on one client connection that lets a handler close it without answering.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnectionControl(Arc<AtomicBool>);

impl ConnectionControl {
    fn drop_connection(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_dropped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, DroppableListener>> for ConnectionControl {
    fn connect_info(stream: IncomingStream<'_, DroppableListener>) -> ConnectionControl {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be dropped mid-request: once dropped, writing the
/// response fails, so the server closes the socket (with a reset) having sent nothing.
pub(crate) struct DroppableListener {
    inner: TcpListener,
}

impl DroppableListener {
    pub(crate) fn new(inner: TcpListener) -> DroppableListener {
        DroppableListener { inner }
    }
}

impl Listener for DroppableListener {
    type Io = DroppableStream;
    type Addr = ConnectionControl;

    async fn accept(&mut self) -> (DroppableStream, ConnectionControl) {
        let (stream, _) = Listener::accept(&mut self.inner).await;
        let control = ConnectionControl::default();
        (
            DroppableStream {
                stream,
                control: control.clone(),
            },
            control,
        )
    }

    fn local_addr(&self) -> io::Result<ConnectionControl> {
        self.inner
            .local_addr()
            .map(|_| ConnectionControl::default())
    }
}

pub(crate) struct DroppableStream {
    stream: TcpStream,
    control: ConnectionControl,
}

impl AsyncRead for DroppableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.control.is_dropped() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for DroppableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.control.is_dropped() {
            let _ = self.stream.set_zero_linger();
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

/// The Defender API's request families, each with its own quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ApiFamily {
    Incidents,
    Hunting,
}

const MINUTE: SignedDuration = SignedDuration::from_secs(60);
const HOUR: SignedDuration = SignedDuration::from_secs(3600);

impl ApiFamily {
    /// Incidents: 50 calls a minute and 1,500 an hour
    /// (<https://learn.microsoft.com/defender-xdr/api-list-incidents#limitations>); advanced
    /// hunting: 45 calls a minute (<https://learn.microsoft.com/defender-xdr/api-advanced-hunting>).
    fn quotas(self) -> [(SignedDuration, usize); 2] {
        match self {
            ApiFamily::Incidents => [(MINUTE, 50), (HOUR, 1500)],
            ApiFamily::Hunting => [(MINUTE, 45), (HOUR, 1500)],
        }
    }

    pub(crate) fn quota_message(self, retry_after: u64) -> String {
        let (what, per_minute) = match self {
            ApiFamily::Incidents => ("incidents API", 50),
            ApiFamily::Hunting => ("advanced hunting API", 45),
        };
        format!(
            "API calls quota exceeded! Maximum allowed for the {what} is {per_minute} per minute and 1500 per hour. Try again in {retry_after} seconds."
        )
    }
}

pub(crate) struct RateLimits {
    pub(crate) enabled: bool,
    calls: HashMap<ApiFamily, Vec<Timestamp>>,
}

impl RateLimits {
    pub(crate) fn new(enabled: bool) -> RateLimits {
        RateLimits {
            enabled,
            calls: HashMap::new(),
        }
    }

    /// Counts a call at `now`, or refuses it with the seconds until the window has room again.
    pub(crate) fn admit(&mut self, family: ApiFamily, now: Timestamp) -> Result<(), u64> {
        if !self.enabled {
            return Ok(());
        }
        let calls = self.calls.entry(family).or_default();
        calls.retain(|call| *call <= now && now.duration_since(*call) < HOUR);
        for (window, limit) in family.quotas() {
            let in_window = calls
                .iter()
                .filter(|call| now.duration_since(**call) < window);
            if in_window.clone().count() >= limit {
                let oldest = in_window.min().copied().unwrap_or(now);
                let wait = window - now.duration_since(oldest);
                let seconds = wait.as_secs() + i64::from(wait.subsec_nanos() > 0);
                return Err(seconds.max(1) as u64);
            }
        }
        calls.push(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_paths() {
        assert!(glob_matches("/api/incidents*", "/api/incidents"));
        assert!(glob_matches("/api/incidents*", "/api/incidents/12"));
        assert!(glob_matches(
            "/*/oauth2/v2.0/token",
            "/organizations/oauth2/v2.0/token"
        ));
        assert!(!glob_matches("/api/incidents", "/api/incidents/12"));
    }

    #[test]
    fn the_sixty_first_second_frees_the_window() {
        let mut limits = RateLimits::new(true);
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        for _ in 0..45 {
            limits.admit(ApiFamily::Hunting, now).unwrap();
        }
        assert_eq!(limits.admit(ApiFamily::Hunting, now), Err(60));
        assert_eq!(
            limits.admit(ApiFamily::Hunting, now + SignedDuration::from_secs(59)),
            Err(1)
        );
        assert!(limits.admit(ApiFamily::Hunting, now + MINUTE).is_ok());
        assert!(limits.admit(ApiFamily::Incidents, now).is_ok());
    }
}
