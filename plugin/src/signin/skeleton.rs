//! The one sign-in skeleton every method shares: discover the endpoints, sign in (by
//! device code or in the browser, each redeeming what it gets for tokens), then
//! confirm who signed in and what was granted.

use std::sync::Arc;

use atrs_host_sdk::{session::Reporter, Host, PluginError, VerifiedAccount};

use crate::{
    authority::discovery,
    config::AccountConfig,
    net::http::{host_of, Http},
    signin::browser,
    signin::device_code,
    signin::inbox::Inbox,
    signin::verified::{conclude, Verified},
};

/// How the person signs in.
pub enum Method {
    /// A code entered on another device (RFC 8628).
    DeviceCode,
    /// The browser on this machine; answers arrive through `inbox` (pasted, or caught
    /// by the loopback listener when `loopback`).
    Browser {
        /// Where pasted or caught answers go.
        inbox: Arc<Inbox>,
        /// Whether a loopback listener catches the redirect.
        loopback: bool,
    },
}

/// Runs the whole verification of `config` by `method`, reporting through `reporter`.
pub async fn verify(
    config: AccountConfig,
    http: Http,
    host: Host,
    reporter: Reporter,
    method: Method,
) -> Result<(VerifiedAccount, Verified), PluginError> {
    reporter.working(format!(
        "Contacting the sign-in service at {}…",
        host_of(&config.authority())
    ));
    let endpoints = discovery::discover(&http, &config).await?;
    let (tokens, nonce) = match method {
        Method::DeviceCode => {
            let tokens = device_code::sign_in(&config, &http, &host, &reporter, &endpoints).await?;
            (tokens, None)
        }
        Method::Browser { inbox, loopback } => {
            let (tokens, nonce) = browser::sign_in(
                &config, &http, &host, &reporter, &endpoints, inbox, loopback,
            )
            .await?;
            (tokens, Some(nonce))
        }
    };
    reporter.working("Signed in; confirming the account…");
    conclude(&http, &host, &config, &endpoints, tokens, nonce.as_ref()).await
}
