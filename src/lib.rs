//! m365-defender: a one-shot integration between security orchestration platforms and
//! Microsoft 365 Defender. The platform hands one command envelope on stdin; the library turns it
//! into one output document on stdout. The path of the data: [`envelope`] in → [`args`]
//! validated against [`declaration`] → [`commands`] → entries in [`output`].

pub mod api;
pub mod args;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod declaration;
pub mod envelope;
pub mod error;
pub mod fetch;
pub mod graph;
pub mod http;
pub mod markdown;
pub mod output;
pub mod sandbox;
pub mod schema;
pub mod time;

use std::io::Read;

use serde_json::Map;

use crate::commands::{CommandSpec, Invocation, Source};
use crate::envelope::Envelope;
use crate::error::{Error, ExitStatus};
use crate::output::{ErrorEntry, OutputDocument, ResultItem};

/// Reads one envelope from `input`, runs it (against an in-process emulator when `sandbox`),
/// and returns the document to print and the exit status. Never panics on any input.
pub fn handle(input: impl Read, sandbox: bool) -> (OutputDocument, ExitStatus) {
    match Envelope::read_from(input) {
        Ok(envelope) if sandbox => sandbox::run(envelope),
        Ok(envelope) => run_envelope(envelope),
        Err(error) => {
            let error = Error::from(error);
            let document = OutputDocument {
                results: vec![ResultItem::Error(ErrorEntry::new(error.to_string()))],
                integration_context: None,
                last_run: None,
                incidents: None,
            };
            (document, error.exit_status())
        }
    }
}

/// Runs a parsed envelope.
pub fn run_envelope(envelope: Envelope) -> (OutputDocument, ExitStatus) {
    let Envelope {
        command: name,
        args,
        params,
        mut integration_context,
        last_run,
        integration_instance,
    } = envelope;
    // Every log line of the run names the command. The runtime inside `commands::run` is
    // current-thread, so its tasks run here, inside the span.
    let _span = tracing::info_span!("command", name = %name).entered();
    let outcome = CommandSpec::named(&name)
        .ok_or_else(|| Error::UnknownCommand(name.clone()))
        .and_then(|command| {
            let args = given_args(command, &args)?;
            let invocation = Invocation {
                command,
                params: &params,
                last_run: &last_run,
                integration_instance: integration_instance.as_deref(),
            };
            commands::run(invocation, args, &mut integration_context)
        });
    match outcome {
        Ok(outcome) => (
            OutputDocument {
                results: outcome.results,
                integration_context: Some(integration_context),
                last_run: outcome.last_run,
                incidents: outcome.incidents,
            },
            ExitStatus::Success,
        ),
        Err(error) => {
            tracing::debug!(%error, "command failed");
            // Server text inside the error was scrubbed where it was read; this pass also covers
            // whatever was said of a secret made later in the run.
            let message = auth::secret::scrub(&error.to_string()).into_owned();
            let entry = ErrorEntry::command_failed(&name, &message);
            let status = error.exit_status();
            let document = OutputDocument {
                results: vec![ResultItem::Error(entry)],
                // After exit 2 (an unknown command) the envelope was not used: the platform
                // keeps the context it has.
                integration_context: (status != ExitStatus::UnusableEnvelope)
                    .then_some(integration_context),
                last_run: None,
                incidents: None,
            };
            (document, status)
        }
    }
}

/// The arguments given to `command`, beside the declaration they are read against.
fn given_args<'a>(
    command: &CommandSpec,
    raw: &'a Map<String, serde_json::Value>,
) -> Result<args::GivenArgs<'a>, Error> {
    if command.source == Source::Platform {
        return Ok(args::GivenArgs::undeclared(raw));
    }
    let integration = declaration::integration().map_err(Error::Declaration)?;
    let declaration = integration
        .command(command.name)
        .ok_or_else(|| Error::UnknownCommand(command.name.to_owned()))?;
    Ok(args::GivenArgs::new(declaration, raw))
}
