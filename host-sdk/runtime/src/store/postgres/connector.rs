//! How this process connects to the store's server: the URL read once (its password,
//! or the password file's; its TLS settings), and every connection — the store's and
//! the lock session's — made the same way, a failure told as what went wrong and what
//! to do, never with the password.

use std::{path::PathBuf, str::FromStr, time::Duration};

use postgres::{error::SqlState, Client};
use tokio_postgres::Config;

use super::{
    first_line, pgpass,
    pool::{DEFAULT_SIZE, MAX_SIZE},
    tls::{self, HandshakeError, MakeTls, Policy},
    url_params,
};
use crate::store::StoreError;

/// The longest a connection attempt takes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a statement waits for another transaction's row locks.
pub(super) const LOCK_TIMEOUT_MS: u64 = 10_000;

/// The server, and how to reach it.
pub(super) struct Connector {
    config: Config,
    tls: MakeTls,
    policy: Policy,
    /// The password file looked in for a URL without a password, if one was.
    passfile: Option<PathBuf>,
    /// Why that file was not used, if it was ignored.
    passfile_ignored: Option<String>,
    /// The server as a person is told: no password.
    location: String,
    /// How many connections the store keeps (`pool_size`).
    pool_size: usize,
}

impl Connector {
    /// Reads `url`. Gives what a person should be told once about it (a password file
    /// ignored, a connection others could read) with it.
    pub fn new(url: &str) -> Result<(Connector, Vec<String>), StoreError> {
        let setting = |location: &str, e: tls::SettingError| StoreError::Tls {
            location: location.to_owned(),
            detail: e.detail,
            fix: e.fix,
        };
        let (url, pool_size) = pool_size(url)?;
        let (url, requested) =
            tls::take_parameters(&url).map_err(|e| setting("postgres://…", e))?;
        let mut config = Config::from_str(&url).map_err(|e| StoreError::Address {
            detail: format!("it is not a PostgreSQL connection URL ({})", first_line(&e)),
            fix: "Write it as postgres://USER@HOST[:PORT]/DATABASE[?PARAMETER=VALUE&…], with the parameters libpq knows (sslmode, sslrootcert, application_name, connect_timeout, …) and pool_size.".into(),
        })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.options(format!("-c lock_timeout={LOCK_TIMEOUT_MS}"));
        if config.get_application_name().is_none() {
            config.application_name(application_name());
        }
        let (passfile, passfile_ignored) = match config.get_password() {
            Some(_) => (None, None),
            None => password_from_file(&mut config),
        };
        let location = redacted(&config);
        let home = dirs::home_dir();
        let policy = Policy::decide(
            requested,
            config.get_hosts(),
            &|name| std::env::var(name).ok(),
            home.as_deref(),
        )
        .map_err(|e| setting(&location, e))?;
        config.ssl_mode(policy.wire_mode());
        let tls = policy.connector().map_err(|e| setting(&location, e))?;
        let warnings = passfile_ignored
            .iter()
            .cloned()
            .chain(policy.warning(config.get_hosts(), &location))
            .collect();
        Ok((
            Connector {
                config,
                tls,
                policy,
                passfile,
                passfile_ignored,
                location,
                pool_size,
            },
            warnings,
        ))
    }

    /// The server as a person is told: user, hosts, ports and database, never a password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// How many connections the store keeps.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// A new connection.
    pub fn connect(&self) -> Result<Client, StoreError> {
        postgres::Config::from(self.config.clone())
            .connect(self.tls.clone())
            .map_err(|e| self.connect_error(&e))
    }

    /// How to make a connection driven by the caller's own I/O (the pipeline's).
    pub fn async_config(&self) -> Config {
        self.config.clone()
    }

    /// The TLS every connection is made with.
    pub fn tls(&self) -> MakeTls {
        self.tls.clone()
    }

    /// The server not reached, for `detail`.
    pub fn unreachable(&self, detail: &str) -> StoreError {
        StoreError::Unreachable {
            location: self.location.clone(),
            detail: detail.to_owned(),
        }
    }

    /// A failed connection: TLS not as asked, the login refused (a wrong or missing
    /// password, an unknown user), else the server not reached.
    pub fn connect_error(&self, e: &postgres::Error) -> StoreError {
        if let Some((detail, fix)) = self.tls_failure(e) {
            return StoreError::Tls {
                location: self.location.clone(),
                detail,
                fix,
            };
        }
        let refused = e.code().is_some_and(|code| {
            *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        }) || first_line(e).contains("password missing");
        if !refused {
            return StoreError::Unreachable {
                location: self.location.clone(),
                detail: first_line(e),
            };
        }
        let user = self.config.get_user().unwrap_or("USER");
        let file = match &self.passfile {
            Some(path) => format!("the password file {}", path.display()),
            None => format!("~/.pgpass (or the file {} names)", pgpass::PASSFILE_ENV),
        };
        let mut fix = format!(
            "Give the password of the user {user}: in {file}, a line `HOST:PORT:DATABASE:{user}:PASSWORD` (`*` matches any) in an owner-only file (chmod 600), or in the URL (postgres://{user}:PASSWORD@…)."
        );
        if let Some(ignored) = &self.passfile_ignored {
            fix = format!("{ignored} {fix}");
        }
        StoreError::LoginRefused {
            location: self.location.clone(),
            detail: first_line(e),
            fix,
        }
    }

    /// What went wrong with TLS, and the fix, if that is why `e` failed.
    fn tls_failure(&self, e: &postgres::Error) -> Option<(String, String)> {
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            if let Some(failure) = cause.downcast_ref::<HandshakeError>() {
                let host = self.host_names();
                return Some(tls::explain(failure, &self.policy, &host));
            }
            if cause.to_string() == "server does not support TLS" {
                return Some(tls::server_without_tls(&self.policy));
            }
            source = cause.source();
        }
        let refused_plain = e.code() == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
            && first_line(e).contains("no encryption");
        refused_plain.then(|| {
            (
                format!(
                    "the server accepts only encrypted connections (sslmode={}): {}",
                    self.policy.mode.name(),
                    first_line(e)
                ),
                "Add sslmode=verify-full&sslrootcert=PATH (the CA that signed the server's certificate) to the --store URL, or sslmode=require to encrypt without checking the certificate.".into(),
            )
        })
    }

    fn host_names(&self) -> String {
        let names: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .filter_map(|h| match h {
                postgres::config::Host::Tcp(name) => Some(name.clone()),
                #[cfg(unix)]
                postgres::config::Host::Unix(_) => None,
            })
            .collect();
        names.join(" / ")
    }
}

/// `url` without its `pool_size`, and the number it gives (else [`DEFAULT_SIZE`]).
fn pool_size(url: &str) -> Result<(String, usize), StoreError> {
    let (url, taken) = url_params::take(url, &["pool_size"]);
    let size = match taken.last() {
        None => DEFAULT_SIZE,
        Some((_, value)) => value
            .parse()
            .ok()
            .filter(|n| (1..=MAX_SIZE).contains(n))
            .ok_or_else(|| StoreError::Address {
                detail: format!("pool_size={value} is not a number of connections from 1 to {MAX_SIZE}"),
                fix: format!("Give pool_size the number of connections each host keeps to the server for its accounts (default {DEFAULT_SIZE}; each node also keeps one shared and one for locks, and every node's count adds up against the server's max_connections), or leave it out."),
            })?,
    };
    Ok((url, size))
}

/// What this process's connections call themselves (`application_name`, which
/// `pg_stat_activity` shows and a busy lock's error names): its program, process id and
/// machine, `atrs-test-host pid 4242 on node-a`, within PostgreSQL's 63 bytes (the
/// program's name shortened first). A URL's own `application_name` is kept instead.
fn application_name() -> String {
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "atrs".to_owned());
    let rest = format!(
        " pid {}{}",
        std::process::id(),
        host_name().map(|h| format!(" on {h}")).unwrap_or_default()
    );
    let room = 63usize.saturating_sub(rest.len());
    let mut name: String = program
        .chars()
        .take_while(|c| c.is_ascii_graphic())
        .collect();
    name.truncate(room);
    let mut name = format!("{name}{rest}");
    // A host name too long for the rest: cut at a character boundary.
    while name.len() > 63 {
        name.pop();
    }
    name
}

/// This machine's name, where the system says.
fn host_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length, which is passed.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        let end = buf.iter().position(|&b| b == 0)?;
        let name = String::from_utf8_lossy(&buf[..end]).into_owned();
        (ok && !name.is_empty()).then_some(name)
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").ok().filter(|n| !n.is_empty())
    }
}

/// For a URL without a password: the password of the matching entry of the password
/// file (`PGPASSFILE`, else `~/.pgpass`) put in `config`. Gives the file looked in and,
/// when it was ignored (others may read it), the warning saying so.
fn password_from_file(config: &mut Config) -> (Option<PathBuf>, Option<String>) {
    let Some(file) = pgpass::file_from_env() else {
        return (None, None);
    };
    let Some((host, port, database, user)) = pgpass::wanted(config) else {
        return (Some(file), None);
    };
    let wanted = pgpass::Wanted {
        host: &host,
        port,
        database: &database,
        user: &user,
    };
    let lookup = pgpass::look_up(&file, &wanted);
    if let Some(password) = &lookup.password {
        config.password(password.as_bytes());
    }
    (Some(file), lookup.warning())
}

/// The server as a person is told: user, hosts, ports and database, never a password.
fn redacted(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            postgres::config::Host::Tcp(h) => format!("{h}:{port}"),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => format!("{}:{port}", p.display()),
        })
        .collect();
    format!(
        "postgres://{}{}/{}",
        config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}
