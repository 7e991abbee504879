//! The data directory's SQLite files as the server keeps them: opened one way, worked on
//! off the async threads.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::Connection;

/// Opens (creating if needed) `path` in WAL mode, so readers do not wait for the writer.
/// `durable`: a commit is on disk when it returns (`synchronous=FULL`), so a power loss
/// cannot roll back what was answered as done; `false` (`OFF`): commits survive a killed
/// process, not a power loss, as a test suite may want.
pub(crate) fn open(path: &Path, durable: bool, what: &str) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let connection =
        Connection::open(path).with_context(|| format!("opening {what} {}", path.display()))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = if durable { "FULL" } else { "OFF" };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(connection)
}

/// Runs `work` on `connection` on tokio's blocking threads.
pub(crate) async fn blocking<T: Send + 'static>(
    connection: &Arc<Mutex<Connection>>,
    what: &'static str,
    work: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let connection = connection.clone();
    tokio::task::spawn_blocking(move || {
        let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
        work(&connection)
    })
    .await
    .with_context(|| format!("{what}'s worker ended"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_files_wait_for_the_disk_and_the_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let setting = |durable: bool, name: &str| -> (String, i64) {
            let db = open(&dir.path().join("new").join(name), durable, "a test file").unwrap();
            let mode: String = db
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            let synchronous = db
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap();
            (mode, synchronous)
        };
        // 2 is FULL, 0 is OFF.
        assert_eq!(setting(true, "durable.db"), ("wal".into(), 2));
        assert_eq!(setting(false, "fast.db"), ("wal".into(), 0));
    }
}
