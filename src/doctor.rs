//! `runway doctor`: checks a deployment and prints one line per finding, with the fix.
//!
//! It reads the same flags, variables and `runway.toml` as `serve`, so it checks what `serve`
//! would run with. It never writes: the database is inspected read-only and without the node
//! lock, so it runs beside a serving node. Exit status: 0 when all is well, 1 when something
//! deserves a look, 2 when something is wrong.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use runway_core::Cidr;
use runway_store::{Backend, Inspection, SecretKey};

use crate::serve::ServeArgs;

/// Check the set-up `serve` would run with, and say how to fix what is wrong.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    serve: ServeArgs,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Warning,
    Error,
}

/// One line of the report.
#[derive(Debug)]
struct Finding {
    level: Level,
    what: String,
    fix: Option<String>,
}

impl Finding {
    fn ok(what: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            what: what.into(),
            fix: None,
        }
    }

    fn warning(what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level: Level::Warning,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }

    fn error(what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level: Level::Error,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

pub(crate) async fn run(args: DoctorArgs) -> ExitCode {
    let findings = check(&args.serve).await;
    let mut worst = Level::Ok;
    for finding in &findings {
        worst = worst.max(finding.level);
        let tag = match finding.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Error => "error  ",
        };
        match &finding.fix {
            Some(fix) => println!("{tag} {} — fix: {fix}", finding.what),
            None => println!("{tag} {}", finding.what),
        }
    }
    match worst {
        Level::Ok => ExitCode::SUCCESS,
        Level::Warning => ExitCode::from(1),
        Level::Error => ExitCode::from(2),
    }
}

async fn check(args: &ServeArgs) -> Vec<Finding> {
    let mut findings = Vec::new();
    let key = check_key(args, &mut findings);
    let url = args.store.url();
    let inspection = check_database(&url, key.as_ref(), &mut findings).await;
    if let (Ok(Backend::Sqlite), Some(inspection)) =
        (runway_store::backend_for_url(&url), &inspection)
    {
        check_sqlite(args, inspection, &mut findings);
    }
    check_web(args, &mut findings);
    check_network(args, &mut findings);
    findings
}

/// The key: where it comes from, who may read it, and (later) whether it opens the database.
fn check_key(args: &ServeArgs, findings: &mut Vec<Finding>) -> Option<SecretKey> {
    let Some(path) = args.store.key_path() else {
        return match SecretKey::from_env_or_file(Path::new("")) {
            Ok(key) => {
                findings.push(Finding::ok("secret key: from RUNWAY_SECRET_KEY"));
                Some(key)
            }
            Err(err) => {
                findings.push(Finding::error(
                    format!("secret key: {err}"),
                    "set RUNWAY_SECRET_KEY to the installation's key",
                ));
                None
            }
        };
    };
    let shown = path.display();
    if !path.exists() {
        let db = args.store.data_dir.join("runway.db");
        if args.store.database_url.is_none() && !db.exists() {
            findings.push(Finding::warning(
                format!("secret key: {shown} does not exist yet"),
                "`runway serve` creates it on first start; back it up with `runway backup`",
            ));
        } else {
            findings.push(Finding::error(
                format!("secret key: {shown} is missing, so stored PBX and channel credentials cannot be read"),
                format!("restore {shown} from your backup (runway restore), or set RUNWAY_SECRET_KEY"),
            ));
        }
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(&path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                findings.push(Finding::error(
                    format!("secret key: {shown} is readable by group or others (mode {mode:03o})"),
                    format!("chmod 600 {shown}"),
                ));
                return None;
            }
        }
    }
    match SecretKey::from_file(&path) {
        Ok(key) => {
            findings.push(Finding::ok(format!(
                "secret key: {shown}, readable by its owner only"
            )));
            Some(key)
        }
        Err(err) => {
            findings.push(Finding::error(
                format!("secret key: {err}"),
                format!("restore {shown} from your backup"),
            ));
            None
        }
    }
}

async fn check_database(
    url: &str,
    key: Option<&SecretKey>,
    findings: &mut Vec<Finding>,
) -> Option<Inspection> {
    let latest = runway_store::latest_schema();
    let inspection = match runway_store::inspect(url, key).await {
        Ok(inspection) => inspection,
        Err(err) => {
            let backend = runway_store::backend_for_url(url);
            let (what, fix) = match backend {
                Ok(Backend::Sqlite) if err.to_string().starts_with("there is no database") => {
                    findings.push(Finding::warning(
                        format!("database: {err}"),
                        "`runway serve` (or `runway admin init`) creates it",
                    ));
                    return None;
                }
                Ok(Backend::Postgres) => (
                    format!(
                        "database: {}",
                        err.to_string().trim_start_matches("database error: ")
                    ),
                    "check RUNWAY_DATABASE_URL, that the server runs and that it accepts this host",
                ),
                _ => (
                    format!("database: {err}"),
                    "check --data-dir / RUNWAY_DATABASE_URL",
                ),
            };
            findings.push(Finding::error(what, fix));
            return None;
        }
    };
    let schema = inspection.schema;
    if schema == latest {
        findings.push(Finding::ok(format!(
            "database: reachable, schema {schema} (current), {} tenant(s), {} instance(s)",
            inspection.tenants, inspection.instances
        )));
    } else if schema == 0 {
        findings.push(Finding::warning(
            "database: empty (no schema yet)",
            "`runway serve` or `runway admin init` creates the schema",
        ));
    } else if schema < latest {
        findings.push(Finding::warning(
            format!("database: schema {schema}; this release migrates it to {latest} at start"),
            "take a backup first (`runway backup`), then start this release",
        ));
    } else {
        let by = inspection.written_by.as_ref().map_or_else(
            || "a newer release".to_owned(),
            |w| format!("Runway {}", w.release),
        );
        findings.push(Finding::error(
            format!(
                "database: written by {by} (schema {schema}); this is Runway {} (schema {latest})",
                runway_store::RELEASE
            ),
            "run the release that wrote it, or a newer one",
        ));
    }
    match inspection.clock_offset {
        Some(offset) => findings.push(clock_finding(offset)),
        None if inspection.instances > 0 => findings.push(Finding::ok(
            "clock: no recent read carried a PBX's Date to compare this host's clock with",
        )),
        None => {}
    }
    match inspection.key_opens {
        Some(true) => findings.push(Finding::ok(
            "secret key: opens the database's stored credentials",
        )),
        Some(false) => findings.push(Finding::error(
            "secret key: does not open the database's stored credentials (another installation's key?)",
            "use the key this database was created with (restore it from the backup)",
        )),
        None => {}
    }
    Some(inspection)
}

/// This host's clock against the PBXs': days left and reminders count from this host's clock.
fn clock_finding(offset: runway_store::ClockOffset) -> Finding {
    let secs = offset.median_secs;
    let what = format!(
        "clock: the PBXs' clocks are {} s {} this host's (median of the last {} reads)",
        secs.abs(),
        if secs >= 0 { "ahead of" } else { "behind" },
        offset.reads
    );
    let fix = "synchronise this host's clock (timedatectl set-ntp true, or chrony): Runway counts \
               days left and fires reminders by it";
    match secs.unsigned_abs() {
        0..=60 => Finding::ok(what),
        61..=3600 => Finding::warning(what, fix),
        _ => Finding::error(what, fix),
    }
}

fn check_sqlite(args: &ServeArgs, inspection: &Inspection, findings: &mut Vec<Finding>) {
    let db = args
        .store
        .database_url
        .as_deref()
        .and_then(|url| url.strip_prefix("sqlite://"))
        .map_or_else(|| args.store.data_dir.join("runway.db"), Into::into);
    match inspection.journal_mode.as_deref() {
        Some("wal") => findings.push(Finding::ok("SQLite: WAL journal")),
        Some(mode) => findings.push(Finding::warning(
            format!("SQLite: journal mode {mode}, not WAL"),
            "`runway serve` switches it to WAL when it opens it; nothing to do unless it stays",
        )),
        None => {}
    }
    match filesystem_of(&db) {
        Some(fs) if NETWORK_FILESYSTEMS.contains(&fs.as_str()) => findings.push(Finding::error(
            format!(
                "SQLite: {} is on a network filesystem ({fs}); its locks are not reliable there",
                db.display()
            ),
            "move the data directory to a local disk, or use PostgreSQL",
        )),
        Some(fs) => findings.push(Finding::ok(format!("SQLite: on a local filesystem ({fs})"))),
        None => {}
    }
    check_disk(&db, args, findings);
}

/// Filesystem types SQLite's locking cannot trust.
const NETWORK_FILESYSTEMS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "fuse.sshfs",
    "afs",
    "glusterfs",
    "ceph",
    "fuse.s3fs",
    "davfs",
];

/// The type of the filesystem holding `path`, from `/proc/self/mountinfo` (Linux).
fn filesystem_of(path: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path)
        .ok()
        .or_else(|| std::fs::canonicalize(path.parent()?).ok())?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            // id parent major:minor root mount-point options … - fstype source options
            let fields: Vec<&str> = line.split(' ').collect();
            let mount_point = fields.get(4)?.replace("\\040", " ");
            let dash = fields.iter().position(|f| *f == "-")?;
            let fs = (*fields.get(dash + 1)?).to_owned();
            path.starts_with(&mount_point)
                .then_some((mount_point.len(), fs))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
}

/// Free space against how fast the database grows (its size over its age).
#[allow(
    clippy::cast_precision_loss,
    reason = "sizes are shown to a tenth of a MiB or GiB, far within f64's precision"
)]
fn check_disk(db: &Path, args: &ServeArgs, findings: &mut Vec<Finding>) {
    let dir = db.parent().unwrap_or(&args.store.data_dir);
    let Ok(stat) = rustix::fs::statvfs(dir) else {
        return;
    };
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(name).ok().map(|m| m.len())
        })
        .sum();
    let age_days = std::fs::metadata(db)
        .and_then(|m| m.created().or_else(|_| m.modified()))
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or(1.0, |d| (d.as_secs_f64() / 86_400.0).max(1.0));
    let per_day = size as f64 / age_days;
    let days_left = if per_day > 0.0 {
        free as f64 / per_day
    } else {
        f64::INFINITY
    };
    let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
    let what = format!(
        "disk: {:.1} GiB free for a {:.1} MiB database growing about {:.1} MiB a day",
        gib(free),
        size as f64 / f64::from(1u32 << 20),
        per_day / f64::from(1u32 << 20)
    );
    if free < 100 << 20 || days_left < 7.0 {
        findings.push(Finding::error(
            what,
            "free disk space now: Runway stops recording when the disk is full",
        ));
    } else if free < 1 << 30 || days_left < 30.0 {
        findings.push(Finding::warning(
            what,
            "free disk space, or shorten history retention in Settings",
        ));
    } else {
        findings.push(Finding::ok(what));
    }
}

/// Plain HTTP, proxies and cookies.
fn check_web(args: &ServeArgs, findings: &mut Vec<Finding>) {
    let listen: SocketAddr = args.listen;
    let loopback = listen.ip().is_loopback();
    let proxied = !args.trusted_proxy.is_empty();
    if loopback {
        findings.push(Finding::ok(format!(
            "web: listening on {listen}, loopback only{}",
            if proxied {
                ", behind a trusted proxy"
            } else {
                ""
            }
        )));
    } else if !proxied {
        findings.push(Finding::warning(
            format!("web: serving plain HTTP on {listen} to the network, with no trusted proxy: sign-in passwords cross it unencrypted"),
            "put a TLS reverse proxy in front, listen on 127.0.0.1 and set trusted_proxy",
        ));
    } else {
        findings.push(Finding::ok(format!(
            "web: listening on {listen} behind trusted proxies"
        )));
    }
    if proxied && !args.secure_cookies {
        findings.push(Finding::warning(
            "web: session cookies are not marked Secure although a proxy is trusted (HTTPS in front?)",
            "set secure_cookies = true (RUNWAY_SECURE_COOKIES=true) when users reach Runway over HTTPS",
        ));
    } else if args.secure_cookies {
        findings.push(Finding::ok("web: session cookies are marked Secure"));
    } else if loopback {
        findings.push(Finding::ok(
            "web: session cookies not marked Secure (right for plain HTTP on loopback)",
        ));
    }
}

/// Addresses a PBX read must not reach: this host, and the cloud metadata service.
const SENSITIVE: &[IpAddr] = &[
    IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
];

/// What PBX reads may reach beyond the default policy.
fn check_network(args: &ServeArgs, findings: &mut Vec<Finding>) {
    let risky: Vec<&Cidr> = args
        .network
        .pbx_network_allow
        .iter()
        .filter(|cidr| SENSITIVE.iter().any(|ip| cidr.contains(*ip)))
        .collect();
    if risky.is_empty() {
        findings.push(Finding::ok(
            "PBX network: loopback, link-local (cloud metadata) and unspecified addresses are refused",
        ));
    } else {
        let list: Vec<String> = risky.iter().map(ToString::to_string).collect();
        findings.push(Finding::warning(
            format!(
                "PBX network: reads may reach {} (allowed by pbx_network_allow): a PBX address pointing there reaches this host or its metadata service",
                list.join(", ")
            ),
            "allow only the ranges your PBXs are on",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(median_secs: i64) -> Level {
        clock_finding(runway_store::ClockOffset {
            median_secs,
            reads: 5,
        })
        .level
    }

    #[test]
    fn a_host_clock_a_minute_off_is_fine_an_hour_a_warning_more_an_error() {
        assert_eq!(level(0), Level::Ok);
        assert_eq!(level(-60), Level::Ok);
        assert_eq!(level(61), Level::Warning);
        assert_eq!(level(-3600), Level::Warning);
        assert_eq!(level(3601), Level::Error);
        let text = clock_finding(runway_store::ClockOffset {
            median_secs: -90,
            reads: 5,
        })
        .what;
        assert_eq!(
            text,
            "clock: the PBXs' clocks are 90 s behind this host's (median of the last 5 reads)"
        );
    }
}
