//! What a plugin runner inherits of its host's environment: what any program needs to
//! run and reach the network (paths, locale, time zone, temporary and user folders,
//! proxies, certificate files) and the plugin's own `ATRS_{ID}_…` settings — never the
//! host's store location, store key, database password or anything else it was given.
//! [`runner_command`] starts every runner so, whatever it is started for.

use std::{
    ffi::{OsStr, OsString},
    path::Path,
    process::Command,
};

/// Variables passed on by exact name (compared without case, as Windows does).
const BY_NAME: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "WINDIR",
    "SYSTEMDRIVE",
    "APPDATA",
    "LOCALAPPDATA",
    "USERPROFILE",
    "PROGRAMDATA",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "RUST_BACKTRACE",
];

/// Variables passed on by prefix.
const BY_PREFIX: &[&str] = &["LC_", "XDG_"];

/// The host's own settings: never passed on, whatever a plugin's id makes its prefix
/// (a plugin `store` would otherwise get `ATRS_STORE_…`, the store's location and key).
const HOST_ONLY: &[&str] = &[
    "ATRS_STORE",
    "ATRS_PLUGINS_DIR",
    "ATRS_PLUGIN_RUNNER",
    "ATRS_TRUSTED_KEYS",
    "ATRS_MANIFEST_CACHE",
];

/// The prefix of the settings that belong to plugin `id`: `ATRS_OFFICE365_` for
/// `office365`.
pub fn plugin_prefix(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("ATRS_{id}_")
}

/// Whether the runner of `plugin` (none: a runner for no plugin in particular, which
/// gets no plugin's own settings) inherits the variable `name`.
pub fn inherits(plugin: Option<&str>, name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let upper = name.to_ascii_uppercase();
    if HOST_ONLY.iter().any(|h| upper.starts_with(h)) {
        return false;
    }
    BY_NAME.contains(&upper.as_str())
        || BY_PREFIX.iter().any(|p| upper.starts_with(p))
        || plugin.is_some_and(|id| upper.starts_with(&plugin_prefix(id)))
}

/// The variables of `environment` the runner of `plugin` inherits.
pub fn for_runner(
    plugin: Option<&str>,
    environment: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    environment
        .into_iter()
        .filter(|(name, _)| inherits(plugin, name))
        .collect()
}

/// The runner `program` with `args`, for `plugin`: the environment it inherits, a
/// process group of its own (Ctrl-C at the terminal reaches the host alone, which
/// cancels what runs in the runner and ends it cleanly; the runner ends with the host
/// anyway, when its input closes), and the trusted keys it checks signatures with.
pub fn runner_command<A: AsRef<OsStr>>(
    program: &Path,
    plugin: Option<&str>,
    args: impl IntoIterator<Item = A>,
    trusted_keys: Option<&Path>,
) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(for_runner(plugin, std::env::vars_os()));
    if let Some(keys) = trusted_keys {
        command.arg("--trusted-keys").arg(keys);
    }
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(vars: &[(&str, &str)]) -> Vec<String> {
        for_runner(
            Some("office365"),
            vars.iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .into_iter()
        .map(|(k, _)| k.into_string().unwrap())
        .collect()
    }

    #[test]
    fn the_runner_gets_what_programs_need_and_its_own_settings_only() {
        let kept = kept(&[
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C"),
            ("https_proxy", "http://proxy:3128"),
            ("SSL_CERT_FILE", "/etc/ca.pem"),
            ("ATRS_OFFICE365_REQUEST_TIMEOUT", "5"),
            ("ATRS_WEBHOOK_URL", "https://elsewhere"),
            ("ATRS_STORE_DIR", "postgres://atrs:s3cret@db/atrs"),
            ("ATRS_STORE_KEY", "file"),
            ("PGPASSWORD", "s3cret"),
            ("DATABASE_URL", "postgres://u:p@h/d"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
        ]);
        assert_eq!(
            kept,
            [
                "PATH",
                "LC_ALL",
                "https_proxy",
                "SSL_CERT_FILE",
                "ATRS_OFFICE365_REQUEST_TIMEOUT"
            ]
        );
    }

    #[test]
    fn no_plugin_id_reaches_the_host_s_own_settings() {
        let store = |id: &str| {
            for_runner(
                Some(id),
                [
                    ("ATRS_STORE_KEY_FILE", "/etc/atrs/key"),
                    ("ATRS_STORE", "postgres://atrs:s3cret@db/atrs"),
                    ("ATRS_PLUGINS_DIR_X", "x"),
                ]
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
            )
        };
        assert!(store("store").is_empty());
        assert!(store("store.key").is_empty());
        assert!(store("plugins.dir").is_empty());
    }

    #[test]
    fn a_plugin_id_becomes_its_variables_prefix() {
        assert_eq!(plugin_prefix("office365"), "ATRS_OFFICE365_");
        assert_eq!(plugin_prefix("acme.web-hooks"), "ATRS_ACME_WEB_HOOKS_");
    }
}
