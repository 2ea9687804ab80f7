//! Serving a fleet: listeners (HTTP and HTTPS), the two serving modes, routing requests to the
//! right simulated PBX, and graceful shutdown.
//!
//! - Path-prefix mode: one listener per scheme; PBX `id` lives at `/<id>` (its XAPI at
//!   `/<id>/xapi/v1/...`), and the control API at `/_sim/`.
//! - Per-port mode: every PBX gets its own listener(s) and serves at the root, like a real PBX;
//!   the control API gets its own listener.
//!
//! Every listener is bound before [`SimServer::start`] returns, so callers can connect at once.
//! Connections are served by hyper directly (not `axum::serve`) so each one can watch the
//! shutdown signal, and hanging requests are released at shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::clock::Clock;
use crate::pbx::{Env, PbxHandle, SimPbx};
use crate::scenario::Scenario;
use crate::{control, legacy, tls, xapi};

/// How PBXs are laid out on listeners.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServeMode {
    /// One listener per scheme; each PBX under `/<pbx-id>`.
    #[default]
    PathPrefix,
    /// One listener per PBX per scheme, serving at the root.
    PerPort,
}

/// HTTP or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS with the generated certificate.
    Https,
}

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Path-prefix or per-port.
    pub mode: ServeMode,
    /// HTTP listener address (`None` = no HTTP). In per-port mode a non-zero port is the first
    /// of consecutive ports (PBX *n* gets port + *n*); port 0 = the next free ports counting up
    /// from 10000 (below Linux's ephemeral range, where letting the kernel pick thousands of
    /// listening ports gets very slow), then any free port.
    pub http: Option<SocketAddr>,
    /// HTTPS listener address (`None` = no HTTPS), same rules as `http`.
    pub https: Option<SocketAddr>,
    /// A separate plain-HTTP listener for the control API. In path-prefix mode the control API
    /// is also under `/_sim/` on the shared listeners; in per-port mode, without this, one is
    /// bound on `127.0.0.1:0`.
    pub control: Option<SocketAddr>,
    /// The wall clock PBXs use (relative dates in control requests, `Support`, TOTP).
    pub clock: Clock,
    /// Extra DNS names or IPs for the server certificate (besides localhost, 127.0.0.1, ::1).
    pub tls_names: Vec<String>,
}

const LOOPBACK_ANY_PORT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            mode: ServeMode::PathPrefix,
            http: Some(LOOPBACK_ANY_PORT),
            https: Some(LOOPBACK_ANY_PORT),
            control: None,
            clock: Clock::System,
            tls_names: Vec::new(),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate could not be generated or loaded.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// Neither HTTP nor HTTPS was asked for.
    #[error("nothing to serve: enable HTTP, HTTPS or both")]
    NoListener,
    /// The scenario has no PBX.
    #[error("the scenario has no PBXs")]
    EmptyScenario,
}

/// The base URLs of one PBX.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PbxUrls {
    /// `http://…` base URL, if HTTP is served.
    pub http: Option<String>,
    /// `https://…` base URL, if HTTPS is served.
    pub https: Option<String>,
}

/// The shutdown signal every connection and hanging request watches.
#[derive(Clone)]
pub(crate) struct ShutdownSignal(watch::Receiver<bool>);

impl ShutdownSignal {
    /// Resolves once shutdown has started (or the handle is gone).
    pub(crate) async fn wait(&self) {
        let mut receiver = self.0.clone();
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

/// What a PBX handler needs: the PBX, its path prefix (path-prefix mode) and the shared env.
#[derive(Clone)]
pub(crate) struct PbxCtx {
    pub(crate) pbx: Arc<SimPbx>,
    pub(crate) prefix: Option<Arc<str>>,
    pub(crate) env: Env,
}

/// The running fleet, shared by listeners and the control API.
pub(crate) struct Fleet {
    pub(crate) pbxs: Vec<Arc<SimPbx>>,
    pub(crate) index: HashMap<String, usize>,
    pub(crate) urls: Vec<PbxUrls>,
    pub(crate) env: Env,
    pub(crate) ca_pem: String,
}

impl Fleet {
    /// The PBX with this id and its position.
    pub(crate) fn find(&self, id: &str) -> Option<(usize, &Arc<SimPbx>)> {
        let index = *self.index.get(id)?;
        Some((index, &self.pbxs[index]))
    }
}

/// Starts simulated fleets.
pub struct SimServer;

/// A running simulator: URLs, certificates, in-process control and shutdown.
pub struct SimHandle {
    fleet: Arc<Fleet>,
    http_addr: Option<SocketAddr>,
    https_addr: Option<SocketAddr>,
    control_url: String,
    cert_pem: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// How long shutdown waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy)]
enum Target {
    /// Control API and path-prefix routing.
    Shared,
    /// One PBX at the root.
    Pbx(usize),
}

struct Bound {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    target: Target,
}

/// Binds a listener, returning it with its actual address (port 0 resolved).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), SimError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    Ok((listener, local))
}

/// The URL authority for a bound address (unspecified addresses become loopback).
fn authority(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port()).to_string()
}

fn port_for(base: SocketAddr, index: usize) -> Result<SocketAddr, SimError> {
    if base.port() == 0 {
        return Ok(base);
    }
    let port = u16::try_from(index)
        .ok()
        .and_then(|i| base.port().checked_add(i))
        .ok_or(SimError::Bind {
            addr: base,
            source: std::io::Error::other("the fleet needs ports beyond 65535"),
        })?;
    Ok(SocketAddr::new(base.ip(), port))
}

/// Listeners bound for a fleet, and the URLs they give each PBX.
struct Layout {
    bound: Vec<Bound>,
    urls: Vec<PbxUrls>,
    http_addr: Option<SocketAddr>,
    https_addr: Option<SocketAddr>,
    control_url: Option<String>,
    /// Next port to try for per-port listeners asked on port 0.
    next_free_port: u16,
}

/// Where per-port mode starts looking for free ports when asked for port 0.
const FIRST_SCANNED_PORT: u16 = 10_000;
/// Linux's default ephemeral range starts here; scanning stops below it.
const EPHEMERAL_PORTS_START: u16 = 32_768;

impl Layout {
    fn new(pbx_count: usize) -> Layout {
        Layout {
            bound: Vec::new(),
            urls: vec![PbxUrls::default(); pbx_count],
            http_addr: None,
            https_addr: None,
            control_url: None,
            next_free_port: FIRST_SCANNED_PORT,
        }
    }

    /// Binds PBX `index`'s listener for a per-port base address.
    async fn bind_per_port(
        &mut self,
        base: SocketAddr,
        index: usize,
    ) -> Result<(TcpListener, SocketAddr), SimError> {
        if base.port() != 0 {
            return bind(port_for(base, index)?).await;
        }
        while self.next_free_port < EPHEMERAL_PORTS_START {
            let addr = SocketAddr::new(base.ip(), self.next_free_port);
            self.next_free_port += 1;
            match bind(addr).await {
                Ok(bound) => return Ok(bound),
                Err(SimError::Bind { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied
                    ) => {}
                Err(other) => return Err(other),
            }
        }
        bind(base).await
    }

    /// One shared listener per scheme; each PBX under `/<id>`; control API under `/_sim`.
    async fn path_prefix(
        &mut self,
        options: &SimOptions,
        pbxs: &[Arc<SimPbx>],
        acceptor: &TlsAcceptor,
    ) -> Result<(), SimError> {
        for (addr, scheme) in [(options.http, Scheme::Http), (options.https, Scheme::Https)] {
            let Some(addr) = addr else { continue };
            let (listener, local) = bind(addr).await?;
            let base = match scheme {
                Scheme::Http => {
                    self.http_addr = Some(local);
                    format!("http://{}", authority(local))
                }
                Scheme::Https => {
                    self.https_addr = Some(local);
                    format!("https://{}", authority(local))
                }
            };
            for (url, pbx) in self.urls.iter_mut().zip(pbxs) {
                let full = format!("{base}/{}", pbx.spec.id);
                match scheme {
                    Scheme::Http => url.http = Some(full),
                    Scheme::Https => url.https = Some(full),
                }
            }
            if self.control_url.is_none() || scheme == Scheme::Http {
                self.control_url = Some(format!("{base}/_sim"));
            }
            self.bound.push(Bound {
                listener,
                tls: (scheme == Scheme::Https).then(|| acceptor.clone()),
                target: Target::Shared,
            });
        }
        Ok(())
    }

    /// One listener per PBX per scheme, serving at the root.
    async fn per_port(
        &mut self,
        options: &SimOptions,
        acceptor: &TlsAcceptor,
    ) -> Result<(), SimError> {
        for index in 0..self.urls.len() {
            if let Some(base) = options.http {
                let (listener, local) = self.bind_per_port(base, index).await?;
                self.urls[index].http = Some(format!("http://{}", authority(local)));
                self.bound.push(Bound {
                    listener,
                    tls: None,
                    target: Target::Pbx(index),
                });
            }
            if let Some(base) = options.https {
                let (listener, local) = self.bind_per_port(base, index).await?;
                self.urls[index].https = Some(format!("https://{}", authority(local)));
                self.bound.push(Bound {
                    listener,
                    tls: Some(acceptor.clone()),
                    target: Target::Pbx(index),
                });
            }
        }
        Ok(())
    }

    /// A plain-HTTP listener for the control API alone.
    async fn control(&mut self, addr: SocketAddr) -> Result<(), SimError> {
        let (listener, local) = bind(addr).await?;
        self.control_url = Some(format!("http://{}/_sim", authority(local)));
        self.bound.push(Bound {
            listener,
            tls: None,
            target: Target::Shared,
        });
        Ok(())
    }
}

impl SimServer {
    /// Binds every listener and starts serving `scenario`. Returns once all listeners accept
    /// connections.
    pub async fn start(scenario: Scenario, options: SimOptions) -> Result<SimHandle, SimError> {
        if options.http.is_none() && options.https.is_none() {
            return Err(SimError::NoListener);
        }
        if scenario.pbxs.is_empty() {
            return Err(SimError::EmptyScenario);
        }
        let tls = tls::generate(&options.tls_names).map_err(SimError::Tls)?;
        let (stop, stop_receiver) = watch::channel(false);
        let env = Env {
            clock: options.clock,
            shutdown: ShutdownSignal(stop_receiver),
        };
        let pbxs: Vec<Arc<SimPbx>> = scenario
            .pbxs
            .into_iter()
            .map(|spec| Arc::new(SimPbx::new(spec)))
            .collect();
        let mut layout = Layout::new(pbxs.len());
        match options.mode {
            ServeMode::PathPrefix => layout.path_prefix(&options, &pbxs, &tls.acceptor).await?,
            ServeMode::PerPort => layout.per_port(&options, &tls.acceptor).await?,
        }
        match (options.control, options.mode) {
            (Some(addr), _) => layout.control(addr).await?,
            (None, ServeMode::PerPort) => layout.control(LOOPBACK_ANY_PORT).await?,
            (None, ServeMode::PathPrefix) => {}
        }
        let index = pbxs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.spec.id.clone(), i))
            .collect();
        let fleet = Arc::new(Fleet {
            pbxs,
            index,
            urls: layout.urls,
            env: env.clone(),
            ca_pem: tls.ca_pem.clone(),
        });
        let routers = Routers {
            pbx: pbx_router(),
            control: control::router(Arc::clone(&fleet)),
        };
        let tasks = layout
            .bound
            .into_iter()
            .map(|bound| {
                let fleet = Arc::clone(&fleet);
                tokio::spawn(accept_loop(
                    bound,
                    fleet,
                    routers.clone(),
                    env.shutdown.clone(),
                ))
            })
            .collect();
        Ok(SimHandle {
            fleet,
            http_addr: layout.http_addr,
            https_addr: layout.https_addr,
            control_url: layout.control_url.unwrap_or_default(),
            cert_pem: tls.cert_pem,
            stop,
            tasks,
        })
    }
}

impl SimHandle {
    /// The base URL of a PBX for a scheme (`None` if the PBX or the scheme is not served).
    pub fn base_url(&self, pbx_id: &str, scheme: Scheme) -> Option<&str> {
        let urls = self.urls(pbx_id)?;
        match scheme {
            Scheme::Http => urls.http.as_deref(),
            Scheme::Https => urls.https.as_deref(),
        }
    }

    /// The `http://` base URL of a PBX.
    pub fn http_url(&self, pbx_id: &str) -> Option<&str> {
        self.base_url(pbx_id, Scheme::Http)
    }

    /// The `https://` base URL of a PBX.
    pub fn https_url(&self, pbx_id: &str) -> Option<&str> {
        self.base_url(pbx_id, Scheme::Https)
    }

    /// Both base URLs of a PBX.
    pub fn urls(&self, pbx_id: &str) -> Option<&PbxUrls> {
        let (index, _) = self.fleet.find(pbx_id)?;
        self.fleet.urls.get(index)
    }

    /// The control API's base URL (ends in `/_sim`).
    pub fn control_url(&self) -> &str {
        &self.control_url
    }

    /// The shared HTTP listener's address (path-prefix mode).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The shared HTTPS listener's address (path-prefix mode).
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// PEM of the CA that signed the server certificate: trust it to reach the PBXs over HTTPS.
    pub fn ca_pem(&self) -> &str {
        &self.fleet.ca_pem
    }

    /// PEM of the server certificate itself.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The ids of every PBX, in scenario order.
    pub fn pbx_ids(&self) -> impl Iterator<Item = &str> {
        self.fleet.pbxs.iter().map(|p| p.spec.id.as_str())
    }

    /// In-process control of one PBX.
    pub fn pbx(&self, pbx_id: &str) -> Option<PbxHandle> {
        let (_, pbx) = self.fleet.find(pbx_id)?;
        Some(PbxHandle {
            pbx: Arc::clone(pbx),
        })
    }

    /// Stops accepting, releases hanging requests, lets open requests finish (up to 5 s) and
    /// returns when every listener task has ended.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

#[derive(Clone)]
struct Routers {
    pbx: Router,
    control: Router,
}

/// The routes every PBX serves (both API generations; the handlers answer 404 for the
/// generation the PBX's version does not have).
fn pbx_router() -> Router {
    Router::new()
        .route("/connect/token", post(xapi::connect_token))
        .route(
            "/webclient/api/Login/GetAccessToken",
            post(xapi::get_access_token),
        )
        .route("/xapi/v1/SystemStatus", get(xapi::system_status))
        .route("/xapi/v1/LicenseStatus", get(xapi::license_status))
        .route(
            "/xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus",
            post(xapi::refresh),
        )
        .route("/xapi/v1/Defs", get(xapi::defs))
        .route(
            "/xapi/v1/Defs/Pbx.GetLicenseParameters()",
            get(xapi::license_parameters),
        )
        .route("/xapi/v1/Users", get(xapi::users))
        .route("/api/login", post(legacy::login))
        .route("/api/SystemStatus", get(legacy::system_status))
        .fallback(unknown_path)
}

async fn unknown_path(axum::Extension(ctx): axum::Extension<PbxCtx>) -> Response {
    let mut state = ctx.pbx.state();
    *state
        .counters
        .requests
        .entry(crate::faults::Endpoint::Other.name().to_owned())
        .or_default() += 1;
    StatusCode::NOT_FOUND.into_response()
}

async fn route_shared(fleet: &Fleet, routers: &Routers, mut request: Request) -> Response {
    let path = request.uri().path();
    if path == "/_sim" || path.starts_with("/_sim/") {
        return oneshot(&routers.control, request).await;
    }
    let trimmed = path.trim_start_matches('/');
    let (id, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let Some((_, pbx)) = fleet.find(id) else {
        return (
            StatusCode::NOT_FOUND,
            "no simulated PBX at this path prefix\n",
        )
            .into_response();
    };
    let prefix: Arc<str> = Arc::from(format!("/{id}"));
    let new_path = match request.uri().query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    let Ok(uri) = new_path.parse::<Uri>() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let ctx = PbxCtx {
        pbx: Arc::clone(pbx),
        prefix: Some(prefix),
        env: fleet.env.clone(),
    };
    *request.uri_mut() = uri;
    request.extensions_mut().insert(ctx);
    oneshot(&routers.pbx, request).await
}

async fn route_pbx(
    fleet: &Fleet,
    routers: &Routers,
    index: usize,
    mut request: Request,
) -> Response {
    let ctx = PbxCtx {
        pbx: Arc::clone(&fleet.pbxs[index]),
        prefix: None,
        env: fleet.env.clone(),
    };
    request.extensions_mut().insert(ctx);
    oneshot(&routers.pbx, request).await
}

async fn oneshot(router: &Router, request: Request) -> Response {
    match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

async fn accept_loop(bound: Bound, fleet: Arc<Fleet>, routers: Routers, shutdown: ShutdownSignal) {
    let Bound {
        listener,
        tls,
        target,
    } = bound;
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let fleet = Arc::clone(&fleet);
                let routers = routers.clone();
                let tls = tls.clone();
                let shutdown = shutdown.clone();
                connections.spawn(async move {
                    handle_connection(stream, tls, fleet, routers, target, shutdown).await;
                });
            }
            // Out of file descriptors or similar: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}

async fn handle_connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    fleet: Arc<Fleet>,
    routers: Routers,
    target: Target,
    shutdown: ShutdownSignal,
) {
    let service = tower::service_fn(move |request: hyper::Request<Incoming>| {
        let fleet = Arc::clone(&fleet);
        let routers = routers.clone();
        async move {
            let request = request.map(Body::new);
            let response = match target {
                Target::Shared => route_shared(&fleet, &routers, request).await,
                Target::Pbx(index) => route_pbx(&fleet, &routers, index, request).await,
            };
            Ok::<_, Infallible>(response)
        }
    });
    match tls {
        None => serve_io(stream, service, shutdown).await,
        Some(acceptor) => {
            let handshake = tokio::select! {
                handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)) => handshake,
                () = shutdown.wait() => return,
            };
            if let Ok(Ok(stream)) = handshake {
                serve_io(stream, service, shutdown).await;
            }
        }
    }
}

async fn serve_io<I, S>(io: I, service: S, shutdown: ShutdownSignal)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<hyper::Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new());
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = shutdown.wait() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.as_mut().await;
        }
    }
}
