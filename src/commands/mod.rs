//! Command dispatch: a command name from the envelope becomes one handler call. Each handler
//! file holds one family of commands from argument use to the entries it returns; this file
//! only routes.

mod auth;
pub(crate) mod close_reasons;
mod fetch;
mod hunting;
mod incidents;
mod mirroring;

use std::time::Duration;

use serde_json::{Map, Value};

use crate::api::ConfiguredBackend;
use crate::args::{Args, TIMEOUT_SECONDS};
use crate::auth::Session;
use crate::config::InstanceConfig;
use crate::error::Error;
use crate::output::ResultItem;

/// The `timeout` of a command whose declaration gives none.
const DEFAULT_TIMEOUT_SECONDS: i64 = 30;

/// Every command the binary answers. `test-module` and `fetch-incidents` are the platform's
/// built-in commands; all others are declared in integration.yml (a test keeps the two in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    TestModule,
    FetchIncidents,
    AuthStart,
    AuthComplete,
    AuthReset,
    AuthTest,
    IncidentsList,
    IncidentGet,
    IncidentUpdate,
    AdvancedHunting,
    GetModifiedRemoteData,
    GetRemoteData,
    UpdateRemoteSystem,
    GetMappingFields,
}

impl Command {
    pub const ALL: [Command; 14] = [
        Command::TestModule,
        Command::FetchIncidents,
        Command::AuthStart,
        Command::AuthComplete,
        Command::AuthReset,
        Command::AuthTest,
        Command::IncidentsList,
        Command::IncidentGet,
        Command::IncidentUpdate,
        Command::AdvancedHunting,
        Command::GetModifiedRemoteData,
        Command::GetRemoteData,
        Command::UpdateRemoteSystem,
        Command::GetMappingFields,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Command::TestModule => "test-module",
            Command::FetchIncidents => "fetch-incidents",
            Command::AuthStart => "microsoft-365-defender-auth-start",
            Command::AuthComplete => "microsoft-365-defender-auth-complete",
            Command::AuthReset => "microsoft-365-defender-auth-reset",
            Command::AuthTest => "microsoft-365-defender-auth-test",
            Command::IncidentsList => "microsoft-365-defender-incidents-list",
            Command::IncidentGet => "microsoft-365-defender-incident-get",
            Command::IncidentUpdate => "microsoft-365-defender-incident-update",
            Command::AdvancedHunting => "microsoft-365-defender-advanced-hunting",
            Command::GetModifiedRemoteData => "get-modified-remote-data",
            Command::GetRemoteData => "get-remote-data",
            Command::UpdateRemoteSystem => "update-remote-system",
            Command::GetMappingFields => "get-mapping-fields",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the platform provides this command itself (it has no entry in integration.yml).
    pub fn is_builtin(self) -> bool {
        matches!(self, Command::TestModule | Command::FetchIncidents)
    }
}

/// What a command needs besides its arguments.
pub struct Invocation<'a> {
    pub command: Command,
    pub args: Args,
    pub params: &'a Map<String, Value>,
    pub last_run: &'a Map<String, Value>,
    pub integration_instance: Option<&'a str>,
}

/// What a successful command hands back. The integration context is changed in place, so a
/// token refreshed before a failure is still returned.
#[derive(Debug, Default)]
pub struct Outcome {
    pub results: Vec<ResultItem>,
    pub last_run: Option<Map<String, Value>>,
    pub incidents: Option<Vec<Value>>,
}

impl Outcome {
    pub fn single(item: ResultItem) -> Outcome {
        Outcome {
            results: vec![item],
            ..Outcome::default()
        }
    }
}

/// Runs one validated command.
pub fn run(invocation: Invocation, context: &mut Map<String, Value>) -> Result<Outcome, Error> {
    match invocation.command {
        Command::AuthReset => return Ok(auth::reset(context)),
        Command::GetMappingFields => return Ok(mirroring::mapping_fields()),
        _ => {}
    }
    let config = InstanceConfig::from_params(invocation.params)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("The async runtime could not start: {e}.")))?;
    runtime.block_on(async {
        let http = crate::http::client(&config).map_err(Error::Setup)?;
        let mut session = Session::new(&config, &http, context);
        run_online(&invocation, &mut session).await
    })
}

/// The commands that talk to Microsoft.
async fn run_online(
    invocation: &Invocation<'_>,
    session: &mut Session<'_>,
) -> Result<Outcome, Error> {
    let args = &invocation.args;
    match invocation.command {
        Command::TestModule => auth::test_module(session).await,
        Command::AuthStart => auth::start(session).await,
        Command::AuthComplete => auth::complete(session, args).await,
        Command::AuthTest => auth::test(session).await,
        Command::IncidentsList => incidents::list(&mut backend(session, args)?, args).await,
        Command::IncidentGet => incidents::get(&mut backend(session, args)?, args).await,
        Command::IncidentUpdate => incidents::update(&mut backend(session, args)?, args).await,
        Command::AdvancedHunting => hunting::run(&mut backend(session, args)?, args).await,
        Command::FetchIncidents => fetch::fetch_incidents(invocation, session).await,
        Command::GetModifiedRemoteData => mirroring::modified_ids(invocation, session).await,
        Command::GetRemoteData => mirroring::remote_data(invocation, session).await,
        Command::UpdateRemoteSystem => mirroring::update_remote(invocation, session).await,
        command => Err(Error::NotImplemented {
            command: command.name().to_owned(),
        }),
    }
}

/// The incidents backend the instance is configured for (`api_backend`), for one command, which
/// must be done within the command's `timeout` argument (seconds) from now. The argument was
/// checked against its declared range already; checking again here keeps a deadline from
/// overflowing `Instant` whatever path the number took.
fn backend<'s, 'a>(
    session: &'s mut Session<'a>,
    args: &Args,
) -> Result<ConfiguredBackend<'s, 'a>, Error> {
    let seconds = args.number("timeout").unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let seconds = TIMEOUT_SECONDS.check("timeout", seconds)?;
    Ok(ConfiguredBackend::new(
        session,
        Duration::from_secs(seconds.unsigned_abs()),
    ))
}
