//! The binary against servers that attack it or fail it on purpose ([`crate::hostile`]): no
//! credential follows a redirect, no secret comes back out in a server's text, sign-in is
//! inside the command's deadline, answers are capped after decompression, a rotated refresh
//! token survives a broken answer, and numbers from a server cannot panic or wrap.

use std::io::Write;
use std::time::{Duration, Instant};

use m365_emulator::{DEMO_CERT_THUMBPRINT, DEMO_PRIVATE_KEY_PEM};
use serde_json::{Value, json};

use crate::hostile::{Answer, Hostile, json as json_answer, redirect, response};
use crate::support::{Run, run_bytes_within};

/// A bearer token the context holds, valid for years: API tests need no sign-in.
const KNOWN_TOKEN: &str = "at-known-bearer-0123456789abcdef";
const CLIENT_SECRET: &str = "cs+secret/value=with~odd&chars";

/// Runs the binary on `envelope` at trace level, failing the test if it has not finished
/// within `limit`: a test of "never hangs" must not hang the suite when it fails.
fn run_within(envelope: &Value, env: &[(&str, &str)], limit: Duration) -> Run {
    let mut env = env.to_vec();
    env.push(("M365D_LOG", "trace"));
    run_bytes_within(envelope.to_string().as_bytes(), &[], &env, limit)
}

fn run(envelope: &Value) -> Run {
    run_within(envelope, &[], Duration::from_secs(60))
}

/// Client secret sign-in against `login`, the API at `api`.
fn secret_params(login: &str, api: &str) -> Value {
    json!({
        "base_url": api,
        "azure_ad_endpoint": login,
        "client_credentials": true,
        "creds_client_id": {"identifier": "", "password": "app-id"},
        "creds_tenant_id": {"identifier": "", "password": "tenant-id"},
        "credentials": {"identifier": "", "password": CLIENT_SECRET}
    })
}

/// A context whose access token is good for years, so only the API is asked.
fn signed_in() -> Value {
    json!({"access_token": KNOWN_TOKEN, "valid_until": 4_000_000_000_u64, "other": "kept"})
}

fn assert_no_secret(result: &Run, secrets: &[&str]) {
    let stdout = result.document.to_string();
    for secret in secrets {
        assert!(!stdout.contains(secret), "{secret} in stdout: {stdout}");
        assert!(
            !result.stderr.contains(secret),
            "{secret} on stderr: {}",
            result.stderr
        );
    }
}

#[test]
fn no_sign_in_request_follows_a_redirect() {
    let evil = Hostile::start(|_| {
        json_answer(
            200,
            &json!({"access_token": "evil-token-value", "refresh_token": "evil-refresh", "expires_in": 3600, "device_code": "evil-device-code", "user_code": "EVIL", "verification_uri": "http://evil"}),
        )
    });
    let evil_url = evil.url.clone();
    let login = Hostile::start(move |seen| {
        let status = if seen.target.contains("devicecode") {
            308
        } else {
            307
        };
        redirect(status, &format!("{evil_url}{}", seen.target))
    });
    let api = Hostile::start(|_| json_answer(200, &json!({"value": []})));
    let certificate = json!({
        "base_url": api.url, "azure_ad_endpoint": login.url, "client_credentials": true,
        "creds_client_id": {"password": "app-id"}, "creds_tenant_id": {"password": "tenant-id"},
        "creds_certificate": {"identifier": DEMO_CERT_THUMBPRINT, "password": DEMO_PRIVATE_KEY_PEM}
    });
    let device = json!({"base_url": api.url, "azure_ad_endpoint": login.url, "creds_tenant_id": {"password": "tenant-id"}});
    let list = "microsoft-365-defender-incidents-list";
    let cases = [
        (
            "client secret",
            json!({"command": list, "params": secret_params(&login.url, &api.url)}),
        ),
        (
            "certificate",
            json!({"command": list, "params": certificate}),
        ),
        (
            "refresh token",
            json!({"command": list, "params": device, "integration_context": {"current_refresh_token": "rt-stored-refresh-token"}}),
        ),
        (
            "device code request",
            json!({"command": "microsoft-365-defender-auth-start", "params": device}),
        ),
        (
            "device code redemption",
            json!({"command": "microsoft-365-defender-auth-complete", "args": {"timeout": "5"}, "params": device,
                   "integration_context": {"device_code": "dc-pending-device-code", "device_code_interval": 1}}),
        ),
        (
            "test button",
            json!({"command": "test-module", "params": secret_params(&login.url, &api.url)}),
        ),
    ];
    for (name, envelope) in cases {
        let result = run(&envelope);
        assert_eq!(result.code, 1, "{name}: {}", result.message());
        assert!(
            result.message().contains(&format!(
                "The sign-in service at {} answered with a redirect",
                login.url
            )) && result.message().contains(&evil.url),
            "{name}: {}",
            result.message()
        );
        assert_no_secret(&result, &["evil-token-value", "evil-refresh"]);
    }
    let imds = run_within(
        &json!({"command": list, "params": {"base_url": api.url, "use_managed_identities": true}}),
        &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &login.url)],
        Duration::from_secs(60),
    );
    assert_eq!(imds.code, 1, "managed identity: {}", imds.message());
    assert!(imds.message().contains("answered with a redirect"));
    assert!(
        evil.seen().is_empty(),
        "nothing reached the redirect's host: {:?}",
        evil.seen()
    );
    assert!(api.seen().is_empty(), "no token was had, so no API call");
}

#[test]
fn api_requests_follow_no_redirect_to_another_origin() {
    let evil = Hostile::start(|_| json_answer(200, &json!({"value": [], "Results": []})));
    let evil_url = evil.url.clone();
    let api = Hostile::start(move |seen| {
        let status = if seen.method == "GET" { 302 } else { 307 };
        redirect(status, &format!("{evil_url}{}", seen.target))
    });
    let params = secret_params("http://127.0.0.1:9", &api.url);
    let cases = [
        json!({"command": "test-module"}),
        json!({"command": "microsoft-365-defender-incidents-list", "args": {"odata": "{\"$filter\":\"assignedTo eq 'x'\"}"}}),
        json!({"command": "microsoft-365-defender-incident-update", "args": {"id": "7", "status": "Resolved", "comment": "secret note"}}),
        json!({"command": "microsoft-365-defender-advanced-hunting", "args": {"query": "DeviceInfo | take 1"}}),
    ];
    for mut envelope in cases {
        envelope["params"] = params.clone();
        envelope["integration_context"] = signed_in();
        let result = run(&envelope);
        assert_eq!(
            result.code,
            1,
            "{}: {}",
            envelope["command"],
            result.message()
        );
        assert!(
            result.message().contains(&format!(
                "at {} redirected the request to {}",
                api.url, evil.url
            )),
            "{}",
            result.message()
        );
        assert_eq!(
            result.document["integration_context"], envelope["integration_context"],
            "the context is handed back unchanged"
        );
    }
    assert!(evil.seen().is_empty(), "{:?}", evil.seen());
}

#[test]
fn a_redirect_within_the_api_origin_is_followed_with_the_token() {
    let api = Hostile::start(|seen| {
        if seen.target.starts_with("/api/incidents") {
            redirect(307, "/moved/incidents?%24top=100")
        } else {
            json_answer(200, &json!({"value": []}))
        }
    });
    let result = run(&json!({
        "command": "microsoft-365-defender-incidents-list",
        "params": secret_params("http://127.0.0.1:9", &api.url),
        "integration_context": signed_in()
    }));
    assert_eq!(result.code, 0, "{}", result.message());
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].target, "/moved/incidents?%24top=100");
    assert!(
        seen[1]
            .headers
            .iter()
            .any(|h| h == &format!("authorization: Bearer {KNOWN_TOKEN}")),
        "{:?}",
        seen[1].headers
    );
}

#[test]
fn a_server_that_echoes_the_request_gets_no_secret_into_the_output() {
    // The API quotes the whole request, bearer token included, in its error and in a page
    // that is not JSON.
    let api = Hostile::start(|seen| {
        if seen.target.contains("hunting") {
            response(200, &[], seen.text().as_bytes())
        } else {
            json_answer(
                400,
                &json!({"error": {"code": "Echo", "message": seen.text()}}),
            )
        }
    });
    for command in [
        "microsoft-365-defender-incidents-list",
        "microsoft-365-defender-advanced-hunting",
    ] {
        let result = run(&json!({
            "command": command, "args": {"query": "DeviceInfo"},
            "params": secret_params("http://127.0.0.1:9", &api.url),
            "integration_context": signed_in()
        }));
        assert_eq!(result.code, 1, "{}", result.message());
        assert!(
            result.message().contains("[redacted]"),
            "{}",
            result.message()
        );
        let mut shown = result.document.clone();
        shown["integration_context"] = Value::Null;
        assert!(
            !shown.to_string().contains(KNOWN_TOKEN),
            "{command}: the token is in the entry: {}",
            result.message()
        );
        assert!(!result.stderr.contains(KNOWN_TOKEN), "{}", result.stderr);
    }
    // The token endpoint quotes the form it got: the client secret, form-encoded.
    let login = Hostile::start(|seen| {
        let form = String::from_utf8_lossy(&seen.body).into_owned();
        json_answer(
            401,
            &json!({"error": "invalid_client", "error_description": format!("Bad form: {form}"), "error_codes": [7000215]}),
        )
    });
    let result = run(&json!({
        "command": "test-module",
        "params": secret_params(&login.url, "http://127.0.0.1:9")
    }));
    assert_eq!(result.code, 1);
    assert!(
        result.message().contains("[redacted]"),
        "{}",
        result.message()
    );
    assert_no_secret(
        &result,
        &[
            CLIENT_SECRET,
            "cs%2Bsecret%2Fvalue%3Dwith%7Eodd%26chars",
            "cs+secret",
        ],
    );
}

#[test]
fn a_sign_in_host_that_never_answers_costs_the_commands_timeout_and_no_more() {
    let login = Hostile::start(|_| Answer::Hang);
    let api = Hostile::start(|_| json_answer(200, &json!({"value": []})));
    // The shortest timeout there is; "second" also matches the plural the message uses.
    let message = format!(
        "The sign-in service at {} did not answer within the command's timeout of 1 second",
        login.url
    );
    let device = json!({"base_url": api.url, "azure_ad_endpoint": login.url, "creds_tenant_id": {"password": "t"}});
    let cases = [
        json!({"command": "microsoft-365-defender-incidents-list", "args": {"timeout": "1"},
               "params": secret_params(&login.url, &api.url)}),
        json!({"command": "microsoft-365-defender-advanced-hunting", "args": {"query": "DeviceInfo", "timeout": "1"},
               "params": secret_params(&login.url, &api.url)}),
        json!({"command": "microsoft-365-defender-auth-complete", "args": {"timeout": "1"}, "params": device,
               "integration_context": {"device_code": "dc-pending-device-code", "device_code_interval": 1}}),
    ];
    // Side by side: each run waits out its own timeout, and the suite need not wait for three.
    std::thread::scope(|scope| {
        let runs: Vec<_> = cases
            .iter()
            .map(|envelope| {
                scope.spawn(|| {
                    let started = Instant::now();
                    let result = run_within(envelope, &[], Duration::from_secs(20));
                    (result, started.elapsed())
                })
            })
            .collect();
        for run in runs {
            let (result, elapsed) = run.join().unwrap();
            assert_eq!(result.code, 1, "{}", result.message());
            assert!(result.message().contains(&message), "{}", result.message());
            assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
        }
    });
    assert!(api.seen().is_empty());
}

/// `size` zero bytes, gzipped: a small answer that inflates to `size`.
fn gzip_bomb(size: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![b' '; 1024 * 1024];
    for _ in 0..size / block.len() {
        encoder.write_all(&block).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn answers_are_capped_after_decompression() {
    let small_bomb = gzip_bomb(8 * 1024 * 1024);
    let login = Hostile::start(move |_| {
        response(
            200,
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            &small_bomb,
        )
    });
    let result = run(&json!({
        "command": "test-module",
        "params": secret_params(&login.url, "http://127.0.0.1:9")
    }));
    assert_eq!(result.code, 1);
    assert!(
        result.message().contains("an answer larger than 1 MiB"),
        "{}",
        result.message()
    );

    let big_bomb = gzip_bomb(300 * 1024 * 1024);
    assert!(big_bomb.len() < 2 * 1024 * 1024, "{}", big_bomb.len());
    let api = Hostile::start(move |_| {
        response(
            200,
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            &big_bomb,
        )
    });
    let result = run(&json!({
        "command": "microsoft-365-defender-incidents-list",
        "params": secret_params("http://127.0.0.1:9", &api.url),
        "integration_context": signed_in()
    }));
    assert_eq!(result.code, 1);
    assert!(
        result.message().contains("larger than 256 MiB"),
        "{}",
        result.message()
    );
}

#[test]
fn a_rotated_refresh_token_is_kept_whatever_else_is_wrong_with_its_answer() {
    let login = Hostile::start(|_| {
        json_answer(
            200,
            &json!({"access_token": 42, "refresh_token": "rt-rotated-new-one", "expires_in": "soon"}),
        )
    });
    let device = json!({"base_url": "http://127.0.0.1:9", "azure_ad_endpoint": login.url, "creds_tenant_id": {"password": "t"}});
    let result = run(&json!({
        "command": "microsoft-365-defender-incidents-list", "params": device,
        "integration_context": {"current_refresh_token": "rt-spent-old-one", "other": 1}
    }));
    assert_eq!(result.code, 1);
    assert!(
        result
            .message()
            .contains("The new refresh token it sent was kept"),
        "{}",
        result.message()
    );
    let context = &result.document["integration_context"];
    assert_eq!(context["current_refresh_token"], "rt-rotated-new-one");
    assert_eq!(context["other"], 1);

    // The device code redeemed into a broken answer: the code is spent, the token kept.
    let result = run(&json!({
        "command": "microsoft-365-defender-auth-complete", "args": {"timeout": "5"}, "params": device,
        "integration_context": {"device_code": "dc-pending-device-code", "device_code_interval": 1}
    }));
    assert_eq!(result.code, 1);
    let context = &result.document["integration_context"];
    assert_eq!(context["current_refresh_token"], "rt-rotated-new-one");
    assert!(context.get("device_code").is_none(), "{context}");
}

#[test]
fn numbers_from_the_sign_in_service_are_clamped_not_added_to_the_clock() {
    let login = Hostile::start(|seen| {
        if seen.target.contains("devicecode") {
            json_answer(
                200,
                &json!({"device_code": "dc-from-a-broken-service", "user_code": "ABCD", "verification_uri": "https://microsoft.com/devicelogin",
                        "expires_in": 9_223_372_036_854_775_807_i64, "interval": 18_446_744_073_709_551_615_u64}),
            )
        } else if seen.body.starts_with(b"grant_type=urn") {
            json_answer(
                400,
                &json!({"error": "authorization_pending", "error_description": "waiting"}),
            )
        } else {
            json_answer(
                200,
                &json!({"access_token": "at-from-a-broken-service", "expires_in": 1e300}),
            )
        }
    });
    let api = Hostile::start(|_| json_answer(200, &json!({"value": []})));
    let now = jiff::Timestamp::now().as_second();
    let result = run(&json!({
        "command": "microsoft-365-defender-incidents-list",
        "params": secret_params(&login.url, &api.url)
    }));
    assert_eq!(result.code, 0, "{}", result.message());
    let valid_until = result.document["integration_context"]["valid_until"]
        .as_i64()
        .unwrap();
    assert!(
        valid_until > now && valid_until <= now + 48 * 3600 + 60,
        "{valid_until}"
    );

    let device = json!({"base_url": api.url, "azure_ad_endpoint": login.url, "creds_tenant_id": {"password": "t"}});
    let started = run(&json!({"command": "microsoft-365-defender-auth-start", "params": device}));
    assert_eq!(started.code, 0, "{}", started.message());
    let context = started.document["integration_context"].clone();
    assert!(context["device_code_interval"].as_u64().unwrap() <= 60);
    let expires_at = context["device_code_expires_at"].as_i64().unwrap();
    assert!(expires_at <= now + 24 * 3600 + 60, "{expires_at}");

    // A stored interval past any sense, as a damaged context could hold.
    let mut context = context;
    context["device_code_interval"] = json!(18_446_744_073_709_551_615_u64);
    let result = run_within(
        &json!({"command": "microsoft-365-defender-auth-complete", "args": {"timeout": "3"},
                "params": device, "integration_context": context}),
        &[],
        Duration::from_secs(20),
    );
    result.assert_failed(1, "The sign-in is not finished yet");
}

#[test]
fn a_throttling_wait_past_any_deadline_gives_up_at_once() {
    let api = Hostile::start(|_| {
        json_answer(
            429,
            &json!({"error": {"code": "TooManyRequests", "message": "Try again in 99999999999999999999 minutes."}}),
        )
    });
    let started = Instant::now();
    let result = run_within(
        &json!({"command": "microsoft-365-defender-incidents-list", "args": {"timeout": "30"},
                "params": secret_params("http://127.0.0.1:9", &api.url), "integration_context": signed_in()}),
        &[],
        Duration::from_secs(20),
    );
    result.assert_failed(1, "Error in API call [429]");
    // The service's wait is said as it was given (capped at the latest time the integration
    // writes), not as "in a minute".
    result.assert_failed(1, "try again after 2200-01-01T00:00:00Z");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(api.seen().len(), 1, "no retry for a wait that cannot fit");
}

#[test]
fn a_ca_bundle_named_as_xsoar_engines_name_it_is_trusted() {
    let server = Hostile::start_tls(|seen| {
        if seen.target.contains("/oauth2/v2.0/token") {
            json_answer(
                200,
                &json!({"access_token": "at-over-tls-0123456789", "expires_in": 3600}),
            )
        } else {
            json_answer(200, &json!({"value": []}))
        }
    });
    let ca = crate::support::repo_path("test_data/certs/test-ca.pem");
    let ca_file = ca.to_str().unwrap();
    let ca_dir = ca.parent().unwrap().to_str().unwrap();
    let envelope = json!({
        "command": "test-module",
        "params": secret_params(&server.url, &server.url)
    });
    let limit = Duration::from_secs(60);
    let untrusted = run_within(&envelope, &[], limit);
    assert_eq!(untrusted.code, 1, "{}", untrusted.message());
    assert!(
        untrusted.message().contains(&format!(
            "The sign-in service at {} could not be reached",
            server.url
        )),
        "{}",
        untrusted.message()
    );
    for variable in [
        ("REQUESTS_CA_BUNDLE", ca_file),
        ("SSL_CERT_FILE", ca_file),
        ("SSL_CERT_DIR", ca_dir),
    ] {
        let trusted = run_within(&envelope, &[variable], limit);
        assert_eq!(trusted.code, 0, "{variable:?}: {}", trusted.message());
        assert_eq!(trusted.document["results"][0], "ok");
    }
    let missing = run_within(
        &envelope,
        &[("REQUESTS_CA_BUNDLE", "/nonexistent/bundle.pem")],
        limit,
    );
    missing.assert_failed(1, "REQUESTS_CA_BUNDLE names \"/nonexistent/bundle.pem\"");
}
