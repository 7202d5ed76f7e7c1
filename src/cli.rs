//! The process edge: flags, stdin, stdout, stderr and the exit status. Whatever happens, stdout
//! receives exactly one JSON document and a newline (CONTRACT §3); logs go to stderr only.

use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use tracing::level_filters::LevelFilter;

#[cfg(feature = "emulator")]
use m365_emulator::EmulatorOptions;

use crate::error::ExitStatus;
use crate::output::{ErrorEntry, OutputDocument, ResultItem};

/// The help text: the emulator's lines only in a build that has it.
macro_rules! usage {
    ($usage:literal, $options:literal, $emulator:literal) => {
        concat!(
            "m365-defender — Microsoft 365 Defender integration for security orchestration platforms

USAGE:
",
            $usage,
            "
Reads one JSON command envelope on stdin and writes one JSON output document on stdout.

OPTIONS:
    --pretty     indent the output document for people
",
            $options,
            "    --version    print the version
    --help       print this help
",
            $emulator,
            "
ENVIRONMENT:
    M365D_LOG    log level on stderr: off, error, warn (default), info, debug, trace

EXIT STATUS:
    0  the command succeeded
    1  the command failed; the output holds its error entry
    2  the envelope could not be used (not JSON, no command, wrong field type, unknown command)
"
        )
    };
}

#[cfg(feature = "emulator")]
const USAGE: &str = usage!(
    "    m365-defender [--pretty] [--sandbox] < envelope.json
    m365-defender emulator [--port N] [--seed S] [--incidents N]
",
    "    --sandbox    run the envelope against a built-in emulator of Entra ID and the Defender
                 API (no tenant needed; demo credentials are filled in when none are given)
",
    "
EMULATOR:
    `m365-defender emulator` serves the emulator on 127.0.0.1 until Ctrl-C, for trying the
    plugin, developing playbooks offline and walking the device code sign-in in a browser.
    --port N       port to listen on (default 8765; 0 picks a free one)
    --seed S       seed of the generated tenant (default 1)
    --incidents N  number of generated incidents (default 250)
"
);

/// The production build has no emulator: `--sandbox` and `emulator` answer that it is missing.
#[cfg(not(feature = "emulator"))]
const USAGE: &str = usage!("    m365-defender [--pretty] < envelope.json\n", "", "");

/// The flags the program was started with.
#[derive(Debug, Default)]
struct Options {
    pretty: bool,
    sandbox: bool,
}

enum Invocation {
    Run(Options),
    #[cfg(feature = "emulator")]
    Emulator {
        options: EmulatorOptions,
        port: u16,
    },
    Help,
    Version,
}

fn parse(args: impl Iterator<Item = OsString>) -> Result<Invocation, String> {
    let mut args = args.peekable();
    if args.peek().and_then(|a| a.to_str()) == Some("emulator") {
        args.next();
        #[cfg(feature = "emulator")]
        return parse_emulator(args);
        #[cfg(not(feature = "emulator"))]
        return Err(crate::sandbox::NO_EMULATOR.to_owned());
    }
    let mut options = Options::default();
    for arg in args {
        match arg.to_str() {
            Some("--pretty") => options.pretty = true,
            Some("--sandbox") => options.sandbox = true,
            Some("--help" | "-h") => return Ok(Invocation::Help),
            Some("--version" | "-V") => return Ok(Invocation::Version),
            _ => return Err(unknown(&arg)),
        }
    }
    Ok(Invocation::Run(options))
}

#[cfg(feature = "emulator")]
fn parse_emulator(mut args: impl Iterator<Item = OsString>) -> Result<Invocation, String> {
    let mut options = EmulatorOptions::default();
    let mut port = 8765;
    while let Some(arg) = args.next() {
        let flag = arg.to_str().unwrap_or_default().to_owned();
        if matches!(flag.as_str(), "--help" | "-h") {
            return Ok(Invocation::Help);
        }
        let value = args
            .next()
            .and_then(|v| v.into_string().ok())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what} must be a whole number, got {value:?}"))
        };
        match flag.as_str() {
            "--port" => {
                port = u16::try_from(number("--port")?).map_err(|_| "--port is at most 65535")?
            }
            "--seed" => options.seed = number("--seed")?,
            "--incidents" => options.incidents = number("--incidents")? as usize,
            _ => return Err(unknown(&arg)),
        }
    }
    Ok(Invocation::Emulator { options, port })
}

fn unknown(arg: &OsString) -> String {
    format!("unknown option {arg:?}; run `m365-defender --help` for usage")
}

/// The program: returns the exit status.
pub fn main(args: impl Iterator<Item = OsString>) -> ExitCode {
    init_logging();
    let options = match parse(args) {
        Ok(Invocation::Run(options)) => options,
        #[cfg(feature = "emulator")]
        Ok(Invocation::Emulator { options, port }) => {
            return match m365_emulator::run_until_interrupted(options, port) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("m365-defender emulator: {e}");
                    ExitCode::from(ExitStatus::CommandFailed as u8)
                }
            };
        }
        Ok(Invocation::Help) => return print_text(USAGE),
        Ok(Invocation::Version) => {
            return print_text(&format!("m365-defender {}\n", env!("CARGO_PKG_VERSION")));
        }
        Err(message) => {
            let document = OutputDocument {
                results: vec![ResultItem::Error(ErrorEntry::new(message))],
                integration_context: None,
                last_run: None,
                incidents: None,
            };
            return emit(&document, ExitStatus::UnusableEnvelope, false);
        }
    };
    let (document, status) = crate::handle(io::stdin().lock(), options.sandbox);
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

/// stderr, with every secret the process knows scrubbed from each log line: an error quoted from
/// a server is logged before it reaches the war room, and must be as clean there.
struct ScrubbedStderr;

impl Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The formatter hands over one whole event per call, so a secret is never split
        // between two writes.
        let text = String::from_utf8_lossy(buf);
        io::stderr()
            .lock()
            .write_all(crate::auth::secret::scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Logs go to stderr, quiet unless `M365D_LOG` asks for more. Only this crate's events, and the
/// built-in emulator's, are shown: dependencies' debug output could include request details.
fn init_logging() {
    let level = std::env::var("M365D_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::WARN);
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("m365_defender", level)
        .with_target("m365_emulator", level);
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(|| ScrubbedStderr)
            .with_ansi(false)
            .with_filter(filter),
    );
    use tracing_subscriber::Layer;
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_the_emulator_only_in_a_build_that_has_it() {
        let emulator = cfg!(feature = "emulator");
        assert_eq!(USAGE.contains("--sandbox"), emulator);
        assert_eq!(USAGE.contains("m365-defender emulator"), emulator);
        assert!(USAGE.contains("--pretty") && USAGE.contains("EXIT STATUS"));
    }
}
