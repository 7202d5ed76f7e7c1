//! The process edge: flags, stdin, stdout, stderr and the exit status. Whatever happens, stdout
//! receives exactly one JSON document and a newline (CONTRACT §3); logs go to stderr only.

use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use tracing::level_filters::LevelFilter;

use crate::error::ExitStatus;
use crate::output::{ErrorEntry, OutputDocument, ResultItem};

const USAGE: &str = "\
m365-defender — Microsoft 365 Defender integration for security orchestration platforms

USAGE:
    m365-defender [--pretty] < envelope.json

Reads one JSON command envelope on stdin and writes one JSON output document on stdout.

OPTIONS:
    --pretty     indent the output document for people
    --version    print the version
    --help       print this help

ENVIRONMENT:
    M365D_LOG    log level on stderr: off, error, warn (default), info, debug, trace

EXIT STATUS:
    0  the command succeeded
    1  the command failed; the output holds its error entry
    2  the envelope could not be used (not JSON, no command, wrong field type, unknown command)
";

/// The flags the program was started with.
#[derive(Debug, Default)]
struct Options {
    pretty: bool,
}

enum Invocation {
    Run(Options),
    Help,
    Version,
}

fn parse(args: impl Iterator<Item = OsString>) -> Result<Invocation, String> {
    let mut options = Options::default();
    for arg in args {
        match arg.to_str() {
            Some("--pretty") => options.pretty = true,
            Some("--help" | "-h") => return Ok(Invocation::Help),
            Some("--version" | "-V") => return Ok(Invocation::Version),
            _ => {
                return Err(format!(
                    "unknown option {:?}; run `m365-defender --help` for usage",
                    arg
                ));
            }
        }
    }
    Ok(Invocation::Run(options))
}

/// The program: returns the exit status.
pub fn main(args: impl Iterator<Item = OsString>) -> ExitCode {
    init_logging();
    let options = match parse(args) {
        Ok(Invocation::Run(options)) => options,
        Ok(Invocation::Help) => return print_text(USAGE),
        Ok(Invocation::Version) => {
            return print_text(&format!("m365-defender {}\n", env!("CARGO_PKG_VERSION")));
        }
        Err(message) => {
            let document = OutputDocument {
                results: vec![ResultItem::Error(ErrorEntry::new(message))],
                integration_context: Default::default(),
                last_run: None,
                incidents: None,
            };
            return emit(&document, ExitStatus::UnusableEnvelope, false);
        }
    };
    let (document, status) = crate::handle(io::stdin().lock());
    emit(&document, status, options.pretty)
}

fn emit(document: &OutputDocument, status: ExitStatus, pretty: bool) -> ExitCode {
    let mut stdout = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    match document
        .write_line(&mut stdout, pretty)
        .and_then(|()| stdout.flush())
    {
        // A reader that went away is not our failure to report.
        Ok(()) => ExitCode::from(status as u8),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(status as u8),
        Err(e) => {
            tracing::error!("could not write the output document: {e}");
            ExitCode::from(ExitStatus::CommandFailed as u8)
        }
    }
}

fn print_text(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Logs go to stderr, quiet unless `M365D_LOG` asks for more. Only this crate's events are
/// shown: dependencies' debug output could include request details.
fn init_logging() {
    let level = std::env::var("M365D_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::WARN);
    let filter = tracing_subscriber::filter::Targets::new().with_target("m365_defender", level);
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(false)
            .with_filter(filter),
    );
    use tracing_subscriber::Layer;
    let _ = tracing::subscriber::set_global_default(subscriber);
}
