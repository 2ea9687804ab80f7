//! Serves the License Status page and its API for one tenant with thousands of instances and
//! prints the time per request (median, p90, p99, max) and the process's memory. See
//! BENCHMARKS.md for how it is run and what it measured.
//!
//! The fleet is real data: a generated scenario is served by the simulator in-process, read
//! once through the engine (so every instance has a reading, history and events as in
//! production, and the 2% faulty PBXs are stale with their errors), and the simulator is then
//! stopped. Requests come one at a time from a client on loopback, signed in like a browser
//! (page) or with an API token (API); the time is from sending the request to the last byte of
//! the body, so it is the server's time plus a loopback round trip.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use runway_bench::{fresh_db, mib, peak_rss, percentile, reset_peak_rss, run_on_runtime};
use runway_clock::SystemClock;
use runway_engine::{Engine, EngineConfig};
use runway_sim::{FleetSpec, Latency, Scheme, SimOptions, SimServer};
use runway_sim_fleet::load_sim_fleet;
use runway_web::view::{Filter, fleet_view};
use runway_web::{AppState, WebSettings};

#[derive(Debug, Parser)]
#[command(about = "Serve the License Status page and API for a big tenant and measure them")]
struct Args {
    /// Instances of the tenant.
    #[arg(long, default_value_t = 5000)]
    instances: usize,
    /// `sqlite` or `postgres` (needs RUNWAY_TEST_POSTGRES_URL, an admin URL).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Requests per measured address.
    #[arg(long, default_value_t = 200)]
    requests: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    run_on_runtime(run(&args))
}

const PASSWORD: &str = "benchmark-password";

async fn run(args: &Args) -> Result<()> {
    let now = jiff::Timestamp::now();
    let (backend, db) = fresh_db(&args.backend).await?;
    let store = Arc::clone(&db.store);
    let (tenant, owner) = runway_web::init_tenant(
        &store,
        "Bench MSP",
        "America/New_York",
        "owner@bench.example",
        PASSWORD,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    eprintln!(
        "reading {} simulated PBXs into {backend:?}…",
        args.instances
    );
    let engine = read_fleet(&store, tenant.id, args.instances, now).await?;

    let (token, _) =
        runway_web::create_api_token(&store, tenant.id, owner.id, "bench", now).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(engine, WebSettings::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(runway_web::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let browser = reqwest::Client::builder().cookie_store(true).build()?;
    sign_in(&browser, &base).await?;
    let api = reqwest::Client::new();
    let bearer = format!("Bearer {}", token.expose());

    println!(
        "{} instances on {backend:?}; {} sequential requests per address after 10 unmeasured",
        args.instances, args.requests
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "request", "median", "p90", "p99", "max", "bytes/rows"
    );
    // Where the time goes: the store's query, then the view (bands, order, calendar).
    let tenant_row = store.tenant(tenant.id).await?;
    measure(
        args.requests,
        "  of which store.fleet(), unchanged",
        || async { Ok(store.fleet(tenant.id).await?.len()) },
    )
    .await?;
    let fleet = store.fleet(tenant.id).await?;
    measure(args.requests, "  of which fleet_view()", || async {
        let view = fleet_view(
            &fleet,
            &tenant_row,
            jiff::Timestamp::now(),
            &Filter::default(),
        );
        Ok(view.rows.len())
    })
    .await?;
    let rss_before = peak_rss().unwrap_or_default();
    reset_peak_rss();
    for (label, path) in [
        ("status page, all rows", "/"),
        ("status page, band=critical", "/?band=critical"),
        ("status page, search", "/?q=dental"),
    ] {
        measure(args.requests, label, || {
            fetch(browser.get(format!("{base}{path}")))
        })
        .await?;
    }
    for (label, path) in [
        ("API licenses, all rows", "/api/v1/licenses"),
        ("API calendar", "/api/v1/calendar"),
    ] {
        measure(args.requests, label, || {
            fetch(
                api.get(format!("{base}{path}"))
                    .header("Authorization", &bearer),
            )
        })
        .await?;
    }
    println!(
        "memory: resident {} before serving, peak {} while serving",
        mib(rss_before),
        mib(peak_rss().unwrap_or_default())
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Loads a generated fleet of `count` PBXs into the tenant and reads it once through the
/// engine, so every instance has its reading, history and events; returns the engine.
async fn read_fleet(
    store: &Arc<dyn runway_store::Store>,
    tenant: runway_store::TenantId,
    count: usize,
    now: jiff::Timestamp,
) -> Result<Engine> {
    let spec = FleetSpec {
        count,
        faulty_percent: 2.0,
        latency: Latency::parse("1..3").map_err(anyhow::Error::msg)?,
        seed: 7,
    };
    let scenario = runway_sim::generate(&spec)
        .resolve("fleet.toml", now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sim = SimServer::start(
        scenario.clone(),
        SimOptions {
            https: None,
            ..SimOptions::default()
        },
    )
    .await?;
    load_sim_fleet(&**store, tenant, &sim, &scenario, Scheme::Http, now).await?;
    let engine = Engine::new(
        Arc::clone(store),
        Arc::new(SystemClock),
        EngineConfig {
            concurrency: 64,
            read_limits: runway_threecx::ReadLimits {
                timeout: Duration::from_secs(3),
                ..runway_threecx::ReadLimits::default()
            },
            network: runway_threecx::NetworkPolicy::allowing_loopback(),
            ..EngineConfig::default()
        },
    );
    let report = engine.run_due().await;
    eprintln!(
        "read {} licenses, {} failed on purpose",
        report.succeeded, report.failed
    );
    sim.shutdown().await;
    Ok(engine)
}

async fn sign_in(browser: &reqwest::Client, base: &str) -> Result<()> {
    let page = browser
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no CSRF field on the login page")?;
    let reply = browser
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf),
            ("email", "owner@bench.example"),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    if !reply.status().is_success() {
        bail!("sign-in answered {}", reply.status());
    }
    Ok(())
}

/// Sends a request and reads the whole body; its size in bytes.
async fn fetch(request: reqwest::RequestBuilder) -> Result<usize> {
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        bail!("answered {status}");
    }
    Ok(body.len())
}

/// Runs `work` 10 times unmeasured, then `requests` times, and prints the percentiles and the
/// size `work` returned (bytes of body, or rows).
async fn measure<F, Fut>(requests: usize, label: &str, work: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize>>,
{
    let mut times = Vec::with_capacity(requests);
    let mut size = 0;
    for i in 0..requests + 10 {
        let started = Instant::now();
        size = work().await.with_context(|| label.to_owned())?;
        if i >= 10 {
            times.push(started.elapsed());
        }
    }
    times.sort_unstable();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "{label:<34} {:>9} {:>9} {:>9} {:>9} {:>11}",
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 90.0)),
        ms(percentile(&times, 99.0)),
        ms(times.last().copied().unwrap_or_default()),
        size
    );
    Ok(())
}
