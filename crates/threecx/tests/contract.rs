//! The PBX client against `runway-sim`: every login kind, every version's field set, faults.
//!
//! The simulator shares no code with the client, so a misunderstanding of the protocol on
//! either side shows up here as a failed read or wrong facts.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use runway_sim::{Fault, FaultKind, Scenario, Scheme, SimHandle, SimOptions, SimServer};
use runway_threecx::{
    BaseUrl, Connector, Credentials, FailureKind, NetworkPolicy, PbxClient, PbxTarget, ReadLimits,
    Secret, TlsOptions,
};

/// A connector, with the crypto provider the binary installs in `main` installed first (and
/// the test's logs for the secrets scan of `scripts/test`).
fn connector(limits: ReadLimits) -> Connector {
    runway_testkit::logs::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    Connector::new(limits, NetworkPolicy::allowing_loopback())
}

fn demo_scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.toml");
    let scenario = Scenario::load(&path, Timestamp::now()).unwrap();
    runway_testkit::secrets::scenario(&scenario);
    scenario
}

fn login_for(spec: &runway_sim::Login) -> Credentials {
    runway_sim_fleet::credentials(spec)
}

fn client(
    sim: &SimHandle,
    id: &str,
    scheme: Scheme,
    login: Credentials,
    timeout: Duration,
) -> PbxClient {
    let base_url = BaseUrl::parse(sim.base_url(id, scheme).unwrap()).unwrap();
    let tls = TlsOptions {
        custom_ca_pem: Some(sim.ca_pem().to_owned()),
        accept_invalid_certs: false,
    };
    let limits = ReadLimits {
        timeout,
        ..ReadLimits::default()
    };
    connector(limits)
        .client(PbxTarget {
            base_url,
            credentials: login,
            tls,
        })
        .unwrap()
}

fn spec_client(sim: &SimHandle, scenario: &Scenario, id: &str, timeout: Duration) -> PbxClient {
    let login = login_for(&scenario.pbx(id).unwrap().login);
    client(sim, id, Scheme::Https, login, timeout)
}

/// The faulty PBXs of the demo fleet and the error each must give.
const EXPECTED_FAILURES: &[(&str, FailureKind)] = &[
    ("northgate-yard", FailureKind::Timeout),
    ("riverside-showroom", FailureKind::Timeout),
    ("granite-remote", FailureKind::LoginRejected),
    ("bluewater-airport", FailureKind::UnexpectedAnswer),
    ("northgate-fleet", FailureKind::LoginRejected),
    ("riverside-leasing", FailureKind::ApiNotLicensed),
    ("oakridge-store2", FailureKind::ServerError),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_demo_fleet_reads_into_the_right_facts_or_the_right_typed_error() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let ids: Vec<String> = sim.pbx_ids().map(str::to_owned).collect();
    assert!(ids.len() >= 40);
    let mut versions = std::collections::BTreeSet::new();
    for id in &ids {
        let spec = scenario.pbx(id).unwrap();
        let client = spec_client(&sim, &scenario, id, Duration::from_secs(3));
        let started = Instant::now();
        let result = client.read_license().await;
        if let Some((_, kind)) = EXPECTED_FAILURES.iter().find(|(f, _)| f == id) {
            let err = result.expect_err(id);
            assert_eq!(err.kind(), *kind, "{id}: {err}");
            for secret in client.target().credentials.secrets() {
                assert!(
                    !err.to_string().contains(secret.expose()),
                    "{id} leaks a secret: {err}"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{id} took {:?}",
                started.elapsed()
            );
            continue;
        }
        let reading = result.unwrap_or_else(|err| panic!("{id}: {err}"));
        let facts = &reading.facts;
        let license = &spec.license;
        versions.insert(spec.version.to_string());
        // Date styles on the wire carry whole seconds up to 100 ns: compare whole seconds.
        let ticks = |t: Option<Timestamp>| t.map(Timestamp::as_second);
        assert_eq!(
            ticks(facts.expiry),
            ticks(license.expiry.instant()),
            "{id}: expiry"
        );
        assert_eq!(
            ticks(facts.maintenance_expiry),
            ticks(license.maintenance_expiry.instant()),
            "{id}: maintenance"
        );
        assert_eq!(facts.license_key, license.license_key, "{id}: key");
        assert_eq!(
            facts.product_code, license.product_code,
            "{id}: product code"
        );
        assert_eq!(
            facts.max_sim_calls,
            Some(license.max_sim_calls),
            "{id}: calls"
        );
        if reading.api == runway_threecx::Api::Xapi {
            assert_eq!(
                facts.license_active,
                Some(license.license_active),
                "{id}: active"
            );
        }
        if spec.version.to_string().starts_with("20.0.1")
            || spec.version.to_string().starts_with("20.0.9")
        {
            assert_eq!(facts.ai_users, Some(license.ai_agents), "{id}: AI agents");
            assert!(
                facts.users_licensed.is_some_and(|l| !l.estimated) || license.max_users.is_none(),
                "{id}"
            );
        }
    }
    for prefix in ["18.", "20.0.7", "20.0.8", "20.0.9", "20.0.10"] {
        assert!(
            versions.iter().any(|v| v.starts_with(prefix)),
            "no {prefix} PBX read: {versions:?}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn refresh_applies_the_pending_upstream_renewal_and_reads_it_at_once() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let client = spec_client(&sim, &scenario, "harbor-main", Duration::from_secs(5));
    let before = client.read_license().await.unwrap().facts.expiry.unwrap();
    let after = client
        .refresh_license()
        .await
        .unwrap()
        .facts
        .expiry
        .unwrap();
    assert!(after > before, "{before} → {after}");
    assert_eq!(sim.pbx("harbor-main").unwrap().counters().refresh_calls, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_revoked_token_gets_one_new_login_and_one_retry() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let client = spec_client(&sim, &scenario, "harbor-north", Duration::from_secs(5));
    client.read_license().await.unwrap();
    let pbx = sim.pbx("harbor-north").unwrap();
    pbx.revoke_tokens();
    client.read_license().await.unwrap();
    let counters = pbx.counters();
    assert_eq!(counters.logins_succeeded, 2, "{counters:?}");
    assert_eq!(counters.concurrent_login_violations, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_rejected_login_is_not_retried_until_the_backoff_has_passed() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let client = spec_client(&sim, &scenario, "granite-remote", Duration::from_secs(5));
    assert_eq!(
        client.read_license().await.unwrap_err().kind(),
        FailureKind::LoginRejected
    );
    let second = client.read_license().await.unwrap_err();
    assert!(
        matches!(second, runway_threecx::ReadError::LoginHeldBack { .. }),
        "{second}"
    );
    assert_eq!(
        sim.pbx("granite-remote")
            .unwrap()
            .counters()
            .logins_attempted,
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_fifty_megabyte_body_is_refused_without_reading_it_all() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    for declare_length in [true, false] {
        let pbx = sim.pbx("harbor-north").unwrap();
        pbx.set_faults(vec![Fault::new(FaultKind::HugeBody {
            bytes: 50 * 1024 * 1024,
            declare_length,
        })]);
        let client = spec_client(&sim, &scenario, "harbor-north", Duration::from_secs(10));
        let started = Instant::now();
        let err = client.read_license().await.unwrap_err();
        assert_eq!(err.kind(), FailureKind::UnexpectedAnswer, "{err}");
        assert!(err.to_string().contains("limit"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_self_signed_certificate_is_a_tls_error_unless_trusted_or_explicitly_accepted() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let login = login_for(&scenario.pbx("harbor-north").unwrap().login);
    let base_url = BaseUrl::parse(sim.https_url("harbor-north").unwrap()).unwrap();
    let connector = connector(ReadLimits::default());
    let untrusted = connector
        .client(PbxTarget {
            base_url: base_url.clone(),
            credentials: login.clone(),
            tls: TlsOptions::default(),
        })
        .unwrap();
    let err = untrusted.read_license().await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Tls, "{err}");
    assert!(err.to_string().contains("trusted authority"), "{err}");
    let accepting = connector
        .client(PbxTarget {
            base_url,
            credentials: login,
            tls: TlsOptions {
                custom_ca_pem: None,
                accept_invalid_certs: true,
            },
        })
        .unwrap();
    accepting.read_license().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base_url = BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let login = Credentials::Legacy {
        username: "admin".into(),
        password: Secret::new("pw"),
    };
    let client = connector(ReadLimits::default())
        .client(PbxTarget {
            base_url,
            credentials: login,
            tls: TlsOptions::default(),
        })
        .unwrap();
    assert_eq!(
        client.read_license().await.unwrap_err().kind(),
        FailureKind::Unreachable
    );
}

#[tokio::test]
async fn every_data_fault_gives_its_typed_error_and_odd_but_valid_bodies_still_read() {
    use runway_sim::{EndpointScope, GarbageStyle, OddStyle};
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let pbx = sim.pbx("harbor-north").unwrap();
    let failing = [
        (FaultKind::Forbidden {}, FailureKind::Forbidden),
        (
            FaultKind::Garbage {
                style: GarbageStyle::NotJson,
            },
            FailureKind::UnexpectedAnswer,
        ),
        (
            FaultKind::Garbage {
                style: GarbageStyle::TruncatedJson,
            },
            FailureKind::UnexpectedAnswer,
        ),
        (
            FaultKind::Garbage {
                style: GarbageStyle::WrongTypes,
            },
            FailureKind::UnexpectedAnswer,
        ),
        (
            FaultKind::Status {
                status: 500,
                retry_after: None,
            },
            FailureKind::ServerError,
        ),
        (
            FaultKind::Status {
                status: 429,
                retry_after: Some(5),
            },
            FailureKind::ServerError,
        ),
    ];
    for (fault, kind) in failing {
        pbx.set_faults(vec![Fault::new(fault.clone()).on(EndpointScope::Data)]);
        let client = spec_client(&sim, &scenario, "harbor-north", Duration::from_secs(5));
        let err = client.read_license().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{fault:?}: {err}");
    }
    for style in [
        OddStyle::MissingFields,
        OddStyle::NullFields,
        OddStyle::ExtraFields,
        OddStyle::NewerVersion,
    ] {
        pbx.set_faults(vec![Fault::new(FaultKind::OddBody { style })]);
        let client = spec_client(&sim, &scenario, "harbor-north", Duration::from_secs(5));
        client
            .read_license()
            .await
            .unwrap_or_else(|err| panic!("{style:?}: {err}"));
    }
    // A token that dies at once: one re-login and one retry, then a clear error, never a loop.
    pbx.set_faults(vec![Fault::new(FaultKind::ShortToken { lifetime_ms: 1 })]);
    pbx.reset_counters();
    let client = spec_client(&sim, &scenario, "harbor-north", Duration::from_secs(5));
    let err = client.read_license().await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::LoginRejected, "{err}");
    assert_eq!(pbx.counters().logins_succeeded, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_and_legacy_logins_fall_back_to_the_api_the_pbx_has() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    // harbor-lab is v18 with a legacy login: the same credentials as a "user" login find /api.
    let runway_sim::Login::Legacy { username, password } =
        &scenario.pbx("harbor-lab").unwrap().login
    else {
        panic!("harbor-lab should be a legacy PBX")
    };
    let as_user = Credentials::User {
        username: username.clone(),
        password: Secret::new(password.clone()),
        totp_secret: None,
    };
    let reading = client(
        &sim,
        "harbor-lab",
        Scheme::Https,
        as_user,
        Duration::from_secs(5),
    )
    .read_license()
    .await
    .unwrap();
    assert_eq!(reading.api, runway_threecx::Api::Legacy);
    // harbor-south is v20 with a user login: a "legacy" login finds the web-client login.
    let runway_sim::Login::User {
        username, password, ..
    } = &scenario.pbx("harbor-south").unwrap().login
    else {
        panic!("harbor-south should have a user login")
    };
    let as_legacy = Credentials::Legacy {
        username: username.clone(),
        password: Secret::new(password.clone()),
    };
    let reading = client(
        &sim,
        "harbor-south",
        Scheme::Https,
        as_legacy,
        Duration::from_secs(5),
    )
    .read_license()
    .await
    .unwrap();
    assert_eq!(reading.api, runway_threecx::Api::Xapi);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_mfa_account_without_its_totp_secret_is_told_to_add_it() {
    let scenario = demo_scenario();
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let runway_sim::Login::User {
        username,
        password,
        totp_secret: Some(_),
    } = &scenario.pbx("summit-hq").unwrap().login
    else {
        panic!("summit-hq should have an MFA user login")
    };
    let without_code = Credentials::User {
        username: username.clone(),
        password: Secret::new(password.clone()),
        totp_secret: None,
    };
    let err = client(
        &sim,
        "summit-hq",
        Scheme::Https,
        without_code,
        Duration::from_secs(5),
    )
    .read_license()
    .await
    .unwrap_err();
    assert_eq!(err.kind(), FailureKind::LoginRejected, "{err}");
    assert!(err.to_string().contains("TOTP secret"), "{err}");
    sim.shutdown().await;
}
