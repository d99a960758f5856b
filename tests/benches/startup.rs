//! What starting the menu costs: the release host started in a pseudo-terminal (80×24)
//! with the release Office 365 plugin in its plugins folder, timed from the start of
//! the process to the first frame of the menu on the terminal; then, with the menu
//! waiting for a key, the resident memory of the process (host and plugin are one
//! process), printed once.
//!
//! `cargo bench -p atrs-e2e --bench startup`
//!
//! To compare with another build (an older commit's, say), point `ATRS_BENCH_HOST` and
//! `ATRS_BENCH_PLUGIN` at its `atrs-test-host` and `libatrs_office365.so`.

use std::{
    fs::File,
    io::Read,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use criterion::{criterion_group, criterion_main, Criterion};

/// What the menu's first frame ends with: its list, the cursor on the first choice.
const FIRST_FRAME: &str = "❯ ";

/// A pseudo-terminal of 80 columns and 24 rows: the controlling side and the
/// terminal's own.
fn open_pty() -> (OwnedFd, OwnedFd) {
    let mut master = 0;
    let mut slave = 0;
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the integers it is given; the name
    // and termios pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened for us and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// The host's menu on a new terminal.
fn start_menu(host: &Path, plugins: &Path, store: &Path) -> (Child, File) {
    let (master, slave) = open_pty();
    let mut command = Command::new(host);
    command
        .args(["--plugins-dir"])
        .arg(plugins)
        .arg("--store")
        .arg(store)
        .arg("menu")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec: a new session, with
    // the terminal on standard input as its controlling terminal.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().expect("the host starts");
    (child, File::from(master))
}

/// Reads the terminal until the menu's first frame is on it (30 s at most).
fn wait_for_menu(terminal: &mut File) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(FIRST_FRAME) {
        assert!(
            Instant::now() < deadline,
            "no menu: {}",
            String::from_utf8_lossy(&seen)
        );
        let mut poll = libc::pollfd {
            fd: terminal.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for at most one second.
        if unsafe { libc::poll(&mut poll, 1, 1000) } <= 0 {
            continue;
        }
        match terminal.read(&mut buffer) {
            Ok(0) | Err(_) => panic!("the host left: {}", String::from_utf8_lossy(&seen)),
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
        }
    }
}

/// `VmRSS` of `pid` in kB.
fn resident_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn startup(c: &mut Criterion) {
    let (host, plugin) = match (
        std::env::var_os("ATRS_BENCH_HOST"),
        std::env::var_os("ATRS_BENCH_PLUGIN"),
    ) {
        (Some(host), Some(plugin)) => (PathBuf::from(host), PathBuf::from(plugin)),
        _ => {
            let built = atrs_e2e::release_workspace();
            (
                built.get("atrs_test_host").to_owned(),
                built.get("atrs_office365").to_owned(),
            )
        }
    };
    let host = host.as_path();
    let plugins = atrs_e2e::plugins_dir(&[plugin.as_path()]);
    let store = tempfile::tempdir().expect("temp dir");

    let (child, mut terminal) = start_menu(host, plugins.path(), store.path());
    wait_for_menu(&mut terminal);
    eprintln!(
        "resident memory at the menu, host + Office 365 plugin: {} kB",
        resident_kb(child.id())
    );
    stop(child);

    c.bench_function("startup/host_to_menu", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                let (child, mut terminal) = start_menu(host, plugins.path(), store.path());
                wait_for_menu(&mut terminal);
                total += started.elapsed();
                stop(child);
            }
            total
        })
    });
}

criterion_group!(benches, startup);
criterion_main!(benches);
