//! The password of a `postgres://` URL that gives none, from the password file as libpq
//! (`psql`, `pg_dump`) reads it: `PGPASSFILE`, else `~/.pgpass`. One entry a line,
//! `hostname:port:database:username:password`; `*` in any of the first four fields
//! matches anything; `\:` and `\\` stand for `:` and `\`; lines starting with `#` are
//! comments; the first matching line wins. A file others may read or write (group or
//! world access) is ignored, with a warning saying so and how to fix it. The password is
//! never shown: not in warnings, errors or `Debug`.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The environment variable naming the password file.
pub const PASSFILE_ENV: &str = "PGPASSFILE";
/// The port a URL without one connects to.
const DEFAULT_PORT: u16 = 5432;

/// What a connection asks the password file for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted<'a> {
    /// The server's host name as the URL gives it (`localhost` for a Unix socket).
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// The database.
    pub database: &'a str,
    /// The user.
    pub user: &'a str,
}

/// What looking in the password file found.
#[derive(Default)]
pub(crate) struct Lookup {
    /// The password of the first matching entry.
    pub password: Option<Zeroizing<String>>,
    /// The file, when it was ignored because others may read or write it, and why.
    pub ignored: Option<(PathBuf, String)>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup")
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("ignored", &self.ignored)
            .finish()
    }
}

impl Lookup {
    /// The warning a person is given about an ignored file, if one was.
    pub fn warning(&self) -> Option<String> {
        self.ignored.as_ref().map(|(path, why)| {
            format!(
                "The PostgreSQL password file {} was ignored: {why}. Make it owner-only (`chmod 600 {}`), as libpq requires.",
                path.display(),
                path.display()
            )
        })
    }
}

/// The password file libpq would read: `PGPASSFILE`, else `.pgpass` in the home folder.
pub(crate) fn file_from_env() -> Option<PathBuf> {
    match std::env::var_os(PASSFILE_ENV) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::home_dir().map(|home| home.join(".pgpass")),
    }
}

/// Looks `wanted` up in the password file `file`; a missing or unreadable file finds
/// nothing.
pub(crate) fn look_up(file: &Path, wanted: &Wanted<'_>) -> Lookup {
    let Ok(meta) = std::fs::metadata(file) else {
        return Lookup::default();
    };
    if !meta.is_file() {
        return Lookup::default();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Lookup {
                password: None,
                ignored: Some((
                    file.to_owned(),
                    format!("it has group or world access (mode {mode:04o}); it should be u=rw (0600) or less"),
                )),
            };
        }
    }
    let Ok(text) = std::fs::read_to_string(file).map(Zeroizing::new) else {
        return Lookup::default();
    };
    Lookup {
        password: text
            .lines()
            .find_map(|line| matching(line, wanted))
            .map(Zeroizing::new),
        ignored: None,
    }
}

/// The password of `line` when it is an entry matching `wanted`.
fn matching(line: &str, wanted: &Wanted<'_>) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let fields = split(line);
    let [host, port, database, user, password] = &fields[..] else {
        return None;
    };
    let port_text = wanted.port.to_string();
    let fits =
        |field: &Zeroizing<String>, value: &str| field.as_str() == "*" || field.as_str() == value;
    (fits(host, wanted.host)
        && fits(port, &port_text)
        && fits(database, wanted.database)
        && fits(user, wanted.user))
    .then(|| password.as_str().to_owned())
}

/// The fields of a line: split at `:` not escaped, `\x` standing for `x`; the fifth (the
/// password) ends at the next unescaped `:`, as libpq reads it.
fn split(line: &str) -> Vec<Zeroizing<String>> {
    let mut fields = vec![Zeroizing::new(String::new())];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            ':' if fields.len() < 5 => {
                fields.push(Zeroizing::new(String::new()));
                continue;
            }
            // The password ends at the next unescaped `:`, as libpq reads it.
            ':' => break,
            '\\' => match chars.next() {
                Some(next) => next,
                None => continue,
            },
            c => c,
        };
        fields.last_mut().expect("at least one field").push(c);
    }
    fields
}

/// What a connection described by `config` asks the password file for: its first host
/// (`localhost` for a Unix socket, as libpq matches it), port (5432 when not given),
/// database (the user's name when not given) and user.
pub(crate) fn wanted(config: &tokio_postgres::Config) -> Option<(String, u16, String, String)> {
    let user = config.get_user()?.to_owned();
    let host = match config.get_hosts().first()? {
        postgres::config::Host::Tcp(host) => host.clone(),
        #[cfg(unix)]
        postgres::config::Host::Unix(_) => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(DEFAULT_PORT);
    let database = config.get_dbname().unwrap_or(&user).to_owned();
    Some((host, port, database, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: Wanted<'static> = Wanted {
        host: "db.example",
        port: 5432,
        database: "atrs",
        user: "atrs",
    };

    fn file(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        (dir, path)
    }

    fn found(text: &str, wanted: &Wanted<'_>) -> Option<String> {
        let (_dir, path) = file(text, 0o600);
        look_up(&path, wanted).password.map(|p| p.to_string())
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_comments_and_escapes() {
        let text = "\
# host:port:database:user:password
db.example:5433:atrs:atrs:wrong-port
other:5432:atrs:atrs:wrong-host
db.example:5432:atrs:someone:wrong-user
*:*:atrs:atrs:pa\\:ss\\\\word:with:colons
*:*:*:*:catch-all
";
        assert_eq!(found(text, &WANTED).as_deref(), Some("pa:ss\\word"));
        let elsewhere = Wanted {
            database: "other",
            ..WANTED
        };
        assert_eq!(found(text, &elsewhere).as_deref(), Some("catch-all"));
        assert_eq!(
            found("db.example:5432:atrs:atrs", &WANTED),
            None,
            "4 fields"
        );
        assert_eq!(found("", &WANTED), None);
        let escaped_host = "db\\.example:5432:atrs:atrs:escaped-dot";
        assert_eq!(found(escaped_host, &WANTED).as_deref(), Some("escaped-dot"));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_may_read_is_ignored_with_a_warning_that_shows_no_password() {
        let (_dir, path) = file("*:*:*:*:never-shown\n", 0o644);
        let lookup = look_up(&path, &WANTED);
        assert!(lookup.password.is_none());
        let warning = lookup.warning().unwrap();
        assert!(
            warning.contains("group or world access (mode 0644)"),
            "{warning}"
        );
        assert!(
            warning.contains(&format!("chmod 600 {}", path.display())),
            "{warning}"
        );
        assert!(!warning.contains("never-shown") && !format!("{lookup:?}").contains("never-shown"));
        // Owner-only: read.
        let (_dir, path) = file("*:*:*:*:now-read\n", 0o400);
        let lookup = look_up(&path, &WANTED);
        assert_eq!(
            lookup.password.as_deref().map(String::as_str),
            Some("now-read")
        );
        assert!(lookup.warning().is_none());
        assert!(!format!("{lookup:?}").contains("now-read"));
    }

    #[test]
    fn a_missing_file_or_a_folder_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let lookup = look_up(&dir.path().join("absent"), &WANTED);
        assert!(lookup.password.is_none() && lookup.warning().is_none());
        assert!(look_up(dir.path(), &WANTED).password.is_none());
    }

    #[test]
    fn a_url_asks_for_its_first_host_port_database_and_user_with_libpq_defaults() {
        use std::str::FromStr;
        let config = tokio_postgres::Config::from_str("postgres://atrs@db.example/store").unwrap();
        assert_eq!(
            wanted(&config),
            Some(("db.example".into(), 5432, "store".into(), "atrs".into()))
        );
        let config = tokio_postgres::Config::from_str("postgres://atrs@db.example:6000").unwrap();
        assert_eq!(
            wanted(&config),
            Some(("db.example".into(), 6000, "atrs".into(), "atrs".into()))
        );
    }
}
