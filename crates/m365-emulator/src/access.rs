//! The bearer-token check both emulated APIs make before anything else: is the token one the
//! emulator issued, unexpired, for this API's audience, carrying one of the permissions the
//! operation needs, and does the rate limit allow the call? The Defender API and Microsoft Graph
//! word the refusals differently, each in its own error body, so this module only says why.

use axum::http::{HeaderMap, header};

use super::World;
use super::faults::ApiFamily;
use super::registrations::Api;
use super::tokens::Principal;

/// What an operation demands of the caller's token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Requirement {
    /// The API whose audience the token must carry.
    pub(crate) api: Api,
    /// Application permissions (`roles`), any one of which lets an app-only token through.
    pub(crate) application: &'static [&'static str],
    /// Delegated permissions (`scp`), any one of which lets a user's token through.
    pub(crate) delegated: &'static [&'static str],
    /// The rate-limit quota the call counts against.
    pub(crate) family: ApiFamily,
}

/// Why a request was not let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No `Authorization: Bearer …` header.
    MissingBearer,
    /// A token the emulator never issued.
    UnknownToken,
    Expired,
    /// A token for another API; holds that API's identifier.
    ForeignAudience(&'static str),
    /// The token holds none of `needed`; `kind` is `application` or `delegated`.
    MissingPermission {
        kind: &'static str,
        needed: &'static [&'static str],
    },
    Throttled {
        family: ApiFamily,
        retry_after: u64,
    },
}

/// Lets a request through when its bearer token meets `requirement` and the rate limit allows
/// it, counting the call. Returns who called.
pub(crate) fn authorize(
    world: &mut World,
    headers: &HeaderMap,
    requirement: &Requirement,
) -> Result<Principal, Refusal> {
    let now = world.clock.now();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(Refusal::MissingBearer)?;
    let token = world.tokens.access(bearer).ok_or(Refusal::UnknownToken)?;
    if now >= token.expires_at {
        return Err(Refusal::Expired);
    }
    if token.resource.api != requirement.api {
        return Err(Refusal::ForeignAudience(token.resource.identifier));
    }
    let (held, needed, kind) = match token.principal {
        Principal::App { .. } => (&token.roles, requirement.application, "application"),
        Principal::User { .. } => (&token.scopes, requirement.delegated, "delegated"),
    };
    if !held.iter().any(|permission| needed.contains(permission)) {
        return Err(Refusal::MissingPermission { kind, needed });
    }
    let principal = token.principal.clone();
    world
        .rate_limits
        .admit(requirement.family, now)
        .map_err(|retry_after| Refusal::Throttled {
            family: requirement.family,
            retry_after,
        })?;
    Ok(principal)
}
