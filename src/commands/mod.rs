//! Command dispatch: a command name from the envelope becomes one handler call. [`COMMANDS`]
//! is the one table of commands, each named once beside its handler; each handler file holds
//! one family of commands from argument use to the entries it returns; this file only routes.

mod auth;
pub(crate) mod close_reasons;
mod fetch;
mod hunting;
mod incidents;
mod mirroring;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::api::Api;
use crate::args::{Args, TIMEOUT_SECONDS};
use crate::auth::Session;
use crate::config::InstanceConfig;
use crate::error::Error;
use crate::output::ResultItem;

/// The `timeout` of a command whose declaration gives none.
const DEFAULT_TIMEOUT_SECONDS: i64 = 30;

/// Every command the binary answers, each declared once: its name (as in integration.yml, or
/// one of the platform's built-in commands) and its handler. A test checks that every command
/// integration.yml declares is here and every command here but the built-ins is declared there.
pub const COMMANDS: &[CommandSpec] = &[
    platform("test-module", test_module),
    platform("fetch-incidents", fetch_incidents),
    declared("microsoft-365-defender-auth-start", auth_start),
    declared("microsoft-365-defender-auth-complete", auth_complete),
    offline("microsoft-365-defender-auth-reset", auth::reset),
    declared("microsoft-365-defender-auth-test", auth_test),
    declared("microsoft-365-defender-incidents-list", incidents_list),
    declared("microsoft-365-defender-incident-get", incident_get),
    declared("microsoft-365-defender-incident-update", incident_update),
    declared("microsoft-365-defender-advanced-hunting", advanced_hunting),
    declared("get-modified-remote-data", modified_ids),
    declared("get-remote-data", remote_data),
    declared("update-remote-system", update_remote),
    offline("get-mapping-fields", |_| mirroring::mapping_fields()),
];

/// One command: its name and how it runs.
pub struct CommandSpec {
    pub name: &'static str,
    /// Where the command is declared.
    pub source: Source,
    run: Run,
}

/// Where a command's arguments are declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// In integration.yml.
    Declared,
    /// Nowhere: the platform provides the command itself (`test-module`, `fetch-incidents`)
    /// and passes no arguments.
    Platform,
}

impl CommandSpec {
    /// The command of this name.
    pub fn named(name: &str) -> Option<&'static CommandSpec> {
        COMMANDS.iter().find(|command| command.name == name)
    }
}

/// A handler's future: it borrows the invocation and the session for as long as it runs.
type Running<'r> = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + 'r>>;

/// A command that talks to Microsoft through the session.
type OnlineHandler = for<'r, 'a> fn(&'r Invocation<'a>, &'r mut Session<'a>) -> Running<'r>;

enum Run {
    /// Needs neither the instance's configuration nor the network: only the context.
    Offline(fn(&mut Map<String, Value>) -> Outcome),
    Online(OnlineHandler),
}

/// A command integration.yml declares, that talks to Microsoft.
const fn declared(name: &'static str, handler: OnlineHandler) -> CommandSpec {
    CommandSpec {
        name,
        source: Source::Declared,
        run: Run::Online(handler),
    }
}

/// One of the platform's own commands, that talks to Microsoft.
const fn platform(name: &'static str, handler: OnlineHandler) -> CommandSpec {
    CommandSpec {
        name,
        source: Source::Platform,
        run: Run::Online(handler),
    }
}

/// A command integration.yml declares, that needs only the context.
const fn offline(
    name: &'static str,
    handler: fn(&mut Map<String, Value>) -> Outcome,
) -> CommandSpec {
    CommandSpec {
        name,
        source: Source::Declared,
        run: Run::Offline(handler),
    }
}

/// Declares the online handlers: each a function from the invocation and the session to the
/// command's future (a `fn` pointer cannot be an `async fn` directly).
macro_rules! online_handlers {
    ($($name:ident($invocation:ident, $session:ident) => $body:expr;)*) => {
        $(
            fn $name<'r, 'a>($invocation: &'r Invocation<'a>, $session: &'r mut Session<'a>) -> Running<'r> {
                Box::pin(async move { $body })
            }
        )*
    };
}

online_handlers! {
    test_module(_invocation, session) => auth::test_module(session).await;
    fetch_incidents(invocation, session) => fetch::fetch_incidents(invocation, session).await;
    auth_start(_invocation, session) => auth::start(session).await;
    auth_complete(invocation, session) => auth::complete(session, &invocation.args).await;
    auth_test(_invocation, session) => auth::test(session).await;
    incidents_list(invocation, session) =>
        incidents::list(&mut backend(session, &invocation.args)?, &invocation.args).await;
    incident_get(invocation, session) =>
        incidents::get(&mut backend(session, &invocation.args)?, &invocation.args).await;
    incident_update(invocation, session) =>
        incidents::update(&mut backend(session, &invocation.args)?, &invocation.args).await;
    advanced_hunting(invocation, session) =>
        hunting::run(&mut backend(session, &invocation.args)?, &invocation.args).await;
    modified_ids(invocation, session) => mirroring::modified_ids(invocation, session).await;
    remote_data(invocation, session) => mirroring::remote_data(invocation, session).await;
    update_remote(invocation, session) => mirroring::update_remote(invocation, session).await;
}

/// What a command needs besides its arguments.
pub struct Invocation<'a> {
    pub command: &'static CommandSpec,
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
    let handler = match invocation.command.run {
        Run::Offline(handler) => return Ok(handler(context)),
        Run::Online(handler) => handler,
    };
    let config = InstanceConfig::from_params(invocation.params)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("The async runtime could not start: {e}.")))?;
    runtime.block_on(async {
        let http = crate::http::client(&config).map_err(Error::Setup)?;
        let mut session = Session::new(&config, &http, context);
        handler(&invocation, &mut session).await
    })
}

/// The incidents backend the instance is configured for (`api_backend`), for one command, which
/// must be done within the command's `timeout` argument (seconds) from now. The argument was
/// checked against its declared range already; checking again here keeps a deadline from
/// overflowing `Instant` whatever path the number took.
fn backend<'s, 'a>(session: &'s mut Session<'a>, args: &Args) -> Result<Api<'s, 'a>, Error> {
    let seconds = args.number("timeout").unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let seconds = TIMEOUT_SECONDS.check("timeout", seconds)?;
    Ok(Api::new(
        session,
        Duration::from_secs(seconds.unsigned_abs()),
    ))
}
