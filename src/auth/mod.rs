//! Signing in to Microsoft Entra ID and keeping the resulting tokens. [`Session`] is what the
//! API client asks for a bearer token: it uses the cached one while it is valid, refreshes or
//! acquires a new one otherwise, and writes every new token into the integration context at
//! once, so a rotated refresh token is never lost, even when the command fails afterwards.

pub mod client_assertion;
pub mod device_code;
pub mod secret;
pub mod token_cache;
mod token_endpoint;

pub use token_endpoint::describe_body;

use serde_json::{Map, Value};

use crate::config::{InstanceConfig, SignInFlow};
use crate::http::Deadline;
use secret::{AccessToken, ClientAssertion, RefreshToken};
use token_endpoint::TokenGrant;

/// Why no token could be had. Messages say what to do; they never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(
        "This instance is not signed in yet. Run !microsoft-365-defender-auth-start, sign in with the code it shows, then run !microsoft-365-defender-auth-complete."
    )]
    NotSignedIn,
    #[error(
        "No sign-in is in progress. Run !microsoft-365-defender-auth-start first, then !microsoft-365-defender-auth-complete."
    )]
    NoDeviceCode,
    #[error(
        "The sign-in is not finished yet: the user has not entered the code. Run !microsoft-365-defender-auth-complete again once they have; the code stays valid for 15 minutes after auth-start."
    )]
    StillWaiting,
    #[error(
        "The user declined the sign-in request. Run !microsoft-365-defender-auth-start to start a new sign-in."
    )]
    Declined,
    #[error(
        "The sign-in code expired before the user entered it. Run !microsoft-365-defender-auth-start to get a new code."
    )]
    CodeExpired,
    #[error(
        "Signed in, but Microsoft returned no refresh token, so the sign-in will lapse within the hour. Add the offline_access delegated permission to the app registration, grant consent, then run !microsoft-365-defender-auth-start again."
    )]
    NoRefreshToken,
    #[error("The sign-in service at {host} could not be reached: {cause}.")]
    Unreachable { host: String, cause: String },
    #[error(
        "The sign-in service at {host} did not answer within the command's timeout of {seconds} seconds. Try again later, or give the command a larger `timeout`."
    )]
    TimedOut { host: String, seconds: u64 },
    #[error(
        "The sign-in service at {host} answered with a redirect (status {status}) to {target}. Sign-in requests follow no redirect, so no credential was sent there. Check the Azure AD endpoint parameter and any proxy in between."
    )]
    Redirected {
        host: String,
        status: u16,
        target: String,
    },
    #[error(
        "The sign-in service at {host} sent an answer larger than {cap}, far more than a token answer; it was not read further."
    )]
    TooLarge { host: String, cap: String },
    #[error("The sign-in service at {host} answered with a token that cannot be used: {detail}.{}",
        if rotated.is_some() { " The new refresh token it sent was kept." } else { "" })]
    UnusableGrant {
        host: String,
        detail: String,
        /// A new refresh token that came with the unusable answer: the old one is spent, so
        /// this one must be stored.
        rotated: Option<RefreshToken>,
    },
    #[error("The sign-in service at {host} answered with status {status}: {detail}.")]
    UnexpectedAnswer {
        host: String,
        status: u16,
        detail: String,
    },
    #[error("{}", rejected_message(*status, error, description, codes))]
    Rejected {
        status: u16,
        error: String,
        description: String,
        codes: Vec<u64>,
    },
    #[error(
        "This instance does not use the device code flow (it signs in with client credentials or a managed identity), so there is nothing to start or complete. Use !microsoft-365-defender-auth-test to check the connection."
    )]
    NotDeviceCodeFlow,
    #[error("The certificate sign-in cannot be used: {0}.")]
    Certificate(String),
}

/// XSOAR's wording first ("Error in Microsoft authorization…", which playbooks match), then
/// what the user can do about this particular AADSTS code.
fn rejected_message(status: u16, error: &str, description: &str, codes: &[u64]) -> String {
    let advice = if codes
        .iter()
        .any(|c| matches!(c, 700082 | 50173 | 70008 | 54005 | 70043 | 700084))
        || (error == "invalid_grant" && codes.is_empty())
    {
        "The stored sign-in has expired or was revoked. Run !microsoft-365-defender-auth-reset, then !microsoft-365-defender-auth-start and !microsoft-365-defender-auth-complete."
    } else if codes.contains(&7000222) {
        "The app's client secret has expired. Create a new secret in the app registration and update the Client Secret parameter."
    } else if codes.contains(&700016) {
        "No app with this client ID exists in the tenant. Check the `ID or Client ID` and `Token or Tenant ID` parameters."
    } else if codes.iter().any(|c| matches!(c, 90002 | 900023)) {
        "The tenant was not found. Check the `Token or Tenant ID` parameter."
    } else if codes.iter().any(|c| matches!(c, 65001 | 500011)) {
        "The app lacks consent for the API this instance calls: the Microsoft 365 Defender API, or Microsoft Graph when the API backend is Microsoft Graph. Grant admin consent for the app's permissions on it."
    } else if error == "invalid_client" {
        "Check the client secret or certificate configured for the app: it is wrong, expired, or not the one registered for this client ID."
    } else if error == "invalid_scope" {
        "The requested permission scope is not valid for this app or cloud. Check the Endpoint type parameter."
    } else {
        "Check the app registration and the sign-in parameters of this instance."
    };
    let mut message = format!("Error in Microsoft authorization. Status: {status}, body: {error}.");
    if !description.is_empty() {
        message.push_str(&format!(" {description}"));
    }
    message.push('\n');
    message.push_str(advice);
    message
}

/// The current time in epoch seconds.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Hands out access tokens for one command run.
pub struct Session<'a> {
    config: &'a InstanceConfig,
    http: &'a reqwest::Client,
    context: &'a mut Map<String, Value>,
}

impl<'a> Session<'a> {
    pub fn new(
        config: &'a InstanceConfig,
        http: &'a reqwest::Client,
        context: &'a mut Map<String, Value>,
    ) -> Session<'a> {
        Session {
            config,
            http,
            context,
        }
    }

    pub fn config(&self) -> &InstanceConfig {
        self.config
    }

    pub fn http(&self) -> &reqwest::Client {
        self.http
    }

    /// The integration context, for the commands that keep sign-in state in it.
    pub fn context(&mut self) -> &mut Map<String, Value> {
        self.context
    }

    /// Who the tokens are for: the flow, app, tenant and resource (no secret).
    fn owner(&self) -> String {
        let (flow, client, tenant) = match &self.config.flow {
            SignInFlow::DeviceCode {
                client_id, tenant, ..
            } => ("device_code", client_id.as_str(), tenant.as_str()),
            SignInFlow::ClientSecret {
                client_id, tenant, ..
            } => ("client_secret", client_id.as_str(), tenant.as_str()),
            SignInFlow::ClientCertificate {
                client_id, tenant, ..
            } => ("certificate", client_id.as_str(), tenant.as_str()),
            SignInFlow::ManagedIdentity { client_id } => (
                "managed_identity",
                client_id.as_deref().unwrap_or("system"),
                "",
            ),
        };
        format!(
            "{flow}|{client}|{tenant}|{}",
            self.config.endpoints.resource
        )
    }

    /// A token valid now: the cached one, or a new one had within `deadline`.
    pub async fn access_token(&mut self, deadline: Deadline) -> Result<AccessToken, SignInError> {
        match token_cache::valid_access_token(self.context, &self.owner(), now()) {
            Some(token) => Ok(token),
            None => self.acquire(deadline).await,
        }
    }

    /// A new token after the API refused the current one (a 401).
    pub async fn renew(&mut self, deadline: Deadline) -> Result<AccessToken, SignInError> {
        token_cache::forget_access_token(self.context);
        self.acquire(deadline).await
    }

    async fn acquire(&mut self, deadline: Deadline) -> Result<AccessToken, SignInError> {
        match self.request_grant(deadline).await {
            Ok(grant) => Ok(self.keep(grant)),
            Err(error) => Err(self.keep_rotated(error)),
        }
    }

    /// Stores the new refresh token an unusable token answer carried, and hands the error on.
    pub fn keep_rotated(&mut self, mut error: SignInError) -> SignInError {
        if let SignInError::UnusableGrant { rotated, .. } = &mut error
            && let Some(refresh) = rotated.take()
        {
            token_cache::store_refresh_token(self.context, &refresh, &self.owner());
            *rotated = Some(refresh);
        }
        error
    }

    async fn request_grant(&mut self, deadline: Deadline) -> Result<TokenGrant, SignInError> {
        let endpoints = &self.config.endpoints;
        match &self.config.flow {
            SignInFlow::DeviceCode {
                client_id,
                tenant,
                seeded_refresh_token,
            } => {
                let refresh = token_cache::refresh_token(self.context, &self.owner())
                    .or_else(|| seeded_refresh_token.clone())
                    .ok_or(SignInError::NotSignedIn)?;
                let scope = endpoints.delegated_scope();
                token_endpoint::post_form(
                    self.http,
                    &token_url(&endpoints.login_host, tenant),
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", client_id),
                        ("refresh_token", refresh.secret()),
                        ("scope", &scope),
                    ],
                    deadline,
                )
                .await
            }
            SignInFlow::ClientSecret {
                client_id,
                tenant,
                secret,
            } => {
                token_endpoint::post_form(
                    self.http,
                    &token_url(&endpoints.login_host, tenant),
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        ("client_secret", secret.secret()),
                        ("scope", &endpoints.default_scope()),
                    ],
                    deadline,
                )
                .await
            }
            SignInFlow::ClientCertificate {
                client_id,
                tenant,
                thumbprint,
                private_key,
            } => {
                let url = token_url(&endpoints.login_host, tenant);
                let assertion = ClientAssertion::new(client_assertion::build(
                    client_id,
                    &url,
                    thumbprint,
                    private_key,
                    now(),
                )?);
                token_endpoint::post_form(
                    self.http,
                    &url,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", assertion.secret()),
                        ("scope", &endpoints.default_scope()),
                    ],
                    deadline,
                )
                .await
            }
            SignInFlow::ManagedIdentity { client_id } => {
                managed_identity_token(
                    self.http,
                    &endpoints.resource,
                    client_id.as_deref(),
                    deadline,
                )
                .await
            }
        }
    }

    /// Stores a grant in the context and returns its access token.
    pub fn keep(&mut self, grant: TokenGrant) -> AccessToken {
        token_cache::store(self.context, &grant, &self.owner(), now());
        grant.access_token
    }
}

/// Entra ID's v2 token endpoint for a tenant.
pub fn token_url(login_host: &str, tenant: &str) -> String {
    format!("{login_host}/{tenant}/oauth2/v2.0/token")
}

/// Azure's instance metadata service; the Azure SDKs let this variable point it elsewhere
/// (pod identity), which is also how tests reach the emulator.
const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_HOST_VARIABLE: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

/// A token from IMDS: https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token
async fn managed_identity_token(
    http: &reqwest::Client,
    resource: &str,
    client_id: Option<&str>,
    deadline: Deadline,
) -> Result<TokenGrant, SignInError> {
    let host = std::env::var(IMDS_HOST_VARIABLE)
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| IMDS_HOST.to_owned());
    let url = format!(
        "{}/metadata/identity/oauth2/token",
        host.trim_end_matches('/')
    );
    let mut query = vec![("api-version", "2018-02-01"), ("resource", resource)];
    if let Some(id) = client_id {
        query.push(("client_id", id));
    }
    let request = http.get(&url).query(&query).header("Metadata", "true");
    let (status, body) = token_endpoint::exchange(&url, request, deadline)
        .await
        .map_err(|e| match e {
            SignInError::Unreachable { host, cause } => SignInError::Unreachable {
                host,
                cause: format!(
                    "{cause} (managed identities work only on an Azure VM or with {IMDS_HOST_VARIABLE} set)"
                ),
            },
            other => other,
        })?;
    token_endpoint::grant_from(&url, status, &body)
}
