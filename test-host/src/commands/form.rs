//! `atrs-test-host form <plugin-id>`: the fields a plugin describes.

use atrs_host_runtime::wire;
use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    form_input::{field_json, kind_name},
};

/// Prints the form of `plugin_id`.
pub fn run(ctx: &Context, plugin_id: &str) -> Result<(), CommandError> {
    let catalog = ctx.catalog()?;
    let plugin = catalog.find(plugin_id)?;
    let integration = ctx.open(plugin)?;
    let fields = integration.describe()?;
    let methods = integration.verify_methods();
    let out = ctx.output;
    out.say(format!(
        "{} ({}): {} fields",
        plugin.manifest().display_name,
        plugin_id,
        fields.len()
    ));
    for f in &fields {
        let mut flags = vec![kind_name(f)];
        if f.required {
            flags.push("required");
        }
        if f.advanced {
            flags.push("advanced");
        }
        out.say(format!(
            "  {:<15} {:<24} [{}]",
            f.key.as_str(),
            f.label.as_str(),
            flags.join(", ")
        ));
        if let Some(d) = f.default.as_ref().into_option() {
            out.say(format!("  {:<15} default: {d}", ""));
        }
        if let atrs_host_sdk::FieldKind::Choice { options } = f.kind() {
            let list: Vec<String> = options
                .iter()
                .map(|o| format!("{} = {}", o.value, o.label))
                .collect();
            out.say(format!("  {:<15} options: {}", "", list.join("; ")));
        }
        if let Some(h) = f.help.as_ref().into_option() {
            out.say(format!("  {:<15} {h}", ""));
        }
    }
    // As `add --verify` names them.
    let names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
    out.say(format!("  verify with: {}", names.join(", ")));
    let fields: Vec<_> = fields.iter().map(field_json).collect();
    let methods: Vec<_> = methods.iter().map(wire::method_json).collect();
    let display: Vec<_> = integration
        .settings_display()
        .iter()
        .map(wire::setting_display_json)
        .collect();
    out.result(
        "form",
        json!({"plugin": plugin_id, "fields": fields, "verify_methods": methods, "settings_display": display}),
    );
    Ok(())
}
