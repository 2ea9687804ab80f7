//! The PBX network policy on the connection path: a refused address fails at once and
//! nothing is sent to it; an allowed one is read. Every address here is loopback — the classes
//! the policy refuses are exercised through loopback addresses inside and outside the allow
//! list, never through a live link-local or public target.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use runway_core::Cidr;
use runway_sim::{Scenario, SimOptions, SimServer};
use runway_threecx::{
    BaseUrl, Connector, Credentials, FailureKind, NetworkPolicy, PbxTarget, ReadError, ReadLimits,
    Secret, TlsOptions,
};

/// A port that records whether anything connected to it. Connections wait in its backlog, so
/// once a read has returned, an empty backlog means nothing was sent.
struct Listener(TcpListener);

impl Listener {
    fn on(address: &str) -> Listener {
        let listener = TcpListener::bind(address).unwrap();
        listener.set_nonblocking(true).unwrap();
        Listener(listener)
    }

    fn address(&self) -> SocketAddr {
        self.0.local_addr().unwrap()
    }

    fn reached(&self) -> bool {
        match self.0.accept() {
            Ok(_) => true,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(err) => panic!("{err}"),
        }
    }
}

fn login() -> Credentials {
    runway_testkit::secrets::used("a-secret-that-must-stay-home");
    Credentials::ApiClient {
        client_id: "runway".into(),
        client_secret: Secret::new("a-secret-that-must-stay-home"),
    }
}

async fn read(url: &str, policy: NetworkPolicy) -> Result<(), ReadError> {
    runway_testkit::logs::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Connector::new(ReadLimits::default(), policy)
        .client(PbxTarget {
            base_url: BaseUrl::parse(url).unwrap(),
            credentials: login(),
            tls: TlsOptions::default(),
        })
        .unwrap();
    client.read_license().await.map(|_| ())
}

fn only(ranges: &str) -> NetworkPolicy {
    NetworkPolicy::allowing(Cidr::parse_list(ranges).unwrap())
}

#[track_caller]
fn assert_refused(result: Result<(), ReadError>, started: Instant) {
    match result {
        Err(err @ ReadError::NotAllowed(_)) => {
            assert_eq!(err.kind(), FailureKind::NotAllowed);
            assert!(
                err.to_string()
                    .contains("not allowed by the PBX network policy")
                    && err.to_string().contains("--pbx-network-allow"),
                "{err}"
            );
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a refusal is immediate"
    );
}

#[tokio::test]
async fn loopback_is_refused_by_default_by_address_by_mapped_address_and_by_name() {
    let v4 = Listener::on("127.0.0.1:0");
    let port = v4.address().port();
    let v6 = Listener::on("[::1]:0");
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{}", v6.address().port()),
    ] {
        let started = Instant::now();
        assert_refused(read(&url, NetworkPolicy::default()).await, started);
    }
    assert!(!v4.reached() && !v6.reached(), "nothing was sent");
}

#[tokio::test]
async fn an_address_outside_the_allow_list_is_refused_and_one_inside_is_read() {
    // 127.0.0.2 is loopback too, but not in the allow list.
    let outside = Listener::on("127.0.0.2:0");
    let started = Instant::now();
    let url = format!("http://127.0.0.2:{}", outside.address().port());
    assert_refused(read(&url, only("127.0.0.1")).await, started);
    let mapped = format!("http://[::ffff:127.0.0.2]:{}", outside.address().port());
    assert_refused(read(&mapped, only("127.0.0.1")).await, Instant::now());
    assert!(!outside.reached(), "nothing was sent");

    // A deny list wins over the allow list.
    let denied = NetworkPolicy {
        allow: Cidr::parse_list("127.0.0.0/8").unwrap(),
        deny: Cidr::parse_list("127.0.0.2").unwrap(),
    };
    assert_refused(read(&url, denied).await, Instant::now());
    assert!(!outside.reached(), "nothing was sent");

    // Inside the allow list, by address and by a name that resolves to it, the PBX is read.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.toml");
    let scenario = Scenario::load(&path, Timestamp::now()).unwrap();
    runway_testkit::secrets::scenario(&scenario);
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .unwrap();
    let spec = &scenario.pbx("harbor-main").unwrap().login;
    let sim_url = sim.http_url("harbor-main").unwrap().to_owned();
    for url in [sim_url.clone(), sim_url.replace("127.0.0.1", "localhost")] {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Connector::new(ReadLimits::default(), only("127.0.0.1"))
            .client(PbxTarget {
                base_url: BaseUrl::parse(&url).unwrap(),
                credentials: runway_sim_fleet::credentials(spec),
                tls: TlsOptions::default(),
            })
            .unwrap();
        let reading = client.read_license().await;
        assert!(reading.is_ok(), "{url}: {reading:?}");
    }
    sim.shutdown().await;
}
