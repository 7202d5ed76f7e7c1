//! Every way a run can fail, each knowing the sentence a SOC engineer reads in the war room and
//! the exit status the platform sees. Messages never carry secrets: variants hold only what is
//! safe to show.

use std::fmt;

/// How the process ends (CONTRACT §3): the platform branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what it was asked.
    Success = 0,
    /// The command ran and failed; the output holds its error entry.
    CommandFailed = 1,
    /// The envelope itself could not be used.
    UnusableEnvelope = 2,
}

/// Why the envelope on stdin could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("stdin was empty; the platform must send one JSON command envelope")]
    Empty,
    #[error("the envelope is larger than {limit} bytes; refusing to read more")]
    TooLarge { limit: usize },
    #[error("stdin could not be read: {0}")]
    Read(String),
    #[error("the envelope is not valid JSON ({0})")]
    NotJson(String),
    #[error("the envelope must be a JSON object, but it is {found}")]
    NotAnObject { found: &'static str },
    #[error("the envelope has no `command` field")]
    MissingCommand,
    #[error("the envelope field `{field}` must be {expected}, but it is {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
}

/// A failure of the run, from the envelope down to the remote API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Could not use the command envelope: {0}.")]
    Envelope(#[from] EnvelopeError),
    #[error(
        "Command \"{0}\" is not implemented by this integration. Check the command name against integration.yml."
    )]
    UnknownCommand(String),
    #[error("{0}")]
    Argument(#[from] ArgumentError),
    #[error("{0}")]
    Declaration(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    SignIn(#[from] crate::auth::SignInError),
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
    /// The program could not set itself up (runtime, HTTP client).
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    FetchCursor(#[from] crate::fetch::cursor::CursorError),
    /// Mirroring could not tell which incidents changed. XSOAR recognises "skip update" and
    /// leaves this cycle's incidents alone instead of treating them as unchanged
    /// (xsoar.pan.dev/docs/integrations/mirroring_integration).
    #[error("skip update - {0}")]
    MirrorSkipUpdate(crate::api::ApiError),
    /// Defender's rate limit stopped mirroring. XSOAR recognises "API rate limit" and resumes
    /// the cycle from this incident later.
    #[error(
        "API rate limit reached in Microsoft 365 Defender; mirroring resumes on a later cycle. {0}"
    )]
    MirrorRateLimited(crate::api::ApiError),
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Envelope(_) | Error::UnknownCommand(_) => ExitStatus::UnusableEnvelope,
            Error::Argument(_)
            | Error::Declaration(_)
            | Error::Config(_)
            | Error::SignIn(_)
            | Error::Api(_)
            | Error::Setup(_)
            | Error::FetchCursor(_)
            | Error::MirrorSkipUpdate(_)
            | Error::MirrorRateLimited(_) => ExitStatus::CommandFailed,
        }
    }
}

/// An argument that does not satisfy its declaration in integration.yml.
#[derive(Debug, thiserror::Error)]
pub enum ArgumentError {
    #[error("Missing required argument `{name}`.")]
    Missing { name: String },
    #[error("Invalid value for argument `{name}`: {value}. {allowed}")]
    Invalid {
        name: String,
        value: ShownValue,
        allowed: String,
    },
    /// An update given nothing to change.
    #[error("Nothing to change: give at least one of {0}. Nothing was sent.")]
    NothingToChange(&'static str),
}

/// An argument value as it may be quoted back to the user: long values are cut so an error
/// entry stays readable.
#[derive(Debug)]
pub struct ShownValue(pub String);

impl fmt::Display for ShownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 200;
        let mut shown: String = self.0.chars().take(MAX).collect();
        if shown.len() < self.0.len() {
            shown.push('…');
        }
        write!(f, "{shown:?}")
    }
}
