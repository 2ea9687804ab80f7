//! Test logs for the secrets scan.
//!
//! When `RUNWAY_TEST_LOG_DIR` names a directory (`scripts/test` sets it), [`init`] installs,
//! once per process, a `tracing` subscriber that writes everything at debug level — trace for
//! Runway's own crates — to a file of this process's own in that directory, and forwards the
//! `log` records of reqwest and rustls into it too. Commands a test runs as child processes keep
//! their output there as well ([`child_stderr`], [`keep_output`]). `scripts/scan-secrets` then
//! searches every file for every secret the tests registered with [`crate::secrets::used`]: a
//! scan is only worth as much as the logs are verbose.
//!
//! Without the variable nothing is installed and nothing is written: a plain `cargo test` stays
//! as quiet as before. `RUNWAY_TEST_LOG` replaces the filter (the syntax of `RUST_LOG`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};

/// The variable naming the directory test logs go to.
pub const LOG_DIR_ENV: &str = "RUNWAY_TEST_LOG_DIR";

/// The variable that replaces [`DEFAULT_FILTER`].
pub const FILTER_ENV: &str = "RUNWAY_TEST_LOG";

/// What is logged: debug for every crate, trace for Runway's own (`runway` matches every
/// `runway_*` target, as a prefix). The tests' own HTTP clients keep cookies in a
/// `cookie_store` jar that logs every cookie it stores at debug: that is the test playing the
/// browser, not Runway logging, so it stays at info. sqlx logs every statement's text at debug
/// (never its bound values, which is where secrets would be — sealed, at that): millions of
/// lines in a test that records a year of polls, and nothing to find, so it stays at info too.
pub const DEFAULT_FILTER: &str = "debug,runway=trace,cookie_store=info,sqlx=info";

/// The `RUNWAY_LOG` filter of the `runway` commands tests run while logs are kept.
pub const CHILD_FILTER: &str = "debug,runway=trace,sqlx=info";

/// The log directory, when logs are kept.
pub fn dir() -> Option<PathBuf> {
    std::env::var_os(LOG_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// Installs the file subscriber when `RUNWAY_TEST_LOG_DIR` is set; a no-op after the first call
/// and without the variable. The harnesses call it where a test sets up (a [`crate::TestDb`]
/// does), so nearly every test logs without asking.
///
/// # Panics
/// When the variable is set but the file cannot be created, or another global subscriber is
/// already installed: the scan would silently miss this process's logs.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Some(dir) = dir() {
            install(&dir);
        }
    });
}

fn install(dir: &Path) {
    let path = dir.join(format!("{}.log", process_label()));
    let file = create(&path);
    let filter = std::env::var(FILTER_ENV)
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_FILTER.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|err| panic!("{FILTER_ENV}={filter:?} is not a filter: {err}"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init()
        .unwrap_or_else(|err| {
            panic!(
                "cannot log to {} (another subscriber or logger is installed?): {err}",
                path.display()
            )
        });
}

/// The `RUNWAY_LOG` a `runway` command run by a test gets: [`CHILD_FILTER`] while logs are
/// kept, `otherwise` when they are not.
pub fn child_filter(otherwise: &'static str) -> &'static str {
    if dir().is_some() {
        CHILD_FILTER
    } else {
        otherwise
    }
}

/// Where a child command's stderr (its log) goes: a file in the log directory named after this
/// test and `label`, or this process's stderr when logs are not kept.
///
/// # Panics
/// When logs are kept but the file cannot be created.
pub fn child_stderr(label: &str) -> Stdio {
    match child_path(label, next_child(), "stderr") {
        Some(path) => Stdio::from(create(&path)),
        None => Stdio::inherit(),
    }
}

/// Keeps a finished child command's stdout and stderr in the log directory (nothing when logs
/// are not kept).
///
/// # Panics
/// When logs are kept but the files cannot be written.
pub fn keep_output(label: &str, output: &Output) {
    let n = next_child();
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        if let Some(path) = child_path(label, n, stream) {
            std::fs::write(&path, bytes)
                .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
        }
    }
}

/// The number of this process's next child command, so a command run twice keeps both outputs.
fn next_child() -> u32 {
    static CHILDREN: AtomicU32 = AtomicU32::new(0);
    CHILDREN.fetch_add(1, Ordering::Relaxed)
}

/// `<this process>.<label>.<n>.<stream>` in the log directory, for child `n`.
fn child_path(label: &str, n: u32, stream: &str) -> Option<PathBuf> {
    let dir = dir()?;
    Some(dir.join(format!(
        "{}.{}.{n}.{stream}",
        process_label(),
        file_safe(label)
    )))
}

fn create(path: &Path) -> File {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|err| panic!("cannot create the test log {}: {err}", path.display()))
}

/// This process's name for its files: the test nextest runs in it (one test per process), or
/// the test binary under `cargo test`; with the process id, so no two processes share a file.
fn process_label() -> String {
    let name = match (
        std::env::var("NEXTEST_BINARY_ID"),
        std::env::var("NEXTEST_TEST_NAME"),
    ) {
        (Ok(binary), Ok(test)) => format!("{binary}--{test}"),
        _ => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".to_owned()),
    };
    let mut name = file_safe(&name);
    name.truncate(180);
    format!("{name}.{}", std::process::id())
}

/// `text` with every character but ASCII letters, digits, `-`, `_` and `.` made `_`.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::file_safe;

    #[test]
    fn a_test_name_becomes_one_plain_file_name() {
        assert_eq!(
            file_safe("runway-web::http--accounts::a/b c"),
            "runway-web__http--accounts__a_b_c"
        );
    }
}
