//! Talking to Microsoft's security APIs. One client per API, [`LegacyApi`] (the Microsoft 365
//! Defender API, retired on 1 February 2027) and [`GraphApi`] (Microsoft Graph's security API,
//! its successor), and one folder per resource family, each with the legacy and the Graph side
//! of it: [`incidents`] (behind the [`IncidentsBackend`] trait that commands, fetching and
//! mirroring use) and [`hunting`]. [`Api`] is the client of the API the instance is configured
//! for. Every request goes through [`client::ApiClient`]: bearer token, one renewal after a 401,
//! retries for throttling and transient failures within the command's deadline, and Microsoft's
//! error answers turned into messages in XSOAR's wording with Microsoft's own code and message
//! added.

pub mod alerts;
pub mod client;
pub mod detection_rules;
pub mod graph;
pub mod hunting;
pub mod incident_id;
pub mod incidents;
pub mod legacy;
pub mod odata;
pub mod paging;
pub mod retry;

pub use graph::GraphApi;
pub use hunting::HuntingRequest;
pub use incident_id::IncidentId;
pub use incidents::{IncidentFilter, IncidentQuery, IncidentsBackend, ListPage, TimeBound};
pub use legacy::LegacyApi;

use std::time::Duration;

use jiff::Timestamp;
use reqwest::StatusCode;

use crate::auth::Session;
use crate::auth::SignInError;
use crate::config::ApiBackend;
use crate::graph::enums::pascal_case;
use client::ApiClient;
use graph::TranslateError;
use incident_id::TEXT_IDS_NEED_GRAPH;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("The {} at {host} could not be reached: {cause}.", api.service())]
    Unreachable {
        api: ApiBackend,
        host: String,
        cause: String,
    },
    #[error("{}", status_message(*status, detail))]
    Status { status: u16, detail: String },
    #[error("{}", throttled_message(detail, *retry_at))]
    Throttled {
        detail: String,
        /// When the service said to come back, if it did.
        retry_at: Option<Timestamp>,
    },
    #[error(
        "The {} at {host} did not answer within the command's timeout of {seconds} seconds.{} Try again later, or give the command a larger `timeout`.",
        api.service(),
        if *maybe_applied { " The change may have been made even so: check the incident before running the command again." } else { "" }
    )]
    TimedOut {
        api: ApiBackend,
        host: String,
        seconds: u64,
        /// The request changed something and may have arrived.
        maybe_applied: bool,
    },
    /// `get-modified-remote-data` ran out of its own time (it takes no `timeout` argument).
    #[error(
        "The {} at {host} did not list all changed incidents within {seconds} seconds, the most get-modified-remote-data takes; mirroring tries again on its next cycle.",
        api.service()
    )]
    ListingTimedOut {
        api: ApiBackend,
        host: String,
        seconds: u64,
    },
    #[error(
        "The {} at {host} redirected the request to {target}; requests to the API follow no redirect to another host, so the token, the query and any change stay with the API. Check the Server URL parameter (and any proxy in between)."
        , api.service()
    )]
    Redirected {
        api: ApiBackend,
        host: String,
        /// The origin the redirect pointed to, or why it had none.
        target: String,
    },
    #[error(
        "The {} at {host} kept redirecting the request; it was given up after {hops} redirects. Check the Server URL parameter.",
        api.service()
    )]
    TooManyRedirects {
        api: ApiBackend,
        host: String,
        hops: usize,
    },
    #[error(
        "The {}'s answer is larger than {cap}, the most this integration reads of one answer; it was not read further. Ask for less (a smaller `limit`, a narrower query).",
        api.service()
    )]
    TooLarge { api: ApiBackend, cap: String },
    #[error("The API's paging did not end: {0}.")]
    Paging(#[from] paging::PagingError),
    #[error("The API answered with something that is not the JSON it documents: {0}.")]
    Malformed(String),
    #[error(
        "The API's link to the next page points to {link_host}, not to the configured API host {api_host}; it was not followed, so the bearer token stays with the API. Check the Server URL parameter."
    )]
    ForeignNextLink { link_host: String, api_host: String },
    #[error("The Server URL parameter is not usable: {0}.")]
    BadBaseUrl(String),
    /// A text id (Microsoft Graph's) given to the legacy API, which numbers its incidents.
    #[error(
        "Incident {0} cannot be read or changed through the legacy Microsoft 365 Defender API, which numbers its incidents; nothing was sent. {TEXT_IDS_NEED_GRAPH}"
    )]
    NotALegacyId(IncidentId),
    /// A command that only Microsoft Graph serves, on an instance configured for the legacy API.
    #[error(
        "{command} works only with Microsoft Graph, and this instance uses the legacy Microsoft 365 Defender API; nothing was sent. Set the instance's API backend (api_backend) to Microsoft Graph."
    )]
    NeedsGraph { command: &'static str },
    /// An id no URL path can carry (`.` or `..`).
    #[error(
        "The incident ID {0:?} cannot be sent: a URL path would read it as a step to another resource, so nothing was sent. Check the ID."
    )]
    UnaddressableId(String),
    /// A Graph answer that does not translate into the legacy shapes, or a change Graph has no
    /// value for.
    #[error(transparent)]
    Graph(#[from] TranslateError),
    /// A change made of several requests failed after some of them had been applied.
    #[error("{error}\n{}, but {not_done}.", pascal_case(done))]
    PartlyApplied {
        error: Box<ApiError>,
        /// What was applied, e.g. "the incident's fields were changed (status)".
        done: String,
        not_done: String,
    },
}

/// The client of the API the instance's `api_backend` parameter chose, for one command run.
pub enum Api<'s, 'a> {
    Legacy(LegacyApi<'s, 'a>),
    Graph(GraphApi<'s, 'a>),
}

impl<'s, 'a> Api<'s, 'a> {
    /// Everything the client sends must be answered within `timeout` from now.
    pub fn new(session: &'s mut Session<'a>, timeout: Duration) -> Api<'s, 'a> {
        match session.config().endpoints.backend {
            ApiBackend::Legacy => Api::Legacy(LegacyApi::new(session, timeout)),
            ApiBackend::Graph => Api::Graph(GraphApi::new(session, timeout)),
        }
    }

    /// The Graph client, for `command`, which only Microsoft Graph serves.
    pub fn graph(&mut self, command: &'static str) -> Result<&mut GraphApi<'s, 'a>, ApiError> {
        match self {
            Api::Graph(api) => Ok(api),
            Api::Legacy(_) => Err(ApiError::NeedsGraph { command }),
        }
    }

    fn client(&self) -> &ApiClient<'s, 'a> {
        match self {
            Api::Legacy(api) => &api.client,
            Api::Graph(api) => &api.client,
        }
    }

    fn client_mut(&mut self) -> &mut ApiClient<'s, 'a> {
        match self {
            Api::Legacy(api) => &mut api.client,
            Api::Graph(api) => &mut api.client,
        }
    }
}

/// XSOAR's "Error in API call [<status>] - <reason>", then what Microsoft said.
fn status_message(status: u16, detail: &str) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown status");
    format!("Error in API call [{status}] - {reason}\n{detail}")
}

/// XSOAR's wording for the 429, then when to come back.
fn throttled_message(detail: &str, retry_at: Option<Timestamp>) -> String {
    let when = match retry_at {
        Some(at) => format!("try again after {}", crate::time::format(at)),
        None => "try again in a minute".to_owned(),
    };
    format!(
        "{}\nThrottled: Microsoft 365 Defender limits how many calls an app may make per minute and per hour; {when}.",
        status_message(429, detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirroring_list_out_of_time_names_no_argument_it_lacks() {
        let error = ApiError::ListingTimedOut {
            api: ApiBackend::Graph,
            host: "https://graph.microsoft.com".into(),
            seconds: 120,
        };
        let text = error.to_string();
        assert!(text.contains("within 120 seconds"), "{text}");
        assert!(!text.contains("`timeout`"), "{text}");
    }

    #[test]
    fn messages_keep_xsoar_wording_and_say_what_to_do() {
        let error = ApiError::Status {
            status: 404,
            detail: "NotFound: Incident 999 was not found".into(),
        };
        assert_eq!(
            error.to_string(),
            "Error in API call [404] - Not Found\nNotFound: Incident 999 was not found"
        );
        let error = ApiError::Throttled {
            detail: "TooManyRequests: quota".into(),
            retry_at: Some("2025-01-10T08:00:33Z".parse().unwrap()),
        };
        assert_eq!(
            error.to_string(),
            "Error in API call [429] - Too Many Requests\nTooManyRequests: quota\nThrottled: Microsoft 365 Defender limits how many calls an app may make per minute and per hour; try again after 2025-01-10T08:00:33Z."
        );
    }
}
