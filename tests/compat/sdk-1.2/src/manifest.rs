//! What a plugin says about itself before anything else is called.

use abi_stable::{std_types::RString, StableAbi};

use crate::version::INTERFACE_VERSION;

/// The identity of a plugin, read by the host right after loading.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct Manifest {
    /// Stable machine id (`office365`); unique among loaded plugins.
    pub id: RString,
    /// The name shown under Integrations (`Office 365`).
    pub display_name: RString,
    /// The plugin's own version (semver).
    pub plugin_version: RString,
    /// Who ships it.
    pub vendor: RString,
    /// One sentence on what it connects.
    pub description: RString,
    /// The interface version of host-sdk the plugin was built against; filled in by the SDK.
    pub sdk_version: RString,
}

impl Manifest {
    /// A manifest stamped with the interface version this plugin is being built against.
    pub fn new(
        id: impl Into<String>,
        display_name: impl Into<String>,
        plugin_version: impl Into<String>,
        vendor: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Manifest {
            id: RString::from(id.into()),
            display_name: RString::from(display_name.into()),
            plugin_version: RString::from(plugin_version.into()),
            vendor: RString::from(vendor.into()),
            description: RString::from(description.into()),
            sdk_version: RString::from(INTERFACE_VERSION),
        }
    }

    /// The fields that are empty but must not be, by name.
    pub fn missing_fields(&self) -> Vec<&'static str> {
        [
            ("id", &self.id),
            ("display_name", &self.display_name),
            ("plugin_version", &self.plugin_version),
            ("vendor", &self.vendor),
            ("description", &self.description),
            ("sdk_version", &self.sdk_version),
        ]
        .into_iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(name, _)| name)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_stamps_the_interface_version_and_reports_gaps() {
        let m = Manifest::new("x", "X", "0.1.0", "", "does x");
        assert_eq!(m.sdk_version.as_str(), INTERFACE_VERSION);
        assert_eq!(m.missing_fields(), vec!["vendor"]);
    }
}
