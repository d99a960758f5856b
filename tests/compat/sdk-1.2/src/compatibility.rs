//! Whether a library fits this host: the interface version it was built against and the
//! layout of every type that crosses, checked before any plugin code runs.
//!
//! abi_stable checks a library against the host's types in one direction only: the
//! library may be *newer* than the host (more methods after a prefix, more variants of a
//! non-exhaustive enum) but never older. Left alone, that would refuse every plugin built
//! against 1.0 in a host built against 1.1, breaking the promise that 1.x plugins load
//! in every 1.y host. So for a plugin built against an older minor version this host
//! checks the other way round: that its own types are a compatible extension of the
//! plugin's. Reading past the plugin's part is guarded at run time — a method the
//! plugin's table lacks runs its default, an enum variant the plugin never sends is
//! never seen — so both directions are sound. The compatibility matrix
//! (`tests/tests/compat_matrix.rs`) proves it with separately built 1.0 and 1.1 binaries.

use abi_stable::{
    abi_stability::abi_checking::{check_layout_compatibility_with_globals, CheckingGlobals},
    library::{LibHeader, LibraryError, RootModule},
    sabi_types::VersionNumber,
    std_types::RBoxError,
    StableAbi,
};

use crate::abi::PluginModuleRef;

/// Checks the library behind `header` against this host and returns its root module.
pub(crate) fn init_root_module(header: &LibHeader) -> Result<PluginModuleRef, LibraryError> {
    let host = VersionNumber::new(PluginModuleRef::VERSION_STRINGS)
        .map_err(LibraryError::ParseVersionError)?;
    let library =
        VersionNumber::new(header.version_strings()).map_err(LibraryError::ParseVersionError)?;
    if library.major != host.major {
        // Refused, naming both versions: abi_stable's own check says so.
        return header.init_root_module::<PluginModuleRef>();
    }
    let Some(library_layout) = header.layout() else {
        return Err(LibraryError::AbiInstability(RBoxError::from_fmt(
            &"the library carries no description of its types, so they cannot be checked",
        )));
    };
    let host_layout = <PluginModuleRef as StableAbi>::LAYOUT;
    // The same or a newer minor is checked as abi_stable checks it (the library's types
    // extend the host's); an older one the other way round (see the module docs).
    let (interface, implementation) = if library.minor >= host.minor {
        (host_layout, library_layout)
    } else {
        (library_layout, host_layout)
    };
    // Checked against fresh globals, not abi_stable's process-wide ones. Those merge
    // every prefix type and trait object checked into tables that later libraries are
    // compared with, under one lock: libraries could only be checked one at a time,
    // and an older plugin's types, recorded the other way round, would stand in for the
    // host's there, so the next plugin of this host's own version would be refused as
    // a layout mismatch. Plugins never exchange values with each other, only with the
    // host, so each library is checked against the host's types alone.
    let globals = CheckingGlobals::new();
    check_layout_compatibility_with_globals(interface, implementation, &globals)
        .map_err(|e| LibraryError::AbiInstability(RBoxError::from_fmt(&e)))?;
    // SAFETY: the layouts were just checked, in the direction that fits the library's
    // minor version (see the module docs); the version is checked again inside.
    unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }
}
