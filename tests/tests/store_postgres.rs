//! The PostgreSQL store through the real host binary: several host processes ("nodes")
//! sharing one `postgres://` store, against a throwaway server the test starts itself
//! (skipped, saying so, without Debian's `postgresql` binaries).
//!
//! - 3 nodes × 20 `token` calls at once after the cached token fell due → exactly one
//!   refresh at the mock (the refresh lock is a PostgreSQL advisory lock), every caller
//!   gets a token.
//! - PostgreSQL stopped → `accounts` and `token` end with exit 5 and a clear message;
//!   restarted → everything works again and nothing is lost; a dump of the tables holds
//!   no secret the mock issued.
//!
//! - 8 nodes adding, editing, renaming over, refreshing and removing for a bounded time
//!   → every account intact and equal to its last acknowledged write.
//! - A URL without a password, against a server that asks for one: the password comes
//!   from `PGPASSFILE`, else `~/.pgpass`, as libpq reads them (wildcards, escapes, the
//!   first matching line); a file others may read is ignored with a warning; none found
//!   or a wrong one → "refused the login" with what to do; the password is never shown.
//!
//! Figures: `cargo test -p atrs-e2e --test store_postgres -- --nocapture`.

use std::{str::FromStr, time::Duration};

use std::sync::Arc;

use atrs_e2e::{
    add_office365_args, json_result, office365_library, plugins_dir, run_host, sandbox::Sandbox,
    store_churn, HostProcess,
};
use atrs_mock_idp::{defaults, Endpoint, Fault, MockConfig, MockIdp, RefreshPolicy};
use atrs_test_host::store::postgres::throwaway::Server;

const NODES: usize = 3;
const CALLS_PER_NODE: usize = 20;

struct Cluster {
    mock: MockIdp,
    plugins: tempfile::TempDir,
    _keys: tempfile::TempDir,
    key: String,
    url: String,
}

impl Cluster {
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec![
            "--plugins-dir",
            self.plugins.path().to_str().unwrap(),
            "--store",
            self.url.as_str(),
            "--json",
        ];
        all.extend_from_slice(args);
        all
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("ATRS_STORE_KEY_FILE", self.key.as_str())]
    }

    fn host(&self, args: &[&str]) -> std::process::Output {
        run_host(&self.args(args), &self.env())
    }
}

fn cluster(server: &Server, database: &str) -> Cluster {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("cluster.key").to_str().unwrap().to_owned();
    let cluster = Cluster {
        mock: MockIdp::spawn(MockConfig {
            device_interval_secs: 0,
            auto_approve_delay: Duration::ZERO,
            ..MockConfig::default()
        })
        .unwrap(),
        plugins: plugins_dir(&[office365_library()]),
        _keys: keys,
        key,
        url: server.database(database),
    };
    let args = add_office365_args(
        "Reports",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        None,
        &cluster.mock.base_url(),
        "device",
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cluster.host(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cluster
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn three_nodes_asking_at_once_share_exactly_one_refresh() {
    let Some(server) = Server::start() else {
        return;
    };
    let c = cluster(&server, "nodes");
    // The token a forced refresh caches has less than the 5-minute skew left: due.
    c.mock.set_refresh_policy(RefreshPolicy {
        access_token_secs: 200,
        ..RefreshPolicy::default()
    });
    assert!(c.host(&["token", "Reports", "--force"]).status.success());
    c.mock.set_refresh_policy(RefreshPolicy::default());
    c.mock.reset_stats();
    // A slow token endpoint keeps the first refresher inside the lock while the rest come.
    c.mock
        .set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_millis(800)), 1);
    let started = std::time::Instant::now();
    let mut callers: Vec<HostProcess> = (0..NODES * CALLS_PER_NODE)
        .map(|_| HostProcess::spawn(&c.args(&["token", "Reports"]), &c.env()))
        .collect();
    for p in &mut callers {
        assert_eq!(p.wait(Duration::from_secs(120)), Some(0), "{:#?}", p.seen);
    }
    let refreshes = c
        .mock
        .stats()
        .account_grant_count(defaults::USER_UPN, "refresh_token");
    println!(
        "postgres cluster: {NODES} nodes x {CALLS_PER_NODE} token calls at once in {:.1}s: {refreshes} refresh request(s) at the mock, {} callers got a token",
        started.elapsed().as_secs_f64(),
        callers.len()
    );
    assert_eq!(refreshes, 1, "exactly one refresh for every node");
    let cached = c.host(&["token", "Reports"]);
    assert_eq!(json_result(&cached)["source"], "cache");
}

#[test]
fn a_stopped_server_is_exit_5_and_after_a_restart_nothing_is_lost() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let c = cluster(&server, "restart");
    let before = c.host(&["accounts"]);
    assert!(before.status.success(), "{}", text(&before));
    let listed = json_result(&before);
    assert_eq!(listed["backend"], "postgres");
    assert_eq!(listed["sealed"], true);
    assert!(!text(&before).contains("pw-not-shown"));

    server.stop();
    for args in [vec!["accounts"], vec!["token", "Reports", "--force"]] {
        let down = c.host(&args);
        assert_eq!(down.status.code(), Some(5), "{args:?}: {}", text(&down));
        let words = text(&down);
        assert!(words.contains("cannot be reached"), "{words}");
        assert!(words.contains("nothing was saved or lost"), "{words}");
        assert!(!words.contains("pw-not-shown"), "{words}");
    }
    server.run();
    let token = c.host(&["token", "Reports", "--force"]);
    assert!(token.status.success(), "{}", text(&token));
    // The same account, as it was verified; the refresh after the restart added to it.
    let after = json_result(&c.host(&["accounts"]));
    let account = |v: &serde_json::Value| {
        let a = &v["accounts"][0];
        (
            v["accounts"].as_array().map(Vec::len),
            a["account"].clone(),
            a["settings"]["user_principal_name"].clone(),
            a["settings"]["verified_at"].clone(),
            a["settings"]["client_id"].clone(),
        )
    };
    assert_eq!(account(&after), account(&listed), "nothing lost");
    assert!(
        after["accounts"][0]["settings"]["last_refresh_ok_at"].is_string(),
        "the refresh was saved"
    );

    // A dump of the tables holds no secret the mock issued.
    let mut raw = postgres::Config::from_str(&c.url)
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    let mut dump = Vec::new();
    for row in raw
        .query("SELECT plugin, account, name, value FROM atrs_secrets", &[])
        .unwrap()
    {
        dump.extend(row.get::<_, Vec<u8>>(3));
    }
    for row in raw
        .query("SELECT settings FROM atrs_accounts", &[])
        .unwrap()
    {
        dump.extend(row.get::<_, String>(0).into_bytes());
    }
    let seen = c.mock.secrets_seen();
    assert!(!seen.refresh_tokens.is_empty() && !seen.access_tokens.is_empty());
    let leaked = seen
        .refresh_tokens
        .iter()
        .chain(&seen.access_tokens)
        .filter(|v| dump.windows(v.len()).any(|w| w == v.as_bytes()))
        .count();
    println!(
        "postgres dump: {} bytes searched for {} refresh and {} access tokens: {leaked} found",
        dump.len(),
        seen.refresh_tokens.len(),
        seen.access_tokens.len()
    );
    assert_eq!(leaked, 0, "a dump holds no token");
}

/// Waits for `condition`, polling, at most `within`.
fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_node_killed_holding_the_refresh_lock_does_not_block_the_others() {
    let Some(server) = Server::start() else {
        return;
    };
    let c = cluster(&server, "killed");
    let mut admin = postgres::Config::from_str(&c.url)
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    let mut advisory_locks_held = || -> i64 {
        admin
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted",
                &[],
            )
            .unwrap()
            .get(0)
    };
    // The first refresh hangs at the token endpoint: its node holds the lock, then dies.
    c.mock
        .set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_secs(40)), 1);
    let mut holder = HostProcess::spawn(&c.args(&["token", "Reports", "--force"]), &c.env());
    wait_for(
        "the first node to hold the lock, its refresh at the token endpoint",
        Duration::from_secs(30),
        || advisory_locks_held() == 1 && !c.mock.fault_armed(Endpoint::Token),
    );
    holder.kill();
    let started = std::time::Instant::now();
    let next = c.host(&["token", "Reports", "--force"]);
    let took = started.elapsed();
    println!("postgres: after the node holding the lock was killed, the next node took {took:?}");
    assert!(next.status.success(), "{}", text(&next));
    assert_eq!(json_result(&next)["source"], "refreshed");
    assert!(
        took < Duration::from_secs(20),
        "not blocked by the dead node (the lock's bound is 50 s): {took:?}"
    );
    assert_eq!(advisory_locks_held(), 0, "the dead node's lock is gone");
}

#[test]
fn eight_nodes_adding_editing_and_removing_at_once_leave_every_account_intact() {
    let Some(server) = Server::start() else {
        return;
    };
    atrs_e2e::workspace();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("cluster.key");
    let sandbox = Sandbox::instant(&[("ATRS_STORE_KEY_FILE", key.to_str().unwrap())])
        .with_store_url(&server.database("churn"));
    let summary = store_churn::processes_at_once(Arc::new(sandbox));
    println!("store concurrency (PostgreSQL): {summary}");
}

#[test]
fn a_url_without_a_password_takes_it_from_the_password_file_as_libpq_does_and_never_shows_it() {
    // `:` and `\` are what a password file escapes.
    const PASSWORD: &str = "pg:pass\\w0rd-never-shown";
    const IN_FILE: &str = "pg\\:pass\\\\w0rd-never-shown";
    let Some(server) = Server::start_requiring_password(PASSWORD) else {
        return;
    };
    server.database("pgpass");
    let url = server.url_without_password("pgpass");
    let port = server.port.to_string();
    let plugins = plugins_dir(&[office365_library()]);
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("store.key");
    let home = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let named = files.path().join("passwords");
    let write = |path: &std::path::Path, text: &str, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let accounts = |passfile: &std::path::Path| {
        let out = run_host(
            &[
                "--plugins-dir",
                plugins.path().to_str().unwrap(),
                "--store",
                &url,
                "--json",
                "accounts",
            ],
            &[
                ("ATRS_STORE_KEY_FILE", key.to_str().unwrap()),
                ("HOME", home.path().to_str().unwrap()),
                ("PGPASSFILE", passfile.to_str().unwrap()),
            ],
        );
        let words = text(&out);
        assert!(
            !words.contains("never-shown"),
            "the password shown: {words}"
        );
        out
    };
    let refused = |out: &std::process::Output, hint_has: &str| {
        let words = text(out);
        assert_eq!(out.status.code(), Some(1), "{words}");
        let error = &json_result(out)["error"];
        let message = error["message"].as_str().unwrap_or_default();
        let hint = error["hint"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!(
                "server postgres://atrs@127.0.0.1:{port}/pgpass refused the login"
            )),
            "{words}"
        );
        assert!(hint.contains(hint_has), "{hint}");
        assert!(
            hint.contains("HOST:PORT:DATABASE:atrs:PASSWORD") && hint.contains("chmod 600"),
            "{hint}"
        );
    };
    let empty = std::path::Path::new("");

    // Nothing anywhere: refused, saying where the password goes.
    let home_file = home.path().join(".pgpass");
    refused(
        &accounts(empty),
        &format!("the password file {}", home_file.display()),
    );

    // The named file, open to others: ignored, and said so.
    let matching = format!("127.0.0.1:{port}:pgpass:atrs:{IN_FILE}\n");
    write(&named, &matching, 0o644);
    refused(
        &accounts(&named),
        &format!(
            "The PostgreSQL password file {} was ignored: it has group or world access (mode 0644)",
            named.display()
        ),
    );

    // Owner-only: the first matching line wins; comments and other servers' lines skipped.
    write(
        &named,
        &format!(
            "# host:port:database:user:password\n\
             127.0.0.1:1:pgpass:atrs:other-port\n\
             127.0.0.1:{port}:otherdb:atrs:other-database\n\
             *:{port}:pgpass:atrs:{IN_FILE}\n\
             *:*:*:*:too-late\n"
        ),
        0o600,
    );
    let listed = accounts(&named);
    assert!(listed.status.success(), "{}", text(&listed));
    assert_eq!(json_result(&listed)["backend"], "postgres");

    // Without PGPASSFILE: ~/.pgpass.
    write(&home_file, &format!("*:*:*:atrs:{IN_FILE}\n"), 0o600);
    let listed = accounts(empty);
    assert!(listed.status.success(), "{}", text(&listed));

    // A wrong password there: refused by the server.
    write(&home_file, "*:*:*:atrs:not-the-password\n", 0o600);
    refused(&accounts(empty), "the password file");
}
