//! `runway probe`: read one PBX's license and print what Runway sees, for an operator debugging
//! a login or a certificate before adding the PBX to the fleet.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use runway_core::{
    BaseUrl, Credentials, DaysLeft, LicenseFacts, LicenseStatus, Timestamp, TlsOptions, Zone,
    check_ca_pem,
};
use runway_threecx::{Connector, LicenseReading, PbxTarget, ReadLimits, validate_totp_secret};
use serde_json::json;

use crate::config::NetworkArgs;
use crate::secrets::read_secret;

/// Read one PBX's license and print it (secrets come from files or variables, never arguments).
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  RUNWAY_PBX_SECRET=… runway probe https://pbx.example.com:5001 --login api-client \\
      --client-id runway --secret-env RUNWAY_PBX_SECRET
  runway probe pbx.example.com --login user --username admin@example.com \\
      --secret-file ~/.pbx-password --totp-secret-file ~/.pbx-totp --json

Exit status: 0 when the license was read, 1 when the PBX could not be read (the error says
why), 2 when the command line is wrong.")]
pub(crate) struct ProbeArgs {
    /// The PBX's web address, e.g. `https://pbx.example.com:5001`
    base_url: String,
    /// How to log in.
    #[arg(long, value_enum)]
    login: LoginKind,
    /// The API client's id (--login api-client).
    #[arg(long)]
    client_id: Option<String>,
    /// The admin's username: extension number or e-mail (--login user or legacy).
    #[arg(long)]
    username: Option<String>,
    /// A file holding the API client secret or the password.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// An environment variable holding the API client secret or the password.
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// A file holding the admin's base32 TOTP secret, when MFA is on.
    #[arg(long, value_name = "FILE")]
    totp_secret_file: Option<PathBuf>,
    /// An environment variable holding the admin's base32 TOTP secret.
    #[arg(long, value_name = "VAR")]
    totp_secret_env: Option<String>,
    /// A PEM CA certificate to trust for this PBX.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Accept any certificate (self-signed on-prem PBXs only).
    #[arg(long)]
    accept_invalid_cert: bool,
    /// Seconds the whole read may take.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    timeout: u64,
    /// Ask the PBX to re-query 3CX's license server first.
    #[arg(long)]
    refresh: bool,
    /// The IANA time zone for dates and days left.
    #[arg(long, env = "RUNWAY_ZONE", default_value = "UTC")]
    zone: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    network: NetworkArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LoginKind {
    /// v20 XAPI API client (client id + secret); needs Enterprise/AI.
    ApiClient,
    /// v20 admin user (username + password, optional TOTP); falls back to legacy on v16/v18.
    User,
    /// v16/v18 legacy API (username + password).
    Legacy,
}

pub(crate) async fn run(args: ProbeArgs) -> ExitCode {
    let json = args.json;
    let (target, zone, limits) = match settings(&args) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let client = match Connector::new(limits, args.network.policy()).client(target) {
        Ok(client) => client,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let result = if args.refresh {
        client.refresh_license().await
    } else {
        client.read_license().await
    };
    let now = Timestamp::now();
    match result {
        Ok(reading) if json => {
            println!("{}", success_json(&reading, now, &zone));
            ExitCode::SUCCESS
        }
        Ok(reading) => {
            print!("{}", success_text(client.target(), &reading, now, &zone));
            ExitCode::SUCCESS
        }
        Err(err) if json => {
            println!(
                "{}",
                json!({"ok": false, "error": {"kind": err.kind().as_str(), "message": err.to_string()}})
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error ({}): {err}", err.kind());
            ExitCode::FAILURE
        }
    }
}

fn settings(args: &ProbeArgs) -> anyhow::Result<(PbxTarget, Zone, ReadLimits)> {
    let base_url = BaseUrl::parse(&args.base_url)?;
    let zone = Zone::parse(&args.zone)?;
    let secret = read_secret(
        "secret",
        args.secret_file.as_deref(),
        args.secret_env.as_deref(),
    )?;
    let totp = read_secret(
        "TOTP secret",
        args.totp_secret_file.as_deref(),
        args.totp_secret_env.as_deref(),
    )?;
    let need = |value: &Option<String>, flag: &str| {
        value
            .clone()
            .with_context(|| format!("--login {} needs {flag}", args.login.name()))
    };
    let secret = secret.with_context(|| {
        format!(
            "--login {} needs --secret-file or --secret-env",
            args.login.name()
        )
    })?;
    if let Some(totp) = &totp {
        validate_totp_secret(totp)?;
    }
    let login = match args.login {
        LoginKind::ApiClient => {
            if totp.is_some() {
                bail!("a TOTP secret is only used with --login user");
            }
            Credentials::ApiClient {
                client_id: need(&args.client_id, "--client-id")?,
                client_secret: secret,
            }
        }
        LoginKind::User => Credentials::User {
            username: need(&args.username, "--username")?,
            password: secret,
            totp_secret: totp,
        },
        LoginKind::Legacy => {
            if totp.is_some() {
                bail!("a TOTP secret is only used with --login user");
            }
            Credentials::Legacy {
                username: need(&args.username, "--username")?,
                password: secret,
            }
        }
    };
    let custom_ca_pem = match &args.ca_cert {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
            check_ca_pem(&text).with_context(|| format!("{}", path.display()))?
        }
        None => None,
    };
    let tls = TlsOptions {
        custom_ca_pem,
        accept_invalid_certs: args.accept_invalid_cert,
    };
    let limits = ReadLimits {
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..ReadLimits::default()
    };
    Ok((
        PbxTarget {
            base_url,
            credentials: login,
            tls,
        },
        zone,
        limits,
    ))
}

impl LoginKind {
    fn name(self) -> &'static str {
        match self {
            LoginKind::ApiClient => "api-client",
            LoginKind::User => "user",
            LoginKind::Legacy => "legacy",
        }
    }
}

fn success_json(reading: &LicenseReading, now: Timestamp, zone: &Zone) -> serde_json::Value {
    let status = LicenseStatus::evaluate(Some(&reading.facts), now, zone);
    json!({
        "ok": true,
        "api": reading.api.as_str(),
        "facts": reading.facts,
        "status": {
            "band": status.band,
            "expiry_date": status.expiry_date.map(|d| d.to_string()),
            "days_left": status.days_left.map(DaysLeft::get),
            "days_left_text": status.days_left.map(|d| d.to_string()),
            "zone": zone.name(),
        },
        "notes": reading.notes,
    })
}

fn success_text(
    target: &PbxTarget,
    reading: &LicenseReading,
    now: Timestamp,
    zone: &Zone,
) -> String {
    let facts: &LicenseFacts = &reading.facts;
    let status = LicenseStatus::evaluate(Some(facts), now, zone);
    let or_dash = |v: Option<&str>| v.unwrap_or("—").to_owned();
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<13}{value}");
    };
    line(
        "PBX",
        format!(
            "{} ({}, login {})",
            target.base_url,
            reading.api.as_str(),
            target.credentials.kind()
        ),
    );
    line("FQDN", or_dash(facts.fqdn.as_deref()));
    line("Version", or_dash(facts.version.as_deref()));
    line("Edition", facts.edition.to_string());
    line("License key", or_dash(facts.license_key.as_deref()));
    line("Product code", or_dash(facts.product_code.as_deref()));
    let expiry = match (status.expiry_date, status.days_left) {
        (Some(date), Some(days)) => format!("{date} ({days}) in {zone}"),
        _ if facts.edition.is_perpetual() => "none (perpetual)".to_owned(),
        _ => "no date on record".to_owned(),
    };
    line("Expiry", format!("{expiry} — {}", status.band));
    let maintenance = facts
        .maintenance_expiry
        .map_or_else(|| "no date".to_owned(), |m| zone.date_of(m).to_string());
    let held = if facts.maintenance_lapsed(now) {
        " — lapsed: held out of updates"
    } else {
        ""
    };
    line("Maintenance", format!("{maintenance}{held}"));
    line(
        "License",
        match facts.license_active {
            Some(true) => "active".to_owned(),
            Some(false) => "INACTIVE (the PBX reports its license inactive)".to_owned(),
            None => "not reported".to_owned(),
        },
    );
    line(
        "Calls",
        facts
            .max_sim_calls
            .map_or("—".to_owned(), |c| format!("{c} simultaneous")),
    );
    line("Users", users_text(facts));
    line("Reseller", or_dash(facts.reseller.as_deref()));
    for note in &reading.notes {
        line("Note", note.clone());
    }
    out
}

fn users_text(facts: &LicenseFacts) -> String {
    let Some(used) = facts.users_used else {
        return "—".to_owned();
    };
    let mut text = match facts.seat_usage() {
        Some(usage) => format!(
            "{used} / {}{} ({}%)",
            usage.licensed.count,
            if usage.licensed.estimated {
                " (fair-use estimate)"
            } else {
                ""
            },
            usage.percent()
        ),
        None => format!("{used} (no licensed cap known)"),
    };
    if let (Some(human), Some(ai)) = (facts.human_users(), facts.ai_users) {
        let _ = write!(text, " · {human} human · {ai} AI");
    }
    text
}
