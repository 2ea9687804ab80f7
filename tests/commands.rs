//! `runway demo`, `runway admin init` and `runway serve` as a user runs them: the real binary,
//! its printed address and login, the pages behind them, and a clean stop on SIGTERM.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `runway` command, killed if the test ends first.
struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runway"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUNWAY_LOG", runway_testkit::logs::child_filter("warn"))
            .stdout(Stdio::piped())
            .stderr(runway_testkit::logs::child_stderr(args[0]))
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Running { child, lines }
    }

    /// Reads what the command prints until a line contains `marker`; every line read so far.
    fn until(&mut self, marker: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            let done = line.contains(marker);
            seen.push(line);
            if done {
                return seen;
            }
        }
        panic!("the command ended before printing {marker:?}; it printed {seen:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `http://…/` address in a printed line.
fn address_in(line: &str) -> String {
    let start = line.find("http://").unwrap();
    line[start..].split_whitespace().next().unwrap().to_owned()
}

/// A client signed in through the login form, as a browser would be.
async fn signed_in(base: &str, email: &str, password: &str) -> reqwest::Client {
    runway_testkit::secrets::used(password);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let form = client
        .get(format!("{base}login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let reply = client
        .post(format!("{base}login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        reply.url().path() == "/" && reply.status().is_success(),
        "signed in as {email}: {} at {}",
        reply.status(),
        reply.url()
    );
    client
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_prints_a_login_that_opens_the_whole_fleet_with_every_band() {
    // For the secrets scan: the demo fleet's PBX secrets, built into the binary.
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/demo.toml");
    runway_testkit::secrets::scenario(
        &runway_sim::Scenario::load(&demo, jiff::Timestamp::now()).unwrap(),
    );
    let mut demo = Running::start(&["demo", "--listen", "127.0.0.1:0"], &[]);
    let printed = tokio::task::spawn_blocking(move || {
        let lines = demo.until("Sign in as");
        (demo, lines)
    })
    .await
    .unwrap();
    let (_demo, lines) = printed;
    let base = address_in(lines.iter().find(|l| l.contains("Runway demo:")).unwrap());
    // "Sign in as EMAIL with password PASSWORD"
    let words: Vec<&str> = lines.last().unwrap().split_whitespace().collect();
    let (email, password) = (words[3], words[6]);

    let client = signed_in(&base, email, password).await;
    let licenses: serde_json::Value = client
        .get(format!("{base}api/v1/licenses"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        licenses["rows"].as_array().unwrap().len(),
        40,
        "the whole demo fleet"
    );
    for band in ["expired", "critical", "warning", "active", "unknown"] {
        assert!(
            licenses["counters"][band].as_u64().unwrap() > 0,
            "the demo shows a {band} license: {}",
            licenses["counters"]
        );
    }
    let page = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"status-table\""));
    assert!(
        page.contains("data-heading=\"Overdue\""),
        "the calendar's overdue group"
    );
}

/// `runway status`, `calendar` and `export` on the demo's database, while the demo runs: the
/// page's rows in the page's order, its counters and calendar groups; `--fail-on` for scripts.
#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "one terminal session beside the page"
)]
async fn runway_status_on_the_demo_database_prints_the_pages_order_and_counters() {
    let mut demo = Running::start(&["demo", "--listen", "127.0.0.1:0"], &[]);
    let (_demo, lines) = tokio::task::spawn_blocking(move || {
        let lines = demo.until("The data directory");
        (demo, lines)
    })
    .await
    .unwrap();
    let base = address_in(lines.iter().find(|l| l.contains("Runway demo:")).unwrap());
    let login = lines.iter().find(|l| l.contains("Sign in as")).unwrap();
    let words: Vec<&str> = login.split_whitespace().collect();
    let client = signed_in(&base, words[3], words[6]).await;
    let dir = lines
        .last()
        .unwrap()
        .split("thrown away then: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let page: serde_json::Value = client
        .get(format!("{base}api/v1/licenses"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = |rows: &serde_json::Value| -> Vec<(i64, String)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["instance_id"].as_i64().unwrap(),
                    r["band"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };

    let (ok, printed, errors) = run_command(&["status", "--json", "--data-dir", &dir], &[]);
    assert!(ok, "{errors}");
    let status: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(status["counters"], page["counters"]);
    assert_eq!(ids(&status["rows"]), ids(&page["rows"]), "the page's order");

    // The table a person reads: the counters line, then one line per row in the same order.
    let (ok, printed, errors) = run_command(&["status", "--data-dir", &dir], &[]);
    assert!(ok, "{errors}");
    let c = &page["counters"];
    let counters = format!(
        "Expired {}   Critical {}   Warning {}   Active {}   Unknown {}",
        c["expired"], c["critical"], c["warning"], c["active"], c["unknown"]
    );
    assert!(printed.contains(&counters), "{counters:?} in\n{printed}");
    assert!(
        !printed.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
    let names: Vec<&str> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instance_name"].as_str().unwrap())
        .collect();
    let body: Vec<&str> = printed.lines().skip(4).collect();
    assert_eq!(body.len(), names.len(), "{printed}");
    for (line, name) in body.iter().zip(&names) {
        assert!(line.starts_with(name), "{line:?} should be {name:?}");
    }

    // Filters and exit codes for scripts.
    let expired = c["expired"].as_u64().unwrap();
    assert!(expired > 0);
    let (code, printed, errors) = exit_of(
        &[
            "status",
            "--data-dir",
            &dir,
            "--fail-on",
            "critical",
            "--csv",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "expired and critical rows fail: {errors}");
    assert!(errors.contains("critical or more urgent"), "{errors}");
    assert!(
        printed.starts_with("\u{feff}customer,instance,"),
        "{printed}"
    );
    let (code, _, errors) = exit_of(
        &[
            "status",
            "--data-dir",
            &dir,
            "--band",
            "active",
            "--fail-on",
            "warning",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "only active rows shown: {errors}");
    let (code, printed, _) = exit_of(
        &["status", "--data-dir", &dir, "--band", "expired", "--json"],
        &[],
    );
    assert_eq!(code, Some(0));
    let rows = serde_json::from_str::<serde_json::Value>(&printed).unwrap()["rows"].clone();
    assert_eq!(rows.as_array().unwrap().len() as u64, expired);
    let customer = page["rows"][0]["customer_name"].as_str().unwrap();
    let (ok, printed, errors) = run_command(
        &[
            "status",
            "--data-dir",
            &dir,
            "--json",
            "--customer",
            &customer.to_uppercase(),
        ],
        &[],
    );
    assert!(ok, "a customer by name, in any case: {errors}");
    let rows = serde_json::from_str::<serde_json::Value>(&printed).unwrap()["rows"].clone();
    assert!(!rows.as_array().unwrap().is_empty());
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["customer_name"] == customer),
        "{rows}"
    );
    let (code, _, errors) = exit_of(
        &[
            "status",
            "--data-dir",
            &dir,
            "--customer",
            "No Such Customer",
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(
        errors.contains("no customer \"No Such Customer\"") && errors.contains(customer),
        "names the customers there are: {errors}"
    );

    // The calendar: the page's groups in the page's order.
    let (ok, printed, errors) = run_command(&["calendar", "--data-dir", &dir], &[]);
    assert!(ok, "{errors}");
    let page_calendar: serde_json::Value = client
        .get(format!("{base}api/v1/calendar"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let headings: Vec<&str> = page_calendar
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["heading"].as_str().unwrap())
        .collect();
    let printed_headings: Vec<&str> = printed.lines().filter(|l| headings.contains(l)).collect();
    assert_eq!(printed_headings, headings, "{printed}");

    // `export --output` writes a new file, and never over an existing one.
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("licenses.json");
    let file = file.to_str().unwrap();
    let (ok, _, errors) = run_command(
        &[
            "export",
            "--data-dir",
            &dir,
            "--format",
            "json",
            "--output",
            file,
        ],
        &[],
    );
    assert!(ok, "{errors}");
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(ids(&exported["rows"]), ids(&page["rows"]));
    let (code, _, errors) = exit_of(&["export", "--data-dir", &dir, "--output", file], &[]);
    assert_eq!(code, Some(2));
    assert!(errors.contains("cannot create"), "{errors}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_opens_what_admin_init_created_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let password = "a long owner password";
    let init = Command::new(env!("CARGO_BIN_EXE_runway"))
        .args([
            "admin",
            "--data-dir",
            data_dir,
            "init",
            "--tenant",
            "Fjord Telecom",
        ])
        .args(["--zone", "Europe/Oslo", "--email", "owner@fjord.example"])
        .args(["--password-env", "OWNER_PASSWORD"])
        .env("OWNER_PASSWORD", password)
        .env("RUNWAY_LOG", runway_testkit::logs::child_filter("warn"))
        .output()
        .unwrap();
    runway_testkit::logs::keep_output("admin-init", &init);
    assert!(init.status.success(), "{init:?}");
    // The installation key `admin init` created, as `serve` will read it.
    runway_testkit::secrets::used(
        std::fs::read_to_string(data.path().join("secret.key"))
            .unwrap()
            .trim(),
    );

    let mut serve = Running::start(
        &["serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"],
        &[],
    );
    let (mut serve, lines) = tokio::task::spawn_blocking(move || {
        let lines = serve.until("Runway is serving");
        (serve, lines)
    })
    .await
    .unwrap();
    let base = address_in(lines.last().unwrap());
    let client = signed_in(&base, "owner@fjord.example", password).await;
    let page = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Fjord Telecom"),
        "the tenant admin init created"
    );

    let pid = serve.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || serve.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a SIGTERM is a clean stop: {status:?}");
}

/// `runway admin --data-dir DIR ARGS…`; what it printed on standard output.
fn admin(data_dir: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_runway"))
        .args(["admin", "--data-dir", data_dir])
        .args(args)
        .envs(env.iter().copied())
        .env("RUNWAY_LOG", runway_testkit::logs::child_filter("warn"))
        .output()
        .unwrap();
    // What it printed is kept for the test's log without its standard output: `token create`
    // prints the new token there, and a secret must never reach a log.
    let mut logged = output.clone();
    logged.stdout.clear();
    runway_testkit::logs::keep_output("admin", &logged);
    assert!(output.status.success(), "runway admin {args:?}: {logged:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The tenant's unresolved alerts, through the API.
async fn open_alerts(client: &reqwest::Client, base: &str, token: &str) -> Vec<serde_json::Value> {
    let alerts: serde_json::Value = client
        .get(format!("{base}api/v1/alerts"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    alerts.as_array().unwrap().clone()
}

/// `runway admin init` of a tenant in `zone` with its owner, and an API token of the owner.
fn owner_with_token(data_dir: &str, zone: &str) -> String {
    let (email, password) = ("owner@hudson.example", "a long owner password");
    runway_testkit::secrets::used(password);
    let init = [
        "init",
        "--tenant",
        "Hudson Voice",
        "--zone",
        zone,
        "--email",
        email,
        "--password-env",
        "OWNER_PASSWORD",
    ];
    admin(data_dir, &init, &[("OWNER_PASSWORD", password)]);
    runway_testkit::secrets::used(
        std::fs::read_to_string(std::path::Path::new(data_dir).join("secret.key"))
            .unwrap()
            .trim(),
    );
    let token = admin(
        data_dir,
        &["token", "create", "--email", email, "--name", "clock test"],
        &[],
    )
    .trim()
    .to_owned();
    runway_testkit::secrets::used(&token);
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_file_moves_served_time_and_local_midnight_fires_the_next_reminder() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let token = owner_with_token(data_dir, "America/New_York");

    // 07:00 in New York on 5 March 2026.
    let clock = data.path().join("now");
    std::fs::write(&clock, "2026-03-05T12:00:00Z").unwrap();
    let clock_arg = clock.to_str().unwrap();
    let args = [
        "serve",
        "--data-dir",
        data_dir,
        "--listen",
        "127.0.0.1:0",
        "--clock-file",
        clock_arg,
    ];
    let (serve, base) = serving(&args, &[]).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}api/v1/{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let customer: serde_json::Value = post("customers", serde_json::json!({"name": "Acme"}))
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let manual = |name: &str, expiry: &str| {
        serde_json::json!({
            "customer_id": customer["id"], "name": name, "login_kind": "manual",
            "manual_license_key": format!("KEY-{name}"), "manual_expiry_date": expiry,
        })
    };
    // Expiring on 16 March, local: 11 days left, so no reminder yet.
    post("instances", manual("pbx-a", "2026-03-16"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(
        open_alerts(&client, &base, &token).await,
        Vec::<serde_json::Value>::new()
    );

    // 23:59 on the 5th in New York, though already the 6th in UTC: an instance recorded now is
    // counted in New York's calendar days (3 days to the 8th, not 2).
    std::fs::write(&clock, "2026-03-06T04:59:00Z").unwrap();
    post("instances", manual("pbx-b", "2026-03-08"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let alerts = open_alerts(&client, &base, &token).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["milestone_days"], 3);
    assert_eq!(alerts[0]["days_left"], 3);
    assert_eq!(alerts[0]["severity"], "WARNING");

    // Local midnight passes: the periodic tick, not a read, fires pbx-a's 10-day reminder.
    std::fs::write(&clock, "2026-03-06T05:01:00Z").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let fired = loop {
        let alerts = open_alerts(&client, &base, &token).await;
        if let Some(alert) = alerts.iter().find(|a| a["expiry_date"] == "2026-03-16") {
            break alert.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 10-day reminder 30 s after local midnight: {alerts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(fired["milestone_days"], 10);
    assert_eq!(fired["days_left"], 10);
    assert_eq!(fired["severity"], "INFO");
    assert_eq!(fired["state"], "open");
    assert_eq!(
        fired["opened_at"], "2026-03-06T05:01:00Z",
        "raised at the file's time"
    );
    drop(serve);
}

/// `--metrics-listen`: every tenant's metrics without a token on an address of their own,
/// and nothing else there; `/metrics` on the main address still wants an API token.
#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_listener_serves_every_tenants_metrics_and_nothing_else() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let token = owner_with_token(dir, "Europe/Vienna");
    let args = [
        "serve",
        "--data-dir",
        dir,
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    let mut serve = Running::start(&args, &[]);
    let (serve, lines) = tokio::task::spawn_blocking(move || {
        let lines = serve.until("Runway is serving");
        (serve, lines)
    })
    .await
    .unwrap();
    let base = address_in(lines.last().unwrap());
    let metrics = lines.iter().find(|l| l.contains("metrics at")).map_or_else(
        || panic!("no metrics address in {lines:?}"),
        |l| address_in(l),
    );
    assert!(metrics.ends_with("/metrics"), "{metrics}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = client.get(&metrics).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let body = reply.text().await.unwrap();
    assert!(
        body.contains("runway_instances_due{tenant=\"Hudson Voice\"}"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE runway_poll_duration_seconds histogram"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    let root = metrics.trim_end_matches("metrics");
    assert_eq!(client.get(root).send().await.unwrap().status(), 404);
    assert_eq!(
        client
            .get(format!("{root}login"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let main = format!("{base}metrics");
    assert_eq!(client.get(&main).send().await.unwrap().status(), 401);
    let scoped = client.get(&main).bearer_auth(&token).send().await.unwrap();
    assert_eq!(scoped.status(), 200);
    let scoped = scoped.text().await.unwrap();
    assert!(scoped.contains("tenant=\"Hudson Voice\""), "{scoped}");
    assert!(!scoped.contains("runway_poll_duration_seconds"), "{scoped}");
    drop(serve);
}

/// Two PBXs a test fleet serves on loopback, read with client credentials.
const BACKUP_FLEET: &str = r#"
[[pbx]]
id = "north"
customer = "Kite Dental"
name = "Kite North"
fqdn = "kite-north.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-kite-north" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+5d"
max_sim_calls = 8
users = 12

[[pbx]]
id = "south"
customer = "Kite Dental"
name = "Kite South"
fqdn = "kite-south.example.com"
version = "20.0.10.1109"
login = { kind = "client_credentials", client_id = "runway", client_secret = "s-kite-south" }
product_code = "3CXPSPROFENTSPLA"
expiry = "+90d"
max_sim_calls = 16
users = 30
"#;

/// Starts `runway ARGS…` (a `serve`) and waits until it says it serves; it and its base URL.
async fn serving(args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    let mut serve = Running::start(args, env);
    let (serve, lines) = tokio::task::spawn_blocking(move || {
        let lines = serve.until("Runway is serving");
        (serve, lines)
    })
    .await
    .unwrap();
    let base = address_in(lines.last().unwrap());
    (serve, base)
}

/// `runway serve` on a data directory, PBXs allowed on loopback; its base URL.
async fn serve_dir(data_dir: &str) -> (Running, String) {
    let args = [
        "serve",
        "--data-dir",
        data_dir,
        "--listen",
        "127.0.0.1:0",
        "--pbx-network-allow",
        "127.0.0.1/32",
    ];
    serving(&args, &[]).await
}

/// `runway ARGS…` to its end: (success, stdout, stderr).
fn run_command(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let (code, printed, errors) = exit_of(args, env);
    (code == Some(0), printed, errors)
}

/// The License Status table as the API gives it, without what changes with every read.
async fn license_table(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Vec<serde_json::Value> {
    let table: serde_json::Value = client
        .get(format!("{base}api/v1/licenses"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = table["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("a table of rows: {table}"))
        .clone();
    rows.into_iter()
        .map(|mut row| {
            if let Some(row) = row.as_object_mut() {
                row.retain(|key, _| !key.starts_with("last_") && !key.ends_with("_at"));
            }
            row
        })
        .collect()
}

/// The backup round trip a user makes: a fleet polled by `serve`, a backup taken while it
/// reads, a restore into a fresh directory, and `serve` there shows the same License Status
/// table and reads the PBXs again with the credentials it restored. A keyless backup restored
/// with another key is refused with a message that says so, and leaves nothing behind.
#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "one user story, from a polled fleet to a restored one"
)]
async fn a_backup_taken_while_polling_restores_the_same_table_and_working_credentials() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let now = jiff::Timestamp::now();
    let scenario = runway_sim::Scenario::parse(
        BACKUP_FLEET,
        runway_sim::ScenarioFormat::Toml,
        "backup.toml",
        now,
    )
    .unwrap();
    for secret in ["s-kite-north", "s-kite-south"] {
        runway_testkit::secrets::used(secret);
    }
    let sim = runway_sim::SimServer::start(
        scenario,
        runway_sim::SimOptions {
            https: None,
            ..runway_sim::SimOptions::default()
        },
    )
    .await
    .unwrap();

    let root = tempfile::tempdir().unwrap();
    let first = root.path().join("first");
    let first_dir = first.to_str().unwrap();
    let token = owner_with_token(first_dir, "Europe/Oslo");
    let (serve, base) = serve_dir(first_dir).await;
    let client = reqwest::Client::new();
    let post = |path: String, body: serde_json::Value| {
        client
            .post(format!("{base}api/v1/{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let customer: serde_json::Value = post(
        "customers".into(),
        serde_json::json!({"name": "Kite Dental"}),
    )
    .await
    .unwrap()
    .error_for_status()
    .unwrap()
    .json()
    .await
    .unwrap();
    let mut instances = Vec::new();
    for (pbx, secret) in [("north", "s-kite-north"), ("south", "s-kite-south")] {
        let created: serde_json::Value = post(
            "instances".into(),
            serde_json::json!({
                "customer_id": customer["id"], "name": format!("Kite {pbx}"),
                "base_url": sim.base_url(pbx, runway_sim::Scheme::Http).unwrap(),
                "login_kind": "api_client", "identity": "runway", "secret": secret,
            }),
        )
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
        let id = created["id"].as_i64().unwrap();
        let read: serde_json::Value =
            post(format!("instances/{id}/read-now"), serde_json::json!({}))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(read["succeeded"], true, "{read}");
        instances.push(id);
    }
    let before = license_table(&client, &base, &token).await;
    assert_eq!(before.len(), 2, "{before:?}");
    // The reads kept the PBXs' Date headers: doctor compares this host's clock with them.
    let (code, printed, _) = exit_of(&["doctor", "--data-dir", first_dir], &[]);
    let clock = printed
        .lines()
        .find(|l| l.contains("clock:"))
        .unwrap_or_else(|| panic!("no clock finding: {printed}"));
    assert!(
        clock.starts_with("ok      clock: the PBXs' clocks are 0 s")
            || clock.starts_with("ok      clock: the PBXs' clocks are 1 s"),
        "{clock}"
    );
    assert!(clock.contains("(median of the last "), "{clock}");
    assert_eq!(code, Some(0), "{printed}");

    // The backup runs while reads go on: one reader asks for a read of each PBX in a loop.
    let archive = root.path().join("runway-backup.tar.gz");
    let reading = {
        let (client, base, token, instances) = (
            client.clone(),
            base.clone(),
            token.clone(),
            instances.clone(),
        );
        tokio::spawn(async move {
            let mut reads = 0u32;
            loop {
                for id in &instances {
                    let sent = client
                        .post(format!("{base}api/v1/instances/{id}/read-now"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({}))
                        .send()
                        .await;
                    if sent.is_err() {
                        return reads;
                    }
                    reads += 1;
                }
            }
        })
    };
    let (ok, printed, errors) = {
        let args: Vec<String> = ["backup", "--data-dir", first_dir, "--to"]
            .iter()
            .map(|a| (*a).to_owned())
            .chain([archive.to_str().unwrap().to_owned()])
            .collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_command(&args, &[])
        })
        .await
        .unwrap()
    };
    assert!(ok, "runway backup failed: {errors}");
    assert!(printed.contains("1 tenant(s), 2 instance(s)"), "{printed}");
    drop(serve);
    let reads = reading.await.unwrap();
    assert!(reads > 0, "reads ran beside the backup");

    let second = root.path().join("second");
    let second_dir = second.to_str().unwrap();
    let (ok, printed, errors) = run_command(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--data-dir",
            second_dir,
        ],
        &[],
    );
    assert!(ok, "runway restore failed: {errors}");
    assert!(printed.contains("and the secret key"), "{printed}");
    let (again, _, errors) = run_command(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--data-dir",
            second_dir,
        ],
        &[],
    );
    assert!(!again, "a second restore over the first needs --force");
    assert!(errors.contains("is not empty"), "{errors}");

    let (serve, base) = serve_dir(second_dir).await;
    let after = license_table(&client, &base, &token).await;
    assert_eq!(after, before, "the restored License Status table");
    for id in &instances {
        let read: serde_json::Value = client
            .post(format!("{base}api/v1/instances/{id}/read-now"))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            read["succeeded"], true,
            "restored credentials log in: {read}"
        );
    }
    drop(serve);

    // A backup without its key, restored with another key: refused, nothing written.
    let keyless = root.path().join("keyless.tar.gz");
    let (ok, printed, errors) = run_command(
        &[
            "backup",
            "--data-dir",
            first_dir,
            "--to",
            keyless.to_str().unwrap(),
            "--without-key",
        ],
        &[],
    );
    assert!(ok, "{errors}");
    assert!(printed.contains("NOT in it"), "{printed}");
    let wrong = root.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "ab".repeat(32))).unwrap();
    let third = root.path().join("third");
    let (ok, _, errors) = run_command(
        &[
            "restore",
            keyless.to_str().unwrap(),
            "--data-dir",
            third.to_str().unwrap(),
            "--key-file",
            wrong.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok);
    assert!(
        errors.contains("the secret key does not open this backup's credentials"),
        "{errors}"
    );
    assert!(!third.exists(), "a refused restore leaves nothing behind");
}

/// On PostgreSQL the archive holds the key and the manifest (the data goes through pg_dump),
/// and restoring it puts the key in the data directory.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_backup_holds_the_key_and_a_manifest_and_restores_the_key() {
    let mut bytes = [0u8; 32];
    bytes.iter_mut().enumerate().for_each(|(i, b)| {
        *b = u8::try_from(i).unwrap().wrapping_mul(37) ^ 0x5a;
    });
    let key_text = runway_core::hex(&bytes);
    runway_testkit::secrets::used(&key_text);
    let key = runway_store::SecretKey::parse(&key_text, "test").unwrap();
    let Some(db) = runway_testkit::TestDb::with_key(runway_testkit::Backend::Postgres, key).await
    else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let archive = root.path().join("pg.tar.gz");
    let data = root.path().join("data");
    let env = [
        ("RUNWAY_SECRET_KEY", key_text.as_str()),
        ("RUNWAY_DATABASE_URL", db.url.as_str()),
    ];
    let (ok, printed, errors) = run_command(
        &[
            "backup",
            "--data-dir",
            data.to_str().unwrap(),
            "--to",
            archive.to_str().unwrap(),
        ],
        &env,
    );
    assert!(ok, "{errors}");
    assert!(printed.contains("pg_dump"), "{printed}");
    let listed = Command::new("tar")
        .args(["-tzf", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(listed.stdout)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        ["manifest.json", "secret.key"]
    );
    let manifest = Command::new("tar")
        .args(["-xzOf", archive.to_str().unwrap(), "manifest.json"])
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(manifest["backend"], "postgres");
    assert_eq!(manifest["schema"], runway_store::latest_schema());
    assert_eq!(manifest["runway"], runway_store::RELEASE);

    let restored = root.path().join("restored");
    let (ok, printed, errors) = run_command(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--data-dir",
            restored.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{errors}");
    assert!(printed.contains("pg_restore"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(restored.join("secret.key"))
            .unwrap()
            .trim(),
        key_text
    );
}

/// `runway ARGS…` to its end: (exit code, stdout, stderr).
fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_runway"))
        .args(args)
        .envs(env.iter().copied())
        .env("RUNWAY_LOG", runway_testkit::logs::child_filter("warn"))
        .output()
        .unwrap();
    runway_testkit::logs::keep_output(args[0], &output);
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// `runway doctor` passes a fresh installation, and names the fix when the key file is
/// readable by others (exit 2) or the service listens to the network in plain HTTP (exit 1).
#[test]
fn doctor_passes_a_fresh_installation_and_names_the_fix_for_an_exposed_key() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    owner_with_token(dir, "UTC");
    let (code, printed, errors) = exit_of(&["doctor", "--data-dir", dir], &[]);
    assert_eq!(code, Some(0), "{printed}{errors}");
    assert!(
        printed.contains("opens the database's stored credentials"),
        "{printed}"
    );
    assert!(printed.lines().all(|l| l.starts_with("ok ")), "{printed}");

    let (code, printed, _) = exit_of(
        &["doctor", "--data-dir", dir, "--listen", "0.0.0.0:8080"],
        &[],
    );
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.contains("warning web: serving plain HTTP on 0.0.0.0:8080"),
        "{printed}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = data.path().join("secret.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, printed, _) = exit_of(&["doctor", "--data-dir", dir], &[]);
        assert_eq!(code, Some(2), "{printed}");
        assert!(
            printed.contains(&format!("— fix: chmod 600 {}", key.display())),
            "{printed}"
        );
    }
}

/// `runway.toml` in the data directory sets what flags and variables leave unset: flag >
/// environment > `*_FILE` > file > default, as `config show` reports; an unknown key stops
/// the command with the file's line.
#[test]
fn runway_toml_sets_what_flags_and_variables_leave_unset() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    std::fs::write(
        data.path().join("runway.toml"),
        "# Runway\nlisten = \"127.0.0.1:9100\"\nread_timeout = 7\nconcurrency = 3\n\
         metrics_listen = \"10.0.0.7:9464\"\n\
         trusted_proxy = [\"10.0.0.5\", \"fd00::/8\"]\n\
         database_url = \"postgres://runway:file-password@db.example/runway\"\n",
    )
    .unwrap();
    let url_file = data.path().join("database-url");
    std::fs::write(
        &url_file,
        "postgres://runway:env-file-password@db2.example/runway\n",
    )
    .unwrap();
    let (code, printed, errors) = exit_of(
        &["config", "show", "--data-dir", dir, "--concurrency", "9"],
        &[
            ("RUNWAY_READ_TIMEOUT", "11"),
            ("RUNWAY_DATABASE_URL_FILE", url_file.to_str().unwrap()),
        ],
    );
    let line = |key: &str| {
        printed
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {printed}{errors}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(code, Some(0), "{errors}");
    assert_eq!(line("listen"), "listen = \"127.0.0.1:9100\" # runway.toml");
    assert_eq!(line("read_timeout"), "read_timeout = 11 # environment");
    assert_eq!(line("concurrency"), "concurrency = 9 # flag");
    assert_eq!(
        line("metrics_listen"),
        "metrics_listen = \"10.0.0.7:9464\" # runway.toml"
    );
    assert_eq!(
        line("trusted_proxy"),
        "trusted_proxy = [\"10.0.0.5\", \"fd00::/8\"] # runway.toml"
    );
    assert_eq!(
        line("database_url"),
        "database_url = \"postgres://runway:****@db2.example/runway\" # environment file"
    );
    assert!(
        !printed.contains("password"),
        "secrets are masked: {printed}"
    );

    std::fs::write(
        data.path().join("runway.toml"),
        "listen = \"127.0.0.1:9100\"\n\nlisten_address = \"0.0.0.0:80\"\n",
    )
    .unwrap();
    let (code, _, errors) = exit_of(&["serve", "--data-dir", dir], &[]);
    assert_eq!(code, Some(2));
    let file = data.path().join("runway.toml");
    assert!(
        errors.starts_with(&format!(
            "error: {}:3: unknown key `listen_address`",
            file.display()
        )),
        "{errors}"
    );
}

/// A PostgreSQL cluster of the test's own (so that stopping it harms no other test), run as
/// the `postgres` user when the test runs as root. `None` when PostgreSQL is not installed.
struct PrivatePostgres {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn start() -> Option<PrivatePostgres> {
        let bin = std::env::var_os("RUNWAY_TEST_PG_BIN")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .filter(|p| p.join("initdb").is_file())
                    .collect();
                found.sort();
                found.pop()
            });
        let Some(bin) = bin else {
            assert!(
                std::env::var("RUNWAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "PostgreSQL's initdb is not installed (set RUNWAY_TEST_PG_BIN)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PrivatePostgres {
            bin,
            data,
            port,
            dir,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(cluster.dir.path(), std::fs::Permissions::from_mode(0o777))
                .unwrap();
        }
        let initdb = cluster.bin.join("initdb");
        PrivatePostgres::run(&[
            initdb.to_str().unwrap(),
            "-D",
            cluster.data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            cluster.port,
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("pg.log");
        cluster.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "-w", "start"]);
        Some(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut all = vec![pg_ctl.to_str().unwrap(), "-D", self.data.to_str().unwrap()];
        all.extend_from_slice(args);
        PrivatePostgres::run(&all);
    }

    /// Runs a PostgreSQL program, as `postgres` when this is root (initdb refuses root).
    fn run(args: &[&str]) {
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let output = if as_root {
            let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", &quoted.join(" ")])
                .output()
        } else {
            Command::new(args[0]).args(&args[1..]).output()
        }
        .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = std::panic::catch_unwind(|| self.stop());
        }
    }
}

/// `/readyz` answers 200 on a healthy `serve` on PostgreSQL and 503, with the reason, within
/// 10 s of the database going away.
#[tokio::test(flavor = "multi_thread")]
async fn readiness_turns_503_within_ten_seconds_of_postgres_stopping() {
    let Some(postgres) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap()
    else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let args = [
        "serve",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    let url = postgres.url();
    let (serve, base) = serving(&args, &[("RUNWAY_DATABASE_URL", url.as_str())]).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let readyz = || async {
        let answer = client.get(format!("{base}readyz")).send().await.unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    };
    // Ready once the scheduler has looked for due reads (at start).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, body) = readyz().await;
        if status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let postgres = tokio::task::spawn_blocking(move || {
        postgres.stop();
        postgres
    })
    .await
    .unwrap();
    let stopped = std::time::Instant::now();
    let (status, body) = loop {
        let (status, body) = readyz().await;
        if status != 200 {
            break (status, body);
        }
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(10),
            "still ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        stopped.elapsed() <= std::time::Duration::from_secs(10),
        "503 came after {:?}",
        stopped.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the database"), "{body}");
    drop(serve);
    drop(postgres);
}

/// `runway import`: a file with problems is refused with each one by row and column (exit 1);
/// a good one imports into the local database, and again through a running Runway with an API
/// token — where the local database is locked by the server — and `runway status` and
/// `runway calendar` read that server the same way.
#[tokio::test(flavor = "multi_thread")]
async fn runway_import_writes_locally_or_through_a_running_runway_and_status_reads_it_remotely() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let token = owner_with_token(dir, "Pacific/Auckland");
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let bad = write(
        "bad.csv",
        "customer,instance,expiry\nHarbour Dental,Front,2027-02-01\nHarbour Dental,Back,31/02/2026\n",
    );
    let good = write(
        "good.csv",
        "customer;instance;expiry;license_key\nHarbour Dental;Front;2027-02-01;AAAA-BBBB-CCCC-0001\nHarbour Dental;Back;2027-02-28;AAAA-BBBB-CCCC-0002\n",
    );
    let changed = write(
        "changed.csv",
        "customer;instance;expiry;license_key\nHarbour Dental;Front;2027-08-01;AAAA-BBBB-CCCC-0001\nHarbour Dental;Back;2027-02-28;AAAA-BBBB-CCCC-0002\n",
    );

    let (code, printed, errors) = exit_of(&["import", &bad, "--data-dir", dir], &[]);
    assert_eq!(code, Some(1), "{printed}{errors}");
    assert!(
        printed.contains("row 3, column expiry: '31/02/2026' is not a date; expected YYYY-MM-DD"),
        "{printed}"
    );
    assert!(printed.contains("nothing was imported"), "{printed}");
    let (code, printed, errors) = exit_of(&["import", &good, "--dry-run", "--data-dir", dir], &[]);
    assert_eq!(code, Some(0), "{printed}{errors}");
    assert!(printed.contains("2 to create"), "{printed}");
    assert!(printed.contains("dry run"), "{printed}");
    let (ok, printed, errors) = run_command(&["status", "--json", "--data-dir", dir], &[]);
    assert!(ok, "{errors}");
    let status: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        status["rows"].as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );
    let (ok, printed, errors) = run_command(&["import", &good, "--data-dir", dir], &[]);
    assert!(ok, "{printed}{errors}");
    assert!(printed.contains("imported: 2 created"), "{printed}");

    let (_serve, base) = serve_dir(dir).await;
    // The server holds the SQLite database: a local import says where to go instead.
    let (code, _, errors) = exit_of(&["import", &changed, "--data-dir", dir], &[]);
    assert_eq!(code, Some(2));
    assert!(errors.contains("--url and RUNWAY_TOKEN"), "{errors}");
    let remote = [
        ("RUNWAY_URL", base.as_str()),
        ("RUNWAY_TOKEN", token.as_str()),
    ];
    let (ok, printed, errors) = run_command(&["import", &changed], &remote);
    assert!(ok, "{printed}{errors}");
    assert!(
        printed.contains("0 to create, 1 to update, 1 unchanged"),
        "{printed}"
    );
    assert!(!printed.contains(&token) && !errors.contains(&token));

    let (ok, printed, errors) = run_command(&["status", "--json"], &remote);
    assert!(ok, "{errors}");
    let status: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let page = license_table(&reqwest::Client::new(), &base, &token).await;
    let names = |rows: &[serde_json::Value]| -> Vec<String> {
        rows.iter()
            .map(|r| format!("{} {}", r["instance_name"], r["expiry_date"]))
            .collect()
    };
    assert_eq!(
        names(status["rows"].as_array().unwrap()),
        names(&page),
        "the server's table, in its order"
    );
    assert_eq!(status["rows"][1]["expiry_date"], "2027-08-01");
    let (ok, printed, errors) = run_command(&["calendar"], &remote);
    assert!(ok, "{errors}");
    assert!(
        printed.contains("February 2027") && printed.contains("August 2027"),
        "{printed}"
    );
    let (code, _, errors) = exit_of(
        &["status"],
        &[
            ("RUNWAY_URL", base.as_str()),
            ("RUNWAY_TOKEN", "rw_not-a-token"),
        ],
    );
    assert_eq!(code, Some(2));
    assert!(errors.contains("API token was refused"), "{errors}");
}
