//! The device code flow (RFC 8628) as Entra ID runs it: auth-start asks for a code the user
//! enters at a sign-in page; auth-complete polls the token endpoint until the user has done so.
//! https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code

use std::time::Duration;

use serde::Deserialize;

use super::secret::DeviceCode;
use super::token_cache::PendingDeviceCode;
use super::token_endpoint::{self, TokenGrant};
use super::{SignInError, now, token_url};
use crate::config::{InstanceConfig, SignInFlow};
use crate::http::{host_of, transport_cause};

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

/// auth-start: asks Entra ID for a device code.
pub async fn start(
    config: &InstanceConfig,
    http: &reqwest::Client,
) -> Result<(DeviceAuthorization, PendingDeviceCode), SignInError> {
    let (client_id, tenant) = device_flow(config)?;
    let url = format!(
        "{}/{tenant}/oauth2/v2.0/devicecode",
        config.endpoints.login_host
    );
    let scope = config.endpoints.delegated_scope();
    let response = http
        .post(&url)
        .form(&[("client_id", client_id), ("scope", &scope)])
        .send()
        .await
        .map_err(|e| SignInError::Unreachable {
            host: host_of(&url),
            cause: transport_cause(&e),
        })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| SignInError::Unreachable {
            host: host_of(&url),
            cause: transport_cause(&e),
        })?;
    if !status.is_success() {
        // The same error shape as the token endpoint.
        return Err(token_endpoint::error_from(&url, status.as_u16(), &body));
    }
    let raw: RawAuthorization =
        serde_json::from_slice(&body).map_err(|_| SignInError::UnexpectedAnswer {
            host: host_of(&url),
            status: status.as_u16(),
            detail: token_endpoint::describe_body(&body),
        })?;
    let pending = PendingDeviceCode {
        code: DeviceCode::new(raw.device_code),
        interval: raw.shown.interval.unwrap_or(5).max(1),
        expires_at: raw.shown.expires_in.map(|s| now() + s),
    };
    Ok((raw.shown, pending))
}

/// auth-complete: polls until the user has signed in, declined, the code expired, or `wait`
/// has passed.
pub async fn complete(
    config: &InstanceConfig,
    http: &reqwest::Client,
    pending: &PendingDeviceCode,
    wait: Duration,
) -> Result<TokenGrant, SignInError> {
    let (client_id, tenant) = device_flow(config)?;
    let url = token_url(&config.endpoints.login_host, tenant);
    let give_up_at = tokio::time::Instant::now() + wait;
    let mut interval = Duration::from_secs(pending.interval);
    loop {
        let attempt = token_endpoint::post_form(
            http,
            &url,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client_id),
                ("device_code", pending.code.secret()),
            ],
        )
        .await;
        match attempt {
            Ok(grant) => return Ok(grant),
            Err(SignInError::Rejected { error, .. }) if error == "authorization_pending" => {}
            Err(SignInError::Rejected { error, .. }) if error == "slow_down" => {
                interval += Duration::from_secs(5);
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
        if tokio::time::Instant::now() + interval > give_up_at {
            return Err(SignInError::StillWaiting);
        }
        tokio::time::sleep(interval).await;
    }
}
