//! The JSON store of earlier versions, written by hand exactly as they wrote it (nothing
//! in the host writes it any more): the input of the import tests.

use std::{collections::BTreeMap, os::unix::fs::PermissionsExt, path::Path};

/// One account of a JSON store file: plugin, account, values.
pub type Entry<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Writes one file of a JSON store (`settings.json`, `secrets.json`, or a change's
/// `*.next` copy of one) at `path`: pretty JSON `{"version": 1, "plugins": {plugin:
/// {account: {name: value}}}}`, mode 0600 for secrets and 0644 for settings.
pub fn write_file(path: &Path, accounts: &[Entry<'_>]) {
    let mut plugins: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, &str>>> = BTreeMap::new();
    for (plugin, account, values) in accounts {
        plugins
            .entry(plugin)
            .or_default()
            .insert(account, values.iter().copied().collect());
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({"version": 1, "plugins": plugins}))
        .expect("a map of strings always serializes");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let secrets = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("secrets.json"));
    let mode = if secrets { 0o600 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("protect {}: {e}", path.display()));
}
