//! A device code verification against the mock, approved at once and polled without
//! waiting (interval 0): ours — the release Office 365 library loaded by the host's
//! loader, driven through the ABI from Verify to Verified — beside the `oauth2` crate
//! doing the same protocol steps directly (discovery, device authorization, token,
//! Graph `/me`) over the same HTTP stack. The ratio of the two is the cost of
//! everything ours adds: the ABI, the session, the checks of the discovery document
//! and the ID token, the typed errors.
//!
//! `cargo bench -p atrs-e2e --bench device_code`
//!
//! Before the first measurement each side verifies once, and the requests each sent to
//! the mock are printed, so the two are seen to do the same protocol steps.

use std::time::{Duration, Instant};

use atrs_host_sdk::{
    loader::{self, IntegrationHandle},
    testing::MemoryHost,
    FormValues, SessionState, VerifyMethod,
};
use atrs_mock_idp::{defaults, Endpoint, MockConfig, MockIdp};
use criterion::{criterion_group, criterion_main, Criterion};
use oauth2::{
    basic::BasicClient, AuthType, ClientId, DeviceAuthorizationUrl, Scope,
    StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};

const SCOPES: &str = "openid profile offline_access User.Read";

/// The form a person fills in, pointed at `mock`.
fn form(mock: &MockIdp) -> FormValues {
    FormValues::new()
        .with("account_name", "Bench")
        .with("client_id", defaults::DESKTOP_CLIENT_ID)
        .with("tenant_id", defaults::TENANT_ID)
        .with("authority", mock.base_url())
        .with("scopes", SCOPES)
}

/// Ours: Verify, then poll the session until it is verified.
fn through_the_host(integration: &mut IntegrationHandle, values: &FormValues) {
    let session = integration
        .start_verification(values, VerifyMethod::DeviceCode)
        .expect("verification starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match session.poll(Duration::from_secs(5)) {
            SessionState::Verified(_) => return,
            SessionState::Failed(e) => panic!("verification failed: {e}"),
            _ => assert!(Instant::now() < deadline, "verification never ended"),
        }
    }
}

/// The same protocol steps with the `oauth2` crate, from a new HTTP client as ours
/// starts from: discovery, device authorization, token, Graph `/me`.
async fn with_oauth2(base: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let discovery: serde_json::Value = http
        .get(format!(
            "{base}/{}/v2.0/.well-known/openid-configuration",
            defaults::TENANT_ID
        ))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("discovery JSON");
    let endpoint = |key: &str| discovery[key].as_str().expect(key).to_owned();
    let token_url = endpoint("token_endpoint");
    let device_url = token_url.replace("/token", "/devicecode");
    let client = BasicClient::new(ClientId::new(defaults::DESKTOP_CLIENT_ID.into()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(token_url).expect("token URL"))
        .set_device_authorization_url(DeviceAuthorizationUrl::new(device_url).expect("URL"));
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(SCOPES.split(' ').map(|s| Scope::new(s.into())))
        .request_async(&http)
        .await
        .expect("device authorization");
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .expect("token");
    let graph = discovery["msgraph_host"].as_str().expect("msgraph_host");
    let me = http
        .get(format!("http://{graph}/v1.0/me"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .expect("/me");
    assert!(me.status().is_success(), "/me: {}", me.status());
}

/// The requests `run` sent to `mock`, by endpoint.
fn requests_of(mock: &MockIdp, run: impl FnOnce()) -> String {
    let endpoints = [
        ("discovery", Endpoint::Discovery),
        ("devicecode", Endpoint::DeviceCode),
        ("token", Endpoint::Token),
        ("graph", Endpoint::Graph),
        ("userinfo", Endpoint::UserInfo),
        ("keys", Endpoint::Keys),
    ];
    let before = mock.stats();
    run();
    let after = mock.stats();
    endpoints
        .iter()
        .map(|(name, e)| format!("{name} {}", after.count(*e) - before.count(*e)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn device_code(c: &mut Criterion) {
    let mock = MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("mock starts");
    let library = atrs_e2e::release_workspace().get("atrs_office365");
    let plugin = loader::load_file(library).expect("the plugin loads");
    let mut integration = plugin.instantiate(MemoryHost::new()).expect("instance");
    let values = form(&mock);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let base = mock.base_url();

    let ours = requests_of(&mock, || through_the_host(&mut integration, &values));
    let direct = requests_of(&mock, || runtime.block_on(with_oauth2(&base)));
    eprintln!("requests — ours: {ours}\nrequests — oauth2 directly: {direct}");

    let mut group = c.benchmark_group("device_code");
    group.bench_function("through_host_and_abi", |b| {
        b.iter(|| through_the_host(&mut integration, &values))
    });
    group.bench_function("oauth2_crate_directly", |b| {
        b.iter(|| runtime.block_on(with_oauth2(&base)))
    });
    group.finish();
}

criterion_group!(benches, device_code);
criterion_main!(benches);
