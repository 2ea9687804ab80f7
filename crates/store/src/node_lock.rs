//! The SQLite node lock: one Runway process per SQLite file.
//!
//! SQLite is the single-node backend: leases in a file shared by two processes would work, but
//! two schedulers and two delivery workers on one file is not a setup we test or support. So the
//! store takes an exclusive advisory lock (`flock`) on `<database>.lock` before touching the
//! database, and writes its pid into the file for the error message the second process gets.
//!
//! The operating system drops the lock when the process dies, so a crashed node never leaves a
//! stale lock behind — unlike a heartbeat row, which would need a timeout and a clock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// Held for as long as the store is open; dropping it releases the lock.
#[derive(Debug)]
pub struct NodeLock {
    file: File,
    path: PathBuf,
}

impl NodeLock {
    /// The lock file that guards `database`.
    pub(crate) fn path_for(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock for `database`, or says which process holds it.
    pub fn acquire(database: &Path) -> Result<NodeLock> {
        let path = NodeLock::path_for(database);
        let io = |what: &str, err: std::io::Error| {
            StoreError::backend(format!(
                "cannot {what} the node lock {}: {err}",
                path.display()
            ))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| io("open", err))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = match file.read_to_string(&mut text) {
                    Ok(_) if !text.trim().is_empty() => text.trim().to_owned(),
                    _ => "unknown".to_owned(),
                };
                return Err(StoreError::NodeLocked { pid });
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io("take", err)),
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(|err| io("write", err))?;
        Ok(NodeLock { file, path })
    }
}

impl Drop for NodeLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first makes it immediate even if
        // a duplicated descriptor lingers.
        if let Err(err) = self.file.unlock() {
            tracing::warn!(path = %self.path.display(), %err, "could not release the node lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("runway.db");
        let first = NodeLock::acquire(&db).unwrap();
        let err = NodeLock::acquire(&db).unwrap_err();
        let pid = std::process::id().to_string();
        assert!(
            matches!(&err, StoreError::NodeLocked { pid: p } if *p == pid),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("use PostgreSQL to run several nodes")
        );
        drop(first);
        NodeLock::acquire(&db).unwrap();
    }
}
