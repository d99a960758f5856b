//! The C surface, as a C program uses it: `tests/c/add_and_token.c`, compiled by gcc
//! from the committed `atrs_host.h` and linked to the built `libatrs_host.so`, lists the
//! plugins, shows the form, adds an account by device code and gets a token against
//! the mock. Plus the library's refusals of NULL and bad text, called directly.

use std::{
    ffi::{CStr, CString},
    process::Command,
    ptr,
    time::Duration,
};

use atrs_e2e::{host_c_library, office365_library, plugins_dir, repo_root, tools};
use atrs_host::{atrs_host_close, atrs_host_free, atrs_host_open, atrs_host_request};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use serde_json::Value;

fn mock() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("mock starts")
}

#[test]
fn a_c_program_lists_shows_the_form_adds_and_gets_a_token() {
    let Some(gcc) = tools::required("gcc", "gcc") else {
        return;
    };
    let library = host_c_library();
    let lib_dir = library.parent().unwrap();
    let work = tempfile::tempdir().unwrap();
    let program = work.path().join("add_and_token");
    let root = repo_root();
    let compiled = Command::new(gcc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("host-sdk/runtime/c/include"))
        .arg(root.join("tests/c/add_and_token.c"))
        .arg("-L")
        .arg(lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-latrs_host", "-o"])
        .arg(&program)
        .output()
        .expect("gcc runs");
    assert!(
        compiled.status.success(),
        "gcc refused the program or the header:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );

    let mock = mock();
    let plugins = plugins_dir(&[office365_library()]);
    let store = work.path().join("store");
    let run = Command::new(&program)
        .arg(plugins.path())
        .arg(&store)
        .arg(mock.base_url())
        .args([defaults::DESKTOP_CLIENT_ID, defaults::TENANT_ID, "From C"])
        .output()
        .expect("the program runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the C program failed ({:?}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let answer = |step: &str| -> Value {
        let line = stdout
            .lines()
            .rfind(|l| l.starts_with(&format!("{step} ")))
            .unwrap_or_else(|| panic!("no `{step}` line in:\n{stdout}"));
        serde_json::from_str(&line[step.len() + 1..]).expect("an answer is JSON")
    };
    assert!(stdout.starts_with("protocol 1.1\n"), "{stdout}");
    assert_eq!(answer("plugins")["plugins"][0]["id"], "office365");
    assert!(answer("form")["fields"].as_array().unwrap().len() >= 4);
    assert_eq!(answer("verify.poll")["state"], "verified");
    assert_eq!(answer("save")["account"], "From C");
    let token = answer("token");
    assert!(
        token["token"].as_str().is_some_and(|t| !t.is_empty()),
        "{token}"
    );
    assert_eq!(stdout.lines().last(), Some("DONE"));
    // The account is in the store the program named, for every other host to use.
    let listed = atrs_test_host_accounts(&store);
    assert_eq!(listed, ["From C"]);
}

fn atrs_test_host_accounts(store: &std::path::Path) -> Vec<String> {
    atrs_host_runtime::store::Store::open(store)
        .unwrap()
        .list("office365")
        .unwrap()
}

/// Calls the library directly, as any FFI caller would, with every bad argument.
#[test]
fn null_and_malformed_arguments_are_error_answers_never_a_crash() {
    let answer_of = |text: *mut std::ffi::c_char| -> Value {
        assert!(!text.is_null());
        // SAFETY: a text the library returned, read once and freed once.
        let value =
            serde_json::from_str(unsafe { CStr::from_ptr(text) }.to_str().unwrap()).unwrap();
        unsafe { atrs_host_free(text) };
        value
    };
    // SAFETY: the calls below pass NULL, bad text and valid pointers only.
    unsafe {
        let mut error = ptr::null_mut();
        assert!(atrs_host_open(ptr::null(), &mut error).is_null());
        assert_eq!(answer_of(error)["error"]["kind"], "invalid_request");
        let bad = CString::new("{not json").unwrap();
        assert!(atrs_host_open(bad.as_ptr(), &mut error).is_null());
        assert!(answer_of(error)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("options"));
        let no_dir = CString::new(r#"{"plugins_dir": "/no/such/folder"}"#).unwrap();
        assert!(atrs_host_open(no_dir.as_ptr(), ptr::null_mut()).is_null());

        let answer = answer_of(atrs_host_request(ptr::null(), ptr::null()));
        assert_eq!(answer["error"]["kind"], "invalid_request");

        let plugins = plugins_dir(&[office365_library()]);
        let store = tempfile::tempdir().unwrap();
        let options = CString::new(
            serde_json::json!({"plugins_dir": plugins.path(), "store": store.path()}).to_string(),
        )
        .unwrap();
        let host = atrs_host_open(options.as_ptr(), &mut error);
        assert!(!host.is_null() && error.is_null());
        assert_eq!(
            answer_of(atrs_host_request(host, ptr::null()))["error"]["kind"],
            "invalid_request"
        );
        let latin1 = [0xe9u8, b'{', 0];
        let answer = answer_of(atrs_host_request(host, latin1.as_ptr().cast()));
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("UTF-8"),
            "{answer}"
        );
        let hello = CString::new(r#"{"request":"hello"}"#).unwrap();
        assert_eq!(
            answer_of(atrs_host_request(host, hello.as_ptr()))["ok"],
            true
        );
        atrs_host_free(ptr::null_mut());
        atrs_host_close(host);
        atrs_host_close(ptr::null_mut());
    }
}
