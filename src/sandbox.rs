//! `--sandbox`: run one envelope against an emulator started in this process on a loopback
//! port, so the plugin can be tried, and playbooks developed, with no tenant at all. The
//! envelope's hosts are pointed at the emulator and, where it names no credentials, the
//! emulator's demo app signs in. The emulator is the `m365-emulator` crate, built in with the
//! default feature `emulator`; the production image leaves it out, and there `--sandbox` and
//! `m365-defender emulator` answer that this build has none.

#[cfg(feature = "emulator")]
use m365_emulator::{self as emulator, Emulator, EmulatorOptions};
#[cfg(feature = "emulator")]
use serde_json::{Value, json};

use crate::envelope::Envelope;
use crate::error::ExitStatus;
use crate::output::{ErrorEntry, OutputDocument, ResultItem};

/// Why `--sandbox` and `m365-defender emulator` cannot run in a build without the emulator.
#[cfg(not(feature = "emulator"))]
pub const NO_EMULATOR: &str = "This build of m365-defender has no emulator (it was built without the `emulator` feature, as the production image is), so --sandbox and `m365-defender emulator` are not available. Build with the default features to use them.";

/// Answers that this build has no emulator. The envelope was not used (exit 2): the platform
/// keeps the integration context it has.
#[cfg(not(feature = "emulator"))]
pub fn run(_envelope: Envelope) -> (OutputDocument, ExitStatus) {
    let document = OutputDocument {
        results: vec![ResultItem::Error(ErrorEntry::new(NO_EMULATOR.to_owned()))],
        integration_context: None,
        last_run: None,
        incidents: None,
    };
    (document, ExitStatus::UnusableEnvelope)
}

/// Runs `envelope` against a fresh in-process emulator.
#[cfg(feature = "emulator")]
pub fn run(mut envelope: Envelope) -> (OutputDocument, ExitStatus) {
    let (url_sender, url_receiver) = std::sync::mpsc::channel();
    let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = url_sender.send(Err(e.to_string()));
                return;
            }
        };
        runtime.block_on(async move {
            match Emulator::start(EmulatorOptions::default(), 0).await {
                Ok(emulator) => {
                    let _ = url_sender.send(Ok(emulator.base_url()));
                    let _ = stop_receiver.await;
                    emulator.shutdown().await;
                }
                Err(e) => {
                    let _ = url_sender.send(Err(e.to_string()));
                }
            }
        });
    });
    let base_url = match url_receiver.recv() {
        Ok(Ok(url)) => url,
        Ok(Err(cause)) => {
            return failed(
                envelope,
                format!("The sandbox emulator could not start: {cause}."),
            );
        }
        Err(_) => {
            return failed(
                envelope,
                "The sandbox emulator stopped before it started.".to_owned(),
            );
        }
    };
    point_at_emulator(&mut envelope, &base_url);
    let outcome = crate::run_envelope(envelope);
    let _ = stop_sender.send(());
    let _ = server.join();
    outcome
}

/// Sends every host the envelope could reach to the emulator, and fills in the demo app when
/// no sign-in is configured.
#[cfg(feature = "emulator")]
fn point_at_emulator(envelope: &mut Envelope, base_url: &str) {
    let params = &mut envelope.params;
    params.insert("base_url".to_owned(), json!(base_url));
    params.insert("azure_ad_endpoint".to_owned(), json!(base_url));
    let has_client_id = params
        .get("creds_client_id")
        .and_then(|c| c.get("password"))
        .and_then(Value::as_str)
        .is_some_and(|id| !id.is_empty());
    // The sandbox has no Azure VM to ask for a managed identity token, and must not try
    // 169.254.169.254: the demo app signs in instead.
    let uses_managed_identity = params.remove("use_managed_identities").is_some();
    if !has_client_id || uses_managed_identity {
        params.insert("client_credentials".to_owned(), json!(true));
        params.insert(
            "creds_client_id".to_owned(),
            json!({"identifier": "", "password": emulator::DEMO_CLIENT_ID}),
        );
        params.insert(
            "creds_tenant_id".to_owned(),
            json!({"identifier": "", "password": emulator::DEMO_TENANT_ID}),
        );
        params.insert(
            "credentials".to_owned(),
            json!({"identifier": "", "password": emulator::DEMO_CLIENT_SECRET}),
        );
    }
}

#[cfg(feature = "emulator")]
fn failed(envelope: Envelope, message: String) -> (OutputDocument, ExitStatus) {
    let document = OutputDocument {
        results: vec![ResultItem::Error(ErrorEntry::new(message))],
        integration_context: Some(envelope.integration_context),
        last_run: None,
        incidents: None,
    };
    (document, ExitStatus::CommandFailed)
}
