//! Secrets at rest: the installation's secret key and the sealing of credentials with it.
//!
//! PBX passwords, API client secrets and TOTP seeds are sealed with XChaCha20-Poly1305 before
//! they reach the database. Each value gets a fresh random 24-byte nonce, and the associated data
//! binds the ciphertext to its row — tenant id, instance id and field name — so a ciphertext
//! copied into another row, another field or another tenant fails to open. A stored value is
//! `version (1 byte) ‖ nonce (24 bytes) ‖ ciphertext with its 16-byte tag`.
//!
//! The key is 32 bytes and comes from one of two places, chosen by the binary and handed to
//! [`crate::open`] (the store never reads the environment itself):
//!
//! - `RUNWAY_SECRET_KEY`: the key as **standard base64** (44 characters, `=`-padded; 43 without
//!   the padding) or as **64 hex digits**; the length tells the two apart.
//! - otherwise `secret.key` in the data directory, holding the key in base64. It is created with
//!   mode 0600 on first start; an existing file that the group or others can read is refused.
//!
//! Losing the key means re-entering every PBX credential; the database alone is useless to a thief.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use crate::error::StoreError;

/// The environment variable holding the key.
pub const SECRET_KEY_ENV: &str = "RUNWAY_SECRET_KEY";

/// The key file's name inside the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// The format version byte in front of every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// The installation's 32-byte secret key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretKey {
    cipher: XChaCha20Poly1305,
    bytes: [u8; KEY_LEN],
}

/// Why no secret key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key text is neither base64 nor hex of 32 bytes.
    #[error(
        "{source_name} must be 32 bytes written as standard base64 (44 characters) or as 64 hex \
         digits; generate one with `openssl rand -base64 32`"
    )]
    Malformed {
        /// Where the text came from (`RUNWAY_SECRET_KEY` or the key file's path).
        source_name: String,
    },
    /// The key file can be read by other users.
    #[error(
        "the key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Exposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file could not be read or created.
    #[error("cannot use the key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl SecretKey {
    /// A fresh random key (for tests and first start).
    pub fn generate() -> Result<SecretKey, KeyError> {
        let key = Key::try_generate().map_err(|_| KeyError::Random)?;
        Ok(SecretKey::from_bytes(key.into()))
    }

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey {
            cipher: XChaCha20Poly1305::new(&Key::from(bytes)),
            bytes,
        }
    }

    /// Parses base64 (padded or not) or 64 hex digits; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<SecretKey, KeyError> {
        let text = text.trim();
        let malformed = || KeyError::Malformed {
            source_name: source_name.to_owned(),
        };
        let bytes = match text.len() {
            64 => decode_hex(text).ok_or_else(malformed)?,
            44 => STANDARD.decode(text).map_err(|_| malformed())?,
            43 => STANDARD_NO_PAD.decode(text).map_err(|_| malformed())?,
            _ => return Err(malformed()),
        };
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| malformed())?;
        Ok(SecretKey::from_bytes(bytes))
    }

    /// `RUNWAY_SECRET_KEY` when set and non-empty, else the key file in `data_dir` (the
    /// directory and the file, mode 0600, are created when missing).
    pub fn from_env_or_file(data_dir: &Path) -> Result<SecretKey, KeyError> {
        match std::env::var(SECRET_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => SecretKey::parse(&text, SECRET_KEY_ENV),
            _ => {
                std::fs::create_dir_all(data_dir).map_err(|source| KeyError::Io {
                    path: data_dir.to_owned(),
                    source,
                })?;
                SecretKey::from_file_or_create(&data_dir.join(SECRET_KEY_FILE))
            }
        }
    }

    /// Whether `RUNWAY_SECRET_KEY` holds a key (it then wins over every key file).
    pub fn env_is_set() -> bool {
        std::env::var(SECRET_KEY_ENV).is_ok_and(|text| !text.trim().is_empty())
    }

    /// Reads the key file at `path`, which must exist and be private to its owner.
    pub fn from_file(path: &Path) -> Result<SecretKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        check_private(path, &file)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        SecretKey::parse(&text, &path.display().to_string())
    }

    /// Reads the key file at `path`, or creates it with a new key and mode 0600.
    pub fn from_file_or_create(path: &Path) -> Result<SecretKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match open_private(path) {
            Ok(mut file) => {
                let key = SecretKey::generate()?;
                file.write_all(format!("{}\n", STANDARD.encode(key.bytes)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
                tracing::info!(path = %path.display(), "created a new secret key file");
                Ok(key)
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                SecretKey::from_file(path)
            }
            Err(err) => Err(io(err)),
        }
    }

    /// A 32-byte key for one purpose (e.g. signing the pre-session CSRF token), derived from the
    /// installation's key with HMAC-SHA256 over `runway/v1/derive/{purpose}`. Every node of an
    /// installation shares the secret key, so they derive the same key; the derived key reveals
    /// nothing of the secret key, and keys for different purposes are unrelated.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{KeyInit as _, Mac as _};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.bytes)
            .expect("HMAC takes a key of any length");
        mac.update(b"runway/v1/derive/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` for one field of one row.
    pub(crate) fn seal(&self, plaintext: &str, aad: &SealedFor<'_>) -> Result<Vec<u8>, StoreError> {
        let nonce = XNonce::try_generate()
            .map_err(|_| StoreError::backend("the system random number generator failed"))?;
        let aad = aad.bytes();
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::backend("encrypting a secret failed"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what [`SecretKey::seal`] sealed for the same row and field.
    pub(crate) fn open(&self, sealed: &[u8], aad: &SealedFor<'_>) -> Result<String, StoreError> {
        let (&version, rest) = sealed.split_first().ok_or(StoreError::Crypto)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(StoreError::Crypto);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| StoreError::Crypto)?;
        let aad = aad.bytes();
        let plaintext = self
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Crypto)?;
        String::from_utf8(plaintext).map_err(|_| StoreError::Crypto)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// What a sealed value is bound to: the associated data of the AEAD.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SealedFor<'a> {
    /// A credential field of an instance.
    Instance {
        tenant: i64,
        instance: i64,
        field: &'a str,
    },
    /// The secret of a delivery channel (a signing secret, a webhook URL, a routing key, a
    /// password).
    Channel { tenant: i64, channel: i64 },
    /// The key check value in `store_meta`.
    KeyCheck,
}

impl SealedFor<'_> {
    fn bytes(&self) -> Vec<u8> {
        match self {
            SealedFor::Instance {
                tenant,
                instance,
                field,
            } => format!("runway/v1/tenant/{tenant}/instance/{instance}/{field}").into_bytes(),
            SealedFor::Channel { tenant, channel } => {
                format!("runway/v1/tenant/{tenant}/channel/{channel}/secret").into_bytes()
            }
            SealedFor::KeyCheck => b"runway/v1/key-check".to_vec(),
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

/// Creates `path` exclusively, readable and writable by the owner only.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Refuses a key file that the group or others can read.
fn check_private(path: &Path, file: &std::fs::File) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|source| KeyError::Io {
                path: path.to_owned(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tenant: i64, instance: i64, field: &str) -> SealedFor<'_> {
        SealedFor::Instance {
            tenant,
            instance,
            field,
        }
    }

    #[test]
    fn derived_keys_are_stable_per_key_and_purpose_and_unrelated_across_them() {
        let key = SecretKey::from_bytes([7; KEY_LEN]);
        let same = SecretKey::parse(&STANDARD.encode([7; KEY_LEN]), "test").unwrap();
        assert_eq!(
            key.derive("presession-csrf"),
            same.derive("presession-csrf")
        );
        assert_ne!(key.derive("presession-csrf"), key.derive("other"));
        assert_ne!(
            key.derive("presession-csrf"),
            SecretKey::from_bytes([8; KEY_LEN]).derive("presession-csrf")
        );
        assert_ne!(key.derive("presession-csrf"), [7; KEY_LEN]);
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_own_row_and_field_and_key() {
        let key = SecretKey::generate().unwrap();
        let sealed = key.seal("hunter2", &row(1, 2, "secret")).unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(key.open(&sealed, &row(1, 2, "secret")).unwrap(), "hunter2");
        for other in [row(1, 3, "secret"), row(9, 2, "secret"), row(1, 2, "totp")] {
            assert!(matches!(key.open(&sealed, &other), Err(StoreError::Crypto)));
        }
        let other_key = SecretKey::generate().unwrap();
        assert!(matches!(
            other_key.open(&sealed, &row(1, 2, "secret")),
            Err(StoreError::Crypto)
        ));
        assert!(matches!(
            key.open(&[], &row(1, 2, "secret")),
            Err(StoreError::Crypto)
        ));
    }

    #[test]
    fn sealing_twice_uses_a_fresh_nonce() {
        let key = SecretKey::generate().unwrap();
        let a = key.seal("same", &row(1, 1, "secret")).unwrap();
        let b = key.seal("same", &row(1, 1, "secret")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_bad_text_says_how_to_make_one() {
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let hex: String = bytes
            .iter()
            .flat_map(|b| [b >> 4, b & 0xF])
            .map(|d| char::from_digit(u32::from(d), 16).unwrap())
            .collect();
        let b64 = STANDARD.encode(bytes);
        for text in [
            hex.clone(),
            hex.to_uppercase(),
            b64.clone(),
            b64.trim_end_matches('=').to_owned(),
        ] {
            assert_eq!(SecretKey::parse(&text, "K").unwrap().bytes, bytes, "{text}");
        }
        let err = SecretKey::parse("too short", "RUNWAY_SECRET_KEY").unwrap_err();
        assert!(
            err.to_string()
                .contains("RUNWAY_SECRET_KEY must be 32 bytes"),
            "{err}"
        );
        assert!(SecretKey::parse(&"zz".repeat(32), "K").is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = SecretKey::from_bytes([7; 32]);
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_private_and_refused_when_exposed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_KEY_FILE);
        let first = SecretKey::from_file_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = SecretKey::from_file_or_create(&path).unwrap();
        assert_eq!(first.bytes, again.bytes);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretKey::from_file_or_create(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::Exposed { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
