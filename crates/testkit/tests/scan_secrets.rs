//! `scripts/scan-secrets`, the scan `scripts/test` runs over every test's logs: it finds a
//! planted secret (as written and as logs quote it), says where without saying what, passes
//! clean logs, and refuses to call an empty scan clean when told to require one.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::{Path, PathBuf};
use std::process::Output;

/// A secret planted in the logs of these tests only; never registered in a real run.
const PLANTED: &str = "planted secret/4711";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/scan-secrets")
}

fn scan(dir: &Path, require: bool) -> Output {
    let mut command = std::process::Command::new("python3");
    command.arg(script());
    if require {
        command.arg("--require");
    }
    command.arg(dir).output().expect("python3 runs the scan")
}

/// A log directory with `PLANTED` and another secret registered, and one log of `lines`.
fn logs(lines: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secrets.txt"),
        format!("{PLANTED}\nanother-secret-value\nshort\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("runway-web__http--a_test.4242.log"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    dir
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn clean_logs_pass_and_say_how_much_was_scanned() {
    let dir = logs(&[
        "2026-08-01T10:00:00Z DEBUG sqlx::query: summary=\"SELECT id FROM instances\"",
        "2026-08-01T10:00:01Z  INFO runway_engine: read failed instance=7 kind=timeout",
        // Registered secrets shorter than 8 characters are not searched for.
        "the word short is everywhere",
    ]);
    let output = scan(dir.path(), true);
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
    assert!(
        printed(&output).contains("1 files, 3 lines"),
        "{}",
        printed(&output)
    );
}

#[test]
fn a_planted_secret_fails_the_scan_which_names_file_and_line_but_never_the_secret() {
    let dir = logs(&[
        "DEBUG reqwest::connect: starting new connection",
        "DEBUG runway_web: nothing here",
        &format!("DEBUG runway_threecx: logging in with secret={PLANTED} oops"),
    ]);
    let output = scan(dir.path(), true);
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    let printed = printed(&output);
    assert!(
        printed.contains("runway-web__http--a_test.4242.log:3: a secret the tests used, as written: pla… (19 characters)"),
        "{printed}"
    );
    assert!(!printed.contains(PLANTED), "the scan printed the secret");
    assert!(
        !printed.contains("secret/4711"),
        "the scan printed the secret"
    );
}

#[test]
fn a_secret_quoted_as_a_url_form_or_debug_string_is_found_too() {
    for (quoted, form) in [
        ("planted%20secret%2F4711", "percent-encoded"),
        ("planted+secret%2F4711", "form-encoded"),
    ] {
        let dir = logs(&[&format!(
            "DEBUG reqwest: POST https://pbx.example/connect/token?{quoted}"
        )]);
        let output = scan(dir.path(), true);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{form}: {}",
            printed(&output)
        );
        assert!(printed(&output).contains(form), "{}", printed(&output));
    }
    let quoted = serde_json::to_string("a \"quoted\" secret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secrets.txt"), "a \"quoted\" secret\n").unwrap();
    std::fs::write(dir.path().join("x.log"), format!("body={quoted}\n")).unwrap();
    let output = scan(dir.path(), true);
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    assert!(printed(&output).contains("escaped"), "{}", printed(&output));
}

#[test]
fn an_empty_scan_fails_when_required_and_only_warns_otherwise() {
    let no_logs = tempfile::tempdir().unwrap();
    std::fs::write(no_logs.path().join("secrets.txt"), format!("{PLANTED}\n")).unwrap();
    let no_secrets = tempfile::tempdir().unwrap();
    std::fs::write(no_secrets.path().join("a.log"), "DEBUG something\n").unwrap();
    for dir in [no_logs.path(), no_secrets.path()] {
        let required = scan(dir, true);
        assert_eq!(required.status.code(), Some(2), "{}", printed(&required));
        assert!(
            printed(&required).contains("nothing was scanned"),
            "{}",
            printed(&required)
        );
        let optional = scan(dir, false);
        assert_eq!(optional.status.code(), Some(0), "{}", printed(&optional));
        assert!(
            printed(&optional).contains("warning"),
            "{}",
            printed(&optional)
        );
    }
}
