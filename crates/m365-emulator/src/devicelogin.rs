//! The page behind the device-code flow's `verification_uri`: a person types the user code shown by
//! the plugin and presses Approve or Decline, as on <https://microsoft.com/devicelogin>. It lets the
//! whole sign-in be walked through in a browser against the emulator; tests use the control API's
//! equivalent instead.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::tokens::DecisionError;
use super::{DEMO_TENANT_DOMAIN, DEMO_USER_PRINCIPAL_NAME, EmulatorState};

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn layout(title: &str, content: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - m365-defender emulator</title>
<style>
body {{ font-family: "Segoe UI", system-ui, sans-serif; background: #f2f2f2; margin: 0; }}
main {{ max-width: 440px; margin: 10vh auto; background: #fff; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }}
h1 {{ font-size: 24px; font-weight: 600; margin: 0 0 16px; }}
label {{ display: block; margin: 16px 0 4px; }}
input {{ width: 100%; box-sizing: border-box; font-size: 15px; padding: 6px 0; border: none; border-bottom: 1px solid #666; }}
.buttons {{ margin-top: 28px; display: flex; gap: 8px; justify-content: flex-end; }}
button {{ font-size: 15px; padding: 6px 24px; border: none; cursor: pointer; }}
button.approve {{ background: #0067b8; color: #fff; }}
.error {{ color: #e81123; }}
.note {{ color: #666; font-size: 13px; margin-top: 32px; }}
</style>
</head>
<body>
<main>
{content}
<p class="note">Microsoft Entra ID emulator for the tenant {DEMO_TENANT_DOMAIN}. No real account is involved.</p>
</main>
</body>
</html>
"#
    ))
}

fn code_form(code: &str, user: &str, error: Option<&str>) -> Html<String> {
    let error = error.map_or_else(String::new, |error| {
        format!(r#"<p class="error">{}</p>"#, escape_html(error))
    });
    layout(
        "Enter code",
        &format!(
            r#"<h1>Enter code</h1>
<p>Enter the code displayed on your app or device.</p>
{error}
<form method="post" action="/devicelogin">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" value="{}" autocomplete="off" autofocus required>
<label for="user">Sign in as</label>
<input id="user" name="user" value="{}">
<div class="buttons">
<button name="action" value="decline">Decline</button>
<button class="approve" name="action" value="approve">Approve</button>
</div>
</form>"#,
            escape_html(code),
            escape_html(user)
        ),
    )
}

/// `GET /devicelogin[?otc=CODE]`
pub(crate) async fn page(Query(query): Query<HashMap<String, String>>) -> Html<String> {
    code_form(
        query.get("otc").map_or("", String::as_str),
        DEMO_USER_PRINCIPAL_NAME,
        None,
    )
}

/// `POST /devicelogin` with `user_code`, `user` and `action` (`approve` or `decline`).
pub(crate) async fn submit(
    State(state): State<Arc<EmulatorState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let code = form.get("user_code").map_or("", String::as_str);
    let user = form
        .get("user")
        .map(|user| user.trim())
        .filter(|user| !user.is_empty())
        .unwrap_or(DEMO_USER_PRINCIPAL_NAME);
    let approve = form.get("action").map(String::as_str) != Some("decline");
    let mut world = state.world();
    let now = world.clock.now();
    match world
        .tokens
        .decide_device_code(code, approve.then_some(user), now)
    {
        Ok(grant) => {
            let (title, text) = if approve {
                (
                    "Signed in",
                    format!(
                        "You have signed in as {} to the application {} on your device. You may now close this window.",
                        escape_html(user),
                        escape_html(&grant.client_id)
                    ),
                )
            } else {
                (
                    "Sign-in declined",
                    format!(
                        "You have declined to sign in to the application {} on your device. You may now close this window.",
                        escape_html(&grant.client_id)
                    ),
                )
            };
            layout(title, &format!("<h1>{title}</h1>\n<p>{text}</p>")).into_response()
        }
        Err(
            error @ (DecisionError::UnknownCode
            | DecisionError::Expired
            | DecisionError::AlreadyDecided),
        ) => (
            StatusCode::BAD_REQUEST,
            code_form(code, user, Some(&error.to_string())),
        )
            .into_response(),
    }
}
