//! A throwaway PostgreSQL server, for tests of the PostgreSQL store (this crate's and
//! the end-to-end ones): `initdb` into a temporary folder and `postgres` on a free
//! loopback port, as the unprivileged user `nobody` when the tests run as root
//! (PostgreSQL refuses to run as root). Debian's `postgresql` package provides the
//! binaries; without them [`Server::start`] says so and gives `None`.
//! [`Server::start_with_tls`] turns TLS on with a certificate and key the test made.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    str::FromStr,
    time::{Duration, Instant},
};

use postgres::{Config, NoTls};

use super::super::trust;

/// A running throwaway server; stopped (fast shutdown) when dropped.
pub struct Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    child: Option<Child>,
    /// The password its user `atrs` must give (`None`: every local login is trusted).
    password: Option<String>,
    /// Whether it offers TLS (its certificate and key in `dir`).
    tls: bool,
}

/// A file in the server's folder that the server's user (`nobody` when root) owns and
/// alone may read.
fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if trust::current_user() == 0 {
            std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
        }
    }
}

fn binaries() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        candidates.extend(versions.flatten().map(|v| v.path().join("bin")));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
}

/// `program` from `bin`, as `nobody` when this process is root (PostgreSQL refuses root).
fn command(bin: &Path, program: &str) -> Command {
    if trust::current_user() == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Creates and starts a server; `None` (after saying so on stdout) when the
    /// PostgreSQL binaries are not installed.
    pub fn start() -> Option<Server> {
        Server::start_with(None)
    }

    /// Like [`Server::start`], but its user `atrs` must log in with `password`
    /// (SCRAM-SHA-256): for tests of where a URL without one finds it.
    pub fn start_requiring_password(password: &str) -> Option<Server> {
        Server::start_with(Some(password))
    }

    /// Like [`Server::start`] (or [`Server::start_requiring_password`], given a
    /// password), offering TLS too (`ssl = on`) with the PEM certificate chain
    /// `cert_pem` and its key `key_pem`; unencrypted connections are still accepted.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str, password: Option<&str>) -> Option<Server> {
        let mut server = Server::create(password)?;
        write_private(&server.dir.path().join("server.crt"), cert_pem);
        write_private(&server.dir.path().join("server.key"), key_pem);
        server.tls = true;
        server.run();
        Some(server)
    }

    fn start_with(password: Option<&str>) -> Option<Server> {
        let mut server = Server::create(password)?;
        server.run();
        Some(server)
    }

    /// `initdb`, not started.
    fn create(password: Option<&str>) -> Option<Server> {
        let Some(bin) = binaries() else {
            println!("skipped: no PostgreSQL binaries (initdb, postgres) on PATH or in /usr/lib/postgresql; install Debian's postgresql package");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        if trust::current_user() == 0 {
            std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
        }
        let mut initdb = command(&bin, "initdb");
        initdb.args(["-D"]).arg(dir.path().join("data")).args([
            "-U",
            "atrs",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        match password {
            None => {
                initdb.arg("--auth=trust");
            }
            Some(password) => {
                let file = dir.path().join("pwfile");
                std::fs::write(&file, password).unwrap();
                #[cfg(unix)]
                if trust::current_user() == 0 {
                    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
                }
                initdb
                    .arg("--auth=scram-sha-256")
                    .arg(format!("--pwfile={}", file.display()));
            }
        }
        let status = initdb
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        Some(Server {
            dir,
            bin,
            port: free_port(),
            child: None,
            password: password.map(str::to_owned),
            tls: false,
        })
    }

    /// Starts the server on its data and port, and waits until it takes connections.
    pub fn run(&mut self) {
        let mut postgres = command(&self.bin, "postgres");
        postgres
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(self.dir.path())
            .args(["-F", "-c", "max_connections=200"]);
        if self.tls {
            let file = |name: &str| self.dir.path().join(name).display().to_string();
            postgres.args([
                "-c",
                "ssl=on",
                "-c",
                &format!("ssl_cert_file={}", file("server.crt")),
                "-c",
                &format!("ssl_key_file={}", file("server.key")),
            ]);
        }
        let child = postgres
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Config::from_str(&self.url())
            .unwrap()
            .connect(NoTls)
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the server did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fast shutdown (SIGINT: clients are disconnected), waited for.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            // SAFETY: kill on our own child's pid.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGINT)
            };
            #[cfg(not(unix))]
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's `postgres` database (user `atrs`, with its password; a server that
    /// trusts every login ignores the one given).
    pub fn url(&self) -> String {
        format!(
            "postgres://atrs:{}@127.0.0.1:{}/postgres",
            self.url_password(),
            self.port
        )
    }

    /// The password as a URL carries it (percent-encoded).
    fn url_password(&self) -> String {
        match &self.password {
            None => "pw-not-shown".to_owned(),
            Some(password) => password
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect(),
        }
    }

    /// The database `name` on this server as a URL without a password.
    pub fn url_without_password(&self, name: &str) -> String {
        format!("postgres://atrs@127.0.0.1:{}/{name}", self.port)
    }

    /// A fresh database of its own on this server, for one test.
    pub fn database(&self, name: &str) -> String {
        let mut admin = Config::from_str(&self.url())
            .unwrap()
            .connect(NoTls)
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        format!(
            "postgres://atrs:{}@127.0.0.1:{}/{name}",
            self.url_password(),
            self.port
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
