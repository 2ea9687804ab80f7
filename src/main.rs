//! `runway`: the one binary. Each subcommand lives in its own module; this file only parses the
//! command line and dispatches.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool prints its results on stdout"
)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

mod admin;
mod backup;
mod config;
mod config_file;
mod demo;
mod doctor;
mod import;
mod probe;
mod remote;
mod secrets;
mod serve;
mod status;

/// Runway — every 3CX license renewal of your fleet in one place.
#[derive(Debug, Parser)]
#[command(name = "runway", version, about, long_about = None)]
struct Cli {
    /// The configuration file (default: runway.toml in the data directory, if there is one).
    /// Its keys are the long flags' names with `_` for `-`; flags and variables override it.
    #[arg(long, global = true, env = "RUNWAY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
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
    Config(ConfigArgs),
    Doctor(doctor::DoctorArgs),
    Status(status::StatusArgs),
    Calendar(status::CalendarArgs),
    Export(status::ExportArgs),
    Import(import::ImportArgs),
}

/// Look at the configuration.
#[derive(Debug, clap::Args)]
struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration of `serve` (flags > environment > file > defaults),
    /// with each value's source and secrets masked. Takes `serve`'s flags.
    Show(Box<serve::ServeArgs>),
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let layers = match config_file::Layers::load(&Cli::command(), &args) {
        Ok(layers) => layers,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let command = layers.apply(Cli::command());
    let matches = command.clone().get_matches_from(&args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    if let Command::Config(ConfigArgs {
        command: ConfigCommand::Show(_),
    }) = &cli.command
    {
        return match config_file::show(&layers, &command, &args) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        };
    }
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
            Command::Config(_) => ExitCode::SUCCESS,
            Command::Doctor(args) => doctor::run(args).await,
            Command::Status(args) => status::run_status(args).await,
            Command::Calendar(args) => status::run_calendar(args).await,
            Command::Export(args) => status::run_export(args).await,
            Command::Import(args) => import::run(args).await,
        }
    })
}
