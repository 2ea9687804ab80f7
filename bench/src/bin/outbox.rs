//! Outbox throughput: thousands of pending deliveries to one Standard Webhooks channel,
//! drained by the delivery worker (`runway_alerts::Worker::deliver_due`, step after step)
//! into a local receiver on 127.0.0.1 that answers 200 at once. Prints deliveries per second,
//! CPU time and peak memory, and checks that the receiver got exactly one request per row, each
//! notification once. See BENCHMARKS.md for how it is run and what it measured.
//!
//! The rows are queued the way production queues them: the channel exists, then one manual
//! instance per row gets a license inside the 10-day window recorded with
//! `Licenses::record_reading`, whose transaction fires the instance's reminder and writes its
//! outbox row (see `runway_bench::fleet`). That set-up is not measured.
//!
//! The receiver runs in this process, on the same runtime and the same two cores as the
//! worker: the figures include its (small) share. It does not verify signatures.
//!
//! SQLite always (unless `--no-sqlite`); PostgreSQL too with `--postgres-url`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use axum::http::{HeaderMap, StatusCode};
use clap::Parser;
use jiff::{SignedDuration, Span, Timestamp};
use runway_alerts::{DeliveryReport, Worker, WorkerConfig};
use runway_bench::fleet::{self, Planned, PlannedLicense};
use runway_bench::{BenchDb, load_average, measure, mib, peak_rss, run_on_runtime};
use runway_clock::SystemClock;
use runway_store::{ChannelKind, ChannelSettings, NewChannel, Store, TenantSettings};

#[derive(Debug, Parser)]
#[command(about = "Drain the outbox to a local webhook receiver and measure deliveries per second")]
struct Args {
    /// Pending deliveries (one alert each, all to the webhook channel).
    #[arg(long, default_value_t = 10_000)]
    deliveries: usize,
    /// Rows the worker claims per step (default: `WorkerConfig`'s).
    #[arg(long)]
    batch: Option<u32>,
    /// Attempts in flight at once (default: `WorkerConfig`'s).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Instances loaded at once while queueing.
    #[arg(long, default_value_t = 8)]
    load_concurrency: usize,
    /// Also on PostgreSQL: an admin URL; the benchmark creates (and drops) its own database.
    #[arg(long, env = "RUNWAY_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip SQLite (with --postgres-url).
    #[arg(long)]
    no_sqlite: bool,
}

/// A signing secret for the channel (the receiver does not check it): `whsec_` and the
/// base64 of 32 bytes.
const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwYmVuY2htYXJr";

fn main() -> Result<()> {
    let args = Args::parse();
    run_on_runtime(run(&args))
}

async fn run(args: &Args) -> Result<()> {
    let mut config = WorkerConfig::new("bench");
    if let Some(batch) = args.batch {
        config.batch = batch;
    }
    if let Some(concurrency) = args.concurrency {
        config.concurrency = concurrency;
    }
    println!(
        "{} pending deliveries to one webhook channel on 127.0.0.1; worker batch {}, \
         concurrency {}",
        args.deliveries, config.batch, config.concurrency
    );
    if !args.no_sqlite {
        let db = BenchDb::sqlite().await?;
        bench(args, &config, &db).await?;
    }
    if let Some(url) = &args.postgres_url {
        let db = BenchDb::postgres(url).await?;
        bench(args, &config, &db).await?;
    }
    Ok(())
}

/// What the receiver got.
#[derive(Debug, Default)]
struct Received {
    requests: AtomicU64,
    ids: Mutex<HashSet<String>>,
}

/// Starts the receiver on 127.0.0.1 and a free port: `POST /hook` answers 200 with no body
/// and notes the request and its `webhook-id`. Returns its URL.
async fn start_receiver(received: Arc<Received>) -> Result<(String, tokio::task::JoinHandle<()>)> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, _body: axum::body::Bytes| {
            let received = Arc::clone(&received);
            async move {
                received.requests.fetch_add(1, Ordering::Relaxed);
                if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                    received
                        .ids
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(id.to_owned());
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let server = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("the receiver stopped: {err}");
        }
    });
    Ok((url, server))
}

async fn bench(args: &Args, config: &WorkerConfig, db: &BenchDb) -> Result<()> {
    let store = &db.store;
    println!(
        "\n== {:?} == (load average {})",
        db.backend,
        load_average().unwrap_or_default()
    );
    let received = Arc::new(Received::default());
    let (url, server) = start_receiver(Arc::clone(&received)).await?;
    queue(args, store, url).await?;

    let worker = Worker::new(
        Arc::clone(store),
        Arc::new(SystemClock),
        runway_alerts::http_client()?,
        config.clone(),
    );
    println!(
        "load average before draining {}",
        load_average().unwrap_or_default()
    );
    let (drained, measured) = measure(drain(&worker)).await;
    let (total, steps) = drained?;
    server.abort();
    let requests = received.requests.load(Ordering::Relaxed);
    let distinct = received
        .ids
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .len();
    let left = store.outbox_depth(Timestamp::now()).await?;
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let (per_second, cpu_ms_each) = (
        total.sent as f64 / measured.wall.as_secs_f64(),
        measured.cpu.as_secs_f64() * 1000.0 / total.sent.max(1) as f64,
    );
    println!(
        "drained in {steps} steps: {} sent, {} retried, {} failed in {:.2} s: \
         {per_second:.0} deliveries/s",
        total.sent,
        total.retried,
        total.failed,
        measured.wall.as_secs_f64()
    );
    println!(
        "cpu {:.2} s ({cpu_ms_each:.2} ms per delivery, worker and receiver); peak memory {}",
        measured.cpu.as_secs_f64(),
        mib(measured.peak)
    );
    println!(
        "receiver: {requests} requests, {distinct} distinct webhook-ids; outbox left: {left:?}"
    );
    let rows = args.deliveries as u64;
    if requests != rows || distinct != args.deliveries || total.sent != args.deliveries {
        bail!("the receiver got {requests} requests ({distinct} distinct) for {rows} rows");
    }
    if left.due + left.waiting + left.failed != 0 {
        bail!("rows are left in the outbox: {left:?}");
    }
    Ok(())
}

/// Queues `--deliveries` rows for a new tenant's webhook channel at `url` (not measured).
async fn queue(args: &Args, store: &Arc<dyn Store>, url: String) -> Result<()> {
    let now = Timestamp::now();
    let tenant = store
        .create_tenant(&TenantSettings::new("Bench MSP"))
        .await?;
    let zone = tenant.settings.zone.clone();
    let tenant = tenant.id;
    store
        .create_channel(
            tenant,
            &NewChannel {
                name: "webhook".to_owned(),
                kind: ChannelKind::Webhook,
                settings: ChannelSettings {
                    url: Some(url),
                    ..ChannelSettings::default()
                },
                secret: Some(SIGNING_SECRET.to_owned()),
            },
            now,
        )
        .await?;
    let per_customer = 100;
    let customers =
        fleet::create_customers(&**store, tenant, args.deliveries.div_ceil(per_customer)).await?;
    // Manual instances with a license 0–10 days from expiry: recording each fires one
    // reminder, which queues one row for the channel.
    let today = zone.date_of(now);
    let planned = (0..args.deliveries)
        .map(|i| {
            let days = i64::try_from(i % 11)?;
            let expiry = zone
                .time_zone()
                .to_timestamp(today.checked_add(Span::new().days(days))?.at(12, 0, 0, 0))?;
            Ok(Planned {
                customer: i / per_customer,
                name: format!("pbx-{i:06}"),
                polled: false,
                license: PlannedLicense::Read {
                    read_at: now - SignedDuration::from_secs(1),
                    expiry: Some(expiry),
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    eprintln!("queueing {} deliveries…", args.deliveries);
    let started = Instant::now();
    fleet::load(
        store,
        tenant,
        &customers,
        &planned,
        now - SignedDuration::from_mins(1),
        args.load_concurrency,
    )
    .await?;
    let depth = store.outbox_depth(Timestamp::now()).await?;
    println!(
        "queued {} rows in {:.1} s (set-up, not measured); resident {}",
        depth.due,
        started.elapsed().as_secs_f64(),
        mib(peak_rss().unwrap_or_default())
    );
    if depth.due != args.deliveries as u64 {
        bail!(
            "expected {} due rows, the outbox holds {depth:?}",
            args.deliveries
        );
    }
    Ok(())
}

/// Steps the worker until a step claims nothing; the total and the number of steps.
async fn drain(worker: &Worker) -> Result<(DeliveryReport, usize)> {
    let mut total = DeliveryReport::default();
    let mut steps = 0;
    loop {
        let report = worker
            .deliver_due()
            .await
            .context("a step of the delivery worker")?;
        if report.claimed == 0 {
            return Ok((total, steps));
        }
        steps += 1;
        total.claimed += report.claimed;
        total.sent += report.sent;
        total.retried += report.retried;
        total.failed += report.failed;
    }
}
