//! `atrs-test-host plugins`: every library in the plugins folder, loaded or refused.

use serde_json::json;

use crate::{catalog::listing::listed_json, context::Context, error::CommandError};

/// Lists the plugins folder; libraries unchanged since their manifests were last read
/// are not opened (see [`Context::listing`]).
pub fn run(ctx: &Context) -> Result<(), CommandError> {
    let listing = ctx.listing()?;
    let out = ctx.output;
    out.say(format!("Plugins folder: {}", listing.dir.display()));
    if !listing.signatures_checked {
        out.say("  Signatures are not checked: no trusted vendor keys were given, so unsigned libraries load (a developer's setting). Give --trusted-keys FILE to load only libraries signed by a trusted vendor.");
    }
    if listing.entries.is_empty() {
        out.say("  (no plugin libraries found)");
    }
    for listed in &listing.entries {
        out.say(format!("{}", listed.path.display()));
        match &listed.result {
            Ok((m, _)) => {
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
    let plugins: Vec<_> = listing.entries.iter().map(listed_json).collect();
    out.result(
        "plugins",
        json!({
            "plugins_dir": listing.dir,
            "host_sdk_version": atrs_host_sdk::INTERFACE_VERSION,
            "signatures": if listing.signatures_checked { "required" } else { "not_checked" },
            "plugins": plugins,
        }),
    );
    Ok(())
}
