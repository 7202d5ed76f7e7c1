//! `fetch-incidents`: the platform's periodic call for new incidents. The cursor arrives in
//! `last_run` and leaves in the output's `last_run`; the algorithm is in [`crate::fetch`]. A run
//! that fails before emitting anything is an error (the platform keeps the old cursor); one that
//! fails after emitting hands over what it has with the cursor that matches it, so no incident is
//! lost or fetched twice.

use std::time::{Duration, Instant};

use super::{CommandSpec, Invocation, Outcome, platform};
use crate::api::Api;
use crate::auth::Session;
use crate::config::{FetchSettings, MirrorSettings};
use crate::error::Error;
use crate::fetch::cursor::Cursor;
use crate::fetch::platform::{Stamp, fetched_incident};
use crate::fetch::{self, FetchLimits};

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
    let outcome = fetch::fetch(
        &mut Api::new(session, fetch::REQUEST_TIMEOUT),
        cursor,
        limits,
    )
    .await;
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
    let stamp = Stamp {
        incident_type: settings.incident_type.as_deref(),
        mirror: &mirror,
        instance: invocation.integration_instance,
    };
    let incidents = outcome
        .incidents
        .into_iter()
        .map(|incident| fetched_incident(&incident, &stamp))
        .collect();
    Ok(Outcome {
        results: Vec::new(),
        last_run: Some(outcome.cursor.to_last_run()),
        incidents: Some(incidents),
    })
}

/// Time kept back from `fetch_timeout` for signing in, writing the output and the platform's
/// own overhead: a tenth, from one to five seconds.
fn safety_margin(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(5))
}
