//! Small HTML pages for manual mode and for faults: sign in, MFA, consent, device code entry.

use axum::http::StatusCode;

/// Escape text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page in the mock's frame; `body` is already HTML.
fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
<style>body{{font-family:Segoe UI,Arial,sans-serif;max-width:28em;margin:3em auto;padding:0 1em}}\
input{{display:block;width:100%;margin:.4em 0 1em;padding:.4em}}button{{padding:.4em 1.2em;margin-right:.6em}}\
.error{{color:#a80000}}.note{{color:#555;font-size:.9em}}</style></head>\n<body>\
<p class=\"note\">Mock Microsoft identity platform (local test server)</p>\n<h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape(title)
    )
}

/// An optional error paragraph.
fn error_line(error: Option<&str>) -> String {
    error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default()
}

/// Microsoft-style error page shown instead of redirecting (untrusted redirect, unknown app or tenant).
pub(crate) fn sign_in_error(headline: &str) -> String {
    layout(
        "Sorry, but we're having trouble signing you in.",
        &format!("<p class=\"error\" id=\"error\">{}</p>", escape(headline)),
    )
}

/// The sign-in page: user name and password.
pub(crate) fn sign_in(
    txn: &str,
    app_name: &str,
    login_hint: Option<&str>,
    error: Option<&str>,
) -> String {
    layout(
        "Sign in",
        &format!(
            "<p>to continue to {app}</p>{err}\
<form method=\"post\" action=\"/login/{txn}\"><input type=\"hidden\" name=\"step\" value=\"password\">\
<label>Email, phone, or Skype<input name=\"login\" type=\"email\" value=\"{hint}\" autofocus></label>\
<label>Password<input name=\"passwd\" type=\"password\"></label>\
<button type=\"submit\">Sign in</button></form>",
            app = escape(app_name),
            err = error_line(error),
            txn = escape(txn),
            hint = escape(login_hint.unwrap_or("")),
        ),
    )
}

/// The MFA page: "We sent a code to your phone".
pub(crate) fn mfa(txn: &str, upn: &str, error: Option<&str>) -> String {
    layout(
        "Enter code",
        &format!(
            "<p>{upn}</p><p>We sent a code to your phone +X XXXXXXXX. Enter the code to sign in.</p>{err}\
<form method=\"post\" action=\"/login/{txn}\"><input type=\"hidden\" name=\"step\" value=\"mfa\">\
<label>Code<input name=\"otc\" inputmode=\"numeric\" autocomplete=\"one-time-code\" autofocus></label>\
<button type=\"submit\">Verify</button></form>",
            upn = escape(upn),
            err = error_line(error),
            txn = escape(txn),
        ),
    )
}

/// The consent page (browser) or "Are you trying to sign in?" page (device code).
pub(crate) fn consent(txn: &str, app_name: &str, scopes: &[String], device: bool) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let (title, lead, yes, no) = if device {
        (
            "Are you trying to sign in?",
            format!(
                "<p>Only continue if you downloaded the app from a store or website that you trust.</p><p>{} will be able to:</p>",
                escape(app_name)
            ),
            "Continue",
            "Cancel",
        )
    } else {
        (
            "Permissions requested",
            format!("<p>{} needs your permission to:</p>", escape(app_name)),
            "Accept",
            "Cancel",
        )
    };
    layout(
        title,
        &format!(
            "{lead}<ul>{items}</ul>\
<form method=\"post\" action=\"/login/{txn}\"><input type=\"hidden\" name=\"step\" value=\"consent\">\
<button type=\"submit\" name=\"accept\" value=\"yes\">{yes}</button>\
<button type=\"submit\" name=\"accept\" value=\"no\">{no}</button></form>",
            txn = escape(txn),
        ),
    )
}

/// The device code entry page at the `verification_uri`.
pub(crate) fn device_code_entry(error: Option<&str>) -> String {
    layout(
        "Enter code",
        &format!(
            "<p>Enter the code displayed on your app or device.</p>{}\
<form method=\"post\" action=\"/devicelogin\">\
<label>Code<input name=\"otc\" autocomplete=\"off\" autofocus></label>\
<button type=\"submit\">Next</button></form>",
            error_line(error)
        ),
    )
}

/// The last device-flow page.
pub(crate) fn device_done(app_name: &str, approved: bool) -> String {
    if approved {
        layout(
            "You're signed in",
            &format!(
                "<p id=\"result\">You have signed in to the {} application on your device. You may now close this window.</p>",
                escape(app_name)
            ),
        )
    } else {
        layout(
            "Sign-in cancelled",
            &format!(
                "<p id=\"result\">You have declined to sign in to {} on your device. You may now close this window.</p>",
                escape(app_name)
            ),
        )
    }
}

/// A page that posts the authorization response to the app (`response_mode=form_post`).
pub(crate) fn form_post(redirect_uri: &str, params: &[(&str, String)]) -> String {
    let fields: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><title>Working...</title></head><body onload=\"document.forms[0].submit()\">\
<form method=\"POST\" name=\"hiddenform\" action=\"{}\">{fields}<noscript><p>Script is disabled. Click Submit to continue.</p>\
<input type=\"submit\" value=\"Submit\"></noscript></form></body></html>\n",
        escape(redirect_uri)
    )
}

/// The page after sign-out.
pub(crate) fn signed_out() -> String {
    layout(
        "You signed out of your account",
        "<p>It's a good idea to close all browser windows.</p>",
    )
}

/// What a captive portal or misrouted proxy returns: HTML with `200 OK`.
pub(crate) fn proxy_sign_in() -> String {
    "<!DOCTYPE html>\n<html><head><title>Network sign-in required</title></head>\
<body><h1>Sign in to the guest network</h1><form method=\"post\" action=\"/portal\">\
<input name=\"voucher\"><button>Connect</button></form></body></html>\n"
        .to_owned()
}

/// A gateway's HTML error page.
pub(crate) fn gateway_error(status: StatusCode) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>{s}</title></head><body><h1>{s}</h1>\
<p>The service is temporarily unavailable. Please try again later.</p></body></html>\n",
        s = escape(&status.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(sign_in("t", "<app>", Some("\"x"), None).contains("&lt;app&gt;"));
    }
}
