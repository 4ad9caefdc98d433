//! One `pilot serve` per data directory.
//!
//! The local nats-server keeps its store in the data directory, and two servers on one store
//! damage it. The pid-file check of [`crate::nats_server`] sees a second server only while
//! the first one runs; while pilot restarts a server that died
//! ([`crate::nats_supervisor`]), or after pilot itself was stopped half-way, a second pilot
//! could start its own. So `pilot serve` holds an exclusive lock (`flock`) on
//! `<data-dir>/pilot.lock` from before it starts its server until it has stopped it. The
//! kernel drops the lock when the process ends, however it ends: a stale lock file blocks
//! nothing. The file holds the holder's pid, for the error message only.
//!
//! With `--nats`, the data directory holds only the tokens file, which several pilot
//! processes (`--only api`, `--only alerter`) may share, so no lock is taken.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "pilot.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data directory {dir} is in use by another `pilot serve`{holder}; stop that one \
         first, or give this one another --data-dir"
    )]
    InUse { dir: PathBuf, holder: String },
    #[error("cannot lock the data directory ({path}): {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock: released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (creating the directory), or says who holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let holder = if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                    format!(" (pid {pid})")
                } else {
                    String::new()
                };
                return Err(LockError::InUse {
                    dir: data_dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DataDirLock::acquire(&data).unwrap();
        let error = DataDirLock::acquire(&data).unwrap_err().to_string();
        assert!(error.contains("in use by another `pilot serve`"), "{error}");
        assert!(
            error.contains(&format!("(pid {})", std::process::id())),
            "{error}"
        );
        drop(first);
        let _again = DataDirLock::acquire(&data).unwrap();
    }
}
