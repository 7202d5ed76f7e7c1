//! The sign-in commands: device code steps, token reset and the connection tests.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{CommandSpec, Outcome, declared, offline, platform};
use crate::api::{Api, IncidentsBackend};
use crate::args::{FromArgs, GivenArgs, NumberRange};
use crate::auth::{Session, SignInError, device_code, token_cache};
use crate::error::{ArgumentError, Error};
use crate::http::Deadline;
use crate::output::{Entry, ResultItem};

/// The sign-in commands, and `test-module`.
pub(super) const COMMANDS: &[CommandSpec] = &[
    platform("test-module", test_module_command),
    declared("microsoft-365-defender-auth-start", auth_start),
    declared("microsoft-365-defender-auth-complete", auth_complete),
    offline("microsoft-365-defender-auth-reset", reset),
    declared("microsoft-365-defender-auth-test", auth_test),
];

online_handlers! {
    test_module_command(_args: (), _invocation, session) => test_module(session).await;
    auth_start(_args: (), _invocation, session) => start(session).await;
    auth_complete(args: CompleteArgs, _invocation, session) => complete(session, &args).await;
    auth_test(_args: (), _invocation, session) => test(session).await;
}

/// auth-complete waits at most this long for the user, whatever its `timeout` says: the
/// platform would otherwise hold a worker for the whole sign-in.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The arguments of `auth-complete`.
pub struct CompleteArgs {
    pub timeout: Option<Duration>,
}

impl FromArgs for CompleteArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<CompleteArgs, ArgumentError> {
        Ok(CompleteArgs {
            timeout: args.seconds("timeout", WAIT_SECONDS)?,
        })
    }
}

/// `timeout` of auth-complete. The device code step waits for a person, and the platform holds
/// a worker while it does; 0 checks once without waiting.
const WAIT_SECONDS: NumberRange = NumberRange {
    min: 0,
    max: MAX_WAIT.as_secs() as i64,
    unit: "seconds",
    negative_means: None,
};

/// Timeout of the one API call the connection tests make, signing in included.
const TEST_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Timeout of auth-start's request for a device code.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(30);

/// `microsoft-365-defender-auth-reset`: forgets every token and pending device code, keeping
/// context keys that are not ours.
pub fn reset(context: &mut Map<String, Value>) -> Outcome {
    token_cache::forget_all(context);
    note(
        "Authorization was reset successfully. Please regenerate the credentials, and then click **Test** to validate the credentials and connection.",
    )
}

/// `microsoft-365-defender-auth-start`: gets a device code and tells the user where to use it.
pub async fn start(session: &mut Session<'_>) -> Result<Outcome, Error> {
    let deadline = Deadline::after(SIGN_IN_TIMEOUT);
    let (shown, pending) = device_code::start(session.config(), session.http(), deadline).await?;
    token_cache::store_device_code(session.context(), &pending);
    Ok(note(format!(
        "### Authorization instructions\n1. To sign in, use a web browser to open the page [{uri}]({uri})\nand enter the code **{code}** to authenticate.\n2. Run the **!microsoft-365-defender-auth-complete** command in the War Room.",
        uri = shown.verification_uri,
        code = shown.user_code
    )))
}

/// `microsoft-365-defender-auth-complete`: waits for the user to finish signing in.
pub async fn complete(session: &mut Session<'_>, args: &CompleteArgs) -> Result<Outcome, Error> {
    let pending =
        token_cache::pending_device_code(session.context()).ok_or(SignInError::NoDeviceCode)?;
    let wait = args.timeout.unwrap_or(MAX_WAIT).min(MAX_WAIT);
    // The whole wait, requests included, is the command's `timeout`.
    let deadline = Deadline::after(wait.max(Duration::from_secs(1)));
    let outcome = device_code::complete(session.config(), session.http(), &pending, deadline).await;
    let grant = match outcome {
        Ok(grant) => grant,
        Err(error @ (SignInError::CodeExpired | SignInError::Declined)) => {
            token_cache::forget_device_code(session.context());
            return Err(error.into());
        }
        Err(error @ SignInError::UnusableGrant { .. }) => {
            // The code was redeemed: it cannot be used again, but a refresh token that came
            // with the broken answer is the sign-in.
            token_cache::forget_device_code(session.context());
            return Err(session.keep_rotated(error).into());
        }
        Err(error) => return Err(error.into()),
    };
    token_cache::forget_device_code(session.context());
    let has_refresh_token = grant.refresh_token.is_some();
    session.keep(grant);
    if !has_refresh_token {
        return Err(SignInError::NoRefreshToken.into());
    }
    Ok(note("✅ Authorization completed successfully."))
}

/// `microsoft-365-defender-auth-test`: a token with the configured flow and one API call.
pub async fn test(session: &mut Session<'_>) -> Result<Outcome, Error> {
    probe_api(session).await?;
    Ok(note("✅ Success!"))
}

/// `test-module`, the instance's Test button: the same check, answered with XSOAR's `ok`.
pub async fn test_module(session: &mut Session<'_>) -> Result<Outcome, Error> {
    probe_api(session).await?;
    Ok(Outcome::single(ResultItem::Raw(Value::String(
        "ok".to_owned(),
    ))))
}

/// The cheapest call that proves both the token and the permission, on the configured API.
async fn probe_api(session: &mut Session<'_>) -> Result<(), Error> {
    Api::new(session, TEST_CALL_TIMEOUT).probe().await?;
    Ok(())
}

fn note(text: impl Into<String>) -> Outcome {
    Outcome::single(ResultItem::Entry(Entry::note(text, Value::Null)))
}
