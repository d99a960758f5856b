//! Against a throwaway PostgreSQL server of the tests' own (see [`throwaway`]); skipped,
//! saying so, where the binaries are missing.

use std::{path::Path, str::FromStr, sync::Arc, time::Instant};

use postgres::{Config, NoTls};

use super::{throwaway::Server, *};
use crate::store::{KeyStore, Store};

fn values(pairs: &[(&str, &str)]) -> Values {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Key options with a named key file in `dir`, as every node of a cluster has.
fn options(dir: &Path) -> KeyOptions {
    KeyOptions {
        key_file: Some(dir.join("cluster.key")),
        host_keys_dir: Some(dir.join("host-keys")),
        key_store: KeyStore::File,
        secret_service_bus: None,
        plaintext: false,
    }
}

#[test]
fn accounts_round_trip_sealed_and_the_password_is_never_shown() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("roundtrip");
    let store = PostgresStore::open(&url, &options(keys.path())).unwrap();
    assert!(store.opened().key_created.is_some());
    store
        .apply(
            "p",
            Change::Account {
                account: "Sales",
                settings: &values(&[("client_id", "c")]),
                secrets: &values(&[("refresh_token", "rt-pg-secret-1")]),
                replaces: None,
            },
        )
        .unwrap();
    store
        .apply(
            "p",
            Change::Settings {
                account: "Alpha",
                values: &Values::new(),
            },
        )
        .unwrap();
    store
        .apply(
            "p",
            Change::Account {
                account: "Sales 2",
                settings: &values(&[("client_id", "c2")]),
                secrets: &values(&[("refresh_token", "rt-pg-secret-2")]),
                replaces: Some("Sales"),
            },
        )
        .unwrap();
    let names: Vec<String> = store
        .accounts(Some("p"))
        .unwrap()
        .into_iter()
        .map(|a| a.account)
        .collect();
    assert_eq!(names, ["Alpha", "Sales 2"]);
    assert_eq!(
        store.read_secret("p", "Sales", "refresh_token").unwrap(),
        None
    );
    assert_eq!(
        store
            .read_secret("p", "Sales 2", "refresh_token")
            .unwrap()
            .as_deref(),
        Some("rt-pg-secret-2")
    );
    store.check().unwrap();
    let info = store.info();
    assert_eq!(info.backend, "postgres");
    assert!(info.sealed);
    assert_eq!(
        info.location,
        format!("postgres://atrs@127.0.0.1:{}/roundtrip", server.port)
    );
    assert!(!format!("{store:?}{info:?}").contains("pw-not-shown"));

    // What a dump would show: no secret in clear.
    let mut raw = Config::from_str(&url).unwrap().connect(NoTls).unwrap();
    let dump: Vec<Vec<u8>> = raw
        .query("SELECT value FROM atrs_secrets", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(dump.len(), 1);
    assert!(!dump[0].windows(14).any(|w| w == b"rt-pg-secret-2"));

    // Another node (another connection, the same key file) sees it all.
    let other = PostgresStore::open(&url, &options(keys.path())).unwrap();
    assert_eq!(other.opened(), &OpenReport::default());
    assert_eq!(
        other.read_settings("p", "Sales 2").unwrap().unwrap()["client_id"],
        "c2"
    );
}

#[test]
fn advisory_locks_exclude_across_nodes_with_a_deadline_and_die_with_their_holder() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("locks");
    let a = PostgresStore::open(&url, &options(keys.path())).unwrap();
    let b = PostgresStore::open(&url, &options(keys.path())).unwrap();
    let held = a.lock("office365/refresh/Sales", Duration::ZERO).unwrap();
    let started = Instant::now();
    let e = b
        .lock("office365/refresh/Sales", Duration::from_millis(200))
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(matches!(e, StoreError::LockBusy { .. }), "{e}");
    b.lock("office365/refresh/Other", Duration::ZERO).unwrap();
    drop(held);
    let held = b
        .lock("office365/refresh/Sales", Duration::from_secs(5))
        .unwrap();

    // The holder's connection dies (its node killed): the server releases the lock.
    let mut admin = Config::from_str(&url).unwrap().connect(NoTls).unwrap();
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted",
        )
        .unwrap();
    a.lock("office365/refresh/Sales", Duration::from_secs(5))
        .unwrap();
    drop(held);
    assert!(matches!(
        a.lock(" ", Duration::ZERO),
        Err(StoreError::LockName)
    ));
}

#[test]
fn a_stopped_server_gives_a_clear_error_and_after_a_restart_nothing_is_lost() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("restart");
    let store = PostgresStore::open(&url, &options(keys.path())).unwrap();
    store
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "s",
                value: "before",
            },
        )
        .unwrap();
    server.stop();
    let e = store
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "s",
                value: "while-down",
            },
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("127.0.0.1:{}", server.port)),
        "{e}"
    );
    assert!(!e.to_string().contains("pw-not-shown"), "{e}");
    assert!(
        e.hint().contains("nothing was saved or lost"),
        "{}",
        e.hint()
    );
    assert!(matches!(
        store.read_secret("p", "A", "s"),
        Err(StoreError::Unreachable { .. })
    ));
    server.run();
    // The same handle connects again by itself.
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("before")
    );
    store
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "s",
                value: "after",
            },
        )
        .unwrap();
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("after")
    );
}

#[test]
fn a_newer_layout_is_refused_and_a_wrong_key_too() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("versions");
    drop(PostgresStore::open(&url, &options(keys.path())).unwrap());
    let other_keys = tempfile::tempdir().unwrap();
    let e = PostgresStore::open(&url, &options(other_keys.path())).unwrap_err();
    assert!(matches!(e, StoreError::KeyMissing { .. }), "{e}");
    let mut raw = Config::from_str(&url).unwrap().connect(NoTls).unwrap();
    raw.batch_execute("UPDATE atrs_meta SET value = '99' WHERE name = 'schema_version'")
        .unwrap();
    let e = PostgresStore::open(&url, &options(keys.path())).unwrap_err();
    assert!(e.to_string().contains("written by a newer version of atrs-test-host (store layout 99; this version reads layout 2)"), "{e}");
}

#[test]
fn nodes_writing_at_once_lose_nothing() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("churn");
    let nodes: Vec<Arc<PostgresStore>> = (0..4)
        .map(|_| Arc::new(PostgresStore::open(&url, &options(keys.path())).unwrap()))
        .collect();
    let writers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let node = node.clone();
            std::thread::spawn(move || {
                for i in 0..20 {
                    let account = format!("n{n}-{}", i % 5);
                    node.apply(
                        "p",
                        Change::Account {
                            account: &account,
                            settings: &values(&[("gen", &i.to_string())]),
                            secrets: &values(&[("gen", &i.to_string())]),
                            replaces: None,
                        },
                    )
                    .unwrap();
                    node.apply(
                        "p",
                        Change::Account {
                            account: "shared",
                            settings: &values(&[("gen", &format!("{n}-{i}"))]),
                            secrets: &values(&[("gen", &format!("{n}-{i}"))]),
                            replaces: None,
                        },
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let accounts = nodes[0].accounts(Some("p")).unwrap();
    assert_eq!(accounts.len(), 21);
    for a in accounts {
        let settings = nodes[1].read_settings("p", &a.account).unwrap().unwrap();
        let secret = nodes[2].read_secret("p", &a.account, "gen").unwrap();
        assert_eq!(
            secret.as_deref(),
            Some(settings["gen"].as_str()),
            "{} is whole",
            a.account
        );
    }
}

#[test]
fn rotating_the_key_reseals_every_secret_in_one_transaction() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("rotate");
    let store = PostgresStore::open(&url, &options(keys.path())).unwrap();
    for i in 0..3 {
        store
            .apply(
                "p",
                Change::Secret {
                    account: &format!("A{i}"),
                    name: "s",
                    value: &format!("v{i}"),
                },
            )
            .unwrap();
    }
    let old = std::fs::read(keys.path().join("cluster.key")).unwrap();
    let rotation = store.rotate_key().unwrap();
    assert_eq!(rotation.secrets, 3);
    assert_ne!(std::fs::read(keys.path().join("cluster.key")).unwrap(), old);
    assert_eq!(
        store.read_secret("p", "A2", "s").unwrap().as_deref(),
        Some("v2")
    );
    let again = PostgresStore::open(&url, &options(keys.path())).unwrap();
    assert_eq!(
        again.read_secret("p", "A0", "s").unwrap().as_deref(),
        Some("v0")
    );
    std::fs::write(keys.path().join("cluster.key"), &old).unwrap();
    let e = PostgresStore::open(&url, &options(keys.path())).unwrap_err();
    assert!(matches!(e, StoreError::KeyWrong { .. }), "{e}");
}

#[test]
fn reads_kept_by_a_handle_follow_every_change_by_another_node() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("generation");
    let open = || Store::over(PostgresStore::open(&url, &options(keys.path())).unwrap());
    let (a, b) = (open(), open());
    crate::store::read_cache::check_reads_follow_every_change(&a, &b);
}

#[test]
fn a_layout_1_store_gains_its_generation_on_open_and_keeps_its_accounts() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("layout1");
    let store = PostgresStore::open(&url, &options(keys.path())).unwrap();
    store
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "s",
                value: "kept",
            },
        )
        .unwrap();
    drop(store);
    let mut raw = Config::from_str(&url).unwrap().connect(NoTls).unwrap();
    raw.batch_execute(
        "DROP TABLE atrs_generation;
         UPDATE atrs_meta SET value = '1' WHERE name = 'schema_version'",
    )
    .unwrap();
    let store = Store::over(PostgresStore::open(&url, &options(keys.path())).unwrap());
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("kept")
    );
    let before = store.generation().unwrap();
    store.write_secret("p", "A", "s", "changed").unwrap();
    assert_ne!(store.generation().unwrap(), before);
    let version: String = raw
        .query_one(
            "SELECT value FROM atrs_meta WHERE name = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION.to_string());
}

#[test]
fn locks_of_one_process_share_one_connection_and_still_exclude_its_own_threads() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("many_locks");
    let store = Arc::new(PostgresStore::open(&url, &options(keys.path())).unwrap());
    // More locks held at once than the server takes connections (200).
    let held: Vec<StoreLock> = (0..300)
        .map(|i| {
            store
                .lock(&format!("office365/refresh/Account {i}"), Duration::ZERO)
                .unwrap()
        })
        .collect();
    // The same name from another thread of this process waits, and gives up at its bound.
    let other = store.clone();
    let started = Instant::now();
    let e = std::thread::spawn(move || {
        other
            .lock("office365/refresh/Account 7", Duration::from_millis(150))
            .unwrap_err()
    })
    .join()
    .unwrap();
    assert!(matches!(e, StoreError::LockBusy { .. }), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    // Another node is kept out on the server.
    let node = PostgresStore::open(&url, &options(keys.path())).unwrap();
    assert!(node
        .lock("office365/refresh/Account 7", Duration::ZERO)
        .is_err());
    // A waiter in this process gets it as soon as it is dropped.
    let waiter = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .lock("office365/refresh/Account 7", Duration::from_secs(10))
                .map(|l| l.name().to_owned())
        })
    };
    drop(held);
    assert_eq!(
        waiter.join().unwrap().unwrap(),
        "office365/refresh/Account 7"
    );
    node.lock("office365/refresh/Account 8", Duration::from_secs(5))
        .unwrap();
}

#[test]
fn a_lock_wait_that_runs_out_names_the_connection_holding_it() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("holder");
    let a = PostgresStore::open(
        &format!("{url}?application_name=node-a"),
        &options(keys.path()),
    )
    .unwrap();
    let b = PostgresStore::open(&url, &options(keys.path())).unwrap();
    let held = a.lock("office365/refresh/Sales", Duration::ZERO).unwrap();
    let e = b
        .lock("office365/refresh/Sales", Duration::from_millis(100))
        .unwrap_err();
    let StoreError::LockBusy {
        held_by: Some(holder),
        ..
    } = &e
    else {
        panic!("no holder named: {e}");
    };
    let mut admin = Config::from_str(&url).unwrap().connect(NoTls).unwrap();
    let lock_pid: i32 = admin
        .query_one(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(holder.pid, lock_pid as u32);
    assert_eq!(holder.command.as_deref(), Some("node-a"));
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "the lock \"office365/refresh/Sales\" is held by the connection \"node-a\" (server process {lock_pid}, connected from 127.0.0.1 port "
        )),
        "{text}"
    );
    assert!(text.contains(" UTC)"), "{text}");
    assert!(
        e.hint()
            .contains(&format!("SELECT pg_terminate_backend({lock_pid})")),
        "{}",
        e.hint()
    );
    // Without one in the URL, a connection calls itself by program, process and machine.
    let names: Vec<String> = admin
        .query(
            "SELECT application_name FROM pg_stat_activity
             WHERE datname = 'holder' AND application_name NOT IN ('', 'node-a')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!names.is_empty());
    for name in names {
        assert!(
            name.contains(&format!(" pid {} on ", std::process::id())),
            "{name}"
        );
        assert!(name.len() <= 63, "{name}");
    }
    // Another thread of the holder's own process is told it is this process.
    let e = a
        .lock("office365/refresh/Sales", Duration::from_millis(50))
        .unwrap_err();
    let StoreError::LockBusy {
        held_by: Some(holder),
        ..
    } = &e
    else {
        panic!("no holder named: {e}");
    };
    assert_eq!(holder.pid, std::process::id());
    assert_eq!(holder.connection, None);
    // Once let go, the other node takes it.
    drop(held);
    b.lock("office365/refresh/Sales", Duration::from_secs(5))
        .unwrap();
}

/// A relay on loopback to the server at `port` that holds every chunk for `delay`
/// before passing it on, as a server a round trip of twice that away would answer;
/// gives its port. (A measurement's stand-in for a network: the delay is the point.)
fn delaying_relay(port: u16, delay: Duration) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                std::thread::sleep(delay);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(("127.0.0.1", port)).unwrap();
            client.set_nodelay(true).unwrap();
            server.set_nodelay(true).unwrap();
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                delay,
            );
            pipe(server, client, delay);
        }
    });
    relay
}

/// A measurement, not run by default: 8 threads of one handle each read the settings
/// and a secret of 1,000 accounts (16,000 queries), every value checked; prints the
/// time. `ATRS_PG_BENCH_PARAMS` adds URL parameters (`pool_size=1`);
/// `ATRS_PG_BENCH_RTT_MS` puts the server that many milliseconds of round trip away
/// (through [`delaying_relay`]).
/// `cargo test -p atrs-host-runtime --lib eight_threads_read -- --ignored --nocapture`
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn eight_threads_read_a_thousand_accounts() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let mut url = server.database("bench_reads");
    if let Some(rtt) = std::env::var("ATRS_PG_BENCH_RTT_MS")
        .ok()
        .and_then(|ms| ms.parse::<f64>().ok())
    {
        let relay = delaying_relay(server.port, Duration::from_secs_f64(rtt / 2000.0));
        url = url.replace(&format!(":{}/", server.port), &format!(":{relay}/"));
    }
    if let Ok(params) = std::env::var("ATRS_PG_BENCH_PARAMS") {
        url = format!("{url}?{params}");
    }
    let store = Arc::new(PostgresStore::open(&url, &options(keys.path())).unwrap());
    for i in 0..1000 {
        let account = format!("A{i}");
        store
            .apply(
                "p",
                Change::Account {
                    account: &account,
                    settings: &values(&[("n", &i.to_string())]),
                    secrets: &values(&[("s", &format!("secret-{i}"))]),
                    replaces: None,
                },
            )
            .unwrap();
    }
    let started = Instant::now();
    let readers: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for k in 0..1000 {
                    let i = (k + t * 125) % 1000;
                    let account = format!("A{i}");
                    let settings = store.read_settings("p", &account).unwrap().unwrap();
                    assert_eq!(settings["n"], i.to_string());
                    let secret = store.read_secret("p", &account, "s").unwrap();
                    assert_eq!(secret, Some(format!("secret-{i}")));
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "8 threads x 1,000 accounts (16,000 reads): {:.0} ms, {:.0} reads/s",
        elapsed.as_secs_f64() * 1000.0,
        16_000.0 / elapsed.as_secs_f64()
    );
}

/// Runs an operation on `store` from `threads` threads at once, each waiting inside its
/// operation until all are inside theirs (at most `wait`): true if they all got there,
/// which needs a connection each.
fn all_inside_at_once(store: &Arc<PostgresStore>, threads: usize, wait: Duration) -> bool {
    let inside = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (store, inside) = (store.clone(), inside.clone());
            std::thread::spawn(move || {
                store
                    .run(|client, _| {
                        client.query_one("SELECT 1", &[]).unwrap();
                        let (count, changed) = &*inside;
                        let mut count = count.lock().unwrap();
                        *count += 1;
                        changed.notify_all();
                        let (count, _) = changed
                            .wait_timeout_while(count, wait, |c| *c < threads)
                            .unwrap();
                        Ok(*count >= threads)
                    })
                    .unwrap()
            })
        })
        .collect();
    workers.into_iter().all(|w| w.join().unwrap())
}

#[test]
fn threads_of_one_handle_query_side_by_side_on_pool_size_connections_and_one_shared() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("pool");
    let store = Arc::new(
        PostgresStore::open(
            &format!("{url}?application_name=pooled&pool_size=3"),
            &options(keys.path()),
        )
        .unwrap(),
    );
    assert_eq!(store.pool.open(), 1);
    assert!(all_inside_at_once(&store, 3, Duration::from_secs(10)));
    assert_eq!(store.pool.open(), 3);
    // More threads than connections wait their turn: never a fourth connection.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    store.accounts(None).unwrap();
                    store.generation().unwrap();
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(store.pool.open(), 3);

    // Every pooled connection held (by three transactions): a query does not wait for
    // one, it is answered on the one connection all threads share.
    let on_server = while_every_pooled_one_is_held(&store, 3, || {
        let (generation, listed) = answered_within(&store, Duration::from_secs(10), |store| {
            (store.generation(), store.accounts(None))
        });
        assert!(generation.unwrap().is_some());
        listed.unwrap();
        let mut admin = Config::from_str(&url).unwrap().connect(NoTls).unwrap();
        let count: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pooled'",
                &[],
            )
            .unwrap()
            .get(0);
        count
    });
    assert_eq!(on_server, 4, "the pool's 3 and the shared one");
    assert_eq!(store.pool.open(), 3);

    // The default is 4; one connection is the old behaviour, one query at a time.
    assert_eq!(
        PostgresStore::open(&url, &options(keys.path()))
            .unwrap()
            .connector
            .pool_size(),
        pool::DEFAULT_SIZE
    );
    let single = Arc::new(
        PostgresStore::open(&format!("{url}?pool_size=1"), &options(keys.path())).unwrap(),
    );
    let started = Instant::now();
    assert!(!all_inside_at_once(&single, 2, Duration::from_secs(1)));
    assert!(started.elapsed() >= Duration::from_secs(1));

    for bad in ["0", "65", "many"] {
        let e = PostgresStore::open(&format!("{url}?pool_size={bad}"), &options(keys.path()))
            .unwrap_err();
        assert!(matches!(e, StoreError::Address { .. }), "{e}");
        assert!(
            e.to_string().contains(&format!(
                "pool_size={bad} is not a number of connections from 1 to 64"
            )),
            "{e}"
        );
        assert!(!e.to_string().contains("pw-not-shown"), "{e}");
    }
}

/// A store in the new database `name` on `server` with `pool_size` pooled connections,
/// keeping the secret `s` = "kept" of account `A`.
fn keeping_a_secret(
    server: &Server,
    name: &str,
    pool_size: usize,
    keys: &Path,
) -> Arc<PostgresStore> {
    let url = server.database(name);
    let store = Arc::new(
        PostgresStore::open(&format!("{url}?pool_size={pool_size}"), &options(keys)).unwrap(),
    );
    store
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "s",
                value: "kept",
            },
        )
        .unwrap();
    store
}

#[test]
fn after_a_restart_the_first_call_succeeds_though_every_pooled_connection_was_lost() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let store = keeping_a_secret(&server, "pool_restart", 3, keys.path());
    assert!(all_inside_at_once(&store, 3, Duration::from_secs(10)));
    assert_eq!(store.pool.open(), 3);
    server.stop();
    server.run();
    // The first idle connection is found dead; it and the other idle ones go, and the
    // call is made again on a new one.
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(store.pool.open(), 1);
}

/// Runs `f` while `n` threads each hold one of `store`'s pooled connections (in a
/// transaction of `run`), so that none is idle.
fn while_every_pooled_one_is_held<T>(
    store: &Arc<PostgresStore>,
    n: usize,
    f: impl FnOnce() -> T,
) -> T {
    let (holding, release) = (
        Arc::new(std::sync::Barrier::new(n + 1)),
        Arc::new(std::sync::Barrier::new(n + 1)),
    );
    let holders: Vec<_> = (0..n)
        .map(|_| {
            let (store, holding, release) = (store.clone(), holding.clone(), release.clone());
            std::thread::spawn(move || {
                store
                    .run(|_, _| {
                        holding.wait();
                        release.wait();
                        Ok(())
                    })
                    .unwrap()
            })
        })
        .collect();
    holding.wait();
    let outcome = f();
    release.wait();
    for h in holders {
        h.join().unwrap();
    }
    outcome
}

/// What `ask` gives on another thread, which must answer within `deadline`.
fn answered_within<T: Send + 'static>(
    store: &Arc<PostgresStore>,
    deadline: Duration,
    ask: impl FnOnce(&PostgresStore) -> T + Send + 'static,
) -> T {
    let (answered, answer) = std::sync::mpsc::channel();
    let store = store.clone();
    std::thread::spawn(move || answered.send(ask(&store)).unwrap());
    answer
        .recv_timeout(deadline)
        .expect("answered while every pooled connection was held")
}

#[test]
fn the_shared_connection_lost_in_a_restart_is_made_again_by_the_next_statement() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let store = keeping_a_secret(&server, "shared_restart", 1, keys.path());
    let read = |store: &Arc<PostgresStore>| {
        while_every_pooled_one_is_held(store, 1, || {
            answered_within(store, Duration::from_secs(10), |store| {
                store.read_secret("p", "A", "s")
            })
        })
    };
    assert_eq!(read(&store).unwrap().as_deref(), Some("kept"));
    server.stop();
    server.run();
    assert_eq!(read(&store).unwrap().as_deref(), Some("kept"));
}

/// The statement texts prepared on the connection `store` lends next (its pool of one),
/// each with how many times it is prepared there.
fn prepared_on_the_connection(store: &PostgresStore) -> Vec<(String, i64)> {
    store
        .run(|client, _| {
            Ok(client
                .query(
                    "SELECT statement, count(*) FROM pg_prepared_statements
                     WHERE statement NOT LIKE '%pg_prepared_statements%' GROUP BY statement",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })
        .unwrap()
}

#[test]
fn each_statement_is_prepared_once_per_connection_and_again_on_a_new_one() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("prepared_once");
    let store = PostgresStore::open(&format!("{url}?pool_size=1"), &options(keys.path())).unwrap();
    let secrets = values(&[("refresh_token", "rt"), ("access_tokens", "[]")]);
    for round in 0..3 {
        store
            .apply(
                "p",
                Change::Account {
                    account: "A",
                    settings: &values(&[("round", &round.to_string())]),
                    secrets: &secrets,
                    replaces: None,
                },
            )
            .unwrap();
        assert_eq!(
            store
                .read_secret("p", "A", "refresh_token")
                .unwrap()
                .as_deref(),
            Some("rt")
        );
        assert!(store.read_settings("p", "A").unwrap().is_some());
        let now = store.generation().unwrap().unwrap();
        // A read with its generation: one query, the generation that of its snapshot.
        let (at, value) = store.read_secret_at("p", "A", "refresh_token").unwrap();
        assert_eq!((at, value.as_deref()), (Some(now), Some("rt")));
        let (at, settings) = store.read_settings_at("p", "A").unwrap();
        assert_eq!(at, Some(now));
        assert_eq!(settings.unwrap()["round"], round.to_string());
    }
    let prepared = prepared_on_the_connection(&store);
    // The four reads, the generation and the account write, each once.
    assert_eq!(prepared.len(), 6, "{prepared:?}");
    assert!(prepared.iter().all(|(_, n)| *n == 1), "{prepared:?}");
    assert!(
        prepared
            .iter()
            .any(|(s, _)| s.starts_with("SELECT value FROM atrs_secrets")),
        "{prepared:?}"
    );
    // A new connection (the server restarted) has none, and prepares what it uses.
    server.stop();
    server.run();
    assert_eq!(
        store
            .read_secret("p", "A", "refresh_token")
            .unwrap()
            .as_deref(),
        Some("rt")
    );
    let prepared = prepared_on_the_connection(&store);
    assert_eq!(prepared.len(), 1, "{prepared:?}");
    assert!(prepared[0].0.starts_with("SELECT value FROM atrs_secrets"));
}

#[test]
fn an_account_write_leaves_it_exactly_the_secrets_named_and_moves_the_generation() {
    let Some(server) = Server::start() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let url = server.database("account_exact");
    let store = PostgresStore::open(&url, &options(keys.path())).unwrap();
    let write = |secrets: &[(&str, &str)], client_id: &str| {
        store
            .apply(
                "p",
                Change::Account {
                    account: "A",
                    settings: &values(&[("client_id", client_id)]),
                    secrets: &values(secrets),
                    replaces: None,
                },
            )
            .unwrap()
    };
    write(&[("refresh_token", "rt-1"), ("client_secret", "cs")], "c1");
    // Another plugin's account of the same name is not touched.
    store
        .apply(
            "q",
            Change::Secret {
                account: "A",
                name: "refresh_token",
                value: "other",
            },
        )
        .unwrap();
    let before = store.generation().unwrap();
    write(&[("refresh_token", "rt-2"), ("access_tokens", "[]")], "c2");
    assert_ne!(store.generation().unwrap(), before);
    let secret = |plugin, name| store.read_secret(plugin, "A", name).unwrap();
    assert_eq!(secret("p", "refresh_token").as_deref(), Some("rt-2"));
    assert_eq!(secret("p", "access_tokens").as_deref(), Some("[]"));
    assert_eq!(
        secret("p", "client_secret"),
        None,
        "a secret not named goes"
    );
    assert_eq!(secret("q", "refresh_token").as_deref(), Some("other"));
    assert_eq!(
        store.read_settings("p", "A").unwrap().unwrap()["client_id"],
        "c2"
    );
    // No secrets at all: every one goes, the settings stay.
    write(&[], "c3");
    assert_eq!(secret("p", "refresh_token"), None);
    assert_eq!(secret("p", "access_tokens"), None);
    assert_eq!(
        store.read_settings("p", "A").unwrap().unwrap()["client_id"],
        "c3"
    );
}
