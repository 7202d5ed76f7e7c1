//! Entra ID and IMDS: device code, refresh rotation, client secrets and certificate assertions,
//! managed identities, and what the Defender API makes of the tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use m365_emulator::{
    DEMO_CERT_THUMBPRINT, DEMO_CLIENT_ID, DEMO_MANAGED_IDENTITY_CLIENT_ID,
    DEMO_NO_PERMISSIONS_CLIENT_ID, DEMO_NO_PERMISSIONS_CLIENT_SECRET, DEMO_PRIVATE_KEY_PEM,
    DEMO_TENANT_ID,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{DEFENDER_SCOPE, DEVICE_CODE_GRANT, Harness, START, keys, status_and_json};

const XSOAR_APP_ID: &str = "9093c354-630a-47f1-b087-6768eb9427e6";

async fn poll(harness: &Harness, field: &str, device_code: &str) -> (StatusCode, Value) {
    let response = harness
        .token_request(
            "organizations",
            &[
                ("client_id", XSOAR_APP_ID),
                ("grant_type", DEVICE_CODE_GRANT),
                (field, device_code),
            ],
        )
        .await;
    status_and_json(response).await
}

fn assert_entra_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for key in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[key].is_string(), "{key} missing in {body}");
    }
}

#[tokio::test]
async fn device_code_flow_pending_then_approved_then_tokens() {
    let harness = Harness::start().await;
    harness.freeze_clock().await;
    let started = harness
        .start_device_code(XSOAR_APP_ID, &format!("offline_access {DEFENDER_SCOPE}"))
        .await;
    assert_eq!(started["expires_in"], 900);
    assert_eq!(started["interval"], 5);
    assert_eq!(started["verification_uri"], harness.url("/devicelogin"));
    let user_code = started["user_code"].as_str().unwrap();
    assert!(started["message"].as_str().unwrap().contains(user_code));
    let device_code = started["device_code"].as_str().unwrap();

    let (status, body) = poll(&harness, "device_code", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "authorization_pending", 70016);

    // Polling again within the interval is too fast.
    let (status, body) = poll(&harness, "device_code", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "slow_down", 70016);

    let approval = harness
        .control(
            "/devicelogin",
            json!({"user_code": user_code.to_lowercase(), "action": "approve"}),
        )
        .await;
    assert_eq!(approval.status(), StatusCode::OK);

    harness.advance_clock(5).await;
    // The XSOAR integration redeems with the legacy field `code`; it works as `device_code` does.
    let (status, tokens) = poll(&harness, "code", device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        keys(&tokens),
        [
            "token_type",
            "scope",
            "expires_in",
            "ext_expires_in",
            "access_token",
            "refresh_token"
        ]
    );
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);

    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(harness.list_one_status(token).await, StatusCode::OK);

    harness.advance_clock(5).await;
    let (status, body) = poll(&harness, "device_code", device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "invalid_grant", 70000);
}

#[tokio::test]
async fn device_code_without_offline_access_gets_no_refresh_token() {
    let harness = Harness::start().await;
    let started = harness
        .start_device_code(XSOAR_APP_ID, "https://security.microsoft.com/mtp/.default")
        .await;
    harness
        .control("/devicelogin", json!({"user_code": started["user_code"]}))
        .await;
    let (status, tokens) = poll(
        &harness,
        "device_code",
        started["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens.get("refresh_token").is_none());
}

#[tokio::test]
async fn a_declined_or_expired_device_code_fails() {
    let harness = Harness::start().await;
    let declined = harness
        .start_device_code(XSOAR_APP_ID, DEFENDER_SCOPE)
        .await;
    // Through the sign-in page, as a person would.
    let page = harness
        .client
        .post(harness.url("/devicelogin"))
        .form(&[
            ("user_code", declined["user_code"].as_str().unwrap()),
            ("action", "decline"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("declined"));
    let (status, body) = poll(
        &harness,
        "device_code",
        declined["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "authorization_declined", 70000);

    let expired = harness
        .start_device_code(XSOAR_APP_ID, DEFENDER_SCOPE)
        .await;
    harness.advance_clock(901).await;
    let (status, body) = poll(
        &harness,
        "device_code",
        expired["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "expired_token", 70020);
    let late = harness
        .control("/devicelogin", json!({"user_code": expired["user_code"]}))
        .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_device_login_page_shows_a_form_and_refuses_unknown_codes() {
    let harness = Harness::start().await;
    let page = harness.plain_get("/devicelogin?otc=ABC").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="user_code" value="ABC""#), "{html}");
    assert!(html.contains("Approve") && html.contains("Decline"));
    let refused = harness
        .client
        .post(harness.url("/devicelogin"))
        .form(&[("user_code", "NOPE<b>"), ("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("recognize") && html.contains("NOPE&lt;b&gt;"),
        "{html}"
    );
}

async fn signed_in(harness: &Harness) -> Value {
    let started = harness
        .start_device_code(XSOAR_APP_ID, &format!("offline_access {DEFENDER_SCOPE}"))
        .await;
    harness
        .control(
            "/devicelogin",
            json!({"user_code": started["user_code"], "user": "jane@contoso.com"}),
        )
        .await;
    let (status, tokens) = poll(
        harness,
        "device_code",
        started["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn refresh(harness: &Harness, refresh_token: &str) -> (StatusCode, Value) {
    let response = harness
        .token_request(
            "organizations",
            &[
                ("client_id", XSOAR_APP_ID),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await;
    status_and_json(response).await
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_tokens_rotate() {
    let harness = Harness::start().await;
    let tokens = signed_in(&harness).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    harness.advance_clock(3600).await;
    let expired = harness.api_get(access_token, "/api/incidents?$top=1").await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let (_, body) = status_and_json(expired).await;
    assert_eq!(body["error"]["code"], "Unauthorized");

    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, renewed) = refresh(&harness, first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
    let renewed_token = renewed["access_token"].as_str().unwrap();
    assert_eq!(harness.list_one_status(renewed_token).await, StatusCode::OK);

    let (status, body) = refresh(&harness, first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "invalid_grant", 70000);

    let (status, body) = refresh(&harness, "not-a-refresh-token").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "invalid_grant", 9002313);
}

#[tokio::test]
async fn revoked_and_expired_refresh_tokens_are_refused() {
    let harness = Harness::start().await;
    let revoked = signed_in(&harness).await;
    let response = harness
        .control(
            "/refresh-tokens/revoke",
            json!({"refresh_token": revoked["refresh_token"]}),
        )
        .await;
    assert_eq!(response.json::<Value>().await.unwrap()["revoked"], 1);
    let (status, body) = refresh(&harness, revoked["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "invalid_grant", 50173);

    let expired = signed_in(&harness).await;
    harness.control("/refresh-tokens/expire", json!({})).await;
    let (_, body) = refresh(&harness, expired["refresh_token"].as_str().unwrap()).await;
    assert_entra_error(&body, "invalid_grant", 700082);

    let inactive = signed_in(&harness).await;
    harness.advance_clock(91 * 24 * 3600).await;
    let (_, body) = refresh(&harness, inactive["refresh_token"].as_str().unwrap()).await;
    assert_entra_error(&body, "invalid_grant", 700082);
}

#[tokio::test]
async fn client_secrets_are_checked() {
    let harness = Harness::start().await;
    let response = harness
        .client_credentials_token(DEMO_CLIENT_ID, "client-secret-value")
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&body),
        ["token_type", "expires_in", "ext_expires_in", "access_token"]
    );

    let (status, body) = status_and_json(
        harness
            .client_credentials_token(DEMO_CLIENT_ID, "bad-secret")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_entra_error(&body, "invalid_client", 7000215);

    let unknown = "99999999-9999-9999-9999-999999999999";
    let (status, body) =
        status_and_json(harness.client_credentials_token(unknown, "x").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "unauthorized_client", 700016);

    let response = harness
        .token_request(
            "bogus-tenant",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", "x"),
                ("grant_type", "client_credentials"),
                ("scope", DEFENDER_SCOPE),
            ],
        )
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, "invalid_request", 90002);

    let response = harness
        .client_credentials_token_for(DEMO_CLIENT_ID, "x", "https://unknown.example/.default")
        .await;
    let (_, body) = status_and_json(response).await;
    assert_entra_error(&body, "invalid_resource", 500011);
}

#[tokio::test]
async fn an_app_without_defender_permissions_gets_403() {
    let harness = Harness::start().await;
    let response = harness
        .client_credentials_token(
            DEMO_NO_PERMISSIONS_CLIENT_ID,
            DEMO_NO_PERMISSIONS_CLIENT_SECRET,
        )
        .await;
    let (_, body) = status_and_json(response).await;
    let token = body["access_token"].as_str().unwrap();
    let (status, body) = status_and_json(harness.api_get(token, "/api/incidents").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Forbidden");
    let (status, _) = status_and_json(harness.hunt(token, "AlertInfo | take 1").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn missing_unknown_and_foreign_tokens_get_401() {
    let harness = Harness::start().await;
    let missing = harness.plain_get("/api/incidents").await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let unknown = harness
        .api_get("eyJ0eXAiOiJKV1QifQ.e30.c2ln", "/api/incidents")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    // A token for Azure Resource Manager is not one for the Defender API.
    let foreign = harness
        .imds_get("/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/")
        .await;
    let (_, body) = status_and_json(foreign).await;
    let (status, body) = status_and_json(
        harness
            .api_get(body["access_token"].as_str().unwrap(), "/api/incidents")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn imds_needs_the_metadata_header_and_knows_its_identities() {
    let harness = Harness::start().await;
    let path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fapi.security.microsoft.com";
    let without = harness.plain_get(path).await;
    let (status, body) = status_and_json(without).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let system = harness.imds_get(path).await;
    let (status, body) = status_and_json(system).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], "3600");
    assert!(body["expires_on"].is_string());
    assert_eq!(body["resource"], "https://api.security.microsoft.com");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(harness.list_one_status(token).await, StatusCode::OK);

    let user_assigned = format!("{path}&client_id={DEMO_MANAGED_IDENTITY_CLIENT_ID}");
    let response = harness.imds_get(&user_assigned).await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["client_id"], DEMO_MANAGED_IDENTITY_CLIENT_ID);

    let unknown = format!("{path}&client_id=00000000-0000-0000-0000-00000000beef");
    let response = harness.imds_get(&unknown).await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "Identity not found");
}

struct Assertion {
    aud: String,
    exp: i64,
    nbf: i64,
    jti: String,
    x5t: String,
}

impl Assertion {
    fn valid(harness: &Harness) -> Assertion {
        let now = START.parse::<jiff::Timestamp>().unwrap().as_second();
        let thumbprint: Vec<u8> = (0..DEMO_CERT_THUMBPRINT.len())
            .step_by(2)
            .map(|index| u8::from_str_radix(&DEMO_CERT_THUMBPRINT[index..index + 2], 16).unwrap())
            .collect();
        Assertion {
            aud: harness.url(&format!("/{DEMO_TENANT_ID}/oauth2/v2.0/token")),
            exp: now + 600,
            nbf: now - 60,
            jti: format!("jti-{}", rand::random::<u64>()),
            x5t: URL_SAFE_NO_PAD.encode(thumbprint),
        }
    }

    fn sign(&self) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.x5t = Some(self.x5t.clone());
        let claims = json!({
            "aud": self.aud, "iss": DEMO_CLIENT_ID, "sub": DEMO_CLIENT_ID,
            "exp": self.exp, "nbf": self.nbf, "jti": self.jti,
        });
        let key = EncodingKey::from_rsa_pem(DEMO_PRIVATE_KEY_PEM.as_bytes()).unwrap();
        encode(&header, &claims, &key).unwrap()
    }
}

async fn redeem_assertion(harness: &Harness, assertion: &str) -> (StatusCode, Value) {
    let response = harness
        .token_request(
            DEMO_TENANT_ID,
            &[
                ("client_id", DEMO_CLIENT_ID),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
                ("grant_type", "client_credentials"),
                ("scope", DEFENDER_SCOPE),
            ],
        )
        .await;
    status_and_json(response).await
}

#[tokio::test]
async fn certificate_assertions_are_verified() {
    let harness = Harness::start().await;
    let good = Assertion::valid(&harness).sign();
    let (status, body) = redeem_assertion(&harness, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(harness.list_one_status(token).await, StatusCode::OK);

    let (status, body) = redeem_assertion(&harness, &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a replayed jti");
    assert_entra_error(&body, "invalid_client", 700027);

    // Change one character in the middle of the signature: every base64url character there
    // carries six bits, so the result still decodes but no longer verifies. (The last
    // character carries padding bits, and changing it can make the token malformed instead.)
    let valid = Assertion::valid(&harness).sign();
    let middle = valid.rfind('.').unwrap() + 20;
    let replacement = if &valid[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{replacement}{}", &valid[..middle], &valid[middle + 1..]);
    let (status, body) = redeem_assertion(&harness, &tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_entra_error(&body, "invalid_client", 700027);

    let wrong_audience = Assertion {
        aud: "https://login.microsoftonline.com/common/oauth2/v2.0/token".into(),
        ..Assertion::valid(&harness)
    };
    let (_, body) = redeem_assertion(&harness, &wrong_audience.sign()).await;
    assert_entra_error(&body, "invalid_client", 700027);

    let start = START.parse::<jiff::Timestamp>().unwrap().as_second();
    let expired = Assertion {
        exp: start - 3600,
        nbf: start - 7200,
        ..Assertion::valid(&harness)
    };
    let (_, body) = redeem_assertion(&harness, &expired.sign()).await;
    assert_entra_error(&body, "invalid_client", 700024);

    let future = Assertion {
        nbf: start + 3600,
        exp: start + 7200,
        ..Assertion::valid(&harness)
    };
    let (_, body) = redeem_assertion(&harness, &future.sign()).await;
    assert_entra_error(&body, "invalid_client", 700024);

    let other_certificate = Assertion {
        x5t: URL_SAFE_NO_PAD.encode([7u8; 20]),
        ..Assertion::valid(&harness)
    };
    let (_, body) = redeem_assertion(&harness, &other_certificate.sign()).await;
    assert_entra_error(&body, "invalid_client", 700027);

    let (status, body) = redeem_assertion(&harness, "not.a.jwt").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
}
