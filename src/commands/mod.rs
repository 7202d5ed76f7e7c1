//! Command dispatch: a command name from the envelope becomes one handler call. Each handler
//! file holds one family of commands, from the table that names each beside its handler
//! (`COMMANDS`, the only place a command is named in Rust) and their argument structs to the
//! entries they return; [`FAMILIES`] lists the files' tables. This file only routes: it reads
//! a command's arguments into its struct, then runs the handler with it.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::args::GivenArgs;
use crate::auth::Session;
use crate::config::InstanceConfig;
use crate::error::{ArgumentError, Error};
use crate::output::ResultItem;

/// Every command the binary answers, each declared once in its family's table: its name (as in
/// integration.yml, or one of the platform's built-in commands) and its handler. A test checks
/// that every command integration.yml declares is here and every command here but the
/// built-ins is declared there.
pub const FAMILIES: &[&[CommandSpec]] = &[
    auth::COMMANDS,
    fetch::COMMANDS,
    incidents::COMMANDS,
    alerts::COMMANDS,
    detection_rules::COMMANDS,
    hunting::COMMANDS,
    mirroring::COMMANDS,
];

/// Every command, family by family.
pub fn commands() -> impl Iterator<Item = &'static CommandSpec> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

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
        commands().find(|command| command.name == name)
    }
}

/// A handler's future: it borrows the invocation and the session for as long as it runs.
type Running<'r> = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + 'r>>;

/// A command that talks to Microsoft, with its arguments read into its struct: what is left to
/// do needs the session.
trait Ready {
    fn run<'r, 'a>(
        self: Box<Self>,
        invocation: &'r Invocation<'a>,
        session: &'r mut Session<'a>,
    ) -> Running<'r>;
}

/// Reads a command's arguments into its struct ([`crate::args::FromArgs`]), before the instance's
/// configuration is read or anything is sent.
type OnlineHandler = fn(&mut GivenArgs<'_>) -> Result<Box<dyn Ready>, ArgumentError>;

enum Run {
    /// Needs neither the instance's configuration nor the network: only the context. Takes no
    /// arguments (a test holds integration.yml to that).
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

/// Declares a family's online handlers: each reads the command's arguments into their struct
/// (`args: Type`, a [`crate::args::FromArgs`]) and then, given the invocation and the session,
/// is the command's future (a `fn` pointer cannot be an `async fn` directly). Used in the
/// family's file, beside its `COMMANDS` table.
macro_rules! online_handlers {
    ($($name:ident($args:ident: $kind:ty, $invocation:ident, $session:ident) => $body:expr;)*) => {
        $(
            fn $name(
                given: &mut $crate::args::GivenArgs<'_>,
            ) -> Result<Box<dyn $crate::commands::Ready>, $crate::error::ArgumentError> {
                struct Command($kind);
                impl $crate::commands::Ready for Command {
                    fn run<'r, 'a>(
                        self: Box<Self>,
                        $invocation: &'r $crate::commands::Invocation<'a>,
                        $session: &'r mut $crate::auth::Session<'a>,
                    ) -> $crate::commands::Running<'r> {
                        let $args = self.0;
                        Box::pin(async move { $body })
                    }
                }
                let args = <$kind as $crate::args::FromArgs>::from_args(given)?;
                Ok(Box::new(Command(args)))
            }
        )*
    };
}

mod alerts;
mod auth;
pub(crate) mod close_reasons;
mod detection_rules;
mod fetch;
mod hunting;
mod incidents;
mod mirroring;

/// A readable table: `title`, then `rows` (one row object, or an array of them) under
/// `columns`, as XSOAR's `tableToMarkdown` draws them.
fn table(title: &str, columns: &[&str], rows: &Value) -> String {
    let options = crate::markdown::TableOptions {
        headers: columns,
        ..crate::markdown::TableOptions::default()
    };
    crate::markdown::table_to_markdown(title, rows, &options)
}

/// A table row: `values` under `columns`, in that order.
fn table_row(columns: &[&str], values: impl IntoIterator<Item = Value>) -> Value {
    Value::Object(
        columns
            .iter()
            .zip(values)
            .map(|(column, value)| ((*column).to_owned(), value))
            .collect(),
    )
}

/// An entry showing `table` whose contents and context (under `prefix`, items keyed by
/// `key`) are `raw`: one copy serves both.
fn table_entry(table: String, raw: crate::output::Json, prefix: &str, key: &str) -> Outcome {
    Outcome::single(ResultItem::Entry(
        crate::output::Entry::note(table, raw.clone()).with_context(prefix, key, raw),
    ))
}

/// What a command needs besides its arguments.
pub struct Invocation<'a> {
    pub command: &'static CommandSpec,
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

/// Runs one command with the arguments `args` given to it.
pub fn run(
    invocation: Invocation,
    mut args: GivenArgs<'_>,
    context: &mut Map<String, Value>,
) -> Result<Outcome, Error> {
    let handler = match invocation.command.run {
        Run::Offline(handler) => return Ok(handler(context)),
        Run::Online(handler) => handler,
    };
    let command = handler(&mut args)?;
    let config = InstanceConfig::from_params(invocation.params)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("The async runtime could not start: {e}.")))?;
    runtime.block_on(async {
        let http = crate::http::client(&config).map_err(Error::Setup)?;
        let mut session = Session::new(&config, &http, context);
        command.run(&invocation, &mut session).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Read, ReadKind};
    use crate::declaration::{ArgumentDeclaration, ArgumentType, integration};

    /// How one command's struct read its arguments, beside their declaration.
    struct Reads {
        command: &'static CommandSpec,
        declared: &'static [ArgumentDeclaration],
        reads: Vec<Read>,
    }

    /// How each command's struct reads its arguments, given only its required ones (`"1"`): the
    /// other arguments take their declared defaults, which must be accepted too.
    fn reads() -> Vec<Reads> {
        let integration = integration().unwrap();
        commands()
            .map(|command| {
                let declaration = integration.command(command.name);
                let declared = declaration.map_or(&[][..], |d| d.arguments.as_slice());
                let required: Map<String, Value> = declared
                    .iter()
                    .filter(|argument| argument.required)
                    .map(|argument| (argument.name.clone(), Value::from("1")))
                    .collect();
                let mut args = match declaration {
                    Some(declaration) => GivenArgs::new(declaration, &required),
                    None => GivenArgs::undeclared(&required),
                };
                if let Run::Online(handler) = command.run
                    && let Err(error) = handler(&mut args)
                {
                    panic!("{}: {error}", command.name);
                }
                let reads = args.reads().to_vec();
                Reads {
                    command,
                    declared,
                    reads,
                }
            })
            .collect()
    }

    #[test]
    fn each_struct_reads_the_declared_arguments_in_their_order_as_declared() {
        for Reads {
            command,
            declared,
            reads,
        } in reads()
        {
            let names: Vec<&str> = reads.iter().map(|read| read.name).collect();
            let declared_names: Vec<&str> = declared.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(
                names, declared_names,
                "{}: its struct must read every argument integration.yml declares, in that order",
                command.name
            );
            for (read, argument) in reads.iter().zip(declared) {
                let what = format!("{} `{}`", command.name, argument.name);
                assert_eq!(read.required, argument.required, "{what}: required");
                let plain = argument.predefined.is_empty() && !argument.is_array;
                match (&read.kind, argument.kind) {
                    (ReadKind::Text, None) if plain => {}
                    (ReadKind::Number(_), Some(ArgumentType::Number)) if plain => {}
                    (ReadKind::Flag, Some(ArgumentType::Boolean)) if plain => {}
                    (ReadKind::Json, Some(ArgumentType::Json)) if plain => {}
                    (ReadKind::List, None) if argument.is_array => {
                        assert!(argument.predefined.is_empty(), "{what}: a list of choices")
                    }
                    (ReadKind::Choice(spellings), None) if !argument.is_array => {
                        assert_eq!(
                            spellings, &argument.predefined,
                            "{what}: the type accepts other values than integration.yml lists"
                        );
                    }
                    (kind, _) => panic!("{what} is read as {kind:?}, unlike its declaration"),
                }
            }
        }
    }

    #[test]
    fn every_predefined_value_in_integration_yml_is_accepted() {
        let integration = integration().unwrap();
        for command in commands() {
            let (Some(declaration), Run::Online(handler)) =
                (integration.command(command.name), &command.run)
            else {
                continue;
            };
            let required = declaration.arguments.iter().filter(|a| a.required);
            for argument in &declaration.arguments {
                for value in &argument.predefined {
                    let mut given: Map<String, Value> = required
                        .clone()
                        .map(|a| (a.name.clone(), Value::from("1")))
                        .collect();
                    given.insert(argument.name.clone(), Value::from(value.as_str()));
                    if let Err(error) = handler(&mut GivenArgs::new(declaration, &given)) {
                        panic!("{} `{}`: {error}", command.name, argument.name);
                    }
                }
            }
        }
    }

    #[test]
    fn commands_without_the_network_take_no_arguments() {
        for Reads {
            command, declared, ..
        } in reads()
        {
            if let Run::Offline(_) = command.run {
                assert!(declared.is_empty(), "{}", command.name);
            }
        }
    }

    #[test]
    fn the_readme_lists_every_range() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let section = readme
            .split("## Limits and caps")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("README.md has a section `## Limits and caps`");
        for Reads { command, reads, .. } in reads() {
            for read in reads {
                if let ReadKind::Number(range) = read.kind {
                    let shown = format!("{} to {}", range.min, range.max);
                    assert!(
                        section.contains(&shown) && section.contains(&format!("`{}`", read.name)),
                        "README's limits do not mention {} `{}`: {shown}",
                        command.name,
                        read.name
                    );
                }
            }
        }
    }
}
