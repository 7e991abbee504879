//! Component versions on disk, for `cafe-report components`: the current version of a
//! task is `<components dir>/<task>.wasm`; every version published or rolled back to is
//! kept as `<data_dir>/versions/<task>/<sha256>.wasm`, with a log of what became current
//! when (`history.jsonl`), so a rollback needs nothing but this directory.

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

/// A task's versions as `components list` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskVersions {
    /// The task.
    pub task: String,
    /// The sha256 of `<dir>/<task>.wasm`, if there is one.
    pub current: Option<String>,
    /// What became current when, oldest first.
    pub history: Vec<Activation>,
}

/// The version store of one configuration.
#[derive(Debug, Clone)]
pub struct VersionStore {
    components_dir: PathBuf,
    versions_dir: PathBuf,
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
        let path = self.task_dir(task).join("history.jsonl");
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
            .map(|task| {
                Ok(TaskVersions {
                    task: task.to_string(),
                    current: self.current(task)?,
                    history: self.history(task)?,
                })
            })
            .collect()
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
            at: time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            action: action.to_string(),
            source: source.to_string(),
        };
        let path = self.task_dir(task).join("history.jsonl");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "{}", serde_json::to_string(&entry)?)?;
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
