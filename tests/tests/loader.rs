//! The loader against real, separately built libraries: the Office 365 plugin and the
//! deliberately broken fixtures. Each bad library is refused with its reason and the
//! test process (the host) carries on.

use atrs_e2e::{fixture, office365_library, plugins_dir};
use atrs_host_sdk::{
    loader::{self, Refusal},
    testing::MemoryHost,
    ErrorKind, FormValues, VerifyMethod,
};

#[test]
fn the_office365_library_loads_with_its_manifest_form_and_validation() {
    let dir = plugins_dir(&[office365_library()]);
    let outcomes = loader::load_dir(dir.path()).unwrap();
    assert_eq!(outcomes.len(), 1);
    let plugin = outcomes[0].result.as_ref().expect("office365 loads");
    let m = plugin.manifest();
    assert_eq!(m.id.as_str(), "office365");
    assert_eq!(m.display_name.as_str(), "Office 365");
    assert_eq!(m.sdk_version.as_str(), atrs_host_sdk::INTERFACE_VERSION);
    assert!(!m.plugin_version.is_empty() && !m.vendor.is_empty() && !m.description.is_empty());

    let integration = plugin.instantiate(MemoryHost::new()).unwrap();
    let form = integration.describe().unwrap();
    let keys: Vec<&str> = form.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "account_name",
            "client_id",
            "tenant_id",
            "client_secret",
            "client_secret_expires",
            "cloud",
            "authority",
            "scopes",
            "response_mode",
            "ca_file",
            "max_message_mb",
            "certificate_file",
            "certificate_password",
            "sign_in",
            "mailbox",
            "site"
        ]
    );
    assert!(form
        .iter()
        .find(|f| f.key.as_str() == "client_secret")
        .unwrap()
        .is_secret());

    let bad = FormValues::new()
        .with("client_id", "nope")
        .with("tenant_id", "x");
    let fields: Vec<String> = integration
        .validate(&bad)
        .unwrap()
        .iter()
        .map(|e| e.field().to_owned())
        .collect();
    assert_eq!(fields, ["account_name", "client_id", "tenant_id"]);
    let good = FormValues::new()
        .with("account_name", "Reports")
        .with("client_id", "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
        .with("tenant_id", "contoso.onmicrosoft.com");
    assert!(integration.validate(&good).unwrap().is_empty());
}

#[test]
fn every_bad_library_is_refused_with_its_reason() {
    let dir = plugins_dir(&[
        office365_library(),
        fixture("not-a-plugin"),
        fixture("wrong-version"),
        fixture("layout-mismatch"),
        fixture("init-panics"),
        fixture("duplicate-id"),
    ]);
    std::fs::write(dir.path().join("libtext.so"), "just text").unwrap();
    let truncated = std::fs::read(office365_library()).unwrap();
    std::fs::write(
        dir.path().join("libtruncated.so"),
        &truncated[..truncated.len() / 3],
    )
    .unwrap();

    let outcomes = loader::load_dir(dir.path()).unwrap();
    let by_file = |name: &str| {
        outcomes
            .iter()
            .find(|o| o.path.file_name().unwrap().to_str().unwrap() == name)
            .unwrap_or_else(|| panic!("{name} was tried"))
    };
    assert!(by_file("libatrs_office365.so").result.is_ok());
    let refusal = |name: &str| by_file(name).result.as_ref().expect_err(name).clone();

    assert_eq!(refusal("libfixture_not_a_plugin.so").code(), "not_a_plugin");
    assert_eq!(
        refusal("libfixture_wrong_version.so"),
        Refusal::IncompatibleVersion {
            expected: atrs_host_sdk::INTERFACE_VERSION.into(),
            found: "2.0.0".into()
        }
    );
    let layout = refusal("libfixture_layout_mismatch.so");
    assert_eq!(layout.code(), "layout_mismatch");
    assert!(layout.to_string().contains("SkewedModule"), "{layout}");
    assert_eq!(refusal("libfixture_init_panics.so"), Refusal::InitPanicked);
    match refusal("libfixture_duplicate_id.so") {
        Refusal::DuplicateId { id, first } => {
            assert_eq!(id, "office365");
            assert!(first.ends_with("libatrs_office365.so"));
        }
        other => panic!("expected a duplicate id, got {other}"),
    }
    assert_eq!(refusal("libtext.so").code(), "not_a_plugin");
    assert_eq!(refusal("libtruncated.so").code(), "not_a_plugin");
    assert_eq!(outcomes.len(), 8);
}

#[test]
fn panics_inside_plugin_calls_come_back_as_internal_errors() {
    let plugin = loader::load_file(fixture("panicky")).expect("panicky loads");
    let mut integration = plugin.instantiate(MemoryHost::new()).unwrap();
    let errors = [
        integration.describe().map(drop).unwrap_err(),
        integration
            .validate(&FormValues::new())
            .map(drop)
            .unwrap_err(),
        integration
            .start_verification(&FormValues::new(), VerifyMethod::DeviceCode)
            .map(drop)
            .unwrap_err(),
        integration.save(&FormValues::new()).unwrap_err(),
        integration.close().unwrap_err(),
    ];
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::Internal, "{e:?}");
        assert!(e.message().starts_with("The plugin panicked in `"), "{e}");
        assert!(
            !e.message().contains("fixture:"),
            "the panic payload stays out of error text: {e}"
        );
    }
    // The host is unharmed: the real plugin still loads and works afterwards.
    let office = loader::load_file(office365_library()).unwrap();
    assert!(!office
        .instantiate(MemoryHost::new())
        .unwrap()
        .describe()
        .unwrap()
        .is_empty());
}

/// How many of this process's descriptors are open on `file`.
#[cfg(target_os = "linux")]
fn descriptors_open_on(file: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == file)
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn a_library_is_loaded_through_one_descriptor_however_often_it_is_loaded() {
    // A library is `dlopen`ed as /proc/self/fd/N, so its descriptor stays open while
    // it is mapped: loading the same file again goes through that one descriptor, and
    // every other library gets its own number (never taken for an earlier one).
    let dir = plugins_dir(&[office365_library(), fixture("duplicate-id")]);
    let office = dir.path().join(office365_library().file_name().unwrap());
    let other = dir
        .path()
        .join(fixture("duplicate-id").file_name().unwrap());
    let office = std::fs::canonicalize(office).unwrap();
    let other = std::fs::canonicalize(other).unwrap();
    assert_eq!(descriptors_open_on(&office), 0);
    for _ in 0..3 {
        let plugin = loader::load_file(&office).expect("office365 loads");
        assert_eq!(plugin.manifest().display_name.as_str(), "Office 365");
        assert_eq!(descriptors_open_on(&office), 1);
    }
    let duplicate = loader::load_file(&other).expect("the duplicate loads alone");
    assert_eq!(descriptors_open_on(&other), 1);
    assert_eq!(descriptors_open_on(&office), 1);
    assert_eq!(
        duplicate.manifest().id.as_str(),
        "office365",
        "the fixture claims the same id"
    );
    assert_ne!(
        duplicate.manifest().display_name.as_str(),
        "Office 365",
        "the second file is its own library, not the first one again"
    );
}
