//! What the emulated Entra tenant knows: the resources (APIs) it issues tokens for and the rights
//! each principal holds on them. Entra ID decides a token's audience and roles/scopes from these
//! facts, and the Defender API and Microsoft Graph then only read the token.

use super::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_MANAGED_IDENTITY_CLIENT_ID,
    DEMO_NO_PERMISSIONS_CLIENT_ID, DEMO_NO_PERMISSIONS_CLIENT_SECRET,
    DEMO_SYSTEM_MANAGED_IDENTITY_CLIENT_ID,
};

/// The API a token is good for. A token minted for one is "foreign" to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    Defender,
    MicrosoftGraph,
    AzureResourceManager,
}

/// An API as Entra ID knows it: its application ID URI (the `aud` of its tokens) and the
/// permissions it defines.
#[derive(Debug)]
pub(crate) struct Resource {
    pub(crate) identifier: &'static str,
    pub(crate) api: Api,
    /// Delegated permissions a signed-in user of the demo tenant holds on this resource.
    pub(crate) user_scopes: &'static [&'static str],
}

/// The Defender API answers to two application ID URIs in each cloud: the legacy
/// `security.microsoft.com/mtp` one and `api.security.microsoft.com`
/// (<https://learn.microsoft.com/defender-xdr/api-create-app-web>); the US government clouds use
/// `.us` hosts (<https://learn.microsoft.com/defender-xdr/usgov>).
const DEFENDER_USER_SCOPES: &[&str] = &["Incident.ReadWrite", "AdvancedHunting.Read"];

/// Microsoft Graph answers to `graph.microsoft.com`, in GCC High to `graph.microsoft.us` and in
/// DoD to `dod-graph.microsoft.us`
/// (<https://learn.microsoft.com/graph/deployments#microsoft-graph-and-graph-explorer-service-root-endpoints>).
/// Its security permissions are named alike for users and apps
/// (<https://learn.microsoft.com/graph/permissions-reference>).
const GRAPH_USER_SCOPES: &[&str] = &[
    "User.Read",
    "SecurityIncident.Read.All",
    "SecurityIncident.ReadWrite.All",
    "ThreatHunting.Read.All",
    "SecurityAlert.Read.All",
    "SecurityAlert.ReadWrite.All",
    "CustomDetection.Read.All",
    "CustomDetection.ReadWrite.All",
];

pub(crate) static RESOURCES: &[Resource] = &[
    Resource {
        identifier: "https://security.microsoft.com/mtp",
        api: Api::Defender,
        user_scopes: DEFENDER_USER_SCOPES,
    },
    Resource {
        identifier: "https://api.security.microsoft.com",
        api: Api::Defender,
        user_scopes: DEFENDER_USER_SCOPES,
    },
    Resource {
        identifier: "https://security.microsoft.us/mtp",
        api: Api::Defender,
        user_scopes: DEFENDER_USER_SCOPES,
    },
    Resource {
        identifier: "https://api-gov.security.microsoft.us",
        api: Api::Defender,
        user_scopes: DEFENDER_USER_SCOPES,
    },
    Resource {
        identifier: "https://graph.microsoft.com",
        api: Api::MicrosoftGraph,
        user_scopes: GRAPH_USER_SCOPES,
    },
    Resource {
        identifier: "https://graph.microsoft.us",
        api: Api::MicrosoftGraph,
        user_scopes: GRAPH_USER_SCOPES,
    },
    Resource {
        identifier: "https://dod-graph.microsoft.us",
        api: Api::MicrosoftGraph,
        user_scopes: GRAPH_USER_SCOPES,
    },
    Resource {
        identifier: "https://management.azure.com",
        api: Api::AzureResourceManager,
        user_scopes: &["user_impersonation"],
    },
];

/// Finds a resource by application ID URI, tolerating the trailing slash that IMDS callers and
/// v1-style `resource` values often carry.
pub(crate) fn resource(identifier: &str) -> Option<&'static Resource> {
    let identifier = identifier.trim_end_matches('/');
    RESOURCES
        .iter()
        .find(|resource| resource.identifier.eq_ignore_ascii_case(identifier))
}

/// A confidential client (app registration with credentials) in the demo tenant.
pub(crate) struct ConfidentialApp {
    pub(crate) client_id: &'static str,
    pub(crate) secret: &'static str,
    /// Whether the demo certificate is uploaded to this app (certificate credentials).
    pub(crate) has_demo_certificate: bool,
    pub(crate) roles: AppRoles,
}

/// Application permissions granted (admin-consented) to a principal, per API.
pub(crate) struct AppRoles {
    pub(crate) defender: &'static [&'static str],
    pub(crate) graph: &'static [&'static str],
}

/// Every permission the plugin uses, on both APIs: Graph's alerts are updated like incidents,
/// its detection rules only read.
const ALL_ROLES: AppRoles = AppRoles {
    defender: &["Incident.ReadWrite.All", "AdvancedHunting.Read.All"],
    graph: &[
        "SecurityIncident.ReadWrite.All",
        "ThreatHunting.Read.All",
        "SecurityAlert.ReadWrite.All",
        "CustomDetection.Read.All",
    ],
};

const NO_ROLES: AppRoles = AppRoles {
    defender: &[],
    graph: &[],
};

pub(crate) static CONFIDENTIAL_APPS: &[ConfidentialApp] = &[
    ConfidentialApp {
        client_id: DEMO_CLIENT_ID,
        secret: DEMO_CLIENT_SECRET,
        has_demo_certificate: true,
        roles: ALL_ROLES,
    },
    ConfidentialApp {
        client_id: DEMO_NO_PERMISSIONS_CLIENT_ID,
        secret: DEMO_NO_PERMISSIONS_CLIENT_SECRET,
        has_demo_certificate: false,
        roles: NO_ROLES,
    },
];

pub(crate) fn confidential_app(client_id: &str) -> Option<&'static ConfidentialApp> {
    CONFIDENTIAL_APPS
        .iter()
        .find(|app| app.client_id.eq_ignore_ascii_case(client_id))
}

/// A managed identity that the emulated IMDS can hand tokens for. The system-assigned one answers
/// when no `client_id` is given.
pub(crate) struct ManagedIdentity {
    pub(crate) client_id: &'static str,
    pub(crate) system_assigned: bool,
    pub(crate) roles: AppRoles,
}

pub(crate) static MANAGED_IDENTITIES: &[ManagedIdentity] = &[
    ManagedIdentity {
        client_id: DEMO_SYSTEM_MANAGED_IDENTITY_CLIENT_ID,
        system_assigned: true,
        roles: ALL_ROLES,
    },
    ManagedIdentity {
        client_id: DEMO_MANAGED_IDENTITY_CLIENT_ID,
        system_assigned: false,
        roles: ALL_ROLES,
    },
];

/// The application roles a principal holding `roles` gets in a token for `resource`: each API's
/// roles only count on its own audience.
pub(crate) fn roles_for(resource: &Resource, roles: &AppRoles) -> Vec<&'static str> {
    match resource.api {
        Api::Defender => roles.defender.to_vec(),
        Api::MicrosoftGraph => roles.graph.to_vec(),
        Api::AzureResourceManager => Vec::new(),
    }
}
