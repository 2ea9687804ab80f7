//! `runway serve`: the dashboard and API, and the poller, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use runway_core::Cidr;
use runway_engine::{Engine, EngineConfig};
use runway_threecx::ReadLimits;
use runway_web::{AppState, WebSettings};

use crate::config::{ClockArgs, NetworkArgs, Shutdown, StoreArgs, bind, exit_code, init_logging};

/// Serve the dashboard and read the fleet.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(flatten)]
    pub(crate) log: crate::config::LogArgs,
    /// Address to listen on. Behind a reverse proxy keep it on localhost.
    #[arg(long, env = "RUNWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Also serve Prometheus metrics of every tenant, without a token, at /metrics on this
    /// address (and nothing else there). Keep it on a private address that only the
    /// monitoring network reaches: never expose it publicly. Without it, /metrics on the
    /// main address shows an API token's tenant.
    #[arg(long, env = "RUNWAY_METRICS_LISTEN", value_name = "ADDR")]
    pub(crate) metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub(crate) poller: PollerArgs,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
    #[command(flatten)]
    pub(crate) clock: ClockArgs,
    /// Mark session cookies Secure (when users reach Runway over HTTPS).
    #[arg(long, env = "RUNWAY_SECURE_COOKIES")]
    pub(crate) secure_cookies: bool,
    /// Reverse proxies in front of Runway (address ranges, comma-separated, e.g.
    /// 10.0.0.5,fd00::/8): only their X-Forwarded-For / Forwarded headers name the client's
    /// address, which sign-in throttling counts by.
    #[arg(
        long,
        env = "RUNWAY_TRUSTED_PROXY",
        value_delimiter = ',',
        value_name = "CIDR,…"
    )]
    pub(crate) trusted_proxy: Vec<Cidr>,
}

/// How the poller works.
#[derive(Debug, Clone, Args)]
pub(crate) struct PollerArgs {
    /// PBXs read at once: scheduled reads and the reads users ask for together.
    #[arg(long, env = "RUNWAY_CONCURRENCY", default_value_t = runway_engine::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Seconds one read of a PBX may take, login included.
    #[arg(long, env = "RUNWAY_READ_TIMEOUT", default_value_t = 20)]
    read_timeout: u64,
    /// This node's name in leases (default: host, process id and a random part).
    #[arg(long, env = "RUNWAY_NODE_ID")]
    node_id: Option<String>,
}

impl PollerArgs {
    /// The engine configuration these flags describe.
    pub(crate) fn config(&self) -> EngineConfig {
        let mut config = EngineConfig {
            concurrency: self.concurrency.max(1),
            read_limits: ReadLimits {
                timeout: Duration::from_secs(self.read_timeout.max(1)),
                ..ReadLimits::default()
            },
            ..EngineConfig::default()
        };
        if let Some(node) = &self.node_id {
            config.node_id.clone_from(node);
        }
        config
    }
}

pub(crate) async fn run(args: ServeArgs) -> ExitCode {
    init_logging(&args.log);
    exit_code(serve(args).await)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let config = EngineConfig {
        network: args.network.policy(),
        ..args.poller.config()
    };
    let engine = Engine::new(Arc::clone(&store), args.clock.clock()?, config);
    let settings = WebSettings {
        secure_cookies: args.secure_cookies,
        trusted_proxies: args.trusted_proxy,
        ..WebSettings::default()
    };
    let listener = bind(args.listen).await?;
    let address = listener.local_addr()?;
    let metrics = match args.metrics_listen {
        Some(at) => Some(bind(at).await.context("the metrics listener")?),
        None => None,
    };
    let metrics_address = metrics
        .as_ref()
        .map(tokio::net::TcpListener::local_addr)
        .transpose()?;
    let alert_tick = args.clock.alert_tick();
    run_until_shutdown(
        engine,
        settings,
        Listeners {
            web: listener,
            metrics,
        },
        Shutdown::on_signal(),
        alert_tick,
        |_| {
            if let Some(at) = metrics_address {
                println!("Runway serves every tenant's metrics at http://{at}/metrics");
            }
            println!("Runway is serving http://{address}/ (Ctrl-C to stop)");
        },
    )
    .await
}

/// How often expired sessions, sign-in throttle windows and history past its retention are
/// deleted.
const HOUSEKEEPING_EVERY: Duration = Duration::from_mins(10);

/// Deletes expired sessions, throttle windows and old history every `every` until `shutdown`.
async fn sweep_every(
    state: &AppState,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let swept =
            runway_web::sweep_expired(&*state.store, state.now(), state.settings.throttle_window)
                .await;
        match swept {
            Ok(swept) => {
                tracing::debug!(
                    sessions = swept.sessions,
                    throttle_windows = swept.throttle_windows,
                    readings = swept.pruned.readings,
                    events = swept.pruned.events,
                    attempts = swept.pruned.attempts,
                    audit_entries = swept.pruned.audit_entries,
                    "deleted expired sessions, throttle windows and history past its retention"
                );
            }
            Err(err) => tracing::warn!(
                error = %err,
                "cannot delete expired sessions or history past its retention"
            ),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// How often every tenant's alerts are evaluated without a read (unless a clock file moves
/// time): local midnight fires the next milestone within a minute, and a PBX gone blind raises
/// "not read".
pub(crate) const ALERT_TICK_EVERY: Duration = Duration::from_mins(1);

/// Evaluates alerts every `every` until `shutdown` (every node does; each reminder stage still
/// fires once, by the database's constraint).
async fn alert_tick_every(
    state: &AppState,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        match state.store.evaluate_alerts(state.now()).await {
            Ok(changed) if changed != runway_store::AlertsChanged::default() => {
                tracing::info!(
                    fired = changed.fired,
                    skipped = changed.skipped,
                    resolved = changed.resolved,
                    "evaluated alerts"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "cannot evaluate alerts"),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Where the web server listens: the application, and optionally the node-wide metrics.
pub(crate) struct Listeners {
    /// Pages, API, and `/metrics` for an API token's tenant.
    pub(crate) web: tokio::net::TcpListener,
    /// `/metrics` of every tenant without a token (`--metrics-listen`).
    pub(crate) metrics: Option<tokio::net::TcpListener>,
}

impl Listeners {
    /// The application alone, without a metrics listener.
    pub(crate) fn web_only(web: tokio::net::TcpListener) -> Listeners {
        Listeners { web, metrics: None }
    }
}

/// Runs the poller and the web server until `shutdown`, then lets both finish what they are
/// doing and closes the store.
pub(crate) async fn run_until_shutdown(
    engine: Engine,
    settings: WebSettings,
    listeners: Listeners,
    shutdown: Shutdown,
    alert_tick: Duration,
    on_ready: impl FnOnce(&Engine),
) -> anyhow::Result<()> {
    let store = Arc::clone(engine.store());
    let poller = tokio::spawn({
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        async move { engine.run(shutdown.wait()).await }
    });
    on_ready(&engine);
    let worker = runway_alerts::Worker::new(
        Arc::clone(&store),
        Arc::clone(engine.clock()),
        runway_alerts::http_client().context("cannot start the delivery worker")?,
        runway_alerts::WorkerConfig::new(engine.config().node_id.clone()),
    );
    let delivery = tokio::spawn({
        let worker = worker.clone();
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown.wait()).await }
    });
    let state = AppState::new(engine, settings).with_worker(worker);
    let housekeeping = tokio::spawn({
        let state = state.clone();
        let shutdown = shutdown.clone();
        async move { sweep_every(&state, HOUSEKEEPING_EVERY, shutdown.wait()).await }
    });
    let alert_tick = tokio::spawn({
        let state = state.clone();
        let shutdown = shutdown.clone();
        async move { alert_tick_every(&state, alert_tick, shutdown.wait()).await }
    });
    let metrics = listeners.metrics.map(|listener| {
        let state = state.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(
            async move { runway_web::serve_metrics(listener, state, shutdown.wait()).await },
        )
    });
    let web = runway_web::serve(listeners.web, state, shutdown.wait()).await;
    let metrics = match metrics {
        Some(task) => Some(task.await),
        None => None,
    };
    let poll = poller.await;
    let _ = housekeeping.await;
    let _ = alert_tick.await;
    let _ = delivery.await;
    store.close().await;
    web.context("the web server failed")?;
    if let Some(metrics) = metrics {
        metrics
            .context("the metrics server failed")?
            .context("the metrics server failed")?;
    }
    poll.context("the poller failed")?;
    Ok(())
}
