//! A local, stateful stand-in for Microsoft Entra ID (sign-in), Azure IMDS (managed identities),
//! the Microsoft 365 Defender API and Microsoft Graph's security API, served on 127.0.0.1. It exists so that the plugin can be tried
//! and developed offline (`m365-defender emulator`, `--sandbox`) and so that tests run the real
//! binary against services that behave like Microsoft's — their JSON, their errors, their limits —
//! without a tenant. A control API under `/_emulator` moves its clock, injects faults, adds
//! incidents and shows what it received.
//!
//! It depends on nothing of the plugin: Microsoft's names and formats are written out here again
//! (`vocabulary`, `clock::format_time`, [`NOT_UNRESERVED`]), so that a mistake in the client's
//! copy fails a test instead of being echoed back.

mod access;
mod client_assertion;
mod clock;
mod control;
mod defender;
mod devicelogin;
mod dialect;
mod entra;
mod faults;
mod graph;
mod hunting;
mod imds;
mod incidents;
mod kql;
mod model;
mod odata;
mod registrations;
mod requests;
mod rules;
mod tables;
mod tenant;
mod tokens;
mod vocabulary;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The demo tenant every emulator hosts. The tenant, app and secret are those of the XSOAR
/// integration's recordings, so recorded envelopes run unchanged against the emulator.
pub const DEMO_TENANT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
/// The demo tenant's initial domain; sign-in accepts it in place of the tenant id.
pub const DEMO_TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";
/// A confidential app registration with `Incident.ReadWrite.All` and `AdvancedHunting.Read.All`
/// on the Defender API (on Graph: `SecurityIncident.ReadWrite.All`, `ThreatHunting.Read.All`,
/// `SecurityAlert.ReadWrite.All`, `CustomDetection.Read.All`), a client secret and the demo
/// certificate.
pub const DEMO_CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const DEMO_CLIENT_SECRET: &str = "client-secret-value";
/// An app registration with a secret but no Defender permissions: its tokens get 403.
pub const DEMO_NO_PERMISSIONS_CLIENT_ID: &str = "22222222-3333-4444-5555-666666666666";
pub const DEMO_NO_PERMISSIONS_CLIENT_SECRET: &str = "no-permissions-secret-value";
/// Hex SHA-1 thumbprint of `DEMO_CERT_PEM`, as the Entra portal shows it.
pub const DEMO_CERT_THUMBPRINT: &str = "6048FC7C5F9329938D7CCC3B85FE113BC920EFDA";
/// The demo certificate uploaded to the demo app (self-signed, test only).
pub const DEMO_CERT_PEM: &str = include_str!("../../../test_data/certs/demo-cert.pem");
/// The demo certificate's private key, PKCS#8, so the sandbox can use the certificate flow.
pub const DEMO_PRIVATE_KEY_PEM: &str = include_str!("../../../test_data/certs/demo-key.pem");
/// A user-assigned managed identity that IMDS knows (pass it as `client_id`).
pub const DEMO_MANAGED_IDENTITY_CLIENT_ID: &str = "33333333-4444-5555-6666-777777777777";
/// The client id of the machine's system-assigned identity (IMDS without `client_id`).
pub const DEMO_SYSTEM_MANAGED_IDENTITY_CLIENT_ID: &str = "44444444-5555-6666-7777-888888888888";
/// Who signs in on the device-login page unless another name is typed there.
pub const DEMO_USER_PRINCIPAL_NAME: &str = "soc.analyst1@contoso.com";

/// How an emulator starts.
#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    /// Seed of all generated data: the same seed (and start time) gives byte-identical data.
    pub seed: u64,
    /// How many incidents the seeded tenant holds, spread over the 30 days before `start_time`.
    pub incidents: usize,
    /// The emulator's clock at start; `None` means the system's current time.
    pub start_time: Option<Timestamp>,
    /// `expires_in` of access tokens from Entra ID and IMDS.
    pub access_token_lifetime_secs: u64,
    /// Whether Defender's rate limits (50 incident calls, 45 hunting calls a minute) apply.
    pub throttling: bool,
    /// How long an unused refresh token stays redeemable (Entra ID: 90 days).
    pub refresh_token_lifetime_secs: u64,
    /// How long a device code can be redeemed (Entra ID: 900 seconds).
    pub device_code_lifetime_secs: u64,
    /// Seconds a client must wait between device-code polls: the `interval` of the device-code
    /// answer (Entra ID: 5, <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>).
    /// Tests shorten it so that a sign-in does not wait five real seconds a poll.
    pub device_code_poll_interval_secs: u64,
}

impl Default for EmulatorOptions {
    fn default() -> EmulatorOptions {
        EmulatorOptions {
            seed: 1,
            incidents: 250,
            start_time: None,
            access_token_lifetime_secs: 3600,
            throttling: false,
            refresh_token_lifetime_secs: 90 * 24 * 3600,
            device_code_lifetime_secs: 900,
            device_code_poll_interval_secs: 5,
        }
    }
}

/// Everything that changes while the emulator runs; one lock guards it all, so every request
/// sees a consistent tenant.
pub(crate) struct World {
    pub(crate) clock: clock::Clock,
    pub(crate) tenant: tenant::Tenant,
    pub(crate) tokens: tokens::TokenRegistry,
    /// Client-assertion `jti`s already redeemed, with their expiry (replay protection).
    pub(crate) used_assertions: HashMap<String, Timestamp>,
    pub(crate) faults: faults::Faults,
    pub(crate) rate_limits: faults::RateLimits,
    pub(crate) requests: requests::RequestLog,
}

impl World {
    fn seeded(options: &EmulatorOptions, start: Timestamp) -> World {
        World {
            clock: clock::Clock::starting_at(start),
            tenant: tenant::Tenant::seeded(options.seed, options.incidents, start),
            tokens: tokens::TokenRegistry::default(),
            used_assertions: HashMap::new(),
            faults: faults::Faults::default(),
            rate_limits: faults::RateLimits::new(options.throttling),
            requests: requests::RequestLog::default(),
        }
    }
}

pub(crate) struct EmulatorState {
    pub(crate) base_url: String,
    pub(crate) options: EmulatorOptions,
    /// The clock's reading at start; the seeded data ends here.
    pub(crate) start: Timestamp,
    pub(crate) certificate: client_assertion::RegisteredCertificate,
    world: Mutex<World>,
    hunting_tables: OnceLock<Arc<tables::GeneratedTables>>,
}

impl EmulatorState {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to the state right after start: seeded data, clock at the start time, no tokens,
    /// faults, log entries or rate-limit history.
    pub(crate) fn reset(&self) {
        *self.world() = World::seeded(&self.options, self.start);
    }

    /// The generated hunting tables, made on the first hunting query so that start-up stays fast.
    pub(crate) fn hunting_tables(&self) -> Arc<tables::GeneratedTables> {
        Arc::clone(self.hunting_tables.get_or_init(|| {
            let directory = Arc::clone(&self.world().tenant.directory);
            Arc::new(tables::GeneratedTables::new(
                self.options.seed,
                self.start,
                directory,
            ))
        }))
    }

    pub(crate) fn access_token_lifetime(&self) -> SignedDuration {
        SignedDuration::from_secs(self.options.access_token_lifetime_secs as i64)
    }
}

fn router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/devicecode", post(entra::device_code))
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route(
            "/devicelogin",
            get(devicelogin::page).post(devicelogin::submit),
        )
        .route("/metadata/identity/oauth2/token", get(imds::token))
        .route("/api/incidents", get(incidents::list))
        .route(
            "/api/incidents/{id}",
            get(incidents::get).patch(incidents::update),
        )
        .route("/api/advancedhunting/run", post(hunting::run))
        .merge(graph::router())
        .nest("/_emulator", control::router())
        .fallback(defender::unknown_route)
        .layer(from_fn_with_state(Arc::clone(&state), faults::inject))
        .layer(from_fn_with_state(Arc::clone(&state), requests::record))
        .with_state(state)
}

/// A running emulator. Dropping it leaves the server running until the runtime stops; call
/// [`Emulator::shutdown`] to stop it.
pub struct Emulator {
    base_url: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

impl Emulator {
    /// Binds 127.0.0.1:`port` (0 picks a free port) and serves in a spawned task.
    pub async fn start(options: EmulatorOptions, port: u16) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let start = options.start_time.unwrap_or_else(Timestamp::now);
        let world = World::seeded(&options, start);
        let state = Arc::new(EmulatorState {
            base_url: base_url.clone(),
            options,
            start,
            certificate: client_assertion::RegisteredCertificate::demo(),
            world: Mutex::new(world),
            hunting_tables: OnceLock::new(),
        });
        let app = router(state).into_make_service_with_connect_info::<faults::ConnectionControl>();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(faults::DroppableListener::new(listener), app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
        let server = tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "the emulator's server stopped");
            }
        });
        Ok(Emulator {
            base_url,
            stop,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`: Entra ID, IMDS, the Defender API, Microsoft Graph (`/v1.0`) and
    /// `/_emulator` all live here.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// Runs the emulator in the foreground until Ctrl-C (`m365-defender emulator`), telling on stderr
/// where it listens and how to point the plugin at it.
pub fn run_until_interrupted(options: EmulatorOptions, port: u16) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let seed = options.seed;
        let incidents = options.incidents;
        let emulator = Emulator::start(options, port).await?;
        let url = emulator.base_url();
        eprintln!(
            "m365-defender emulator: Entra ID, Azure IMDS, the Defender API and Microsoft Graph security at {url}\n\
             \n  seed {seed}, {incidents} incidents over the last 30 days\n\
             \n  tenant id              {DEMO_TENANT_ID}\
             \n  client id              {DEMO_CLIENT_ID}\
             \n  client secret          {DEMO_CLIENT_SECRET}\
             \n  certificate thumbprint {DEMO_CERT_THUMBPRINT} (key: test_data/certs/demo-key.pem)\
             \n  managed identity       {DEMO_MANAGED_IDENTITY_CLIENT_ID} (IMDS at {url}/metadata/identity/oauth2/token)\
             \n  device-code sign-in    {url}/devicelogin (any client id; signs in as {DEMO_USER_PRINCIPAL_NAME})\n\
             \nPoint the plugin at it with the instance parameters\
             \n  \"base_url\": \"{url}\", \"azure_ad_endpoint\": \"{url}\",\
             \n  \"creds_tenant_id\": {{\"password\": \"{DEMO_TENANT_ID}\"}}, \"creds_client_id\": {{\"password\": \"{DEMO_CLIENT_ID}\"}},\
             \n  \"client_credentials\": true, \"credentials\": {{\"password\": \"{DEMO_CLIENT_SECRET}\"}}\n\
             \nControl API: {url}/_emulator (reset, clock, faults, incidents, requests). Ctrl-C stops."
        );
        tokio::signal::ctrl_c().await?;
        emulator.shutdown().await;
        Ok(())
    })
}

/// What to percent-encode: everything but RFC 3986's unreserved characters
/// (<https://www.rfc-editor.org/rfc/rfc3986#section-2.3>), as the ids in Microsoft's portal links
/// and the `$filter` of an `@odata.nextLink` are written.
pub(crate) const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use percent_encoding::utf8_percent_encode;

    use super::NOT_UNRESERVED;

    fn percent_encode(text: &str) -> String {
        utf8_percent_encode(text, NOT_UNRESERVED).to_string()
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            percent_encode("status eq 'Active'"),
            "status%20eq%20%27Active%27"
        );
        assert_eq!(
            percent_encode("a-b.c_d~e/f?#%é"),
            "a-b.c_d~e%2Ff%3F%23%25%C3%A9"
        );
    }
}
