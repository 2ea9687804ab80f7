//! `runway-sim`: serves a simulated fleet of 3CX PBXs from a scenario file (or a generated
//! fleet) until Ctrl-C. `runway-sim --help` documents the scenario format.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use jiff::Timestamp;
use runway_sim::{
    Clock, FleetSpec, Latency, PbxSpec, Scenario, ScenarioFile, ScenarioFormat, ServeMode,
    SimError, SimHandle, SimOptions, SimServer,
};

/// `errno` for "too many open files" (Linux and macOS).
const EMFILE: i32 = 24;

const ABOUT: &str =
    "Serve a simulated fleet of 3CX PBXs (v18 legacy API and v20 XAPI) over HTTP and HTTPS.";

const LONG_ABOUT: &str = "\
Serve a simulated fleet of 3CX PBXs (v18 legacy API and v20 XAPI) over HTTP and HTTPS.

Each PBX speaks the real protocol for its version: /connect/token (client credentials),
/webclient/api/Login/GetAccessToken (admin user, optional TOTP), /xapi/v1/SystemStatus,
/xapi/v1/LicenseStatus, /xapi/v1/Defs/Pbx.GetLicenseParameters(), /xapi/v1/Users,
/xapi/v1/Defs, POST /xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus, and for v16/v18
/api/login + /api/SystemStatus. HTTPS uses a certificate signed by a CA generated at start
(--ca-out writes it; GET /_sim/ca.pem serves it).

Path-prefix mode (default): every PBX at http://HOST:PORT/<pbx-id>. Per-port mode
(--per-port): every PBX on its own port, at the root, like a real PBX.

Control API (JSON) under /_sim on the HTTP listener (or --control ADDR):
  GET  /_sim/pbxs                       fleet with current licenses, faults, counters
  GET  /_sim/pbxs/{id}                  one PBX
  PATCH /_sim/pbxs/{id}/license         change license fields, e.g. {\"expiry\":\"+3d\"}
  GET|PUT|POST|DELETE /_sim/pbxs/{id}/faults     list / replace / add / clear faults
  GET|PUT|DELETE /_sim/pbxs/{id}/renewal        pending upstream renewal
  POST /_sim/pbxs/{id}/renewal/apply    apply it now
  POST /_sim/pbxs/{id}/revoke-tokens    revoke every token and session
  GET|DELETE /_sim/pbxs/{id}/counters   logins, requests per endpoint, refreshes, violations
  GET|DELETE /_sim/counters             all counters
  GET  /_sim/ca.pem                     the CA certificate";

const SCENARIO_HELP: &str = r#"SCENARIO FORMAT (TOML; JSON has the same fields, with "pbx" as an array)

  name = "Demo fleet"                  # optional
  description = "…"                    # optional

  [defaults]                           # optional: any PBX field except id
  reseller = "Northwind Telecom"
  latency = "20..120"

  [[pbx]]
  id = "harbor-main"                   # required; URL path segment [A-Za-z0-9._-]
  customer = "Harbor Dental Group"     # default "Unassigned"
  name = "Harbor Dental – Main office" # display name, default = id
  fqdn = "harbordental.my3cx.us"       # default <id>.my3cx.example
  version = "20.0.9.1322"              # required: 18.0.x.y / 16.x legacy, 20.0.x.y XAPI
  login = { kind = "client_credentials", client_id = "runway", client_secret = "k3y" }
  #       { kind = "user", username = "admin@harbor.example", password = "pw",
  #         totp_secret = "JBSWY3DPEHPK3PXP" }   # totp_secret = MFA on (base32)
  #       { kind = "legacy", username = "admin", password = "pw" }   # v16/v18 only
  extra_logins = [ { kind = "user", username = "admin", password = "pw" } ]  # also accepted
  product_code = "3CXPSPROFENTSPLA"    # default; PROFENT = Enterprise/AI
  api_client_licensed = true           # default: product code contains PROFENT
  unlicensed_api_answer = 403          # 401 (default) or 403 + WARNINGS.XAPI.INVALID_LICENSE_TYPE
  license_key = "ABCD-1234-EF56-7890"  # default: made up from the id
  expiry = "+12d"                      # ExpirationDate
  maintenance_expiry = "+12d"          # MaintenanceExpiresAt
  #   dates: RFC 3339 (served verbatim) | "YYYY-MM-DD" | "+12d" "-3d" "+6h" "+30m" "+2w" "now"
  #          (relative to start) | "none" (.NET min 0001-01-01T00:00:00.0000000+00:00) | "null"
  #          (default "null")
  license_active = true                # LicenseActive (default true)
  activated = true                     # Activated (default true)
  support = true                       # Support (default: maintenance date in the future)
  is_spla = false                      # legacy IsSpla (default: product code ends in SPLA)
  reseller = "Northwind Telecom"       # ResellerName (default null)
  max_sim_calls = 16                   # MaxSimCalls (default 8)
  users = 72                           # user extensions (default 2 × calls)
  max_users = 80                       # MaxUserExtensions (default: fair-use table)
  ai_agents = 2                        # users with AIAgent = true (20.0.9+)
  extensions_total = 80                # ExtensionsTotal (default users + ai_agents + 4)
  company_name / contact_name / admin_email / telephone / country_code / active_modules
                                       # LicenseStatus licensee fields
  latency = 40                         # ms, or a range "20..200" drawn per request
  token_lifetime = "60m"               # real token/session lifetime (default 60m); expires_in
                                       # shows it in minutes up to 20.0.8, seconds from 20.0.9
  date_style = "dotnet"                # z | offset | dotnet | dotnet_z | dotnet_local
                                       # (default: varies per PBX; legacy "offset")
  users_filter = true                  # false: $filter on /Users answers 400 (clients fall
                                       # back to $select=Id,AIAgent)
  body_files = { system_status = "captured/systemstatus.json" }
                                       # serve a file verbatim for a read endpoint
                                       # (path relative to the scenario file)
  faults = [
    { kind = "status", status = 503, retry_after = 30, endpoint = "system_status", times = 2 },
    { kind = "delay", ms = 5000 },
    { kind = "hang" },                                  # accept, never answer
    { kind = "garbage", style = "not_json" },           # | truncated_json | wrong_types
    { kind = "huge_body", bytes = 52428800, declare_length = false },   # streamed
    { kind = "short_token", lifetime_ms = 2000 },       # tokens die early, expires_in unchanged
    { kind = "reject_login" },                          # right credentials refused
    { kind = "forbidden" },                             # 403 on data endpoints
    { kind = "odd_body", style = "missing_fields" },    # | null_fields | extra_fields
  ]                                                     #   | newer_version
  #   endpoint: any (default) | login | data | connect_token | get_access_token | api_login |
  #             system_status | license_status | license_parameters | users | defs | refresh |
  #             api_system_status;  times: only the next N requests it applies to
  renewal = { expiry = "+377d", maintenance_expiry = "+377d", product_code = "3CXPSPROFENTSPLA",
              max_sim_calls = 24, after = "10m", on_refresh = true }
  #   a renewal bought upstream: applied by POST …/Pbx.RefreshLicenseStatus (204), and/or on
  #   its own `after` the start; any license field can change

GENERATED FLEETS
  runway-sim --generate 10000 --faulty-percent 2 --latency 20..200 --seed 7 --per-port
  runway-sim --generate 500 --write-scenario fleet.toml      # write it, then serve it"#;

#[derive(Parser, Debug)]
#[command(name = "runway-sim", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = SCENARIO_HELP)]
#[allow(clippy::struct_excessive_bools, reason = "command-line switches")]
struct Args {
    /// Scenario file (.toml or .json)
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "generate",
        conflicts_with = "generate"
    )]
    scenario: Option<PathBuf>,

    /// Generate a synthetic fleet of N PBXs instead of reading a scenario
    #[arg(long, value_name = "N")]
    generate: Option<usize>,

    /// With --generate: share of PBXs with a fault, in percent
    #[arg(long, value_name = "PERCENT", default_value_t = 2.0)]
    faulty_percent: f64,

    /// With --generate: latency of every PBX, ms or a range MIN..MAX
    #[arg(long, value_name = "MS|MIN..MAX", default_value = "0")]
    latency: String,

    /// With --generate: seed (same seed, same fleet)
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Write the (generated) scenario to FILE (.toml or .json) and exit
    #[arg(long, value_name = "FILE")]
    write_scenario: Option<PathBuf>,

    /// HTTP listener [default: 127.0.0.1:5000; per-port: 127.0.0.1:0 = any free port per PBX]
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,

    /// HTTPS listener [default: 127.0.0.1:5001; per-port: 127.0.0.1:0]
    #[arg(long, value_name = "ADDR")]
    https: Option<SocketAddr>,

    /// Do not serve HTTP
    #[arg(long)]
    no_http: bool,

    /// Do not serve HTTPS
    #[arg(long)]
    no_https: bool,

    /// One listener per PBX (serving at the root) instead of one per scheme with path prefixes
    #[arg(long)]
    per_port: bool,

    /// Separate listener for the control API (always used in per-port mode; default any port)
    #[arg(long, value_name = "ADDR")]
    control: Option<SocketAddr>,

    /// Write the CA certificate (PEM) that clients should trust for HTTPS
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,

    /// Pretend it is this instant (RFC 3339) for relative dates; the clock then runs on
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp)]
    now: Option<Timestamp>,

    /// Extra DNS name or IP for the server certificate (repeatable)
    #[arg(long, value_name = "NAME")]
    tls_name: Vec<String>,

    /// Print only the summary, not one line per PBX
    #[arg(long)]
    quiet: bool,
}

fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    text.parse()
        .map_err(|e| format!("`{text}` is not an RFC 3339 instant: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("runway-sim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("runway-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The scenario to serve: read from `--scenario` or generated from `--generate`.
fn scenario_file(args: &Args) -> Result<(ScenarioFile, String), String> {
    match (&args.scenario, args.generate) {
        (Some(path), _) => Ok((
            ScenarioFile::load(path).map_err(|e| e.to_string())?,
            path.display().to_string(),
        )),
        (None, Some(count)) => {
            let latency = Latency::parse(&args.latency).map_err(|e| format!("--latency: {e}"))?;
            if !(0.0..=100.0).contains(&args.faulty_percent) {
                return Err("--faulty-percent must be between 0 and 100".to_owned());
            }
            let spec = FleetSpec {
                count,
                faulty_percent: args.faulty_percent,
                latency,
                seed: args.seed,
            };
            Ok((runway_sim::generate(&spec), "generated fleet".to_owned()))
        }
        (None, None) => Err("give --scenario FILE or --generate N".to_owned()),
    }
}

fn write_scenario(file: &ScenarioFile, path: &std::path::Path) -> Result<(), String> {
    let text = match ScenarioFormat::from_path(path) {
        Some(ScenarioFormat::Json) => file.to_json(),
        Some(ScenarioFormat::Toml) => file.to_toml(),
        None => {
            return Err(format!(
                "{}: the file name must end in .toml or .json",
                path.display()
            ));
        }
    }?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn options(args: &Args, clock: Clock) -> SimOptions {
    let default_addr = |port: u16| -> SocketAddr {
        let port = if args.per_port { 0 } else { port };
        SocketAddr::from(([127, 0, 0, 1], port))
    };
    SimOptions {
        mode: if args.per_port {
            ServeMode::PerPort
        } else {
            ServeMode::PathPrefix
        },
        http: (!args.no_http).then(|| args.http.unwrap_or_else(|| default_addr(5000))),
        https: (!args.no_https).then(|| args.https.unwrap_or_else(|| default_addr(5001))),
        control: args.control,
        clock,
        tls_names: args.tls_name.clone(),
    }
}

/// One line per PBX (unless quiet), then where the control API and CA are.
fn print_fleet(args: &Args, specs: &[PbxSpec], handle: &SimHandle) {
    let mut out = std::io::stdout().lock();
    if !args.quiet {
        for spec in specs {
            let urls = handle.urls(&spec.id).cloned().unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<24} {:<12} {:<18} {:<40} {}",
                spec.id,
                spec.version,
                spec.login.kind(),
                urls.https.or(urls.http).unwrap_or_default(),
                spec.customer
            );
        }
    }
    let ca = args.ca_out.as_ref().map_or_else(
        || format!("{}/ca.pem", handle.control_url()),
        |p| p.display().to_string(),
    );
    let _ = writeln!(
        out,
        "runway-sim: {} PBXs ({}), control API {}, CA {ca}\nCtrl-C to stop.",
        specs.len(),
        if args.per_port {
            "one port each"
        } else {
            "path prefixes"
        },
        handle.control_url(),
    );
}

async fn run(args: Args) -> Result<(), String> {
    let real_now = Timestamp::now();
    let now = args.now.unwrap_or(real_now);
    let clock = if args.now.is_some() {
        Clock::Offset(now.duration_since(real_now))
    } else {
        Clock::System
    };
    let (file, label) = scenario_file(&args)?;
    if let Some(path) = &args.write_scenario {
        return write_scenario(&file, path);
    }
    let scenario: Scenario = file.resolve(&label, now).map_err(|e| e.to_string())?;
    let specs = scenario.pbxs.clone();
    let handle = SimServer::start(scenario, options(&args, clock))
        .await
        .map_err(|e| match &e {
            SimError::Bind { source, .. } if source.raw_os_error() == Some(EMFILE) => format!(
                "{e}\n  every PBX needs one open file per listener in per-port mode: raise the limit (ulimit -n) or serve one scheme only (--no-https / --no-http)"
            ),
            _ => e.to_string(),
        })?;
    if let Some(path) = &args.ca_out {
        std::fs::write(path, handle.ca_pem())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    print_fleet(&args, &specs, &handle);
    wait_for_stop().await;
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
