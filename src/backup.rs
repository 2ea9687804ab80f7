//! `runway backup` and `runway restore`: one archive that holds the database and the key that
//! unlocks its secrets, since either alone is useless.
//!
//! The archive is a gzip'd tar of `manifest.json`, `runway.db` (SQLite only) and `secret.key`
//! (unless `--without-key`). The database is an online snapshot (`VACUUM INTO` through a
//! read-only connection), taken while a node runs; never a copy of a live WAL file. The manifest
//! names the release, schema version and time, and each file's SHA-256. On PostgreSQL the
//! database is dumped with `pg_dump` (see the README) and the archive carries the key and the
//! manifest.
//!
//! Restore checks the manifest, every checksum, the schema version (a newer one is refused) and
//! that the key opens the database, in a scratch directory beside the target; only then does it
//! move the files in. A non-empty target is refused unless `--force`, and never while a node
//! holds its database.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use runway_store::{Backend, Inspection, SECRET_KEY_ENV, SECRET_KEY_FILE, SecretKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::{StoreArgs, exit_code};

/// What the manifest calls this format.
const FORMAT: &str = "runway-backup/1";
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "runway.db";

/// Write a backup archive of the database and its secret key.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The archive to write (a .tar.gz); it must not exist.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Leave the secret key out (keep it elsewhere: without it the stored credentials cannot be
    /// read).
    #[arg(long)]
    without_key: bool,
}

/// Restore a backup archive into a data directory.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The archive `runway backup` wrote.
    #[arg(value_name = "FILE")]
    archive: PathBuf,
    /// The data directory to restore into; it must be empty or missing unless --force.
    #[arg(long, env = "RUNWAY_DATA_DIR", value_name = "DIR")]
    data_dir: PathBuf,
    /// Replace the database and key already in the data directory.
    #[arg(long)]
    force: bool,
    /// The secret key, for an archive made with --without-key (else RUNWAY_SECRET_KEY).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

/// The archive's table of contents.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    /// The release that wrote the archive.
    runway: String,
    backend: String,
    /// The database's schema version.
    schema: i64,
    /// When the backup was made (RFC 3339).
    created_at: String,
    /// Tenants and instances in the database, for the operator's eye.
    tenants: i64,
    instances: i64,
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    bytes: u64,
    sha256: String,
}

fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = runway_core::hex(&hasher.finalize());
    Ok((bytes, hex))
}

/// The key as text: `RUNWAY_SECRET_KEY`, or the data directory's key file. Never created here.
fn current_key(data_dir: &Path) -> anyhow::Result<(String, SecretKey)> {
    if let Ok(text) = std::env::var(SECRET_KEY_ENV)
        && !text.trim().is_empty()
    {
        let key = SecretKey::parse(&text, SECRET_KEY_ENV)?;
        return Ok((text.trim().to_owned(), key));
    }
    let path = data_dir.join(SECRET_KEY_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the secret key {} (or set {SECRET_KEY_ENV})",
            path.display()
        )
    })?;
    let key = SecretKey::parse(&text, &path.display().to_string())?;
    Ok((text.trim().to_owned(), key))
}

pub(crate) async fn run_backup(args: BackupArgs) -> ExitCode {
    exit_code(backup(args).await)
}

pub(crate) async fn run_restore(args: RestoreArgs) -> ExitCode {
    exit_code(restore(args).await)
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    if args.to.exists() {
        bail!("{} already exists; name a new file", args.to.display());
    }
    let url = args.store.url();
    let (key_text, key) = current_key(&args.store.data_dir)?;
    let scratch = scratch_beside(&args.to)?;
    let mut files = Vec::new();
    let inspection = match runway_store::backend_for_url(&url)? {
        Backend::Sqlite => {
            let db = scratch.path().join(DATABASE);
            let inspection = runway_store::snapshot_sqlite(&url, &db, Some(&key))
                .await
                .context("cannot take a snapshot of the database")?;
            files.push(DATABASE);
            inspection
        }
        Backend::Postgres => runway_store::inspect(&url, Some(&key))
            .await
            .context("cannot read the database")?,
    };
    if inspection.key_opens == Some(false) {
        bail!(
            "the secret key does not open this database's credentials: a backup with it would \
             be useless; use the key the database was created with"
        );
    }
    if !args.without_key {
        write_private(&scratch.path().join(SECRET_KEY_FILE), &key_text)?;
        files.push(SECRET_KEY_FILE);
    }
    let mut entries = Vec::new();
    for name in &files {
        let (bytes, sha256) = sha256_file(&scratch.path().join(name))?;
        entries.push(FileEntry {
            name: (*name).to_owned(),
            bytes,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        runway: runway_store::RELEASE.to_owned(),
        backend: backend_name(inspection.backend).to_owned(),
        schema: inspection.schema,
        created_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string()),
        tenants: inspection.tenants,
        instances: inspection.instances,
        files: entries,
    };
    std::fs::write(
        scratch.path().join(MANIFEST),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    // Written beside the target and renamed: a failed backup never leaves half an archive.
    let partial = scratch.path().join("archive.tar.gz");
    {
        let file = private_file(&partial)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for name in std::iter::once(MANIFEST).chain(files.iter().copied()) {
            tar.append_path_with_name(scratch.path().join(name), name)
                .with_context(|| format!("cannot write {name} into the archive"))?;
        }
        tar.into_inner()?.finish()?.sync_all()?;
    }
    std::fs::rename(&partial, &args.to)
        .with_context(|| format!("cannot write {}", args.to.display()))?;
    println!(
        "backed up {} into {}: schema {}, {} tenant(s), {} instance(s){}",
        describe(&inspection),
        args.to.display(),
        inspection.schema,
        inspection.tenants,
        inspection.instances,
        if args.without_key {
            "; the secret key is NOT in it — keep it safe elsewhere"
        } else {
            ", with the secret key (keep the archive as safe as the key)"
        }
    );
    if inspection.backend == Backend::Postgres {
        println!(
            "PostgreSQL's data is not in the archive: dump it with pg_dump --format=custom \
             (see the README), and keep the dump with this archive"
        );
    }
    Ok(())
}

async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let dir = &args.data_dir;
    // A lock file alone is what a stopped node leaves behind; anything else is data.
    let existing = std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "runway.db.lock")
            .count()
    });
    if existing > 0 && !args.force {
        bail!(
            "{} is not empty; restore into an empty directory, or add --force to replace its \
             database and key",
            dir.display()
        );
    }
    // Everything is unpacked and checked beside the target before the target is touched.
    let scratch = scratch_beside(dir)?;
    let manifest = unpack(&args.archive, scratch.path())?;
    let db = scratch.path().join(DATABASE);
    let has_db = manifest.files.iter().any(|f| f.name == DATABASE);
    let has_key = manifest.files.iter().any(|f| f.name == SECRET_KEY_FILE);
    let (key, install_key) = if has_key {
        let text = std::fs::read_to_string(scratch.path().join(SECRET_KEY_FILE))?;
        (SecretKey::parse(&text, "the archive's secret.key")?, true)
    } else {
        let key = given_key(args.key_file.as_deref())?;
        // A key file given for a keyless archive becomes the data directory's key.
        if let Some(path) = &args.key_file {
            let text = std::fs::read_to_string(path)?;
            write_private(&scratch.path().join(SECRET_KEY_FILE), text.trim())?;
        }
        (key, args.key_file.is_some())
    };
    if has_db {
        let inspection = runway_store::inspect(&format!("sqlite://{}", db.display()), Some(&key))
            .await
            .context("the archive's database cannot be read")?;
        if !inspection.is_supported() {
            bail!(
                "this backup was written by Runway {} at schema {}; this is Runway {} (schema \
                 {}): restore it with that release or a newer one",
                manifest.runway,
                inspection.schema,
                runway_store::RELEASE,
                runway_store::latest_schema()
            );
        }
        if inspection.key_opens == Some(false) {
            bail!(
                "the secret key does not open this backup's credentials: it was made with \
                 another key{}",
                if has_key {
                    ""
                } else {
                    " — pass the key the backup's database was created with (--key-file or \
                     RUNWAY_SECRET_KEY)"
                }
            );
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    // A node running on the target would keep writing its old database: hold its lock.
    let _lock = runway_store::NodeLock::acquire(&dir.join(DATABASE))
        .context("stop Runway before restoring into its data directory")?;
    if has_db {
        for stale in ["runway.db-wal", "runway.db-shm", "runway.db-journal"] {
            let path = dir.join(stale);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        std::fs::rename(&db, dir.join(DATABASE))?;
    }
    if install_key {
        std::fs::rename(
            scratch.path().join(SECRET_KEY_FILE),
            dir.join(SECRET_KEY_FILE),
        )?;
    }
    println!(
        "restored {}{} into {}: made by Runway {} at {}, schema {}, {} tenant(s), {} \
         instance(s)",
        if has_db { "the SQLite database" } else { "" },
        match (has_db, install_key) {
            (true, true) => " and the secret key",
            (true, false) => " (the key was not in the archive: start Runway with the same key)",
            (false, _) => "the secret key (restore PostgreSQL's data with pg_restore)",
        },
        dir.display(),
        manifest.runway,
        manifest.created_at,
        manifest.schema,
        manifest.tenants,
        manifest.instances
    );
    Ok(())
}

/// Extracts the archive's known files into `into`, and checks the manifest and every checksum.
fn unpack(archive: &Path, into: &Path) -> anyhow::Result<Manifest> {
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let not_backup = || format!("{} is not a Runway backup archive", archive.display());
    for entry in tar.entries().with_context(not_backup)? {
        let mut entry = entry.with_context(not_backup)?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if ![MANIFEST, DATABASE, SECRET_KEY_FILE].contains(&name.as_str()) {
            bail!("{}: unexpected file {name:?} in the archive", not_backup());
        }
        let mut out = private_file(&into.join(&name))?;
        std::io::copy(&mut entry, &mut out).with_context(not_backup)?;
        out.sync_all()?;
    }
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(into.join(MANIFEST))
            .with_context(|| format!("{}: no manifest", not_backup()))?,
    )
    .with_context(|| format!("{}: its manifest is not readable", not_backup()))?;
    if manifest.format != FORMAT {
        bail!(
            "{}: format {:?}, this release reads {FORMAT:?}",
            not_backup(),
            manifest.format
        );
    }
    for entry in &manifest.files {
        let path = into.join(&entry.name);
        if !path.is_file() {
            bail!("the archive is incomplete: {} is missing", entry.name);
        }
        let (bytes, sha256) = sha256_file(&path)?;
        if bytes != entry.bytes || sha256 != entry.sha256 {
            bail!(
                "the archive is damaged: {} does not match its checksum in the manifest",
                entry.name
            );
        }
    }
    Ok(manifest)
}

/// The key for an archive without one: `--key-file`, else `RUNWAY_SECRET_KEY`.
fn given_key(key_file: Option<&Path>) -> anyhow::Result<SecretKey> {
    if let Some(path) = key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(SecretKey::parse(&text, &path.display().to_string())?);
    }
    match std::env::var(SECRET_KEY_ENV) {
        Ok(text) if !text.trim().is_empty() => Ok(SecretKey::parse(&text, SECRET_KEY_ENV)?),
        _ => bail!(
            "the archive holds no secret key (it was made with --without-key): pass the \
             database's key with --key-file FILE or {SECRET_KEY_ENV}"
        ),
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn describe(inspection: &Inspection) -> &'static str {
    match inspection.backend {
        Backend::Sqlite => "the SQLite database",
        Backend::Postgres => "the PostgreSQL database's key and manifest",
    }
}

/// A scratch directory beside `target` (in its parent), so the final rename stays on one
/// filesystem.
fn scratch_beside(target: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".runway-backup-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write into {}", parent.display()))
}

/// A new file only its owner may read (the archive and the key hold secrets).
fn private_file(path: &Path) -> anyhow::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = private_file(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}
