//! `atrs-test-host form <plugin-id>`: the fields a plugin describes.

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
    let fields = ctx.open(plugin)?.describe()?;
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
    let fields: Vec<_> = fields.iter().map(field_json).collect();
    out.result("form", json!({"plugin": plugin_id, "fields": fields}));
    Ok(())
}
