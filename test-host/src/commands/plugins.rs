//! `atrs-test-host plugins`: every library in the plugins folder, loaded or refused.

use serde_json::json;

use crate::{catalog::outcome_json, context::Context, error::CommandError};

/// Lists the plugins folder.
pub fn run(ctx: &Context) -> Result<(), CommandError> {
    let catalog = ctx.catalog()?;
    let out = ctx.output;
    out.say(format!("Plugins folder: {}", catalog.dir().display()));
    if !catalog.signatures_checked() {
        out.say("  Signatures are not checked: no trusted vendor keys were given, so unsigned libraries load (a developer's setting). Give --trusted-keys FILE to load only libraries signed by a trusted vendor.");
    }
    if catalog.outcomes().is_empty() {
        out.say("  (no plugin libraries found)");
    }
    for outcome in catalog.outcomes() {
        out.say(format!("{}", outcome.path.display()));
        match &outcome.result {
            Ok(p) => {
                let m = p.manifest();
                out.say(format!(
                    "  loaded: {} \"{}\" {} by {} (built against SDK {})",
                    m.id, m.display_name, m.plugin_version, m.vendor, m.sdk_version
                ));
            }
            Err(r) => {
                out.say(format!("  refused ({}): {r}", r.code()));
                out.say(format!("  fix: {}", r.hint()));
            }
        }
    }
    let plugins: Vec<_> = catalog.outcomes().iter().map(outcome_json).collect();
    out.result(
        "plugins",
        json!({
            "plugins_dir": catalog.dir(),
            "host_sdk_version": atrs_host_sdk::INTERFACE_VERSION,
            "signatures": if catalog.signatures_checked() { "required" } else { "not_checked" },
            "plugins": plugins,
        }),
    );
    Ok(())
}
