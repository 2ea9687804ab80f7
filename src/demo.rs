//! `runway demo`: the whole product at once, with nothing to configure — a simulated fleet of
//! 40 PBXs (every band, a few faulty ones, renewals waiting upstream), a fresh database, a demo
//! tenant and login, a first read of every PBX, then the dashboard.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use jiff::Timestamp;
use runway_clock::SystemClock;
use runway_engine::{Engine, EngineConfig};
use runway_sim::{Scenario, ScenarioFormat, Scheme, SimOptions, SimServer};
use runway_store::{OpenOptions, SecretKey};
use runway_threecx::{NetworkPolicy, ReadLimits};
use runway_web::WebSettings;

use crate::config::{Shutdown, bind, exit_code, init_logging};
use crate::serve::run_until_shutdown;

/// The demo fleet, built into the binary so the demo runs from anywhere.
const DEMO_SCENARIO: &str = include_str!("../scenarios/demo.toml");
/// The demo login, printed at start and written in the README.
pub(crate) const DEMO_EMAIL: &str = "demo@runway.local";
/// The demo password.
pub(crate) const DEMO_PASSWORD: &str = "runway-demo";

/// Show the whole product against a simulated fleet (nothing to configure).
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    log: crate::config::LogArgs,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Check that the dashboard answers — the sign-in page, and the whole fleet through the
    /// API — then stop; exit status 0 only if it did (for scripts and CI).
    #[arg(long)]
    exit_when_ready: bool,
}

pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    init_logging(&args.log);
    exit_code(demo(args).await)
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let listener = bind(args.listen).await?;
    let address = listener.local_addr()?;

    let now = Timestamp::now();
    let scenario = Scenario::parse(
        DEMO_SCENARIO,
        ScenarioFormat::Toml,
        "scenarios/demo.toml",
        now,
    )
    .map_err(|err| anyhow::anyhow!("the built-in demo scenario: {err}"))?;
    let sim = SimServer::start(scenario.clone(), SimOptions::default())
        .await
        .context("cannot start the simulated fleet")?;

    let data = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let url = format!("sqlite://{}", data.path().join("runway.db").display());
    let data_dir = data.path().to_owned();
    // A data directory like any other (its key file beside the database), so that
    // `runway doctor --data-dir` and `runway backup --data-dir` work on it while the demo runs.
    let key = SecretKey::from_file_or_create(&data.path().join(runway_store::SECRET_KEY_FILE))?;
    let store = runway_store::open(&url, OpenOptions::new(key)).await?;
    let (tenant, owner) = runway_web::init_tenant(
        &store,
        "Northwind Telecom (demo)",
        "America/New_York",
        DEMO_EMAIL,
        DEMO_PASSWORD,
    )
    .await?;
    let fleet =
        runway_sim_fleet::load_sim_fleet(&*store, tenant.id, &sim, &scenario, Scheme::Https, now)
            .await?;
    add_demo_channel(&*store, tenant.id, now).await?;

    let config = EngineConfig {
        // The demo's hanging PBX should not hold up the first screen for long.
        read_limits: ReadLimits {
            timeout: Duration::from_secs(5),
            ..ReadLimits::default()
        },
        // The simulated fleet answers on this machine's loopback, which the default PBX
        // network policy refuses.
        network: NetworkPolicy::allowing_loopback(),
        ..EngineConfig::default()
    };
    let engine = Engine::new(Arc::clone(&store), Arc::new(SystemClock), config);
    println!("Reading {} simulated PBXs…", fleet.len());
    let first = engine.run_due().await;
    println!(
        "Read {} licenses; {} PBXs failed on purpose (hanging, rejecting, garbled) and show why.",
        first.succeeded, first.failed
    );
    let open = store
        .alerts(tenant.id, &runway_store::AlertFilter::default(), 1000)
        .await?
        .len();
    println!(
        "{open} reminders are open (10, 3 and 1 days out, and lapsed), sent to the \"Demo log\" channel."
    );

    let (verdict, checked) = tokio::sync::oneshot::channel();
    let shutdown = if args.exit_when_ready {
        let (token, _) =
            runway_web::create_api_token(&store, tenant.id, owner.id, "demo check", now).await?;
        let expected = fleet.len();
        Shutdown::on_signal_or(async move {
            let _ = verdict.send(check_answers(address, &token, expected).await);
        })
    } else {
        Shutdown::on_signal()
    };
    run_until_shutdown(
        engine,
        WebSettings::default(),
        crate::serve::Listeners::web_only(listener),
        shutdown,
        crate::serve::ALERT_TICK_EVERY,
        |_| {
            println!();
            println!("  Runway demo: http://{address}/");
            println!("  Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}");
            println!();
            println!(
                "  Try \"Refresh license\" on Harbor Dental – Main Office: 3CX holds a renewal \
                 for it, and its open reminder resolves (see /alerts)."
            );
            println!(
                "  Ctrl-C to stop. The data directory, thrown away then: {} (try `runway doctor \
                 --data-dir` on it).",
                data_dir.display()
            );
        },
    )
    .await?;
    sim.shutdown().await;
    drop(data);
    if args.exit_when_ready {
        checked
            .await
            .context("the dashboard check did not finish")??;
        println!(
            "The dashboard answered: sign-in page, all {} instances and their open reminders.",
            fleet.len()
        );
    }
    Ok(())
}

/// Where the demo's alerts go: Runway's own log, so the reminders the first reads raise are
/// seen being delivered (add a webhook or Slack channel on the Channels page to see more).
async fn add_demo_channel(
    store: &dyn runway_store::Store,
    tenant: runway_store::TenantId,
    now: Timestamp,
) -> anyhow::Result<()> {
    store
        .create_channel(
            tenant,
            &runway_store::NewChannel {
                name: "Demo log".to_owned(),
                kind: runway_store::ChannelKind::Log,
                settings: runway_store::ChannelSettings::default(),
                secret: None,
            },
            now,
        )
        .await?;
    Ok(())
}

/// Asks the running demo for its sign-in page and, with an API token of the demo user, for
/// the License Status rows: both must answer, with the whole fleet.
async fn check_answers(
    address: SocketAddr,
    token: &runway_core::Secret,
    expected_rows: usize,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")?;
    let login = client
        .get(format!("http://{address}/login"))
        .send()
        .await
        .context("the sign-in page did not answer")?;
    anyhow::ensure!(
        login.status().is_success(),
        "the sign-in page answered {}",
        login.status()
    );
    let licenses: serde_json::Value = client
        .get(format!("http://{address}/api/v1/licenses"))
        .bearer_auth(token.expose())
        .send()
        .await
        .context("the License Status API did not answer")?
        .error_for_status()
        .context("the License Status API refused")?
        .json()
        .await
        .context("the License Status API answered something other than JSON")?;
    let rows = licenses["rows"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(
        rows == expected_rows,
        "the License Status API listed {rows} instances, not {expected_rows}"
    );
    // The demo fleet has licenses 1, 3 and 10 days out: their reminders must be open.
    let alerts: serde_json::Value = client
        .get(format!(
            "http://{address}/api/v1/alerts?kind=license_expiry"
        ))
        .bearer_auth(token.expose())
        .send()
        .await
        .context("the alerts API did not answer")?
        .error_for_status()
        .context("the alerts API refused")?
        .json()
        .await
        .context("the alerts API answered something other than JSON")?;
    let open = alerts.as_array().map_or(0, Vec::len);
    anyhow::ensure!(
        open > 0,
        "the alerts API listed no open reminder, though the demo fleet has licenses 1, 3 and 10 \
         days out"
    );
    Ok(())
}
