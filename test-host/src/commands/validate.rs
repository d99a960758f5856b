//! `atrs-test-host validate <plugin-id> --set KEY=VALUE ...`: per-field errors.

use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    form_input::{values_from_pairs, with_defaults},
};

/// Validates the given values; an invalid form ends with exit code 2.
pub fn run(ctx: &Context, plugin_id: &str, pairs: &[String]) -> Result<(), CommandError> {
    let catalog = ctx.catalog()?;
    let plugin = catalog.find(plugin_id)?;
    let integration = ctx.open(plugin)?;
    let form = integration.describe()?;
    let values = with_defaults(values_from_pairs(pairs, &form)?, &form);
    let errors = integration.validate(&values)?;
    if !errors.is_empty() {
        return Err(CommandError::invalid_form(errors));
    }
    ctx.output.say(format!(
        "The {} form is valid.",
        plugin.manifest().display_name
    ));
    ctx.output.result(
        "validate",
        json!({"plugin": plugin_id, "valid": true, "field_errors": []}),
    );
    Ok(())
}
