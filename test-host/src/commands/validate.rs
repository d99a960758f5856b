//! `atrs-test-host validate <plugin-id> --set KEY=VALUE ... [--set-secret KEY]`: per-field
//! errors.

use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    form_input::{values_from_pairs, with_defaults},
    secret_input::read_secrets,
};

/// Validates the given values (`secrets`: keys read by [`read_secrets`]); an invalid form
/// ends with exit code 2.
pub fn run(
    ctx: &Context,
    plugin_id: &str,
    pairs: &[String],
    secrets: &[String],
) -> Result<(), CommandError> {
    let catalog = ctx.catalog()?;
    let plugin = catalog.find(plugin_id)?;
    let integration = ctx.open(plugin)?;
    let form = integration.describe()?;
    let mut values = values_from_pairs(pairs, &form)?;
    read_secrets(secrets, &form, &mut values)?;
    let values = with_defaults(values, &form);
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
