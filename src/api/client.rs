//! The HTTP exchange under every API call: a bearer token from the [`Session`], one renewal and
//! retry after a 401, the retry policy of [`super::retry`] for throttling and transient
//! failures, all of it within the command's deadline (signing in included); redirects followed
//! only within the API's origin; answers read up to a cap; and failed answers turned into
//! [`ApiError`]s worded like XSOAR's, with every known secret scrubbed from what the server
//! said. Every HTTP request, each redirect hop and retry included, leaves one `debug` line.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::ApiError;
use super::retry::{Decision, Failure, Failures, Replay, RetryPolicy};
use crate::auth::Session;
use crate::http::{
    BodyError, Deadline, HttpAttempt, MAX_API_ANSWER, host_of, read_body, size_in_words,
    transport_cause,
};

/// Redirects followed within the API's origin before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// One request to send, perhaps several times.
pub struct Call<'q> {
    pub method: Method,
    pub url: Url,
    pub query: &'q [(String, String)],
    /// A JSON body, already serialized.
    pub body: Option<Vec<u8>>,
    pub replay: Replay,
}

impl Call<'static> {
    /// A request with `body` as its JSON body and no query options.
    pub fn json(
        method: Method,
        url: Url,
        body: &impl serde::Serialize,
        replay: Replay,
    ) -> Call<'static> {
        Call {
            method,
            url,
            query: &[],
            // The bodies sent are structs of strings and JSON values, which always serialize.
            body: Some(serde_json::to_vec(body).unwrap_or_default()),
            replay,
        }
    }
}

/// An API client for one command run: everything it sends shares the command's deadline.
pub struct ApiClient<'s, 'a> {
    session: &'s mut Session<'a>,
    /// The API base URL, without a trailing slash.
    base: String,
    deadline: Deadline,
    policy: RetryPolicy,
    /// Headers every request of this API carries.
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// Why one attempt did not produce a usable answer.
enum AttemptError {
    /// Worth weighing a retry.
    Retryable(Failure, ApiError),
    /// Final whatever the policy says.
    Final(ApiError),
}

impl<'s, 'a> ApiClient<'s, 'a> {
    /// A client for the API at `base` that must be done by `deadline`.
    pub fn new(session: &'s mut Session<'a>, base: &str, deadline: Deadline) -> ApiClient<'s, 'a> {
        ApiClient {
            session,
            base: base.trim_end_matches('/').to_owned(),
            deadline,
            policy: RetryPolicy::for_commands(),
            headers: Vec::new(),
        }
    }

    /// Sends `name: value` with every request.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> ApiClient<'s, 'a> {
        self.headers.push((name, value));
        self
    }

    /// The API base URL, as configured.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// From now on, everything must be answered within `timeout`.
    pub fn limit_to(&mut self, timeout: Duration) {
        self.deadline = Deadline::after(timeout);
    }

    /// `path` (like `/api/incidents`) under the API base.
    pub fn url(&self, path: &str) -> Result<Url, ApiError> {
        Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| ApiError::BadBaseUrl(format!("{:?} is not a URL ({e})", self.base)))
    }

    /// `path` under the API base, then `segments`, each one path segment whatever it holds: the
    /// URL percent-encodes what would otherwise end or split it (`/`, `\\`, `?`, `#`, `%`, space).
    pub fn url_with(&self, path: &str, segments: &[&str]) -> Result<Url, ApiError> {
        let mut url = self.url(path)?;
        url.path_segments_mut()
            .map_err(|()| ApiError::BadBaseUrl(format!("{:?} cannot take a path", self.base)))?
            .extend(segments);
        Ok(url)
    }

    /// A link from an answer (absolute, or relative to the API base), provided it points to
    /// the API's own host: only there may the bearer token go.
    pub fn link(&self, link: &str) -> Result<Url, ApiError> {
        let base = self.url("/")?;
        let url = base
            .join(link)
            .map_err(|e| ApiError::Malformed(format!("the link {link:?} is not a URL ({e})")))?;
        if url.origin() != base.origin() {
            return Err(ApiError::ForeignNextLink {
                link_host: url.origin().ascii_serialization(),
                api_host: base.origin().ascii_serialization(),
            });
        }
        Ok(url)
    }

    /// `GET url?query`, which may be sent again, and its JSON answer as `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &mut self,
        url: Url,
        query: &[(String, String)],
    ) -> Result<T, ApiError> {
        self.send_json(Call {
            method: Method::GET,
            url,
            query,
            body: None,
            replay: Replay::Safe,
        })
        .await
    }

    /// Sends `call` and parses the JSON answer as `T`.
    pub async fn send_json<T: DeserializeOwned>(&mut self, call: Call<'_>) -> Result<T, ApiError> {
        let body = self.send(call).await?;
        serde_json::from_slice(&body).map_err(|e| {
            // JSON of another shape gets serde's account of where; an HTML page or an empty
            // body is named as such.
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            if matches!(first, Some(b'{' | b'[')) {
                ApiError::Malformed(e.to_string())
            } else {
                ApiError::Malformed(crate::auth::describe_body(&body))
            }
        })
    }

    /// Sends `call`, retrying as the policy allows, and returns the body of the successful
    /// answer.
    pub async fn send(&mut self, call: Call<'_>) -> Result<Vec<u8>, ApiError> {
        let mut token = self.session.access_token(self.deadline).await?;
        let mut renewed = false;
        let mut failures = Failures::default();
        let mut rng = rand::rng();
        loop {
            // The last request of the attempt, logged here once it is known whether it is
            // sent again; none when the time ran out before anything was sent.
            let mut last = None;
            let log = |last: &Option<HttpAttempt>, retry| {
                if let Some(last) = last {
                    last.log(retry);
                }
            };
            let (failure, error) = match self.attempt(&call, token.secret(), &mut last).await {
                Ok(body) => {
                    log(&last, None);
                    return Ok(body);
                }
                Err(AttemptError::Final(ApiError::Status { status: 401, .. })) if !renewed => {
                    log(&last, Some("token refused"));
                    // The token may have been revoked or expired early: one new token, one retry.
                    tracing::debug!("the API refused the access token; renewing it once");
                    token = self.session.renew(self.deadline).await?;
                    renewed = true;
                    continue;
                }
                Err(AttemptError::Final(error)) => {
                    log(&last, None);
                    return Err(error);
                }
                Err(AttemptError::Retryable(failure, error)) => (failure, error),
            };
            let remaining = self.deadline.remaining();
            match self
                .policy
                .decide(call.replay, failure, failures, remaining, &mut rng)
            {
                Decision::RetryAfter(wait) => {
                    log(&last, Some(retry_reason(failure)));
                    tracing::info!(
                        method = %call.method,
                        path = call.url.path(),
                        wait_ms = wait.as_millis() as u64,
                        "retrying after: {error}"
                    );
                    match failure {
                        Failure::Throttled(_) => failures.throttled += 1,
                        _ => failures.transient += 1,
                    }
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => {
                    log(&last, None);
                    return Err(error);
                }
            }
        }
    }

    /// Sends `call` once, following redirects. Each redirect hop is logged here; the last
    /// request is left in `last` for [`Self::send`] to log with its retry decision.
    async fn attempt(
        &mut self,
        call: &Call<'_>,
        token: &str,
        last: &mut Option<HttpAttempt>,
    ) -> Result<Vec<u8>, AttemptError> {
        let mut url = call.url.clone();
        let mut method = call.method.clone();
        let mut body = call.body.as_ref();
        let mut hops = 0;
        let (status, headers, body) = loop {
            let remaining = self.deadline.remaining();
            if remaining.is_zero() {
                return Err(AttemptError::Final(self.timed_out(call)));
            }
            let mut request = self
                .session
                .http()
                .request(method.clone(), url.clone())
                .timeout(remaining)
                .bearer_auth(token);
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            // A redirect's `Location` is a whole URL, query included.
            if hops == 0 && !call.query.is_empty() {
                request = request.query(call.query);
            }
            if let Some(body) = body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let hop = last.insert(HttpAttempt::start(&method, &url));
            let mut response = request.send().await.map_err(|e| {
                hop.broke(&e);
                self.transport_error(call, &e)
            })?;
            let status = response.status();
            hop.answered(status);
            if status.is_redirection() {
                url = self.redirect_target(response.url(), response.headers(), hops)?;
                hop.log(None);
                hops += 1;
                if status == StatusCode::SEE_OTHER {
                    method = Method::GET;
                    body = None;
                }
                continue;
            }
            let headers = response.headers().clone();
            let body = read_body(&mut response, MAX_API_ANSWER)
                .await
                .map_err(|e| match e {
                    BodyError::Transport(e) => {
                        hop.broke(&e);
                        self.transport_error(call, &e)
                    }
                    BodyError::TooLarge { cap } => {
                        hop.too_large();
                        AttemptError::Final(ApiError::TooLarge {
                            api: self.session.config().endpoints.backend,
                            cap: size_in_words(cap),
                        })
                    }
                })?;
            break (status, headers, body);
        };
        if status.is_success() {
            return Ok(body);
        }
        let detail = describe_error_body(&body);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&headers, Timestamp::now()).or_else(|| wait_in_body(&body));
            let error = ApiError::Throttled {
                detail,
                // A wait past what a timestamp holds is as good as "not before the end of
                // time": it is said as the latest time the integration writes.
                retry_at: wait.map(|w| {
                    Timestamp::now()
                        .checked_add(w)
                        .map_or(crate::time::LATEST, |t| t.min(crate::time::LATEST))
                        .round(jiff::Unit::Second)
                        .unwrap_or(crate::time::LATEST)
                }),
            };
            return Err(AttemptError::Retryable(Failure::Throttled(wait), error));
        }
        let error = ApiError::Status {
            status: status.as_u16(),
            detail,
        };
        if status.is_server_error() {
            Err(AttemptError::Retryable(Failure::ServerError, error))
        } else {
            Err(AttemptError::Final(error))
        }
    }

    /// Where a redirect from `from` leads, provided it stays on the same origin (scheme, host,
    /// port): the bearer token, the query and the changes in the body go nowhere else.
    fn redirect_target(
        &self,
        from: &Url,
        headers: &HeaderMap,
        hops: usize,
    ) -> Result<Url, AttemptError> {
        let api = self.session.config().endpoints.backend;
        let target = headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| from.join(location).ok());
        let Some(target) = target else {
            return Err(AttemptError::Final(ApiError::Redirected {
                api,
                host: host_of(from.as_str()),
                target: "no usable address".to_owned(),
            }));
        };
        if target.origin() != from.origin() {
            return Err(AttemptError::Final(ApiError::Redirected {
                api,
                host: host_of(from.as_str()),
                target: target.origin().ascii_serialization(),
            }));
        }
        if hops >= MAX_REDIRECTS {
            return Err(AttemptError::Final(ApiError::TooManyRedirects {
                api,
                host: host_of(from.as_str()),
                hops: MAX_REDIRECTS,
            }));
        }
        Ok(target)
    }

    fn transport_error(&self, call: &Call<'_>, error: &reqwest::Error) -> AttemptError {
        // A connect error means no byte of the request was written: safe to send again.
        if error.is_connect() {
            return AttemptError::Retryable(Failure::NotSent, self.unreachable(call, error));
        }
        if error.is_timeout() {
            return AttemptError::Final(self.timed_out(call));
        }
        AttemptError::Retryable(Failure::Interrupted, self.unreachable(call, error))
    }

    fn unreachable(&self, call: &Call<'_>, error: &reqwest::Error) -> ApiError {
        ApiError::Unreachable {
            api: self.session.config().endpoints.backend,
            host: host_of(call.url.as_str()),
            cause: transport_cause(error),
        }
    }

    fn timed_out(&self, call: &Call<'_>) -> ApiError {
        ApiError::TimedOut {
            api: self.session.config().endpoints.backend,
            host: host_of(call.url.as_str()),
            seconds: self.deadline.budget().as_secs(),
            // A PATCH, or a comment's POST, may have arrived before the time ran out.
            maybe_applied: call.method == Method::PATCH || call.replay == Replay::OnlyIfNeverSent,
        }
    }
}

/// Why a failed request will be sent again, for its log line.
fn retry_reason(failure: Failure) -> &'static str {
    match failure {
        Failure::Throttled(_) => "throttled",
        Failure::ServerError => "server error",
        Failure::NotSent | Failure::Interrupted => "connection",
    }
}

/// What a failed answer's body says, worded for a person: Microsoft's `error.code` and
/// `error.message`, and Graph's `innerError.request-id`, which Microsoft support asks for
/// (<https://learn.microsoft.com/graph/errors>); or what the body was when it was not
/// Microsoft's JSON.
fn describe_error_body(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: ErrorDetail,
    }
    #[derive(serde::Deserialize)]
    struct ErrorDetail {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "innerError", alias = "innererror")]
        inner: Option<InnerError>,
    }
    #[derive(serde::Deserialize)]
    struct InnerError {
        #[serde(default, rename = "request-id")]
        request_id: Option<String>,
    }
    // Scrubbed before anything is cut or parsed: a server that echoes the request must not
    // carry the bearer token, or a part of it, into the war room.
    let text = String::from_utf8_lossy(body);
    let body = crate::auth::secret::scrub(&text);
    let body = body.as_bytes();
    if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
        let text = match (error.code, error.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(text), None) | (None, Some(text)) => text,
            (None, None) => "no error details were given".to_owned(),
        };
        return match error.inner.and_then(|inner| inner.request_id) {
            Some(request_id) => format!("{text} (request-id: {request_id})"),
            None => text,
        };
    }
    crate::auth::describe_body(body)
}

/// The wait a `Retry-After` header asks for: seconds, or an HTTP date
/// (<https://www.rfc-editor.org/rfc/rfc9110#field.retry-after>).
fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// Defender's quota message says when the quota resets: "… Try again in 33 seconds."
fn wait_in_body(body: &[u8]) -> Option<Duration> {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    let rest = &text[text.find("try again in ")? + "try again in ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    // Past u64 the wait is "longer than any command runs" all the same.
    let amount: u64 = digits.parse().unwrap_or(u64::MAX);
    let unit = rest[digits.len()..].trim_start();
    if unit.starts_with("minute") {
        Some(Duration::from_secs(amount.saturating_mul(60)))
    } else if unit.starts_with("second") {
        Some(Duration::from_secs(amount))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now: Timestamp = "2025-01-10T08:00:00Z".parse().unwrap();
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers("Fri, 10 Jan 2025 08:00:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Fri, 10 Jan 2025 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_quota_message_says_when_to_come_back() {
        let body = br#"{"error":{"code":"TooManyRequests","message":"API calls quota exceeded! Maximum allowed for the incidents API is 50 per minute and 1500 per hour. Try again in 33 seconds."}}"#;
        assert_eq!(wait_in_body(body), Some(Duration::from_secs(33)));
        assert_eq!(
            wait_in_body(b"Try again in 2 minutes"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(wait_in_body(b"Try again later"), None);
        assert_eq!(
            wait_in_body(b"Try again in 999999999999999999999999 minutes"),
            Some(Duration::from_secs(u64::MAX)),
            "a wait past any deadline, not a wrapped short one"
        );
    }

    #[test]
    fn error_bodies_are_described_not_parsed_blindly() {
        assert_eq!(
            describe_error_body(
                br#"{"error":{"code":"NotFound","message":"Incident 9 was not found"}}"#
            ),
            "NotFound: Incident 9 was not found"
        );
        assert_eq!(
            describe_error_body(
                br#"{"error":{"code":"NotFound","message":"Incident with id '9' was not found.","innerError":{"date":"2026-01-15T12:00:00","request-id":"5e0b5b9c-1d1f-4bd4-a3b4-3a3c3f7f2a10","client-request-id":"x"}}}"#
            ),
            "NotFound: Incident with id '9' was not found. (request-id: 5e0b5b9c-1d1f-4bd4-a3b4-3a3c3f7f2a10)"
        );
        assert!(describe_error_body(b"<html><body>502</body></html>").contains("HTML page"));
        assert!(describe_error_body(b"").contains("empty body"));
    }
}
