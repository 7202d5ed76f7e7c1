//! Azure's Instance Metadata Service token endpoint, which hands managed identities their tokens
//! (<https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>).
//! Its quirks are the ones the plugin must get right: the `Metadata: true` header, `resource`
//! instead of `scope`, an optional `client_id` for a user-assigned identity, and numbers sent as
//! strings in the response.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::registrations::{self, MANAGED_IDENTITIES};
use super::tokens::Principal;
use super::{DEMO_TENANT_DOMAIN, EmulatorState};

fn imds_error(error: &str, description: impl Into<String>) -> Response {
    let body = json!({"error": error, "error_description": description.into()});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...[&client_id=...]`
pub(crate) async fn token(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let metadata = headers
        .get("Metadata")
        .and_then(|value| value.to_str().ok());
    if !metadata.is_some_and(|value| value.eq_ignore_ascii_case("true")) {
        return imds_error("invalid_request", "Required metadata header not specified");
    }
    if !query.contains_key("api-version") {
        return imds_error(
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = query
        .get("resource")
        .filter(|resource| !resource.is_empty())
    else {
        return imds_error(
            "invalid_request",
            "Required audience parameter not specified",
        );
    };
    let Some(resource) = registrations::resource(resource) else {
        return imds_error(
            "invalid_resource",
            format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant named {DEMO_TENANT_DOMAIN}."
            ),
        );
    };
    let identity = match query.get("client_id") {
        Some(client_id) => MANAGED_IDENTITIES
            .iter()
            .find(|identity| identity.client_id.eq_ignore_ascii_case(client_id)),
        None => MANAGED_IDENTITIES
            .iter()
            .find(|identity| identity.system_assigned),
    };
    let Some(identity) = identity else {
        return imds_error("invalid_request", "Identity not found");
    };
    let mut world = state.world();
    let now = world.clock.now();
    let lifetime = state.access_token_lifetime();
    let access_token = world.tokens.issue_access(
        now,
        lifetime,
        resource,
        Principal::App {
            client_id: identity.client_id.to_owned(),
        },
        registrations::roles_for(resource, &identity.roles),
        Vec::new(),
    );
    Json(json!({
        "access_token": access_token,
        "client_id": identity.client_id,
        "expires_in": lifetime.as_secs().to_string(),
        "expires_on": (now + lifetime).as_second().to_string(),
        "ext_expires_in": lifetime.as_secs().to_string(),
        "not_before": now.as_second().to_string(),
        "resource": query.get("resource"),
        "token_type": "Bearer",
    }))
    .into_response()
}
