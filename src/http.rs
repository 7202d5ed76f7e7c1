//! The one HTTP client every request goes through, configured from the instance parameters:
//! proxy use and certificate checks are the user's choice, nothing else is. It follows no
//! redirect by itself: a sign-in request must never carry its secret to the host a `Location`
//! names, and the API client follows a redirect only within the API's own origin
//! ([`crate::api::client`]). Answers are read through [`read_body`], which stops at a cap, and
//! every request, API or sign-in, is logged as one debug line by [`HttpAttempt`].

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};

use crate::config::InstanceConfig;

/// The largest sign-in answer read (token, device code, IMDS): real ones are a few kilobytes.
pub const MAX_SIGN_IN_ANSWER: usize = 1024 * 1024;
/// The largest API answer read, after decompression. Microsoft documents advanced hunting
/// answers of up to 100,000 rows and 50 MB of data; JSON's punctuation comes on top.
pub const MAX_API_ANSWER: usize = 256 * 1024 * 1024;

/// Builds the client. `proxy` false means direct connections even when the environment names a
/// proxy; `insecure` true turns certificate checks off, and only then.
pub fn client(config: &InstanceConfig) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("m365-defender/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(15))
        .danger_accept_invalid_certs(config.insecure);
    if !config.proxy {
        builder = builder.no_proxy();
    }
    let endpoints = &config.endpoints;
    if [&endpoints.login_host, &endpoints.api_base]
        .iter()
        .all(|url| url.starts_with("http://"))
    {
        // No host of this instance speaks TLS (a loopback emulator, a lab proxy): loading the
        // system's CA store would cost milliseconds on every run for nothing. Any https URL,
        // should one appear, then fails verification instead of being trusted.
        builder = builder.tls_certs_only(std::iter::empty());
    } else {
        builder = builder.tls_certs_merge(bundle_roots()?);
    }
    builder
        .build()
        .map_err(|e| format!("The HTTP client could not be set up: {e}."))
}

/// Where XSOAR engines and Python's requests name a CA bundle: a TLS-inspecting proxy's CA is
/// put there. (`SSL_CERT_FILE` and `SSL_CERT_DIR` are read by the system store loader itself,
/// which they replace, as OpenSSL does.)
const CA_BUNDLE_VARIABLE: &str = "REQUESTS_CA_BUNDLE";

/// The certificates of the bundle `REQUESTS_CA_BUNDLE` names, trusted beside the system's.
fn bundle_roots() -> Result<Vec<reqwest::Certificate>, String> {
    let Some(path) = std::env::var_os(CA_BUNDLE_VARIABLE).filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let unusable = |why: String| {
        format!(
            "{CA_BUNDLE_VARIABLE} names {path:?}, which {why}. Point it at a PEM file of CA certificates, or unset it."
        )
    };
    let pem = std::fs::read(&path).map_err(|e| unusable(format!("could not be read ({e})")))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| unusable(format!("is not a PEM bundle ({e})")))?;
    if certificates.is_empty() {
        return Err(unusable("holds no PEM certificate".to_owned()));
    }
    Ok(certificates)
}

/// One HTTP request and what came of it, logged as one `debug` line once it is known whether
/// the request will be sent again. Only the method and the path: a query can hold a filter with
/// the customer's data, a sign-in form holds secrets, and headers hold the bearer token, so
/// none of them is logged.
pub struct HttpAttempt {
    method: Method,
    path: String,
    started: Instant,
    status: Option<u16>,
    failure: Option<&'static str>,
}

impl HttpAttempt {
    /// A request about to be sent.
    pub fn start(method: &Method, url: &Url) -> HttpAttempt {
        HttpAttempt {
            method: method.clone(),
            path: url.path().to_owned(),
            started: Instant::now(),
            status: None,
            failure: None,
        }
    }

    pub fn answered(&mut self, status: StatusCode) {
        self.status = Some(status.as_u16());
    }

    /// The request, or the reading of its answer, failed in transport.
    pub fn broke(&mut self, error: &reqwest::Error) {
        self.failure = Some(if error.is_timeout() {
            "timeout"
        } else if error.is_connect() {
            "connect"
        } else if error.is_body() || error.is_decode() {
            "body"
        } else if error.is_request() {
            "request"
        } else {
            "transport"
        });
    }

    /// The answer was cut off at the size cap.
    pub fn too_large(&mut self) {
        self.failure = Some("too large");
    }

    /// The line, with why the request will be sent again when it will be. Sign-in requests
    /// log through here too, hence a target of their own.
    pub fn log(&self, retry: Option<&'static str>) {
        tracing::debug!(
            target: "m365_defender::http",
            method = %self.method,
            path = self.path.as_str(),
            status = self.status,
            failure = self.failure,
            ms = self.started.elapsed().as_millis() as u64,
            retry,
            "http attempt"
        );
    }
}

/// The end of a command's time: every request of the command, API or sign-in, must be done
/// by then.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The whole time the command was given.
    pub fn budget(&self) -> Duration {
        self.budget
    }
}

/// Why an answer's body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
    /// The body is larger than the cap (counted after decompression).
    TooLarge { cap: usize },
}

/// Reads the body of `response`, at most `cap` bytes after decompression: a small gzip answer
/// that inflates to gigabytes is stopped at the cap, with memory bounded by it.
pub async fn read_body(response: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    // Chunks go straight into one buffer sized from `Content-Length`: a hunting answer can be
    // 50 MB, and collecting chunks first would hold it twice.
    let expected = response.content_length().unwrap_or(0);
    if expected > cap as u64 {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::with_capacity(expected as usize);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A byte count for people: `1 MiB`, `256 MiB`.
pub fn size_in_words(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The host (scheme://host:port) of a URL, for error messages that must not quote query strings.
pub fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// The chain of causes of a transport error, without the URL (which may carry a query).
pub fn transport_cause(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts = Vec::new();
    if error.is_timeout() {
        parts.push("timed out".to_owned());
    }
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}
