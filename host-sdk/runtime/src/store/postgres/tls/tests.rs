//! The URL's TLS parameters as libpq reads them, and each `sslmode` against a throwaway
//! server offering TLS with certificates made here (skipped, saying so, where the
//! PostgreSQL binaries are missing).

use std::{
    net::{IpAddr, Ipv4Addr},
    path::Path,
    time::Duration,
};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};

use super::*;
use crate::store::{
    key_file::KeyOptions, postgres::throwaway::Server, AccountStore, Change, KeyStore,
    PostgresStore, StoreError, Values,
};

fn tcp(name: &str) -> Host {
    Host::Tcp(name.to_owned())
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_tls_parameters_are_taken_out_of_the_url_and_the_rest_kept() {
    let (url, requested) = take_parameters(
        "postgres://atrs:p%3Fw?x@db.example:5433/atrs?application_name=a&sslmode=verify-full&sslrootcert=%2Fetc%2Fatrs%2Fca.pem&connect_timeout=3",
    )
    .unwrap();
    assert_eq!(
        url,
        "postgres://atrs:p%3Fw?x@db.example:5433/atrs?application_name=a&connect_timeout=3"
    );
    assert_eq!(
        requested,
        Requested {
            mode: Some(SslMode::VerifyFull),
            roots: Some(Roots::File("/etc/atrs/ca.pem".into())),
        }
    );
    let (url, requested) = take_parameters("postgres://db/atrs?sslmode=disable").unwrap();
    assert_eq!(url, "postgres://db/atrs");
    assert_eq!(requested.mode, Some(SslMode::Disable));
    let (url, requested) = take_parameters("postgres://atrs@db/atrs").unwrap();
    assert_eq!(
        (url.as_str(), requested),
        ("postgres://atrs@db/atrs", Requested::default())
    );
    assert_eq!(
        take_parameters("postgres://db/a?sslrootcert=system")
            .unwrap()
            .1
            .roots,
        Some(Roots::System)
    );

    let e = take_parameters("postgres://db/atrs?sslmode=verify_full").unwrap_err();
    assert!(e.detail.contains("sslmode=verify_full"), "{e:?}");
    assert!(e.fix.contains("verify-full"), "{e:?}");
    let e = take_parameters("postgres://db/atrs?sslrootcert=").unwrap_err();
    assert!(e.detail.contains("names no file"), "{e:?}");
}

#[test]
fn the_mode_comes_from_the_url_then_the_environment_then_where_the_server_is() {
    let decide = |requested: Requested, hosts: &[Host], env: &dyn Fn(&str) -> Option<String>| {
        Policy::decide(requested, hosts, env, None)
    };
    let mode = |p: Result<Policy, SettingError>| p.unwrap().mode;
    // This machine: encrypt if the server can; another: encrypt or refuse.
    let local = [tcp("127.0.0.1"), tcp("localhost"), tcp("::1")];
    assert_eq!(
        mode(decide(Requested::default(), &local, &no_env)),
        SslMode::Prefer
    );
    let remote = [tcp("127.0.0.1"), tcp("db.example")];
    assert_eq!(
        mode(decide(Requested::default(), &remote, &no_env)),
        SslMode::Require
    );
    assert_eq!(
        mode(decide(Requested::default(), &[tcp("10.0.0.5")], &no_env)),
        SslMode::Require
    );
    // PGSSLMODE when the URL names none; the URL's first.
    let env = |name: &str| (name == SSLMODE_ENV).then(|| "disable".to_owned());
    assert_eq!(
        mode(decide(Requested::default(), &remote, &env)),
        SslMode::Disable
    );
    let asked = Requested {
        mode: Some(SslMode::Require),
        roots: None,
    };
    assert_eq!(mode(decide(asked, &remote, &env)), SslMode::Require);
    let env = |name: &str| (name == SSLMODE_ENV).then(|| "sure".to_owned());
    assert!(decide(Requested::default(), &remote, &env).is_err());

    // The system's CAs mean verify-full, and nothing weaker.
    let system = Requested {
        mode: None,
        roots: Some(Roots::System),
    };
    assert_eq!(
        mode(decide(system.clone(), &local, &no_env)),
        SslMode::VerifyFull
    );
    let e = decide(
        Requested {
            mode: Some(SslMode::Require),
            ..system
        },
        &remote,
        &no_env,
    )
    .unwrap_err();
    assert!(e.detail.contains("needs sslmode=verify-full"), "{e:?}");

    // Checking the certificate needs a CA.
    let e = decide(
        Requested {
            mode: Some(SslMode::VerifyCa),
            roots: None,
        },
        &remote,
        &no_env,
    )
    .unwrap_err();
    assert!(e.detail.contains("sslmode=verify-ca checks"), "{e:?}");
    assert!(e.fix.contains("sslrootcert=PATH"), "{e:?}");
    let env = |name: &str| (name == ROOTCERT_ENV).then(|| "/etc/atrs/ca.pem".to_owned());
    let policy = decide(
        Requested {
            mode: Some(SslMode::VerifyCa),
            roots: None,
        },
        &remote,
        &env,
    )
    .unwrap();
    assert_eq!(policy.roots, Some(Roots::File("/etc/atrs/ca.pem".into())));
}

#[test]
fn libpqs_default_ca_file_is_used_when_it_exists_and_the_mode_then_checks_the_chain() {
    let home = tempfile::tempdir().unwrap();
    let requested = Requested {
        mode: Some(SslMode::VerifyFull),
        roots: None,
    };
    assert!(Policy::decide(requested.clone(), &[], &no_env, Some(home.path())).is_err());
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    let file = home.path().join(".postgresql/root.crt");
    std::fs::write(&file, "").unwrap();
    let policy = Policy::decide(requested, &[], &no_env, Some(home.path())).unwrap();
    assert_eq!(policy.roots, Some(Roots::File(file)));
    // An empty file is no CA.
    let e = policy.connector().err().expect("no CA in an empty file");
    assert!(e.detail.contains("holds no PEM certificate"), "{e:?}");
    // Nothing to check with TLS off.
    let off = Requested {
        mode: Some(SslMode::Disable),
        roots: None,
    };
    let policy = Policy::decide(off, &[], &no_env, Some(home.path())).unwrap();
    assert_eq!(policy.roots, None);
}

#[test]
fn a_connection_others_could_read_or_pose_as_is_told_once() {
    let remote = [tcp("db.example")];
    let warn = |mode, roots| {
        Policy { mode, roots }.warning(&remote, "postgres://atrs@db.example:5432/atrs")
    };
    assert_eq!(
        Policy {
            mode: SslMode::Require,
            roots: None
        }
        .warning(&[tcp("127.0.0.1")], "here"),
        None
    );
    assert_eq!(warn(SslMode::VerifyFull, Some(Roots::System)), None);
    let text = warn(SslMode::Require, None).unwrap();
    assert!(
        text.contains("certificate is not checked (sslmode=require)"),
        "{text}"
    );
    assert!(
        text.contains("sslmode=verify-full&sslrootcert=PATH"),
        "{text}"
    );
    let text = warn(SslMode::VerifyCa, Some(Roots::System)).unwrap();
    assert!(text.contains("not for its name"), "{text}");
    let text = warn(SslMode::Disable, None).unwrap();
    assert!(text.contains("is not encrypted"), "{text}");
}

#[test]
fn names_a_certificate_carries_are_shown_bare() {
    assert_eq!(bare_name("DnsName(\"db.example\")"), "db.example");
    assert_eq!(bare_name("IpAddress(10.0.0.5)"), "10.0.0.5");
    assert_eq!(bare_name("db.example"), "db.example");
}

/// A certificate authority of the tests' own.
struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Authority { cert, key }
    }

    /// A server certificate (PEM, with this authority's after it) and its key, for `names`.
    fn server(&self, names: &[SanType]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "atrs test database");
        params.subject_alt_names = names.to_vec();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (
            format!("{}{}", cert.pem(), self.cert.pem()),
            key.serialize_pem(),
        )
    }

    /// Its certificate in a PEM file in `dir`.
    fn file(&self, dir: &Path, name: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, self.cert.pem()).unwrap();
        path.display().to_string()
    }
}

fn loopback() -> Vec<SanType> {
    vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into().unwrap()),
    ]
}

fn options(dir: &Path) -> KeyOptions {
    KeyOptions {
        key_file: Some(dir.join("cluster.key")),
        host_keys_dir: Some(dir.join("host-keys")),
        key_store: KeyStore::File,
        secret_service_bus: None,
        plaintext: false,
    }
}

fn values(pairs: &[(&str, &str)]) -> Values {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether the store's own connection is encrypted, and how many of the database's
/// connections (the store's and its lock session's among them) are not.
fn encrypted(store: &PostgresStore, database: &str) -> (bool, i64) {
    store
        .run(|client, _| {
            let row = client
                .query_one(
                    "SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()),
                            (SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                             WHERE datname = $1 AND NOT ssl)",
                    &[&database],
                )
                .unwrap();
            Ok((row.get(0), row.get(1)))
        })
        .unwrap()
}

#[test]
fn verify_full_with_the_right_ca_encrypts_every_connection_of_a_round_trip() {
    let ca = Authority::new("atrs test CA");
    let (cert, key) = ca.server(&loopback());
    let Some(server) = Server::start_with_tls(&cert, &key, Some("pw-tls-secret")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.file(dir.path(), "ca.pem");
    // channel_binding=require: the password login is bound to this TLS session
    // (SCRAM-SHA-256-PLUS), or the connection fails.
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={ca_file}&channel_binding=require",
        server.database("tls_full")
    );
    let store = PostgresStore::open(&url, &options(dir.path())).unwrap();
    assert_eq!(store.opened().warnings, Vec::<String>::new());
    store
        .apply(
            "p",
            Change::Account {
                account: "Sales",
                settings: &values(&[("client_id", "c")]),
                secrets: &values(&[("refresh_token", "rt-over-tls")]),
                replaces: None,
            },
        )
        .unwrap();
    assert_eq!(
        store
            .read_secret("p", "Sales", "refresh_token")
            .unwrap()
            .as_deref(),
        Some("rt-over-tls")
    );
    let lock = store
        .lock("office365/refresh/Sales", Duration::ZERO)
        .unwrap();
    assert_eq!(encrypted(&store, "tls_full"), (true, 0));
    drop(lock);
    // The same with the host's name, and with another node's store.
    let by_name = url.replace("127.0.0.1", "localhost");
    let other = PostgresStore::open(&by_name, &options(dir.path())).unwrap();
    assert_eq!(
        other.read_settings("p", "Sales").unwrap().unwrap()["client_id"],
        "c"
    );
}

#[test]
fn verify_full_refuses_a_certificate_another_ca_signed_saying_which() {
    let ca = Authority::new("atrs test CA");
    let (cert, key) = ca.server(&loopback());
    let Some(server) = Server::start_with_tls(&cert, &key, Some("pw-tls-secret")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let other_ca = Authority::new("someone else's CA").file(dir.path(), "other.pem");
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={other_ca}",
        server.database("tls_other_ca")
    );
    let e = PostgresStore::open(&url, &options(dir.path())).unwrap_err();
    let StoreError::Tls { .. } = &e else {
        panic!("not a TLS error: {e}");
    };
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "cannot be reached securely: the server's certificate is not signed by the CA file {other_ca}"
        )),
        "{text}"
    );
    assert!(e.hint().contains("sslrootcert=PATH"), "{}", e.hint());
    assert!(!format!("{text}{}{e:?}", e.hint()).contains("pw-tls-secret"));
    // verify-ca checks the same chain.
    let url = url.replace("verify-full", "verify-ca");
    let e = PostgresStore::open(&url, &options(dir.path())).unwrap_err();
    assert!(e.to_string().contains("not signed by the CA file"), "{e}");
}

#[test]
fn verify_full_refuses_a_certificate_for_another_host_and_verify_ca_takes_it() {
    let ca = Authority::new("atrs test CA");
    let (cert, key) = ca.server(&[SanType::DnsName("db.example".try_into().unwrap())]);
    let Some(server) = Server::start_with_tls(&cert, &key, None) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.file(dir.path(), "ca.pem");
    let base = server.database("tls_name");
    let e = PostgresStore::open(
        &format!("{base}?sslmode=verify-full&sslrootcert={ca_file}"),
        &options(dir.path()),
    )
    .unwrap_err();
    assert!(matches!(e, StoreError::Tls { .. }), "{e}");
    assert!(
        e.to_string().contains(
            "the server's certificate is not for the host 127.0.0.1 (it names db.example)"
        ),
        "{e}"
    );
    assert!(e.hint().contains("sslmode=verify-ca"), "{}", e.hint());
    // The CA alone: taken, encrypted.
    let store = PostgresStore::open(
        &format!("{base}?sslmode=verify-ca&sslrootcert={ca_file}"),
        &options(dir.path()),
    )
    .unwrap();
    assert_eq!(encrypted(&store, "tls_name"), (true, 0));
}

#[test]
fn require_encrypts_without_a_ca_and_disable_does_not() {
    let ca = Authority::new("atrs test CA");
    let (cert, key) = ca.server(&[SanType::DnsName("db.example".try_into().unwrap())]);
    let Some(server) = Server::start_with_tls(&cert, &key, None) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = server.database("tls_require");
    let store =
        PostgresStore::open(&format!("{base}?sslmode=require"), &options(dir.path())).unwrap();
    store.lock("l", Duration::ZERO).unwrap();
    assert_eq!(encrypted(&store, "tls_require"), (true, 0));
    // This machine's default (prefer) encrypts too, the server offering it.
    let default = PostgresStore::open(&base, &options(dir.path())).unwrap();
    assert!(encrypted(&default, "tls_require").0);
    drop((store, default));
    let plain =
        PostgresStore::open(&format!("{base}?sslmode=disable"), &options(dir.path())).unwrap();
    assert!(!encrypted(&plain, "tls_require").0);
    plain
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "s",
                value: "v",
            },
        )
        .unwrap();
}

#[test]
fn require_against_a_server_without_tls_is_refused_saying_how_to_fix_it() {
    let Some(server) = Server::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = server.database("tls_none");
    let e =
        PostgresStore::open(&format!("{base}?sslmode=require"), &options(dir.path())).unwrap_err();
    assert!(matches!(e, StoreError::Tls { .. }), "{e}");
    assert!(
        e.to_string().contains(
            "the server does not accept encrypted connections, and sslmode=require requires them"
        ),
        "{e}"
    );
    assert!(e.hint().contains("ssl = on"), "{}", e.hint());
    assert!(!e.to_string().contains("pw-not-shown"), "{e}");
    // A CA file that is not there is named before any connection.
    let e = PostgresStore::open(
        &format!("{base}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
        &options(dir.path()),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("the CA file /nonexistent/ca.pem cannot be used"),
        "{e}"
    );
}
