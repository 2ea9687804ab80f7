//! What `serve`, `demo` and `admin` share: where the data lives, the database, logging, and
//! the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use runway_core::Cidr;
use runway_store::{OpenOptions, SecretKey, Store};
use runway_threecx::NetworkPolicy;

/// Where "now" comes from.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClockArgs {
    /// For tests and rehearsals only: take "now" from this file (an RFC 3339 instant such as
    /// 2026-03-05T12:00:00Z) instead of the system clock. Rewriting the file moves Runway's
    /// time, and alerts are then evaluated every second instead of every minute.
    #[arg(long, env = "RUNWAY_CLOCK_FILE", value_name = "FILE")]
    pub(crate) clock_file: Option<PathBuf>,
}

impl ClockArgs {
    /// The clock: the file's, or the system's.
    pub(crate) fn clock(&self) -> anyhow::Result<Arc<dyn runway_clock::Clock>> {
        Ok(match &self.clock_file {
            Some(path) => {
                let clock = runway_clock::FileClock::open(path)?;
                tracing::warn!(
                    file = %path.display(),
                    now = %runway_clock::Clock::now(&clock),
                    "taking the time from a clock file, not the system clock (tests only)"
                );
                Arc::new(clock)
            }
            None => Arc::new(runway_clock::SystemClock),
        })
    }

    /// How often every tenant's alerts are evaluated without a read: every second when a clock
    /// file moves time (a test sees its move at once), else [`crate::serve::ALERT_TICK_EVERY`].
    pub(crate) fn alert_tick(&self) -> std::time::Duration {
        if self.clock_file.is_some() {
            std::time::Duration::from_secs(1)
        } else {
            crate::serve::ALERT_TICK_EVERY
        }
    }
}

/// Where Runway keeps its data.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArgs {
    /// Directory for the SQLite database and the secret key file (created on first start).
    #[arg(long, env = "RUNWAY_DATA_DIR", default_value = "runway-data")]
    pub(crate) data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://user:password@host/db`. Default: the SQLite
    /// file `runway.db` in the data directory.
    #[arg(long, env = "RUNWAY_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// The secret key file (default: secret.key in the data directory, created on first
    /// start). RUNWAY_SECRET_KEY, when set, holds the key itself and wins.
    #[arg(long, env = "RUNWAY_SECRET_KEY_FILE", value_name = "FILE")]
    pub(crate) secret_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// Opens the store, creating the data directory, the secret key file (mode 0600) and the
    /// SQLite database on first start. The key comes from `RUNWAY_SECRET_KEY` when set.
    pub(crate) async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                self.data_dir.display()
            )
        })?;
        let key = self.key()?;
        let url = self.url();
        // The URL may carry a password: errors name the backend, never the URL.
        runway_store::open(&url, OpenOptions::new(key))
            .await
            .context("cannot open the database")
    }
}

impl StoreArgs {
    /// The secret key: `RUNWAY_SECRET_KEY`, else `--secret-key-file` (which must exist), else
    /// the data directory's key file (created when missing).
    pub(crate) fn key(&self) -> anyhow::Result<SecretKey> {
        match &self.secret_key_file {
            Some(path) if !SecretKey::env_is_set() => Ok(SecretKey::from_file(path)?),
            _ => Ok(SecretKey::from_env_or_file(&self.data_dir)?),
        }
    }

    /// The path of the key file in use, when the key comes from a file.
    pub(crate) fn key_path(&self) -> Option<PathBuf> {
        if SecretKey::env_is_set() {
            return None;
        }
        Some(
            self.secret_key_file
                .clone()
                .unwrap_or_else(|| self.data_dir.join(runway_store::SECRET_KEY_FILE)),
        )
    }

    /// The database URL: the one given, or the SQLite file `runway.db` in the data directory.
    pub(crate) fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("runway.db").display()))
    }
}

/// Which addresses PBX reads may connect to (see `runway_threecx::NetworkPolicy`).
#[derive(Debug, Clone, Args)]
pub(crate) struct NetworkArgs {
    /// Address ranges PBXs may be reached on even though the default policy refuses their
    /// class (loopback, link-local, multicast, unspecified), comma-separated, e.g. 127.0.0.1.
    #[arg(
        long,
        env = "RUNWAY_PBX_NETWORK_ALLOW",
        value_delimiter = ',',
        value_name = "CIDR,…"
    )]
    pub(crate) pbx_network_allow: Vec<Cidr>,
    /// Address ranges PBXs may never be reached on (wins over the allow list).
    #[arg(
        long,
        env = "RUNWAY_PBX_NETWORK_DENY",
        value_delimiter = ',',
        value_name = "CIDR,…"
    )]
    pub(crate) pbx_network_deny: Vec<Cidr>,
}

impl NetworkArgs {
    /// The policy these flags describe.
    pub(crate) fn policy(&self) -> NetworkPolicy {
        NetworkPolicy {
            allow: self.pbx_network_allow.clone(),
            deny: self.pbx_network_deny.clone(),
        }
    }
}

/// The exit status of a command: success, or the error and its causes on stderr.
pub(crate) fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the web listener, saying what to do when the address is taken (the likeliest problem,
/// so it is tried before anything slow starts).
pub(crate) async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {address} (is another program using it? try --listen 127.0.0.1:0)"
            )
        })
}

/// What the service logs, and how.
#[derive(Debug, Clone, Args)]
pub(crate) struct LogArgs {
    /// What to log, e.g. `debug` or `info,runway_engine=debug`.
    #[arg(long, env = "RUNWAY_LOG", default_value = "info,sqlx=warn,hyper=warn")]
    pub(crate) log: String,
    /// `text` for people, `json` for machines.
    #[arg(long, env = "RUNWAY_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub(crate) log_format: String,
}

/// Logs to stderr as `LogArgs` says.
pub(crate) fn init_logging(args: &LogArgs) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if args.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests and reads in flight");
}

/// A shutdown that several tasks can wait for.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Starts watching for Ctrl-C / SIGTERM.
    pub(crate) fn on_signal() -> Shutdown {
        Shutdown::on_signal_or(std::future::pending())
    }

    /// Starts watching for Ctrl-C / SIGTERM, and stops by itself once `done` completes.
    pub(crate) fn on_signal_or(done: impl Future<Output = ()> + Send + 'static) -> Shutdown {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = done => {}
            }
            let _ = sender.send(true);
        });
        Shutdown(receiver)
    }

    /// Completes once shutdown has begun.
    pub(crate) async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
