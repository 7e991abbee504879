//! Component versions on disk, for `cafe-report components`: the current version of a
//! task is `<components dir>/<task>.wasm`; every version published or rolled back to is
//! kept as `<data_dir>/versions/<task>/<sha256>.wasm`, with a log of what became current
//! when (`history.jsonl`), so a rollback needs nothing but this directory.
//!
//! A serving process's directory watcher writes here too: a file it swapped to is logged
//! as `watch`, and a file it refused goes to `refused.jsonl` with the reason. So
//! `components list` shows what serves, not a file on disk that was refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::{World, sha256};

/// One line of a task's history: a version that became current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Hex sha256 of the component.
    pub sha256: String,
    /// When (RFC 3339).
    pub at: String,
    /// `publish` or `rollback`.
    pub action: String,
    /// The file it was published from.
    pub source: String,
}

/// A version a serving process's watcher refused (one line of `refused.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Hex sha256 of the refused file.
    pub sha256: String,
    /// When (RFC 3339).
    pub at: String,
    /// The file.
    pub source: String,
    /// Why it was refused.
    pub reason: String,
}

/// A task's versions as `components list` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskVersions {
    /// The task.
    pub task: String,
    /// The version serving: `<dir>/<task>.wasm`, unless a watcher refused that file; then
    /// the last version that became current.
    pub current: Option<String>,
    /// What became current when, oldest first.
    pub history: Vec<Activation>,
    /// The file in `<dir>/<task>.wasm` when a watcher refused it (it does not serve).
    pub refused: Option<Refusal>,
}

/// The version store of one configuration.
#[derive(Debug, Clone)]
pub struct VersionStore {
    components_dir: PathBuf,
    versions_dir: PathBuf,
}

/// Now, to the second, as the logs write it (RFC 3339, so strings sort as times).
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Writes a file so readers (and watchers) only ever see the whole of it.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("wasm.partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

impl VersionStore {
    /// The store for a components directory and a data directory.
    pub fn new(components_dir: &Path, data_dir: &Path) -> Self {
        Self {
            components_dir: components_dir.to_path_buf(),
            versions_dir: data_dir.join("versions"),
        }
    }

    fn current_path(&self, task: &str) -> PathBuf {
        self.components_dir.join(format!("{task}.wasm"))
    }

    fn task_dir(&self, task: &str) -> PathBuf {
        self.versions_dir.join(task)
    }

    /// The sha256 of the task's current component, if it has one.
    pub fn current(&self, task: &str) -> anyhow::Result<Option<String>> {
        match std::fs::read(self.current_path(task)) {
            Ok(bytes) => Ok(Some(sha256(&bytes))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading the current {task} component")),
        }
    }

    /// What became current when, oldest first.
    pub fn history(&self, task: &str) -> anyhow::Result<Vec<Activation>> {
        self.read_log(task, "history.jsonl")
    }

    /// The versions a watcher refused, oldest first.
    pub fn refusals(&self, task: &str) -> anyhow::Result<Vec<Refusal>> {
        self.read_log(task, "refused.jsonl")
    }

    fn read_log<T: serde::de::DeserializeOwned>(
        &self,
        task: &str,
        file: &str,
    ) -> anyhow::Result<Vec<T>> {
        let path = self.task_dir(task).join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).with_context(|| format!("a line of {}", path.display()))
            })
            .collect()
    }

    /// Every task's versions.
    pub fn list(&self) -> anyhow::Result<Vec<TaskVersions>> {
        World::ALL
            .map(World::name)
            .iter()
            .map(|task| self.task_versions(task))
            .collect()
    }

    fn task_versions(&self, task: &str) -> anyhow::Result<TaskVersions> {
        let on_disk = self.current(task)?;
        let history = self.history(task)?;
        // The file on disk serves unless a watcher refused it after the last activation
        // (a refusal older than that activation is of a file written over since).
        let last_at = history.last().map(|a| a.at.as_str()).unwrap_or_default();
        let refused = match &on_disk {
            Some(sha) => self
                .refusals(task)?
                .into_iter()
                .rev()
                .find(|r| &r.sha256 == sha && r.at.as_str() >= last_at),
            None => None,
        };
        let current = match &refused {
            Some(_) => history.last().map(|a| a.sha256.clone()),
            None => on_disk,
        };
        Ok(TaskVersions {
            task: task.to_string(),
            current,
            history,
            refused,
        })
    }

    /// Notes that a watcher made `bytes` (the file at `source`) current: kept and logged as
    /// `watch`, unless it already is the last version logged.
    pub fn served(&self, task: &str, bytes: &[u8], source: &str) -> anyhow::Result<()> {
        let sha = sha256(bytes);
        if self.history(task)?.last().is_some_and(|a| a.sha256 == sha) {
            return Ok(());
        }
        std::fs::create_dir_all(self.task_dir(task))?;
        self.keep(task, bytes)?;
        self.log(task, &sha, "watch", source)
    }

    /// Notes that a watcher refused the file at `source` (sha256 `sha`), and why.
    pub fn refused(&self, task: &str, sha: &str, source: &str, reason: &str) -> anyhow::Result<()> {
        let entry = Refusal {
            sha256: sha.to_string(),
            at: now_rfc3339(),
            source: source.to_string(),
            reason: reason.to_string(),
        };
        self.append(task, "refused.jsonl", &serde_json::to_string(&entry)?)
    }

    /// The bytes of a kept version.
    pub fn bytes(&self, task: &str, sha256: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.task_dir(task).join(format!("{sha256}.wasm"));
        std::fs::read(&path).with_context(|| format!("reading the kept version {}", path.display()))
    }

    /// Keeps `bytes` (whose current version, if any, is kept too, so it can be rolled back
    /// to), makes them the task's current component and logs it.
    pub fn activate(
        &self,
        task: &str,
        bytes: &[u8],
        action: &str,
        source: &str,
    ) -> anyhow::Result<String> {
        let dir = self.task_dir(task);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if let Ok(previous) = std::fs::read(self.current_path(task)) {
            self.keep(task, &previous)?;
            if self.history(task)?.is_empty() {
                self.log(
                    task,
                    &sha256(&previous),
                    "found",
                    &self.current_path(task).display().to_string(),
                )?;
            }
        }
        let sha = self.keep(task, bytes)?;
        std::fs::create_dir_all(&self.components_dir)?;
        write_atomically(&self.current_path(task), bytes)?;
        self.log(task, &sha, action, source)?;
        Ok(sha)
    }

    fn keep(&self, task: &str, bytes: &[u8]) -> anyhow::Result<String> {
        let sha = sha256(bytes);
        let path = self.task_dir(task).join(format!("{sha}.wasm"));
        if !path.exists() {
            write_atomically(&path, bytes)?;
        }
        Ok(sha)
    }

    fn log(&self, task: &str, sha: &str, action: &str, source: &str) -> anyhow::Result<()> {
        let entry = Activation {
            sha256: sha.to_string(),
            at: now_rfc3339(),
            action: action.to_string(),
            source: source.to_string(),
        };
        self.append(task, "history.jsonl", &serde_json::to_string(&entry)?)
    }

    fn append(&self, task: &str, file: &str, line: &str) -> anyhow::Result<()> {
        let dir = self.task_dir(task);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(file);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "{line}")?;
        Ok(())
    }

    /// The version a rollback goes to: the one whose sha256 starts with `to`, else the
    /// one that was current before the current one.
    pub fn rollback_target(&self, task: &str, to: Option<&str>) -> anyhow::Result<String> {
        let history = self.history(task)?;
        let current = self.current(task)?;
        match to {
            Some(prefix) => {
                let mut matching: Vec<&str> = history
                    .iter()
                    .map(|a| a.sha256.as_str())
                    .filter(|sha| sha.starts_with(prefix))
                    .collect();
                matching.sort_unstable();
                matching.dedup();
                match matching.as_slice() {
                    [one] if !prefix.is_empty() => Ok(one.to_string()),
                    [] | [_] => bail!("no kept version of {task} has sha256 {prefix:?}"),
                    _ => bail!("{prefix:?} names more than one version of {task}"),
                }
            }
            None => history
                .iter()
                .rev()
                .map(|a| &a.sha256)
                .find(|sha| Some(*sha) != current.as_ref())
                .cloned()
                .with_context(|| format!("{task} has no earlier version to roll back to")),
        }
    }
}
