//! `runway import FILE [--dry-run]`: customers and instances from a CSV file, into the local
//! database or, with `--url` and an API token, into a running Runway through its API. The same
//! check and the same all-or-nothing commit as the Import page (`runway_web::import`).
//!
//! Exit status: 0 when the file was imported (or, with `--dry-run`, would import cleanly); 1
//! when it has problems, each printed by row and column (nothing was written); 2 when the
//! import could not run.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use runway_engine::{Engine, EngineConfig};
use runway_web::import::{ImportReport, MAX_IMPORT_BYTES};

use crate::config::{ClockArgs, StoreArgs};
use crate::remote::{RemoteArgs, refusal};

/// Import customers and instances from a CSV file: every row checked first, then all of it
/// written in one transaction, or nothing when any row has a problem.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The CSV file (`-` reads standard input).
    file: PathBuf,
    /// Check the file and print what it would do, without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The tenant, by name or id (needed when the local database holds more than one; a remote
    /// import goes to the token's tenant).
    #[arg(long, env = "RUNWAY_TENANT")]
    tenant: Option<String>,
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    clock: ClockArgs,
}

pub(crate) async fn run(args: ImportArgs) -> ExitCode {
    match import(&args).await {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(err) => {
                        eprintln!("error: {err}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{}", summary(&report, &args.file.display().to_string()));
            }
            if report.error.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn read_file(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_IMPORT_BYTES + 1).unwrap_or(u64::MAX);
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(limit).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

async fn import(args: &ImportArgs) -> anyhow::Result<ImportReport> {
    let bytes = read_file(&args.file)?;
    if let Some(remote) = args.remote.remote()? {
        let query = [("dry_run", args.dry_run.to_string())];
        let (status, body) = remote
            .post("/api/v1/import", &query, "text/csv; charset=utf-8", bytes)
            .await?;
        // 422 carries the report with its problems; other refusals carry an error.
        if (status.is_success() || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY)
            && let Ok(report) = serde_json::from_slice::<ImportReport>(&body)
        {
            return Ok(report);
        }
        anyhow::bail!("{}", refusal(status, &body));
    }
    let store = args.store.open().await.map_err(|err| {
        if format!("{err:#}").contains("in use by another Runway") {
            err.context("import through the running Runway instead: --url and RUNWAY_TOKEN")
        } else {
            err
        }
    })?;
    let result = async {
        let tenant = crate::status::choose_tenant(store.as_ref(), args.tenant.as_deref()).await?;
        let engine = Engine::new(
            Arc::clone(&store),
            args.clock.clock()?,
            EngineConfig::default(),
        );
        runway_web::import::run(&engine, &tenant, &bytes, args.dry_run)
            .await
            .map_err(|err| anyhow::anyhow!("{}", err.public_message()))
    }
    .await;
    store.close().await;
    result
}

/// The report as the terminal shows it.
fn summary(report: &ImportReport, file: &str) -> String {
    use std::fmt::Write as _;
    let p = &report.preview;
    let mut out = String::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "{file}: {} row{}: {} to create, {} to update, {} unchanged{}",
        p.rows.len(),
        plural(p.rows.len()),
        p.create,
        p.update,
        p.unchanged,
        if p.new_customers.is_empty() {
            String::new()
        } else {
            format!(
                "; {} new customer{} ({})",
                p.new_customers.len(),
                plural(p.new_customers.len()),
                p.new_customers.join(", ")
            )
        }
    );
    if !p.ignored_columns.is_empty() {
        let _ = writeln!(
            out,
            "not imported (worked out by Runway): {}",
            p.ignored_columns.join(", ")
        );
    }
    for row in &p.rows {
        for note in &row.notes {
            let _ = writeln!(out, "row {}: {note}", row.row);
        }
    }
    for error in &p.errors {
        let _ = writeln!(out, "{error}");
    }
    let _ = match (&report.error, report.committed) {
        (Some(error), _) => writeln!(out, "{error}"),
        (None, true) => writeln!(
            out,
            "imported: {} created, {} updated, {} license{} recorded",
            p.create,
            p.update,
            report.licenses_recorded,
            plural(report.licenses_recorded)
        ),
        (None, false) => writeln!(
            out,
            "dry run: the file imports cleanly; nothing was written ({} change{})",
            p.create + p.update,
            plural(p.create + p.update)
        ),
    };
    out
}
