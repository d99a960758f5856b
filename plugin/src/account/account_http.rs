//! The HTTP client for one account's requests: its limits, no system proxy for a loopback
//! authority, and the extra certificate authorities its form (or `SSL_CERT_FILE`) names.

use atrs_host_sdk::PluginError;

use crate::{
    config::AccountConfig,
    fields,
    net::http::is_loopback,
    net::http::{Http, Limits},
    net::trust,
};

/// A client for `config`'s sign-in service within `limits`.
pub fn client(config: &AccountConfig, limits: Limits) -> Result<Http, PluginError> {
    let loopback = config.authority_override.as_ref().is_some_and(is_loopback);
    let roots = trust::extra_roots(config.ca_file.as_deref()).map_err(|e| {
        PluginError::invalid_input(format!("The extra trusted certificates could not be loaded: {e}."))
            .with_field(fields::CA_FILE)
            .with_hint("Fix the Extra trusted certificates field, or the SSL_CERT_FILE environment variable: each must name a PEM file of certificate authorities.")
    })?;
    Http::trusting(limits, loopback, roots)
}
