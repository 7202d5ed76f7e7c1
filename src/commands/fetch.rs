//! `fetch-incidents`: the platform's periodic call for new incidents. The cursor arrives in
//! `last_run` and leaves in the output's `last_run`; the algorithm is in [`crate::fetch`]. A run
//! that fails before emitting anything is an error (the platform keeps the old cursor); one that
//! fails after emitting hands over what it has with the cursor that matches it, so no incident is
//! lost or fetched twice.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CommandSpec, Invocation, Outcome, platform};
use crate::api::Api;
use crate::auth::Session;
use crate::config::{FetchKind, FetchSettings, MirrorSettings};
use crate::error::Error;
use crate::fetch::cursor::Cursor;
use crate::fetch::platform::{Stamp, fetched_alert, fetched_incident};
use crate::fetch::reads::AlertsOf;
use crate::fetch::{self, FetchLimits, FetchOutcome};

/// `fetch-incidents`, the platform's own command.
pub(super) const COMMANDS: &[CommandSpec] = &[platform("fetch-incidents", fetch_incidents_command)];

online_handlers! {
    fetch_incidents_command(_args: (), invocation, session) =>
        fetch_incidents(invocation, session).await;
}

pub async fn fetch_incidents(
    invocation: &Invocation<'_>,
    session: &mut Session<'_>,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let settings = FetchSettings::from_params(invocation.params)?;
    let mirror = MirrorSettings::from_params(invocation.params)?;
    let cursor = Cursor::from_last_run(invocation.last_run, settings.first_fetch)?;
    let limits = FetchLimits {
        max_fetch: settings.max_fetch,
        lookback: settings.lookback,
        deadline: settings.fetch_timeout.and_then(|timeout| {
            started.checked_add(timeout.saturating_sub(safety_margin(timeout)))
        }),
    };
    let stamp = Stamp {
        incident_type: settings.incident_type.as_deref(),
        mirror: &mirror,
        instance: invocation.integration_instance,
    };
    let mut api = Api::new(session, fetch::REQUEST_TIMEOUT);
    let (incidents, cursor) = match settings.kind {
        FetchKind::Incidents => {
            let outcome = fetch::fetch(&mut api, cursor, limits).await;
            handed_over(outcome, |incident| fetched_incident(incident, &stamp))?
        }
        FetchKind::Alerts => {
            let graph = api.graph("fetch-incidents with the fetch type Alerts")?;
            let outcome = fetch::fetch(&mut AlertsOf(graph), cursor, limits).await;
            handed_over(outcome, |alert| fetched_alert(alert, &stamp))?
        }
    };
    Ok(Outcome {
        results: Vec::new(),
        last_run: Some(cursor.to_last_run()),
        incidents: Some(incidents),
    })
}

/// What a run hands the platform: its items as the platform's incident objects, and the cursor
/// that matches them. A run that failed before emitting anything is an error; one that failed
/// after hands over what it has.
fn handed_over<I>(
    outcome: FetchOutcome<I>,
    to_platform: impl Fn(&I) -> Value,
) -> Result<(Vec<Value>, Cursor), Error> {
    if let Some(failure) = outcome.failure {
        if outcome.incidents.is_empty() {
            return Err(failure.into());
        }
        tracing::warn!(
            emitted = outcome.incidents.len(),
            %failure,
            "fetch stopped early; handing over what it fetched, the next run continues"
        );
    }
    tracing::info!(
        emitted = outcome.incidents.len(),
        requests = outcome.requests,
        "fetch done"
    );
    let incidents = outcome.incidents.iter().map(to_platform).collect();
    Ok((incidents, outcome.cursor))
}

/// Time kept back from `fetch_timeout` for signing in, writing the output and the platform's
/// own overhead: a tenth, from one to five seconds.
fn safety_margin(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(5))
}
