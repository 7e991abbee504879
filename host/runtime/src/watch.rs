//! The directory source of component versions: `<dir>/<task>.wasm` files, watched. A file
//! that changes is published (validated, compiled, smoke-run) and serves the next tasks;
//! one that fails stays unpublished and the log says why. Both outcomes are noted in the
//! version store, when one is given, for `components list`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};

use crate::runtime::Runtime;
use crate::versions::VersionStore;

/// Events for one file often come in bursts (create, write, rename); wait this long for
/// the burst to end before reading it.
const SETTLE: Duration = Duration::from_millis(50);

/// Keeps watching while it lives.
#[derive(Debug)]
pub struct DirectoryWatcher {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DirectoryWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether an event can mean new bytes: a file created, written, renamed or removed, or
/// closed after writing. Opening, reading and closing after reading cannot.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The task a path is the component of, if it is `<task>.wasm` for a known task.
fn task_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.strip_suffix(".wasm")?;
    cafe_report_world::World::from_name(name).map(|_| name.to_string())
}

impl Runtime {
    /// Watches `dir` and publishes every `<task>.wasm` written there, with the task's
    /// smoke input from `smoke` when it has one, noting what serves and what was refused
    /// in `versions`. Needs a tokio runtime.
    pub fn watch(
        self: &Arc<Self>,
        dir: &Path,
        smoke: BTreeMap<String, String>,
        versions: Option<VersionStore>,
    ) -> anyhow::Result<DirectoryWatcher> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Reads (ours included: publishing reads the file) are not changes;
                // reacting to them re-read the file for ever.
                if let Ok(event) = event
                    && changes_content(&event.kind)
                {
                    for path in event.paths {
                        let _ = tx.send(path);
                    }
                }
            })
            .context("starting the component directory watcher")?;
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("watching {}", dir.display()))?;
        let runtime = self.clone();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                tokio::time::sleep(SETTLE).await;
                let mut changed = BTreeSet::from([first]);
                while let Ok(path) = rx.try_recv() {
                    changed.insert(path);
                }
                for path in changed {
                    if let Some(task) = task_of(&path) {
                        let smoke = smoke.get(&task).map(String::as_str);
                        runtime
                            .publish_file(&task, &path, smoke, versions.as_ref())
                            .await;
                    }
                }
            }
        });
        tracing::info!(dir = %dir.display(), "watching for component versions");
        Ok(DirectoryWatcher {
            _watcher: watcher,
            task,
        })
    }

    /// Publishes the file unless it is the version already serving (or gone).
    async fn publish_file(
        &self,
        task: &str,
        path: &Path,
        smoke: Option<&str>,
        versions: Option<&VersionStore>,
    ) {
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        let source = path.display().to_string();
        // Failures are logged by `publish`; the current version keeps serving.
        let noted = match self.publish_if_new(task, &bytes, &source, smoke).await {
            Ok(None) => return,
            Ok(Some(_)) => versions.map(|v| v.served(task, &bytes, &source)),
            Err(err) => {
                let sha = crate::sha256(&bytes);
                versions.map(|v| v.refused(task, &sha, &source, &format!("{err:#}")))
            }
        };
        if let Some(Err(err)) = noted {
            tracing::warn!(task, error = %format!("{err:#}"), "could not note the version for `components list`");
        }
    }
}
