//! One process per data directory. Two processes on one directory would each take the
//! other's RUNNING executions for a crashed process's, and the embedded object store
//! deletes temporary files it did not write; so every command that opens the records or
//! the store holds `<data_dir>/lock` for its whole life. The kernel releases the lock
//! when the process ends, however it ends, so a crash leaves nothing stale behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "lock";

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

/// Another process holds the directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "the data directory {dir} is in use by {holder}; stop it, or give this command another \
     data directory (CAFE_REPORT_DATA_DIR)"
)]
pub struct InUse {
    /// The data directory.
    pub dir: String,
    /// `process <pid> (<command>)`, as the holder wrote it.
    pub holder: String,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` for `command` (e.g. `serve`), creating the directory
    /// if needed; refuses with [`InUse`], naming the holder, when another process has it.
    pub fn acquire(data_dir: &Path, command: &str) -> anyhow::Result<DataDirLock> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let path = data_dir.join(LOCK_FILE);
        // Not truncated on open: the holder's line must stay readable to the refused.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "another process".to_string(),
                    line => format!("process {line}"),
                };
                return Err(InUse {
                    dir: data_dir.display().to_string(),
                    holder,
                }
                .into());
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{} ({command})", std::process::id())?;
        file.sync_all()?;
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), "serve").unwrap();
        let err = DataDirLock::acquire(dir.path(), "report").unwrap_err();
        let in_use = err.downcast_ref::<InUse>().expect("InUse");
        assert_eq!(
            in_use.holder,
            format!("process {} (serve)", std::process::id())
        );
        assert!(err.to_string().contains("is in use by process"), "{err}");
        drop(first);
        let again = DataDirLock::acquire(dir.path(), "report").unwrap();
        assert_eq!(
            std::fs::read_to_string(again.path()).unwrap(),
            format!("{} (report)\n", std::process::id())
        );
    }
}
