//! Entra ID's v2 endpoints under `/{tenant}/oauth2/v2.0/`: `devicecode`, and `token` with the
//! device-code, refresh-token and client-credentials (secret or certificate) grants. Errors come in
//! Entra's JSON with AADSTS codes and the statuses Entra uses
//! (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>), because the
//! plugin's messages and its device-code polling (`authorization_pending`, `slow_down`,
//! `expired_token`) depend on them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::client_assertion;
use super::registrations::{self, Resource};
use super::tokens::{DeviceCodeState, Principal, RefreshFailure, RefreshGrant};
use super::{DEMO_TENANT_DOMAIN, DEMO_TENANT_ID, EmulatorState, World, tenant};

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An error as Entra ID's token endpoints return it.
#[derive(Debug)]
pub(crate) struct EntraError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

impl EntraError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> EntraError {
        EntraError {
            status,
            error,
            code,
            message: message.into(),
        }
    }

    fn bad_request(error: &'static str, code: u32, message: impl Into<String>) -> EntraError {
        EntraError::new(StatusCode::BAD_REQUEST, error, code, message)
    }

    fn invalid_client(code: u32, message: impl Into<String>) -> EntraError {
        EntraError::new(StatusCode::UNAUTHORIZED, "invalid_client", code, message)
    }

    fn missing(parameter: &str) -> EntraError {
        EntraError::bad_request(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        let mut rng = rand::rng();
        let trace_id = tenant::guid(&mut rng);
        let correlation_id = tenant::guid(&mut rng);
        let timestamp = Timestamp::now().strftime("%Y-%m-%d %H:%M:%SZ").to_string();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.message
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}

/// The `{tenant}` path segment: a tenant id or domain, or a multi-tenant alias.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Authority {
    Tenant,
    MultiTenant,
}

fn authority(segment: &str) -> Result<Authority, EntraError> {
    if segment.eq_ignore_ascii_case(DEMO_TENANT_ID)
        || segment.eq_ignore_ascii_case(DEMO_TENANT_DOMAIN)
    {
        Ok(Authority::Tenant)
    } else if segment.eq_ignore_ascii_case("organizations")
        || segment.eq_ignore_ascii_case("common")
    {
        Ok(Authority::MultiTenant)
    } else {
        Err(EntraError::bad_request(
            "invalid_request",
            90002,
            format!(
                "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ))
    }
}

/// The scopes of a request, reduced to what Entra ID issues: one resource and its permissions.
struct RequestedScopes {
    resource: &'static Resource,
    /// The specific permissions asked for; empty for `{resource}/.default`.
    permissions: Vec<&'static str>,
    offline_access: bool,
}

fn parse_scopes(scope: &str) -> Result<RequestedScopes, EntraError> {
    let mut resource: Option<&'static Resource> = None;
    let mut permissions = Vec::new();
    let mut offline_access = false;
    for item in scope.split_whitespace() {
        match item {
            "offline_access" => offline_access = true,
            "openid" | "profile" | "email" => {}
            _ => {
                let (identifier, permission) = item.rsplit_once('/').ok_or_else(|| {
                    EntraError::bad_request(
                        "invalid_scope",
                        70011,
                        format!("The provided value for the input parameter 'scope' isn't valid. The scope {item} isn't valid."),
                    )
                })?;
                let found = registrations::resource(identifier).ok_or_else(|| {
                    EntraError::bad_request(
                        "invalid_resource",
                        500011,
                        format!(
                            "The resource principal named {identifier} was not found in the tenant named {DEMO_TENANT_DOMAIN}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
                        ),
                    )
                })?;
                if resource.is_some_and(|chosen| !std::ptr::eq(chosen, found)) {
                    return Err(EntraError::bad_request(
                        "invalid_scope",
                        28000,
                        "Provided value for the input parameter scope is not valid because it contains more than one resource.",
                    ));
                }
                resource = Some(found);
                if permission != ".default" {
                    let known = found
                        .user_scopes
                        .iter()
                        .find(|known| known.eq_ignore_ascii_case(permission))
                        .ok_or_else(|| {
                            EntraError::bad_request(
                                "invalid_scope",
                                70011,
                                format!(
                                    "The provided value for the input parameter 'scope' isn't valid. The scope {item} isn't valid."
                                ),
                            )
                        })?;
                    permissions.push(*known);
                }
            }
        }
    }
    let resource = resource.ok_or_else(|| {
        EntraError::bad_request(
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' isn't valid. The scope '{scope}' names no resource."),
        )
    })?;
    Ok(RequestedScopes {
        resource,
        permissions,
        offline_access,
    })
}

type FormFields = Result<Form<HashMap<String, String>>, FormRejection>;

fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, EntraError> {
    form.get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| EntraError::missing(name))
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`
pub(crate) async fn device_code(
    State(state): State<Arc<EmulatorState>>,
    Path(segment): Path<String>,
    form: FormFields,
) -> Response {
    let result = (|| -> Result<Value, EntraError> {
        authority(&segment)?;
        let Form(form) = form.map_err(|_| EntraError::missing("client_id"))?;
        let client_id = required(&form, "client_id")?;
        let scopes = parse_scopes(required(&form, "scope")?)?;
        let mut world = state.world();
        let now = world.clock.now();
        let lifetime = state.options.device_code_lifetime_secs;
        let expires_at = now + SignedDuration::from_secs(lifetime as i64);
        let granted = if scopes.permissions.is_empty() {
            scopes.resource.user_scopes.to_vec()
        } else {
            scopes.permissions.clone()
        };
        let grant = world.tokens.issue_device_code(
            client_id,
            scopes.resource,
            granted,
            scopes.offline_access,
            expires_at,
        );
        let verification_uri = format!("{}/devicelogin", state.base_url);
        Ok(json!({
            "user_code": grant.user_code,
            "device_code": grant.device_code,
            "verification_uri": verification_uri,
            "expires_in": lifetime,
            "interval": state.options.device_code_poll_interval_secs,
            "message": format!(
                "To sign in, use a web browser to open the page {verification_uri} and enter the code {} to authenticate.",
                grant.user_code
            ),
        }))
    })();
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`
pub(crate) async fn token(
    State(state): State<Arc<EmulatorState>>,
    Path(segment): Path<String>,
    form: FormFields,
) -> Response {
    let result = (|| -> Result<Value, EntraError> {
        let authority = authority(&segment)?;
        let Form(form) = form.map_err(|_| EntraError::missing("grant_type"))?;
        let mut world = state.world();
        match required(&form, "grant_type")? {
            DEVICE_CODE_GRANT => redeem_device_code(&state, &mut world, &form),
            "refresh_token" => redeem_refresh_token(&state, &mut world, &form),
            "client_credentials" => {
                client_credentials(&state, &mut world, &form, &segment, authority)
            }
            other => Err(EntraError::bad_request(
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        }
    })();
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Issues a user's access token, and a refresh token when `offline_access` was granted.
fn delegated_tokens(
    state: &EmulatorState,
    world: &mut World,
    grant: RefreshGrant,
    offline_access: bool,
) -> Value {
    let now = world.clock.now();
    let lifetime = state.access_token_lifetime();
    let scope: Vec<String> = grant
        .scopes
        .iter()
        .map(|permission| format!("{}/{permission}", grant.resource.identifier))
        .collect();
    let access_token = world.tokens.issue_access(
        now,
        lifetime,
        grant.resource,
        Principal::User {
            upn: grant.upn.clone(),
            client_id: grant.client_id.clone(),
        },
        Vec::new(),
        grant.scopes.clone(),
    );
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope.join(" "),
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": access_token,
    });
    if offline_access {
        body["refresh_token"] = json!(world.tokens.issue_refresh(grant, now));
    }
    body
}

fn redeem_device_code(
    state: &EmulatorState,
    world: &mut World,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let client_id = required(form, "client_id")?.to_owned();
    // The standard field is `device_code`; older clients (the XSOAR integration among them) send
    // `code`, which Entra ID also accepts.
    let device_code = form
        .get("device_code")
        .or_else(|| form.get("code"))
        .filter(|code| !code.is_empty())
        .ok_or_else(|| EntraError::missing("device_code"))?;
    let now = world.clock.now();
    let invalid = |detail: &str| {
        EntraError::bad_request(
            "invalid_grant",
            70000,
            format!("Provided grant is invalid or malformed. {detail}"),
        )
    };
    let grant = world
        .tokens
        .device_code_mut(device_code)
        .ok_or_else(|| invalid("The device code is not known."))?;
    if !grant.client_id.eq_ignore_ascii_case(&client_id) {
        return Err(invalid("The device code was issued to another client."));
    }
    if now >= grant.expires_at {
        return Err(EntraError::bad_request(
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        ));
    }
    let interval = state.options.device_code_poll_interval_secs;
    let polled_too_soon = grant
        .last_poll
        .is_some_and(|last| now.duration_since(last) < SignedDuration::from_secs(interval as i64));
    grant.last_poll = Some(now);
    if polled_too_soon {
        return Err(EntraError::bad_request(
            "slow_down",
            70016,
            format!(
                "OAuth 2.0 device flow error. Polling faster than every {interval} seconds; slow down."
            ),
        ));
    }
    let upn = match &grant.state {
        DeviceCodeState::Pending => {
            return Err(EntraError::bad_request(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ));
        }
        DeviceCodeState::Declined => {
            return Err(EntraError::bad_request(
                "authorization_declined",
                70000,
                "The user declined the authentication request on the device login page.",
            ));
        }
        DeviceCodeState::Redeemed => return Err(invalid("The device code was already redeemed.")),
        DeviceCodeState::Approved { upn } => upn.clone(),
    };
    grant.state = DeviceCodeState::Redeemed;
    let refresh_grant = RefreshGrant {
        client_id,
        upn,
        resource: grant.resource,
        scopes: grant.scopes.clone(),
    };
    let offline_access = grant.offline_access;
    Ok(delegated_tokens(
        state,
        world,
        refresh_grant,
        offline_access,
    ))
}

fn redeem_refresh_token(
    state: &EmulatorState,
    world: &mut World,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let client_id = required(form, "client_id")?;
    let refresh_token = required(form, "refresh_token")?;
    let now = world.clock.now();
    let lifetime = SignedDuration::from_secs(state.options.refresh_token_lifetime_secs as i64);
    let mut grant = world
        .tokens
        .redeem_refresh(refresh_token, client_id, now, lifetime)
        .map_err(|failure| match failure {
            RefreshFailure::Unknown => {
                EntraError::bad_request("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            }
            RefreshFailure::Rotated => EntraError::bad_request(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed. The refresh token was already redeemed; use the one issued with it.",
            ),
            RefreshFailure::Revoked => EntraError::bad_request(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
            ),
            RefreshFailure::Inactive { last_used } => EntraError::bad_request(
                "invalid_grant",
                700082,
                format!(
                    "The refresh token has expired due to inactivity. The token was issued on {last_used} and was inactive for {:#}.",
                    now.duration_since(last_used)
                ),
            ),
            RefreshFailure::IssuedToAnotherClient => EntraError::bad_request(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed. The refresh token was issued to another client.",
            ),
        })?;
    if let Some(scope) = form.get("scope").filter(|scope| !scope.trim().is_empty()) {
        let scopes = parse_scopes(scope)?;
        grant.resource = scopes.resource;
        grant.scopes = if scopes.permissions.is_empty() {
            scopes.resource.user_scopes.to_vec()
        } else {
            scopes.permissions
        };
    }
    Ok(delegated_tokens(state, world, grant, true))
}

fn client_credentials(
    state: &EmulatorState,
    world: &mut World,
    form: &HashMap<String, String>,
    segment: &str,
    authority: Authority,
) -> Result<Value, EntraError> {
    let client_id = required(form, "client_id")?;
    let scope = required(form, "scope")?;
    if authority == Authority::MultiTenant {
        return Err(EntraError::bad_request(
            "invalid_request",
            9001023,
            format!(
                "The grant type isn't supported over the /{segment} endpoint. Please use a tenant-specific endpoint."
            ),
        ));
    }
    let scopes = parse_scopes(scope)?;
    if !scopes.permissions.is_empty() {
        return Err(EntraError::bad_request(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }
    let app = registrations::confidential_app(client_id).ok_or_else(|| {
        EntraError::bad_request(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{DEMO_TENANT_DOMAIN}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    })?;
    let now = world.clock.now();
    match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(secret), _) => {
            if secret != app.secret {
                return Err(EntraError::invalid_client(
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER_ASSERTION) {
                return Err(EntraError::bad_request(
                    "invalid_request",
                    900144,
                    format!(
                        "The request body must contain the following parameter: 'client_assertion_type' = '{JWT_BEARER_ASSERTION}'."
                    ),
                ));
            }
            if !app.has_demo_certificate {
                return Err(EntraError::invalid_client(
                    700027,
                    format!(
                        "Client assertion failed signature validation. (Reason - The key was not found.) App '{client_id}' has no certificate."
                    ),
                ));
            }
            let audiences = [segment, DEMO_TENANT_ID]
                .iter()
                .flat_map(|tenant| {
                    [
                        format!("{}/{tenant}/oauth2/v2.0/token", state.base_url),
                        format!("{}/{tenant}/oauth2/token", state.base_url),
                    ]
                })
                .collect::<Vec<_>>();
            client_assertion::verify(
                assertion,
                &state.certificate,
                client_id,
                &audiences,
                now,
                &mut world.used_assertions,
            )
            .map_err(|error| EntraError::invalid_client(error.code(), error.to_string()))?;
        }
        (None, None) => {
            return Err(EntraError::invalid_client(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    }
    let lifetime = state.access_token_lifetime();
    let access_token = world.tokens.issue_access(
        now,
        lifetime,
        scopes.resource,
        Principal::App {
            client_id: app.client_id.to_owned(),
        },
        registrations::roles_for(scopes.resource, &app.roles),
        Vec::new(),
    );
    // Client-credential responses carry no `scope` and never a refresh token.
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": access_token,
    }))
}
