//! `runway`: the one binary. Each subcommand lives in its own module; this file only parses the
//! command line and dispatches.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool prints its results on stdout"
)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod backup;
mod config;
mod demo;
mod probe;
mod secrets;
mod serve;

/// Runway — every 3CX license renewal of your fleet in one place.
#[derive(Debug, Parser)]
#[command(name = "runway", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Demo(demo::DemoArgs),
    Serve(serve::ServeArgs),
    Admin(admin::AdminArgs),
    Probe(probe::ProbeArgs),
    Backup(backup::BackupArgs),
    Restore(backup::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One TLS provider (ring) for every HTTPS client of the process: PBXs, and later alert
    // channels. Set up here, once, never in a library.
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        eprintln!("error: cannot install the TLS crypto provider");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Admin(args) => admin::run(args).await,
            Command::Probe(args) => probe::run(args).await,
            Command::Backup(args) => backup::run_backup(args).await,
            Command::Restore(args) => backup::run_restore(args).await,
        }
    })
}
