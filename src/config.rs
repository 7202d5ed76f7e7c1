//! Instance parameters, turned into the settings the rest of the program trusts: which cloud's
//! hosts and which API (the legacy Defender API or Microsoft Graph) to talk to, which sign-in
//! flow to use with which credentials, and how to connect.
//! Parameter names are those of integration.yml (and of the XSOAR integration, deprecated
//! names included, so an existing instance's configuration keeps working); their types,
//! defaults and options are read from it too (see [`params`]).

mod params;

use serde_json::{Map, Value};

use crate::auth::secret::{ClientSecret, PrivateKeyPem, RefreshToken};
use crate::commands::close_reasons::CloseReasonMapping;
use params::*;

/// The authority a person signs in at with the device code flow when no tenant is given: any
/// work or school account's own tenant.
const ANY_ORGANIZATION: &str = "organizations";

/// A national cloud's hosts and token scope. Values from Microsoft's "Microsoft Defender XDR for
/// US Government customers" (learn.microsoft.com/defender-xdr/usgov, section API): GCC signs in
/// at the commercial host; GCC High and DoD at login.microsoftonline.us and use api-gov.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Worldwide,
    Gcc,
    GccHigh,
    Dod,
    Custom,
}

impl Cloud {
    fn from_params(params: &Params) -> Result<Cloud, ConfigError> {
        let chosen = match params.select(ENDPOINT_TYPE) {
            Err(_) if params.given_choice(ENDPOINT_TYPE).is_some_and(names_china) => {
                return Err(ConfigError::UnsupportedCloud);
            }
            chosen => chosen?,
        };
        Ok(match chosen {
            "Worldwide" => Cloud::Worldwide,
            "GCC" => Cloud::Gcc,
            "GCC High" => Cloud::GccHigh,
            "DoD" => Cloud::Dod,
            "Custom" => Cloud::Custom,
            other => return Err(ENDPOINT_TYPE.unhandled(other)),
        })
    }

    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Worldwide | Cloud::Gcc | Cloud::Custom => WORLDWIDE_LOGIN,
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
        }
    }

    pub fn api_host(self) -> &'static str {
        match self {
            Cloud::Worldwide | Cloud::Custom => WORLDWIDE_API,
            Cloud::Gcc => "https://api-gcc.security.microsoft.us",
            Cloud::GccHigh | Cloud::Dod => "https://api-gov.security.microsoft.us",
        }
    }

    /// The resource the token is for (the scope without `/.default`).
    pub fn resource(self) -> &'static str {
        match self {
            Cloud::Worldwide | Cloud::Gcc | Cloud::Custom => "https://security.microsoft.com/mtp",
            Cloud::GccHigh | Cloud::Dod => "https://security.microsoft.us/mtp",
        }
    }

    /// Microsoft Graph's host, which is also its token resource
    /// (<https://learn.microsoft.com/graph/deployments#microsoft-graph-and-graph-explorer-service-root-endpoints>):
    /// GCC uses the commercial Graph, GCC High and DoD each have their own.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Worldwide | Cloud::Gcc | Cloud::Custom => WORLDWIDE_GRAPH,
            Cloud::GccHigh => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
        }
    }
}

const WORLDWIDE_LOGIN: &str = "https://login.microsoftonline.com";
const WORLDWIDE_API: &str = "https://api.security.microsoft.com";
const WORLDWIDE_GRAPH: &str = "https://graph.microsoft.com";

/// The legacy Defender API's hosts in every cloud and region: with the Graph backend, a
/// `base_url` left at one of them is the old setting, not a Graph host.
const LEGACY_API_HOSTS: [&str; 6] = [
    WORLDWIDE_API,
    "https://api-us.security.microsoft.com",
    "https://api-eu.security.microsoft.com",
    "https://api-uk.security.microsoft.com",
    "https://api-gcc.security.microsoft.us",
    "https://api-gov.security.microsoft.us",
];

/// Microsoft Graph operated by 21Vianet has no security incidents or advanced hunting
/// (<https://learn.microsoft.com/graph/api/security-list-incidents#national-cloud-deployments>
/// lists no China deployment), and Defender XDR is not offered there: the China cloud, by name
/// or by its hosts (`microsoftgraph.chinacloudapi.cn`, `login.chinacloudapi.cn`,
/// `login.partner.microsoftonline.cn`), is refused instead of failing later with a puzzling
/// sign-in error or 404.
fn names_china(cloud: &str) -> bool {
    let cloud = cloud.to_ascii_lowercase();
    cloud.contains("china") || cloud.contains("21vianet")
}

fn is_china_host(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| host.ends_with(".cn"))
}

/// Which Microsoft API serves incidents and hunting (`api_backend`). The legacy Defender API
/// retires on 1 February 2027; until an instance switches, it keeps the legacy API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiBackend {
    /// `https://api.security.microsoft.com` (`/api/incidents`, `/api/advancedhunting/run`).
    Legacy,
    /// Microsoft Graph security (`/v1.0/security/incidents`, `/v1.0/security/runHuntingQuery`).
    Graph,
}

impl ApiBackend {
    /// The API's name in messages.
    pub fn service(self) -> &'static str {
        match self {
            ApiBackend::Legacy => "Microsoft 365 Defender API",
            ApiBackend::Graph => "Microsoft Graph security API",
        }
    }

    fn from_params(params: &Params) -> Result<ApiBackend, ConfigError> {
        match params.select(API_BACKEND)? {
            "Legacy Defender API" => Ok(ApiBackend::Legacy),
            "Microsoft Graph" => Ok(ApiBackend::Graph),
            other => Err(API_BACKEND.unhandled(other)),
        }
    }
}

/// Where to sign in and which API to call.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub cloud: Cloud,
    pub backend: ApiBackend,
    /// Sign-in host, e.g. `https://login.microsoftonline.com`, no trailing slash.
    pub login_host: String,
    /// API base URL, e.g. `https://api.security.microsoft.com` or `https://graph.microsoft.com`,
    /// no trailing slash.
    pub api_base: String,
    /// Token resource, e.g. `https://security.microsoft.com/mtp` or `https://graph.microsoft.com`.
    pub resource: String,
}

/// The delegated Graph permissions the commands use: reading and updating incidents and
/// alerts, advanced hunting and reading custom detection rules
/// (<https://learn.microsoft.com/graph/api/security-incident-update#permissions>,
/// <https://learn.microsoft.com/graph/api/security-security-runhuntingquery#permissions>,
/// <https://learn.microsoft.com/graph/api/security-alert-update#permissions>,
/// <https://learn.microsoft.com/graph/api/security-detectionrule-get#permissions>).
pub const GRAPH_DELEGATED_PERMISSIONS: [&str; 4] = [
    "SecurityIncident.ReadWrite.All",
    "ThreatHunting.Read.All",
    "SecurityAlert.ReadWrite.All",
    "CustomDetection.Read.All",
];

impl Endpoints {
    /// The application-permission scope for the resource.
    pub fn default_scope(&self) -> String {
        format!("{}/.default", self.resource)
    }

    /// The scope a person signs in for with the device code flow, refresh token included. The
    /// legacy API's app is consented as a whole (`/.default`); on Graph the permissions are
    /// asked for by name, so the sign-in asks for nothing more than the commands need.
    pub fn delegated_scope(&self) -> String {
        match self.backend {
            ApiBackend::Legacy => format!("offline_access {}", self.default_scope()),
            ApiBackend::Graph => {
                let mut scope = "offline_access".to_owned();
                for permission in GRAPH_DELEGATED_PERMISSIONS {
                    scope.push_str(&format!(" {}/{permission}", self.resource));
                }
                scope
            }
        }
    }
}

/// How the integration signs in, with the credentials each way needs.
#[derive(Debug, Clone)]
pub enum SignInFlow {
    /// Delegated sign-in by a person (auth-start / auth-complete), then refresh tokens.
    DeviceCode {
        client_id: String,
        tenant: String,
        /// A refresh token given as `<app id>@<refresh token>` in the app id parameter.
        seeded_refresh_token: Option<RefreshToken>,
    },
    ClientSecret {
        client_id: String,
        tenant: String,
        secret: ClientSecret,
    },
    ClientCertificate {
        client_id: String,
        tenant: String,
        /// SHA-1 thumbprint of the certificate, hex.
        thumbprint: String,
        private_key: PrivateKeyPem,
    },
    ManagedIdentity {
        /// A user-assigned identity's client id; none for the system-assigned one.
        client_id: Option<String>,
    },
}

impl SignInFlow {
    pub fn is_delegated(&self) -> bool {
        matches!(self, SignInFlow::DeviceCode { .. })
    }
}

/// Everything the instance parameters decide.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    pub endpoints: Endpoints,
    pub flow: SignInFlow,
    /// Skip TLS certificate checks (`insecure`).
    pub insecure: bool,
    /// Use the system's proxy settings (`proxy`); otherwise connect directly.
    pub proxy: bool,
}

/// A parameter the integration cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("The instance parameter `{param}` is invalid: {reason}.")]
    Invalid { param: &'static str, reason: String },
    #[error("{0}")]
    Missing(String),
    /// The embedded declaration cannot be read, or lacks a parameter the program reads.
    #[error("{0}")]
    Declaration(String),
    #[error(
        "Microsoft 365 Defender is not offered in Microsoft's China cloud (operated by 21Vianet): neither the Defender API nor Microsoft Graph's security incidents and advanced hunting exist there. Use the Worldwide, GCC, GCC High or DoD cloud the tenant lives in."
    )]
    UnsupportedCloud,
}

impl InstanceConfig {
    pub fn from_params(params: &Map<String, Value>) -> Result<InstanceConfig, ConfigError> {
        let params = Params::new(params)?;
        params.log_undeclared();
        let cloud = Cloud::from_params(&params)?;
        let backend = ApiBackend::from_params(&params)?;
        let login_default = params.declared_default(AZURE_AD_ENDPOINT)?;
        let login_host = explicit_or(
            params.text(AZURE_AD_ENDPOINT)?,
            login_default.as_deref().as_slice(),
            cloud.login_host(),
        );
        let base_url = params.text(BASE_URL)?;
        let base_url_default = params.declared_default(BASE_URL)?;
        let (api_base, resource) = match backend {
            ApiBackend::Legacy => (
                explicit_or(
                    base_url,
                    base_url_default.as_deref().as_slice(),
                    cloud.api_host(),
                ),
                cloud.resource(),
            ),
            ApiBackend::Graph => {
                // The platform fills in the legacy host as the default Server URL.
                let defaults = [
                    LEGACY_API_HOSTS.as_slice(),
                    &[WORLDWIDE_GRAPH],
                    base_url_default.as_deref().as_slice(),
                ]
                .concat();
                let api_base = explicit_or(base_url, &defaults, cloud.graph_host());
                if is_china_host(&api_base) || is_china_host(&login_host) {
                    return Err(ConfigError::UnsupportedCloud);
                }
                (api_base, cloud.graph_host())
            }
        };
        let endpoints = Endpoints {
            cloud,
            backend,
            login_host,
            api_base,
            resource: resource.to_owned(),
        };
        Ok(InstanceConfig {
            endpoints,
            flow: sign_in_flow(&params)?,
            insecure: params.flag(INSECURE)?,
            proxy: params.flag(PROXY)?,
        })
    }
}

/// A user's value wins unless it is one of the defaults the platform fills in (the declared
/// default, the Worldwide host), in which case the chosen cloud's host applies: a GCC High
/// instance keeps its own host although the platform filled the Worldwide one in.
fn explicit_or(given: Option<String>, defaults: &[&str], cloud_default: &str) -> String {
    match given {
        Some(url)
            if !defaults
                .iter()
                .any(|d| d.trim_end_matches('/') == url.trim_end_matches('/')) =>
        {
            url.trim_end_matches('/').to_owned()
        }
        _ => cloud_default.to_owned(),
    }
}

fn sign_in_flow(params: &Params) -> Result<SignInFlow, ConfigError> {
    if params.flag(USE_MANAGED_IDENTITIES)? {
        return Ok(SignInFlow::ManagedIdentity {
            client_id: params.credential_password(MANAGED_IDENTITIES_CLIENT_ID)?,
        });
    }
    // The hidden `_app_id`'s declared default is the XSOAR app for device code sign-in; it
    // stands in only when no app id is given under any name, and never for client credentials.
    let app_id = match params.credential_password(CREDS_CLIENT_ID)? {
        Some(id) => Some(id),
        None => params
            .given_text(HIDDEN_APP_ID)?
            .or(params.text(DEPRECATED_APP_ID)?),
    };
    if params.flag(CLIENT_CREDENTIALS)? {
        let client_id = app_id.ok_or_else(|| {
            ConfigError::Missing(
                "Client credentials sign-in needs the app registration's client ID: fill in the `ID or Client ID` parameter (creds_client_id).".to_owned(),
            )
        })?;
        let tenant = match params.credential_password(CREDS_TENANT_ID)? {
            Some(t) => t,
            None => params
                .text(HIDDEN_TENANT_ID)?
                .or(params.text(DEPRECATED_TENANT_ID)?)
                .ok_or_else(|| {
                    ConfigError::Missing(
                        "Client credentials sign-in needs the tenant ID: fill in the `Token or Tenant ID` parameter (creds_tenant_id).".to_owned(),
                    )
                })?,
        };
        let certificate = match params.credential(CREDS_CERTIFICATE)? {
            Some((Some(thumbprint), Some(key))) => Some((thumbprint, key)),
            _ => match (
                params.text(DEPRECATED_CERTIFICATE_THUMBPRINT)?,
                params.text(DEPRECATED_PRIVATE_KEY)?,
            ) {
                (Some(thumbprint), Some(key)) => Some((thumbprint, key)),
                _ => None,
            },
        };
        if let Some((thumbprint, key)) = certificate {
            return Ok(SignInFlow::ClientCertificate {
                client_id,
                tenant,
                thumbprint,
                private_key: PrivateKeyPem::new(key),
            });
        }
        let secret = match params.credential_password(CREDENTIALS)? {
            Some(secret) => secret,
            None => params.text(DEPRECATED_ENC_KEY)?.ok_or_else(|| {
                ConfigError::Missing(
                    "Client credentials sign-in needs a client secret (the `Client Secret` parameter) or a certificate (`Certificate Thumbprint` with its private key).".to_owned(),
                )
            })?,
        };
        return Ok(SignInFlow::ClientSecret {
            client_id,
            tenant,
            secret: ClientSecret::new(secret),
        });
    }
    let app_id = match app_id {
        Some(id) => id,
        None => params.declared_default(HIDDEN_APP_ID)?.ok_or_else(|| {
            ConfigError::Missing(
                "Device code sign-in needs an app registration's client ID: fill in the `ID or Client ID` parameter (creds_client_id).".to_owned(),
            )
        })?,
    };
    // XSOAR lets a refresh token ride along in the app id as `<app id>@<refresh token>`.
    let (client_id, seeded_refresh_token) = match app_id.split_once('@') {
        Some((id, token)) if !token.is_empty() => (id.to_owned(), Some(RefreshToken::new(token))),
        _ => (app_id, None),
    };
    Ok(SignInFlow::DeviceCode {
        client_id,
        tenant: params
            .credential_password(CREDS_TENANT_ID)?
            .unwrap_or_else(|| ANY_ORGANIZATION.to_owned()),
        seeded_refresh_token,
    })
}

/// The fetch parameters, validated.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Where the first fetch starts (`first_fetch`, resolved against the current time; not in
    /// the future, and not before 1970, which it is raised to).
    pub first_fetch: jiff::Timestamp,
    /// The most incidents one run creates (`max_fetch`, 1 to 100).
    pub max_fetch: usize,
    /// How long one run may take (`fetch_timeout`, at most [`MAX_FETCH_TIMEOUT_SECS`]); none
    /// means no limit of our own.
    pub fetch_timeout: Option<std::time::Duration>,
    /// How late an incident may become visible after its creation and still be fetched
    /// (`fetch_lookback`, minutes).
    pub lookback: jiff::SignedDuration,
    /// The platform's incident type for fetched incidents (`incidentType`); when fetching
    /// alerts, none if it is the declared default, the incident type.
    pub incident_type: Option<String>,
    /// What fetching creates incidents from (`fetch_type`).
    pub kind: FetchKind,
}

/// What fetching creates the platform's incidents from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchKind {
    /// Defender incidents, one platform incident each.
    Incidents,
    /// Microsoft Graph's alerts, one platform incident each.
    Alerts,
}

/// The largest `max_fetch`: one API page.
pub const MAX_FETCH_LIMIT: usize = 100;

/// The longest `fetch_timeout`, in seconds: a day. A larger one is read as a day.
pub const MAX_FETCH_TIMEOUT_SECS: u64 = 24 * 3600;

impl FetchSettings {
    pub fn from_params(params: &Map<String, Value>) -> Result<FetchSettings, ConfigError> {
        let params = Params::new(params)?;
        let first_fetch_text = params
            .text(FIRST_FETCH)?
            .ok_or_else(|| FIRST_FETCH.missing())?;
        let now = jiff::Timestamp::now();
        let first_fetch = crate::time::parse_point_in_time(&first_fetch_text, now)
            .ok_or_else(|| ConfigError::Invalid {
                param: FIRST_FETCH.name,
                reason: format!(
                    "{first_fetch_text:?} is not a time; use a span such as `3 days`, `12 hours` or `30 minutes`, an ISO-8601 time, or epoch seconds"
                ),
            })?;
        if first_fetch > now {
            return Err(ConfigError::Invalid {
                param: FIRST_FETCH.name,
                reason: format!(
                    "{first_fetch_text:?} is in the future, so nothing would ever be fetched; use a time in the past or a span such as `3 days`"
                ),
            });
        }
        // Nothing in Defender is older than 1970; the cursor accepts no earlier time.
        let first_fetch = first_fetch.max(crate::time::EARLIEST);
        let max_fetch = match params.whole_number(MAX_FETCH)? {
            None => return Err(MAX_FETCH.missing()),
            Some(n) if n < 1 => {
                return Err(ConfigError::Invalid {
                    param: MAX_FETCH.name,
                    reason: format!("{n} is not a positive number of incidents"),
                });
            }
            Some(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > MAX_FETCH_LIMIT {
                    tracing::warn!(
                        max_fetch = n,
                        "max_fetch is above {MAX_FETCH_LIMIT}; fetching {MAX_FETCH_LIMIT} a run"
                    );
                }
                n.min(MAX_FETCH_LIMIT)
            }
        };
        // Empty (or 0) means no limit of the integration's own; a missing one takes the declared
        // default, as a configured instance has it.
        let fetch_timeout = match params.whole_number(FETCH_TIMEOUT)? {
            None | Some(0) => None,
            Some(n) if n < 0 => {
                return Err(ConfigError::Invalid {
                    param: FETCH_TIMEOUT.name,
                    reason: format!("{n} is not a number of seconds"),
                });
            }
            Some(n) => {
                let seconds = n.unsigned_abs();
                if seconds > MAX_FETCH_TIMEOUT_SECS {
                    tracing::warn!(
                        fetch_timeout = seconds,
                        "fetch_timeout is above {MAX_FETCH_TIMEOUT_SECS} seconds; a run takes at most {MAX_FETCH_TIMEOUT_SECS}"
                    );
                }
                Some(std::time::Duration::from_secs(
                    seconds.min(MAX_FETCH_TIMEOUT_SECS),
                ))
            }
        };
        let lookback_minutes = match params.whole_number(FETCH_LOOKBACK)? {
            None => return Err(FETCH_LOOKBACK.missing()),
            Some(n) if !(0..=24 * 60).contains(&n) => {
                return Err(ConfigError::Invalid {
                    param: FETCH_LOOKBACK.name,
                    reason: format!("{n} is not a number of minutes from 0 to 1440"),
                });
            }
            Some(n) => n,
        };
        let kind = match params.select(FETCH_TYPE)? {
            "Incidents" => FetchKind::Incidents,
            "Alerts" => FetchKind::Alerts,
            other => return Err(FETCH_TYPE.unhandled(other)),
        };
        // Empty means no type; a missing one takes the declared default. XSOAR fills that
        // default (the pack's incident type) into every instance, so fetched alerts would land
        // on the incident type unless someone changed it: alerts keep their own type then.
        let mut incident_type = params.text(INCIDENT_TYPE)?;
        if kind == FetchKind::Alerts && incident_type == params.declared_default(INCIDENT_TYPE)? {
            incident_type = None;
        }
        Ok(FetchSettings {
            first_fetch,
            max_fetch,
            fetch_timeout,
            lookback: jiff::SignedDuration::from_mins(lookback_minutes),
            incident_type,
            kind,
        })
    }
}

#[cfg(test)]
mod fetch_settings_tests {
    use super::*;
    use serde_json::json;

    fn settings(params: Value) -> Result<FetchSettings, ConfigError> {
        FetchSettings::from_params(params.as_object().unwrap())
    }

    #[test]
    fn extreme_numbers_are_refused_or_held_at_their_documented_limits() {
        let huge = "9223372036854775807";
        let held = settings(json!({"max_fetch": huge, "fetch_timeout": huge})).unwrap();
        assert_eq!(held.max_fetch, MAX_FETCH_LIMIT);
        assert_eq!(
            held.fetch_timeout,
            Some(std::time::Duration::from_secs(MAX_FETCH_TIMEOUT_SECS))
        );
        let early = settings(json!({"first_fetch": "-62135596800"})).unwrap();
        assert_eq!(early.first_fetch, crate::time::EARLIEST);
        for (param, value) in [
            ("max_fetch", json!("-1")),
            ("max_fetch", json!("1e309")),
            ("max_fetch", json!("99999999999999999999")),
            ("max_fetch", json!(1.5)),
            ("fetch_timeout", json!("-9223372036854775808")),
            ("fetch_timeout", json!("1e309")),
            ("fetch_lookback", json!(huge)),
            ("fetch_lookback", json!("-1")),
            ("first_fetch", json!("9999-12-31T23:59:59Z")),
            ("first_fetch", json!("1e309")),
            ("first_fetch", json!("NaN")),
            ("first_fetch", json!("100000 years")),
            ("first_fetch", json!(huge)),
        ] {
            let error = settings(json!({param: value})).unwrap_err().to_string();
            assert!(
                error.contains(&format!("`{param}`")),
                "{param} {value}: {error}"
            );
        }
    }

    /// A missing parameter has its declared default, as a configured instance does; an empty
    /// `fetch_timeout` means no limit and an empty `incidentType` no type.
    #[test]
    fn missing_fetch_parameters_take_their_declared_defaults() {
        let before = jiff::Timestamp::now();
        let defaults = settings(json!({})).unwrap();
        let twelve_hours = jiff::SignedDuration::from_hours(12);
        assert!(
            defaults.first_fetch <= before - twelve_hours + jiff::SignedDuration::from_secs(60)
        );
        assert!(
            defaults.first_fetch >= before - twelve_hours - jiff::SignedDuration::from_secs(60)
        );
        assert_eq!(defaults.max_fetch, 10);
        assert_eq!(
            defaults.fetch_timeout,
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(defaults.lookback, jiff::SignedDuration::from_mins(10));
        assert_eq!(
            defaults.incident_type.as_deref(),
            Some("M365 Defender Incident")
        );
        let emptied = settings(json!({
            "first_fetch": "", "max_fetch": "", "fetch_timeout": "", "fetch_lookback": " ",
            "incidentType": ""
        }))
        .unwrap();
        assert_eq!(emptied.max_fetch, 10);
        assert_eq!(emptied.fetch_timeout, None);
        assert_eq!(emptied.lookback, jiff::SignedDuration::from_mins(10));
        assert_eq!(emptied.incident_type, None);
        assert_eq!(defaults.kind, FetchKind::Incidents);
        // Alerts: the incident type XSOAR fills in by default gives way to the alert type; a
        // type someone chose stays.
        let alerts = |params: Value| settings(params).unwrap().incident_type;
        assert_eq!(alerts(json!({"fetch_type": "Alerts"})), None);
        assert_eq!(
            alerts(json!({"fetch_type": "Alerts", "incidentType": "M365 Defender Incident"})),
            None
        );
        assert_eq!(
            alerts(json!({"fetch_type": "Alerts", "incidentType": "Phishing"})).as_deref(),
            Some("Phishing")
        );
        assert_eq!(
            settings(json!({"fetch_timeout": "0"}))
                .unwrap()
                .fetch_timeout,
            None
        );
    }
}

/// Which way incidents are mirrored (`mirror_direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorDirection {
    None,
    Incoming,
    Outgoing,
    Both,
}

impl MirrorDirection {
    /// The value XSOAR expects in a fetched incident's `mirror_direction`; none when mirroring
    /// is off.
    pub fn platform_value(self) -> Option<&'static str> {
        match self {
            MirrorDirection::None => None,
            MirrorDirection::Incoming => Some("In"),
            MirrorDirection::Outgoing => Some("Out"),
            MirrorDirection::Both => Some("Both"),
        }
    }
}

/// The mirroring parameters, validated.
#[derive(Debug, Clone)]
pub struct MirrorSettings {
    pub direction: MirrorDirection,
    /// Close the platform's incident when Defender resolves it, reopen it when reactivated.
    pub close_incident: bool,
    /// Resolve the Defender incident when the platform's incident is closed.
    pub close_out: bool,
    /// Entries with this tag are mirrored out as comments.
    pub comment_tag: String,
    /// Comments mirrored in get this tag.
    pub comment_tag_from_defender: String,
    /// The custom close reason mappings that are switched on.
    pub close_reasons: CloseReasonMapping,
}

impl MirrorSettings {
    pub fn from_params(params: &Map<String, Value>) -> Result<MirrorSettings, ConfigError> {
        let params = Params::new(params)?;
        let direction = match params.select(MIRROR_DIRECTION)? {
            "None" => MirrorDirection::None,
            "Incoming" => MirrorDirection::Incoming,
            "Outgoing" => MirrorDirection::Outgoing,
            "Incoming And Outgoing" => MirrorDirection::Both,
            other => return Err(MIRROR_DIRECTION.unhandled(other)),
        };
        Ok(MirrorSettings {
            direction,
            close_incident: params.flag(CLOSE_INCIDENT)?,
            close_out: params.flag(CLOSE_OUT)?,
            comment_tag: params
                .text(COMMENT_TAG)?
                .ok_or_else(|| COMMENT_TAG.missing())?,
            comment_tag_from_defender: params
                .text(COMMENT_TAG_FROM_DEFENDER)?
                .ok_or_else(|| COMMENT_TAG_FROM_DEFENDER.missing())?,
            close_reasons: CloseReasonMapping::parse(
                params
                    .text_if(
                        CUSTOM_XSOAR_TO_DEFENDER_CLOSE_REASON,
                        CUSTOM_XSOAR_TO_DEFENDER_CLOSE_REASON_MAPPING,
                    )?
                    .as_deref(),
                params
                    .text_if(
                        CUSTOM_DEFENDER_TO_XSOAR_CLOSE_REASON,
                        CUSTOM_DEFENDER_TO_XSOAR_CLOSE_REASON_MAPPING,
                    )?
                    .as_deref(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(params: Value) -> Result<InstanceConfig, ConfigError> {
        InstanceConfig::from_params(params.as_object().unwrap())
    }

    #[test]
    fn device_code_is_the_default_with_the_public_app() {
        let c = config(json!({})).unwrap();
        match c.flow {
            SignInFlow::DeviceCode {
                client_id,
                tenant,
                seeded_refresh_token,
            } => {
                assert_eq!(client_id, "9093c354-630a-47f1-b087-6768eb9427e6");
                assert_eq!(tenant, "organizations");
                assert!(seeded_refresh_token.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.endpoints.api_base, "https://api.security.microsoft.com");
        assert_eq!(
            c.endpoints.default_scope(),
            "https://security.microsoft.com/mtp/.default"
        );
    }

    #[test]
    fn app_id_can_carry_a_refresh_token() {
        let c = config(json!({"creds_client_id": {"password": "app@rt-1"}})).unwrap();
        let SignInFlow::DeviceCode {
            client_id,
            seeded_refresh_token,
            ..
        } = c.flow
        else {
            panic!()
        };
        assert_eq!(client_id, "app");
        assert_eq!(seeded_refresh_token.unwrap().secret(), "rt-1");
    }

    /// The hidden `_app_id`'s declared default (the XSOAR app) stands in for device code sign-in
    /// only: the deprecated `app_id` still counts, and client credentials need an app of the
    /// user's own.
    #[test]
    fn the_declared_app_id_serves_only_device_code_sign_in() {
        let c = config(json!({"app_id": "old-app"})).unwrap();
        assert!(
            matches!(c.flow, SignInFlow::DeviceCode { client_id, .. } if client_id == "old-app")
        );
        let err = config(json!({
            "client_credentials": true,
            "creds_tenant_id": {"password": "t"},
            "credentials": {"password": "s3cret"}
        }))
        .unwrap_err();
        assert!(err.to_string().contains("client ID"), "{err}");
    }

    #[test]
    fn client_credentials_prefer_a_certificate_and_need_a_tenant() {
        let c = config(json!({
            "client_credentials": true,
            "creds_client_id": {"password": "app"},
            "creds_tenant_id": {"password": "tenant"},
            "credentials": {"password": "s3cret"},
            "creds_certificate": {"identifier": "ABCD", "password": "-----BEGIN PRIVATE KEY----- x -----END PRIVATE KEY-----"}
        }))
        .unwrap();
        assert!(matches!(c.flow, SignInFlow::ClientCertificate { .. }));
        let err =
            config(json!({"client_credentials": "true", "creds_client_id": {"password": "app"}}))
                .unwrap_err();
        assert!(err.to_string().contains("tenant ID"), "{err}");
        let c = config(json!({
            "client_credentials": true, "_app_id": "app", "tenant_id": "t", "enc_key": "legacy"
        }))
        .unwrap();
        assert!(matches!(c.flow, SignInFlow::ClientSecret { .. }));
    }

    #[test]
    fn gov_clouds_replace_the_worldwide_defaults_but_not_explicit_hosts() {
        let c = config(
            json!({"endpoint_type": "GCC High", "base_url": "https://api.security.microsoft.com"}),
        )
        .unwrap();
        assert_eq!(
            c.endpoints.api_base,
            "https://api-gov.security.microsoft.us"
        );
        assert_eq!(c.endpoints.login_host, "https://login.microsoftonline.us");
        assert_eq!(
            c.endpoints.default_scope(),
            "https://security.microsoft.us/mtp/.default"
        );
        let c = config(json!({"endpoint_type": "DoD", "base_url": "http://127.0.0.1:9/", "azure_ad_endpoint": "http://127.0.0.1:9"})).unwrap();
        assert_eq!(c.endpoints.api_base, "http://127.0.0.1:9");
        assert_eq!(c.endpoints.login_host, "http://127.0.0.1:9");
        assert!(config(json!({"endpoint_type": "Mars"})).is_err());
    }

    #[test]
    fn graph_takes_each_clouds_graph_host_for_the_api_and_the_token() {
        for (cloud, graph, login) in [
            (
                "Worldwide",
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
            (
                "GCC",
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
            (
                "GCC High",
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                "DoD",
                "https://dod-graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
        ] {
            // The platform fills in the legacy host as the default Server URL.
            let c = config(json!({
                "endpoint_type": cloud,
                "api_backend": "Microsoft Graph",
                "base_url": "https://api.security.microsoft.com"
            }))
            .unwrap();
            let e = &c.endpoints;
            assert_eq!(e.backend, ApiBackend::Graph);
            assert_eq!(e.api_base, graph, "{cloud}");
            assert_eq!(e.login_host, login, "{cloud}");
            assert_eq!(e.resource, graph, "{cloud}");
            assert_eq!(e.default_scope(), format!("{graph}/.default"));
            assert_eq!(
                e.delegated_scope(),
                format!(
                    "offline_access {graph}/SecurityIncident.ReadWrite.All {graph}/ThreatHunting.Read.All {graph}/SecurityAlert.ReadWrite.All {graph}/CustomDetection.Read.All"
                )
            );
        }
    }

    #[test]
    fn with_graph_a_legacy_host_is_not_a_graph_host_but_an_explicit_one_wins() {
        let graph = |base_url: &str| {
            config(json!({"endpoint_type": "GCC High", "api_backend": "Microsoft Graph", "base_url": base_url}))
                .unwrap()
                .endpoints
                .api_base
        };
        assert_eq!(
            graph("https://api-gov.security.microsoft.us/"),
            "https://graph.microsoft.us"
        );
        assert_eq!(
            graph("https://graph.microsoft.com"),
            "https://graph.microsoft.us"
        );
        assert_eq!(graph("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        let c = config(json!({"api_backend": "Microsoft Graph"})).unwrap();
        assert_eq!(c.endpoints.api_base, "https://graph.microsoft.com");
        // The legacy API stays the default, so existing instances keep working.
        let c = config(json!({})).unwrap();
        assert_eq!(c.endpoints.backend, ApiBackend::Legacy);
        assert_eq!(
            c.endpoints.delegated_scope(),
            "offline_access https://security.microsoft.com/mtp/.default"
        );
        let error = config(json!({"api_backend": "Graph beta"})).unwrap_err();
        assert!(error.to_string().contains("api_backend"), "{error}");
    }

    #[test]
    fn the_china_cloud_is_refused_by_name_or_host() {
        for params in [
            json!({"endpoint_type": "China"}),
            json!({"endpoint_type": "China (21Vianet)", "api_backend": "Microsoft Graph"}),
            json!({"api_backend": "Microsoft Graph", "base_url": "https://microsoftgraph.chinacloudapi.cn"}),
            json!({"api_backend": "Microsoft Graph", "azure_ad_endpoint": "https://login.partner.microsoftonline.cn"}),
        ] {
            let error = config(params.clone()).unwrap_err();
            assert!(
                matches!(error, ConfigError::UnsupportedCloud),
                "{params}: {error}"
            );
            assert!(error.to_string().contains("21Vianet"), "{error}");
        }
    }

    /// Each option integration.yml declares for a select means something distinct here, and
    /// every value the program knows is among the options.
    #[test]
    fn every_declared_option_of_a_select_has_a_meaning() {
        let integration = crate::declaration::integration().unwrap();
        let options = |name: &str| integration.param(name).unwrap().options.clone();
        let clouds: Vec<Cloud> = options("endpoint_type")
            .iter()
            .map(|o| config(json!({"endpoint_type": o})).unwrap().endpoints.cloud)
            .collect();
        assert_eq!(
            clouds,
            [
                Cloud::Worldwide,
                Cloud::Gcc,
                Cloud::GccHigh,
                Cloud::Dod,
                Cloud::Custom
            ]
        );
        let backends: Vec<ApiBackend> = options("api_backend")
            .iter()
            .map(|o| config(json!({"api_backend": o})).unwrap().endpoints.backend)
            .collect();
        assert_eq!(backends, [ApiBackend::Legacy, ApiBackend::Graph]);
        let directions: Vec<MirrorDirection> = options("mirror_direction")
            .iter()
            .map(|o| {
                MirrorSettings::from_params(json!({"mirror_direction": o}).as_object().unwrap())
                    .unwrap()
                    .direction
            })
            .collect();
        assert_eq!(
            directions,
            [
                MirrorDirection::None,
                MirrorDirection::Incoming,
                MirrorDirection::Outgoing,
                MirrorDirection::Both
            ]
        );
        let error = config(json!({"endpoint_type": "Mars"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "The instance parameter `endpoint_type` is invalid: \"Mars\" is not one of its options: Worldwide, GCC, GCC High, DoD, Custom."
        );
    }

    /// The Server URL and sign-in host the platform fills in are the Worldwide hosts, which
    /// `explicit_or` reads as "the chosen cloud's host".
    #[test]
    fn the_declared_hosts_are_the_worldwide_ones() {
        let integration = crate::declaration::integration().unwrap();
        let default = |name: &str| integration.param(name).unwrap().defaultvalue.clone();
        assert_eq!(
            default("base_url"),
            Some(json!(Cloud::Worldwide.api_host()))
        );
        assert_eq!(
            default("azure_ad_endpoint"),
            Some(json!(Cloud::Worldwide.login_host()))
        );
        let c = config(json!({"endpoint_type": "GCC High"})).unwrap();
        assert_eq!(
            c.endpoints.api_base,
            "https://api-gov.security.microsoft.us"
        );
        assert_eq!(c.endpoints.login_host, "https://login.microsoftonline.us");
    }

    #[test]
    fn mirroring_defaults_come_from_the_declaration() {
        let m = MirrorSettings::from_params(&Map::new()).unwrap();
        assert_eq!(m.direction, MirrorDirection::None);
        assert!(!m.close_incident && !m.close_out);
        assert_eq!(m.comment_tag, "CommentToMicrosoft365Defender");
        assert_eq!(
            m.comment_tag_from_defender,
            "CommentFromMicrosoft365Defender"
        );
    }

    #[test]
    fn debug_output_hides_credentials() {
        let c = config(json!({
            "client_credentials": true, "creds_client_id": {"password": "app"},
            "creds_tenant_id": {"password": "t"}, "credentials": {"password": "s3cret"}
        }))
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
