//! Checks that the library loads and opens, and that its manifest is complete.

use atrs_host_sdk::{
    loader::{self, PluginLibrary},
    testing::MemoryHost,
    Manifest, INTERFACE_MAJOR,
};

use super::{Check, Options};

const LOADS: &str = "loads and opens in this host";
const COMPLETE: &str = "manifest complete";

/// What a plugin author does about a refusal: the loader's own hint speaks of the
/// plugins folder, but `check` is given a file anywhere.
fn check_fix(refusal: &loader::Refusal, library: &std::path::Path) -> String {
    match refusal {
        loader::Refusal::NotAPlugin { .. } => format!(
            "Give `check` the plugin library your build made (target/release/lib<name>.so, built with crate-type = [\"cdylib\"] and atrs-host-sdk); {} is not one.",
            library.display()
        ),
        other => other.hint(),
    }
}

/// Loads the library and opens one instance; `None` (with a failed check) when either
/// fails, since no other check can run then.
pub fn load(options: &Options, checks: &mut Vec<Check>) -> Option<PluginLibrary> {
    let library = match loader::load_file(&options.library) {
        Ok(library) => library,
        Err(refusal) => {
            checks.push(Check::fail(
                "loads",
                LOADS,
                format!("refused ({}): {refusal}", refusal.code()),
                check_fix(&refusal, &options.library),
            ));
            return None;
        }
    };
    let opened = library
        .instantiate(MemoryHost::new())
        .and_then(|mut i| i.close());
    if let Err(e) = opened {
        checks.push(Check::fail(
            "loads",
            LOADS,
            format!("it loads, but opening an instance failed: {}", e.message()),
            "Make `Integration::new` succeed with nothing saved yet; it must not panic or block.",
        ));
        return None;
    }
    let m = library.manifest();
    checks.push(Check::pass(
        "loads",
        LOADS,
        format!(
            "{} {} by {}, built against interface {}",
            m.id, m.plugin_version, m.vendor, m.sdk_version
        ),
    ));
    Some(library)
}

/// The manifest: every field filled, an id hosts can use as a key, a semver version.
pub fn complete(m: &Manifest) -> Check {
    let mut problems = Vec::new();
    let missing = m.missing_fields();
    if !missing.is_empty() {
        problems.push(format!("empty {}", missing.join(", ")));
    }
    if !is_plugin_id(&m.id) {
        problems.push(format!(
            "the id {:?} is not lower-case letters, digits, '-', '_' or '.'",
            m.id.as_str()
        ));
    }
    if !is_semver(&m.plugin_version) {
        problems.push(format!(
            "the version {:?} is not MAJOR.MINOR.PATCH",
            m.plugin_version.as_str()
        ));
    }
    let sdk_major = m.sdk_version.split('.').next().and_then(|v| v.parse().ok());
    if sdk_major != Some(INTERFACE_MAJOR) {
        problems.push(format!(
            "sdk_version {:?} is not interface {INTERFACE_MAJOR}.x (let the SDK fill it in)",
            m.sdk_version.as_str()
        ));
    }
    if problems.is_empty() {
        return Check::pass(
            "manifest",
            COMPLETE,
            format!("id {}, version {}", m.id, m.plugin_version),
        );
    }
    Check::fail(
        "manifest",
        COMPLETE,
        problems.join("; "),
        "In `Manifest::new`, give a lower-case id such as \"acme-mail\" (hosts key saved accounts by it), a semver version such as \"1.2.0\", and a name, vendor and one-sentence description.",
    )
}

fn is_plugin_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_versions() {
        assert!(is_plugin_id("office365") && is_plugin_id("acme-mail.v2"));
        assert!(!is_plugin_id("Non Conforming") && !is_plugin_id("") && !is_plugin_id("-x"));
        assert!(is_semver("0.1.0") && is_semver("1.2.3-rc.1+build.7"));
        assert!(!is_semver("latest") && !is_semver("1.2") && !is_semver("1..2"));
    }

    #[test]
    fn a_sloppy_manifest_fails_with_every_problem() {
        let m = Manifest::new("Non Conforming", "X", "latest", "Fixtures", "d");
        let check = complete(&m);
        let json = check.to_json();
        assert_eq!(json["passed"], false);
        let why = json["why"].as_str().unwrap();
        assert!(
            why.contains("\"Non Conforming\"") && why.contains("\"latest\""),
            "{why}"
        );
    }
}
