//! `atrs-test-host token NAME [--plugin ID] [--scopes S] [--show-token]`: an access token
//! for a saved account — its expiry, scopes, and whether it came from the cache or a
//! refresh; the token itself only with `--show-token`.

use std::time::{Duration, Instant};

use atrs_host_sdk::{TokenRequest, TokenSource};
use serde_json::json;

use crate::{
    commands::owner::saved_account,
    context::Context,
    error::CommandError,
    health_view::{unix_now, when},
    interrupt::Interrupt,
    live_line::Spinner,
};

/// A token from the cache comes at once; a progress line appears only for a wait
/// longer than this.
const SHOW_AFTER: Duration = Duration::from_millis(300);

/// What `token` was asked.
#[derive(Debug, Clone, Default)]
pub struct TokenArgs {
    /// The account name.
    pub account: String,
    /// The plugin, when several have an account of that name.
    pub plugin: Option<String>,
    /// Scopes (space- or comma-separated); none = the scopes saved with the account.
    pub scopes: Option<String>,
    /// Print the token itself.
    pub show_token: bool,
    /// Refresh even when the cache has a token.
    pub force: bool,
}

/// Gets and describes the token.
pub fn run(ctx: &Context, args: &TokenArgs) -> Result<(), CommandError> {
    let interrupt = Interrupt::install();
    let store = ctx.existing_store()?;
    let saved = saved_account(&store, &args.account, args.plugin.as_deref())?;
    let owner = saved.plugin;
    let catalog = ctx.catalog()?;
    let handle = ctx.open(catalog.find(&owner)?)?;
    let scopes: Vec<String> = args
        .scopes
        .as_deref()
        .unwrap_or("")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut request = TokenRequest::for_scopes(scopes);
    request.force_refresh = args.force;
    let account = saved.account.clone();
    let waiting = format!("Waiting for a new access token for \"{}\"", saved.account);
    let (mut spinner, started) = (Spinner::on_terminal(), Instant::now());
    let grant = interrupt.run_showing(
        "the token request",
        move || handle.token(&account, &request),
        || {
            if started.elapsed() >= SHOW_AFTER {
                spinner.show(&waiting, started);
            }
        },
    );
    // The line goes before anything else is printed, the error included.
    spinner.clear();
    let grant = grant??;
    let token = &grant.token;
    let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
    let from = match grant.source {
        TokenSource::Cache => "from the cache",
        _ => "refreshed",
    };
    let now = unix_now();
    ctx.output.say(format!(
        "\"{}\": access token {from}, valid until {}, scopes {}",
        saved.account,
        when(token.expires_at, now),
        scopes.join(" ")
    ));
    if args.show_token {
        ctx.output.say(token.token.as_str());
    }
    let mut result = json!({
        "plugin": owner,
        "account": saved.account,
        "source": grant.source.name(),
        "expires_at": token.expires_at,
        "scopes": scopes,
    });
    if args.show_token {
        result["token"] = json!(token.token.as_str());
    }
    ctx.output.result("token", result);
    Ok(())
}
