//! The secrets the tests used, for the secrets scan.
//!
//! Every secret a test creates or feeds in — PBX passwords, client secrets and TOTP seeds,
//! user passwords (wrong ones too), API tokens and session cookies, the installation's secret
//! key — is registered with [`used`] where the test gets it. While logs are kept (see
//! [`crate::logs`]) each one is appended to `secrets.txt` in the log directory, and
//! `scripts/scan-secrets` fails the run when any of them turns up in a log.
//!
//! Values shorter than [`MIN_LEN`] characters are not registered: words that short appear in
//! logs for other reasons, and a hit on them would teach people to ignore the scan.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use runway_store::SecretKey;

/// The file the secrets are listed in, one per line, inside the log directory.
pub const FILE_NAME: &str = "secrets.txt";

/// The shortest value registered, in characters.
pub const MIN_LEN: usize = 8;

/// Registers a secret a test used (nothing when logs are not kept). A value spanning several
/// lines is registered line by line.
///
/// # Panics
/// When logs are kept but the list cannot be written.
pub fn used(secret: &str) {
    if let Some(dir) = crate::logs::dir() {
        record(&dir, secret);
    }
}

/// Registers the secrets of a simulated PBX's login: its password or client secret and its
/// TOTP seed.
pub fn sim_login(login: &runway_sim::Login) {
    match login {
        runway_sim::Login::ClientCredentials { client_secret, .. } => used(client_secret),
        runway_sim::Login::User {
            password,
            totp_secret,
            ..
        } => {
            used(password);
            if let Some(seed) = totp_secret {
                used(seed);
            }
        }
        runway_sim::Login::Legacy { password, .. } => used(password),
    }
}

/// Registers the login secrets of every PBX of a scenario.
pub fn scenario(scenario: &runway_sim::Scenario) {
    for pbx in &scenario.pbxs {
        sim_login(&pbx.login);
    }
}

/// A fresh random installation key, registered in every text form it could leak in: base64
/// (what `RUNWAY_SECRET_KEY` and `secret.key` hold), hex, and the `Debug` of its bytes.
///
/// # Panics
/// When the system's random number generator fails.
pub fn secret_key() -> SecretKey {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system random number generator");
    // Without padding: the padded text contains it, so one entry finds both.
    used(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes));
    used(&bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    }));
    used(&format!("{bytes:?}"));
    SecretKey::from_bytes(bytes)
}

/// Appends each line of `secret` of at least [`MIN_LEN`] characters to the list in `dir`,
/// once per process (the scan removes duplicates between processes).
fn record(dir: &Path, secret: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashSet::new);
    for line in secret.lines() {
        if line.chars().count() < MIN_LEN || !seen.insert(line.to_owned()) {
            continue;
        }
        let path = dir.join(FILE_NAME);
        let _ = std::fs::create_dir_all(dir);
        // One write per entry: appends of several test processes do not interleave.
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()))
            .unwrap_or_else(|err| panic!("cannot register a secret in {}: {err}", path.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::{FILE_NAME, record};

    #[test]
    fn each_long_enough_line_is_listed_once_and_short_ones_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), "correct horse battery");
        record(dir.path(), "correct horse battery");
        record(dir.path(), "pw");
        record(dir.path(), "first-line-secret\nshort\nsecond-line-secret");
        let listed = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            listed,
            "correct horse battery\nfirst-line-secret\nsecond-line-secret\n"
        );
    }
}
