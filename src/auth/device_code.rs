//! The device code flow (RFC 8628) as Entra ID runs it: auth-start asks for a code the user
//! enters at a sign-in page; auth-complete polls the token endpoint until the user has done so.
//! https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code

use std::time::Duration;

use serde::Deserialize;

use super::secret::DeviceCode;
use super::token_cache::{DEFAULT_POLL_INTERVAL_SECONDS, PendingDeviceCode, clamp_poll_interval};
use super::token_endpoint::{self, TokenGrant};
use super::{SignInError, now, token_url};

use crate::config::{InstanceConfig, SignInFlow};
use crate::http::{Deadline, host_of};

/// What the user must be told to sign in.
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub interval: Option<u64>,
}

#[derive(Deserialize)]
struct RawAuthorization {
    device_code: String,
    #[serde(flatten)]
    shown: DeviceAuthorization,
}

/// The app and tenant of the device code flow, or why this instance does not use it.
fn device_flow(config: &InstanceConfig) -> Result<(&str, &str), SignInError> {
    match &config.flow {
        SignInFlow::DeviceCode {
            client_id, tenant, ..
        } => Ok((client_id, tenant)),
        _ => Err(SignInError::NotDeviceCodeFlow),
    }
}

/// The longest device code lifetime believed: Entra ID's codes live 15 minutes.
const MAX_CODE_LIFETIME_SECONDS: i64 = 24 * 3600;

/// auth-start: asks Entra ID for a device code, within `deadline`.
pub async fn start(
    config: &InstanceConfig,
    http: &reqwest::Client,
    deadline: Deadline,
) -> Result<(DeviceAuthorization, PendingDeviceCode), SignInError> {
    let (client_id, tenant) = device_flow(config)?;
    let url = format!(
        "{}/{tenant}/oauth2/v2.0/devicecode",
        config.endpoints.login_host
    );
    let scope = config.endpoints.delegated_scope();
    let request = http
        .post(&url)
        .form(&[("client_id", client_id), ("scope", &scope)]);
    let (status, body) = token_endpoint::exchange(&url, request, deadline).await?;
    if !(200..300).contains(&status) {
        // The same error shape as the token endpoint.
        return Err(token_endpoint::error_from(&url, status, &body));
    }
    let raw: RawAuthorization =
        serde_json::from_slice(&body).map_err(|_| SignInError::UnexpectedAnswer {
            host: host_of(&url),
            status,
            detail: token_endpoint::describe_body(&body),
        })?;
    let pending = PendingDeviceCode {
        code: DeviceCode::new(raw.device_code),
        interval: raw
            .shown
            .interval
            .map_or(DEFAULT_POLL_INTERVAL_SECONDS, clamp_poll_interval),
        expires_at: raw
            .shown
            .expires_in
            .map(|s| now() + s.clamp(0, MAX_CODE_LIFETIME_SECONDS)),
    };
    Ok((raw.shown, pending))
}

/// auth-complete: polls until the user has signed in, declined, the code expired, or
/// `deadline` has come (every request is inside it too).
pub async fn complete(
    config: &InstanceConfig,
    http: &reqwest::Client,
    pending: &PendingDeviceCode,
    deadline: Deadline,
) -> Result<TokenGrant, SignInError> {
    let (client_id, tenant) = device_flow(config)?;
    let url = token_url(&config.endpoints.login_host, tenant);
    let mut interval = Duration::from_secs(clamp_poll_interval(pending.interval));
    loop {
        let attempt = token_endpoint::post_form(
            http,
            &url,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client_id),
                ("device_code", pending.code.secret()),
            ],
            deadline,
        )
        .await;
        match attempt {
            Ok(grant) => return Ok(grant),
            Err(SignInError::Rejected { error, .. }) if error == "authorization_pending" => {}
            Err(SignInError::Rejected { error, .. }) if error == "slow_down" => {
                interval = Duration::from_secs(clamp_poll_interval(interval.as_secs() + 5));
            }
            Err(SignInError::Rejected { error, .. })
                if error == "authorization_declined" || error == "access_denied" =>
            {
                return Err(SignInError::Declined);
            }
            Err(SignInError::Rejected { error, .. })
                if error == "expired_token" || error == "bad_verification_code" =>
            {
                return Err(SignInError::CodeExpired);
            }
            Err(other) => return Err(other),
        }
        let code_expired = pending.expires_at.is_some_and(|at| now() >= at);
        if code_expired {
            return Err(SignInError::CodeExpired);
        }
        if interval > deadline.remaining() {
            return Err(SignInError::StillWaiting);
        }
        tokio::time::sleep(interval).await;
    }
}
