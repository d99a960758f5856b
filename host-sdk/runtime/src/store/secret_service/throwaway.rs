//! A throwaway Secret Service, for tests of the store key kept there (this crate's and
//! the end-to-end ones): a private D-Bus session bus (`dbus-daemon --session` on a
//! socket in a temporary folder) and `gnome-keyring-daemon --unlock
//! --components=secrets --foreground` on it, its `login` keyring created with a
//! password given on standard input, all in that folder — the user's own session and
//! keyrings are never touched. Debian's `dbus` and `gnome-keyring` packages provide
//! them; without them [`Keyring::start`] says the test is skipped and gives `None`,
//! except in CI (`CI` set), where `.ci/run` installs them and it panics.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use secret_service::{blocking::SecretService, EncryptionType};

use super::{APPLICATION, BUS_NAME};

/// How long the bus and the keyring may take to come up.
const START_WITHIN: Duration = Duration::from_secs(20);
/// The throwaway keyring's password.
const PASSWORD: &str = "throwaway keyring password";

/// A running private bus with gnome-keyring on it; both stopped when dropped.
pub struct Keyring {
    /// The private bus's address (what `DBUS_SESSION_BUS_ADDRESS` says to a client).
    pub address: String,
    keyring: Child,
    bus: Bus,
}

/// A private session bus of its own, with nothing on it and nothing it may start
/// (no service folders: only what a test starts answers there); stopped when dropped.
pub struct Bus {
    /// Its address.
    pub address: String,
    child: Child,
    dir: tempfile::TempDir,
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `Some(())` when `program` is installed; else says the test is skipped (panics in CI).
fn require(program: &str, package: &str) -> Option<()> {
    if installed(program) {
        return Some(());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have `{program}`: .ci/run installs Debian's {package}"
    );
    println!(
        "skipped: `{program}` is not installed (apt-get install {package}); CI runs this test"
    );
    None
}

impl Bus {
    /// Starts the bus in a temporary folder of its own; `None` (after printing
    /// "skipped: …") when `dbus-daemon` is not installed outside CI.
    pub fn start() -> Option<Bus> {
        require("dbus-daemon", "dbus")?;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display()
            ),
        )
        .expect("the bus's configuration");
        let mut child = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address"])
            .arg(format!("--config-file={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        // It prints its address once it listens.
        let address = first_line(&mut child, START_WITHIN)
            .unwrap_or_else(|| panic!("dbus-daemon printed no address within {START_WITHIN:?}"));
        Some(Bus {
            address,
            child,
            dir,
        })
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Keyring {
    /// Starts the bus and the keyring; `None` (after printing "skipped: …") when the
    /// programs are not installed outside CI.
    pub fn start() -> Option<Keyring> {
        require("gnome-keyring-daemon", "gnome-keyring")?;
        let bus = Bus::start()?;
        let dir = bus.dir.path();
        for sub in ["run", "data", "config"] {
            std::fs::create_dir(dir.join(sub)).expect("a folder in it");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o700))
                .expect("an owner-only runtime folder");
        }
        let address = bus.address.clone();
        let keyring = Self::spawn_daemon(&address, dir);
        let started = Keyring {
            address,
            keyring,
            bus,
        };
        started.wait_for_service();
        Some(started)
    }

    /// Starts `gnome-keyring-daemon` on the bus at `address`, its files in `dir`, and
    /// gives it the password: the login keyring is created (or opened) unlocked.
    fn spawn_daemon(address: &str, dir: &Path) -> Child {
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .envs(Self::environment_of(address, dir))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        // The password, then end of input.
        let mut stdin = keyring.stdin.take().expect("its stdin");
        stdin.write_all(PASSWORD.as_bytes()).expect("the password");
        keyring
    }

    /// Stops the keyring and starts it again on the same bus with the same files (as a
    /// desktop session restarting it would): every session with the old one is gone.
    pub fn restart(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        // The bus lets the name go once it sees the old daemon's connection close.
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .and_then(|b| b.build())
            .expect("the private bus");
        let dbus = zbus::blocking::fdo::DBusProxy::new(&connection).expect("the bus");
        let name = zbus::names::BusName::try_from(BUS_NAME).expect("a valid bus name");
        let deadline = Instant::now() + START_WITHIN;
        while dbus.name_has_owner(name.clone()).expect("the bus answers") {
            assert!(
                Instant::now() < deadline,
                "the stopped keyring still owns {BUS_NAME} after {START_WITHIN:?}"
            );
            std::thread::yield_now();
        }
        self.keyring = Self::spawn_daemon(&self.address, self.bus.dir.path());
        self.wait_for_service();
    }

    /// How many connections the bus has taken since it started, this question's own
    /// included: the number in the unique name (`:1.N`) the bus gives a new one.
    pub fn connections_so_far(&self) -> u64 {
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .and_then(|b| b.build())
            .expect("the private bus");
        let name = connection.unique_name().expect("a unique name").to_string();
        name.rsplit('.')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a unique name of the form :1.N, not {name}"))
    }

    /// What a process needs in its environment to use this bus and nothing of the
    /// user's: the bus address, and runtime, data and configuration folders of its own.
    pub fn environment(&self) -> Vec<(String, String)> {
        Self::environment_of(&self.address, self.bus.dir.path())
    }

    fn environment_of(address: &str, dir: &Path) -> Vec<(String, String)> {
        let sub = |name: &str| dir.join(name).display().to_string();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), address.to_owned()),
            ("XDG_RUNTIME_DIR".into(), sub("run")),
            ("XDG_DATA_HOME".into(), sub("data")),
            ("XDG_CONFIG_HOME".into(), sub("config")),
        ]
    }

    /// Waits (bounded) until the keyring owns its name on the bus and its default
    /// collection answers.
    fn wait_for_service(&self) {
        let deadline = Instant::now() + START_WITHIN;
        let connection = loop {
            match zbus::blocking::connection::Builder::address(self.address.as_str())
                .and_then(|b| b.build())
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("the private bus: {e}"),
                Err(_) => std::thread::yield_now(),
            }
        };
        // Subscribe, then ask: a name taken before the subscription is seen by the
        // question, one taken after by its NameOwnerChanged signal.
        let (tx, rx) = mpsc::channel();
        let watched = connection.clone();
        std::thread::spawn(move || {
            let owned = || -> zbus::Result<()> {
                let dbus = zbus::blocking::fdo::DBusProxy::new(&watched)?;
                let changes = dbus.receive_name_owner_changed()?;
                let name = zbus::names::BusName::try_from(BUS_NAME)?;
                if dbus.name_has_owner(name)? {
                    return Ok(());
                }
                for change in changes {
                    let args = change.args()?;
                    if args.name().as_str() == BUS_NAME && args.new_owner().is_some() {
                        return Ok(());
                    }
                }
                Err(zbus::Error::Failure("the bus closed".into()))
            };
            let _ = tx.send(owned().map_err(|e| e.to_string()));
        });
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("waiting for {BUS_NAME} on the private bus: {e}"),
            Err(_) => {
                panic!("gnome-keyring-daemon did not take {BUS_NAME} within {START_WITHIN:?}")
            }
        }
        let service = SecretService::connect_with_existing(EncryptionType::Dh, connection)
            .expect("the keyring answers");
        let collection = service
            .get_default_collection()
            .expect("the login keyring is the default collection");
        assert!(
            !collection.is_locked().expect("its state"),
            "the login keyring was created unlocked"
        );
    }

    fn service(&self) -> SecretService<'static> {
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .and_then(|b| b.build())
            .expect("the private bus");
        SecretService::connect_with_existing(EncryptionType::Dh, connection)
            .expect("the keyring answers")
    }

    /// Locks the default collection (as a screen lock or the user would).
    pub fn lock(&self) {
        let service = self.service();
        let collection = service.get_default_collection().expect("the login keyring");
        collection.lock().expect("the keyring locks");
        assert!(collection.is_locked().expect("its state"));
    }

    /// The attributes and labels of every item this host wrote (`application=atrs`).
    pub fn items(&self) -> Vec<(HashMap<String, String>, String)> {
        let service = self.service();
        let found = service
            .search_items(HashMap::from([("application", APPLICATION)]))
            .expect("a search");
        found
            .unlocked
            .iter()
            .chain(&found.locked)
            .map(|item| {
                (
                    item.get_attributes().expect("its attributes"),
                    item.get_label().expect("its label"),
                )
            })
            .collect()
    }

    /// The secret of the store `store_id`'s current item (the key in base64), as
    /// `secret-tool lookup` would print it; `None` when there is none.
    pub fn key_text(&self, store_id: &str) -> Option<String> {
        let service = self.service();
        let found = service
            .search_items(HashMap::from([
                ("application", APPLICATION),
                ("store", store_id),
                ("slot", "current"),
            ]))
            .expect("a search");
        let item = found.unlocked.first()?;
        Some(String::from_utf8(item.get_secret().expect("its secret")).expect("text"))
    }

    /// Writes `text` as the secret of the store `store_id`'s item in `slot` (`current`
    /// or `next`), replacing one there — as a rotation cut short, or a user restoring a
    /// copy with `secret-tool store`, leaves it.
    pub fn put(&self, store_id: &str, slot: &str, text: &str) {
        let service = self.service();
        let collection = service.get_default_collection().expect("the login keyring");
        collection
            .create_item(
                "ATRS account store key (put by a test)",
                HashMap::from([
                    ("application", APPLICATION),
                    ("store", store_id),
                    ("slot", slot),
                ]),
                text.as_bytes(),
                true,
                "text/plain",
            )
            .expect("the item is written");
    }

    /// Deletes every item this host wrote (a lost keyring entry).
    pub fn delete_items(&self) {
        let service = self.service();
        let found = service
            .search_items(HashMap::from([("application", APPLICATION)]))
            .expect("a search");
        for item in found.unlocked.iter().chain(&found.locked) {
            item.delete().expect("the item is deleted");
        }
    }

    /// The keyring's files (its `login.keyring` and the like), for searches.
    pub fn files_dir(&self) -> std::path::PathBuf {
        self.bus.dir.path().join("data")
    }
}

/// The first line `child` prints, within `within`.
fn first_line(child: &mut Child, within: Duration) -> Option<String> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(within).ok()?;
    Some(line.trim().to_owned()).filter(|l| !l.is_empty())
}

impl Drop for Keyring {
    fn drop(&mut self) {
        // The bus goes after it (a field dropped after this).
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
    }
}
