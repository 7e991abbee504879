//! Which component version serves each task: the current one, and every version loaded
//! since the process started, for rollback. A swap replaces one `Arc`: a task that
//! already holds a version runs it to the end, the next task gets the new one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde::Serialize;
use time::OffsetDateTime;

use crate::loader::LoadedComponent;

/// One version of a task's component, as `components list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// The task it serves.
    pub task: String,
    /// Hex sha256 of the component's bytes.
    pub sha256: String,
    /// Whether it serves new tasks now.
    pub current: bool,
    /// When this process made it current last (RFC 3339).
    pub activated_at: String,
    /// Where it came from (a file, `publish`, ...).
    pub source: String,
}

/// A version that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The task it was meant for.
    pub task: String,
    /// Hex sha256 of the refused bytes.
    pub sha256: String,
    /// Where it came from.
    pub source: String,
    /// Why it was refused.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
}

/// How many refusals the registry remembers.
const KEPT_REJECTIONS: usize = 50;

struct Entry {
    component: Arc<LoadedComponent>,
    activated_at: OffsetDateTime,
    source: String,
}

#[derive(Default)]
struct TaskVersions {
    /// Oldest first; each sha256 once.
    versions: Vec<Entry>,
    current: usize,
}

/// The versions of every task.
#[derive(Default)]
pub(crate) struct Registry {
    tasks: RwLock<BTreeMap<String, TaskVersions>>,
    rejections: RwLock<std::collections::VecDeque<Rejection>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("versions", &self.versions(None))
            .finish()
    }
}

fn formatted(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Registry {
    /// The version serving `task`, if one is loaded.
    pub(crate) fn current(&self, task: &str) -> Option<Arc<LoadedComponent>> {
        let tasks = self.tasks.read().unwrap_or_else(|p| p.into_inner());
        let versions = tasks.get(task)?;
        Some(versions.versions[versions.current].component.clone())
    }

    /// Makes `component` current for its task. A version seen before moves back to
    /// current instead of being listed twice.
    pub(crate) fn activate(&self, component: Arc<LoadedComponent>, source: &str) {
        let mut tasks = self.tasks.write().unwrap_or_else(|p| p.into_inner());
        let versions = tasks.entry(component.name.clone()).or_default();
        let entry = Entry {
            activated_at: OffsetDateTime::now_utc(),
            source: source.to_string(),
            component,
        };
        match versions
            .versions
            .iter()
            .position(|e| e.component.sha256 == entry.component.sha256)
        {
            Some(index) => {
                versions.versions[index] = entry;
                versions.current = index;
            }
            None => {
                versions.versions.push(entry);
                versions.current = versions.versions.len() - 1;
            }
        }
    }

    /// Makes an earlier version current again: the one given by (a prefix of) its sha256,
    /// else the one before the current.
    pub(crate) fn rollback(
        &self,
        task: &str,
        to: Option<&str>,
    ) -> Result<Arc<LoadedComponent>, String> {
        let mut tasks = self.tasks.write().unwrap_or_else(|p| p.into_inner());
        let versions = tasks
            .get_mut(task)
            .ok_or_else(|| format!("no version of {task:?} is loaded"))?;
        let index = match to {
            Some(prefix) => {
                let matching: Vec<usize> = (0..versions.versions.len())
                    .filter(|&i| versions.versions[i].component.sha256.starts_with(prefix))
                    .collect();
                match matching.as_slice() {
                    [one] if !prefix.is_empty() => *one,
                    [] | [_] => {
                        return Err(format!("no version of {task:?} has sha256 {prefix:?}"));
                    }
                    _ => {
                        return Err(format!(
                            "{prefix:?} names more than one version of {task:?}"
                        ));
                    }
                }
            }
            None => versions
                .current
                .checked_sub(1)
                .ok_or_else(|| format!("{task:?} has no version before the current one"))?,
        };
        versions.current = index;
        versions.versions[index].activated_at = OffsetDateTime::now_utc();
        Ok(versions.versions[index].component.clone())
    }

    /// Every version of `task` (or of every task), oldest first.
    pub(crate) fn versions(&self, task: Option<&str>) -> Vec<VersionInfo> {
        let tasks = self.tasks.read().unwrap_or_else(|p| p.into_inner());
        tasks
            .iter()
            .filter(|(name, _)| task.is_none_or(|t| t == name.as_str()))
            .flat_map(|(name, versions)| {
                versions
                    .versions
                    .iter()
                    .enumerate()
                    .map(move |(i, e)| VersionInfo {
                        task: name.clone(),
                        sha256: e.component.sha256.clone(),
                        current: i == versions.current,
                        activated_at: formatted(e.activated_at),
                        source: e.source.clone(),
                    })
            })
            .collect()
    }

    /// Remembers a refused version (the latest few), stamped now.
    pub(crate) fn reject(&self, task: &str, sha256: String, source: &str, reason: String) {
        let rejection = Rejection {
            task: task.to_string(),
            sha256,
            source: source.to_string(),
            reason,
            at: formatted(OffsetDateTime::now_utc()),
        };
        let mut rejections = self.rejections.write().unwrap_or_else(|p| p.into_inner());
        if rejections.len() == KEPT_REJECTIONS {
            rejections.pop_front();
        }
        rejections.push_back(rejection);
    }

    /// The refused versions, oldest first.
    pub(crate) fn rejections(&self) -> Vec<Rejection> {
        let rejections = self.rejections.read().unwrap_or_else(|p| p.into_inner());
        rejections.iter().cloned().collect()
    }

    /// The current version of every loaded task, to pin for one execution.
    pub(crate) fn snapshot(&self) -> HashMap<String, Arc<LoadedComponent>> {
        let tasks = self.tasks.read().unwrap_or_else(|p| p.into_inner());
        tasks
            .iter()
            .map(|(name, v)| (name.clone(), v.versions[v.current].component.clone()))
            .collect()
    }
}
