//! Per-task limits and the store's resource limiter that enforces them.

use std::collections::BTreeMap;

use cafe_report_base::limits::MAX_PAYLOAD_BYTES;
use serde::{Deserialize, Serialize};

/// Limits applied to every task run (`[limits]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock budget for one task, host calls included.
    pub timeout_ms: u64,
    /// Largest linear memory a component may grow to.
    pub memory_bytes: u64,
    /// Largest table a component may grow to, in elements.
    pub table_elements: u64,
    /// Largest input and output, in bytes.
    pub payload_bytes: usize,
    /// Use wasmtime's pooling allocator (faster instantiation, memory reserved up front).
    pub pooling: bool,
    /// With pooling: how many component instances may live at once.
    pub pool_instances: u32,
    /// With pooling: how much of a finished instance's linear memory is zeroed in place
    /// and kept resident for the next one, instead of being returned to the kernel and
    /// faulted in again. Costs up to this much resident memory per pool slot used.
    pub pool_keep_resident_bytes: u64,
    /// Messages one run may publish (`notify`); presign sends one.
    pub publishes: u32,
    /// Log lines one run may write; later ones are dropped, with one warning.
    pub log_lines: u32,
    /// Per-task overrides (`[limits.tasks.render] timeout_ms = 2000`); unset fields
    /// keep the values above.
    pub tasks: BTreeMap<String, TaskLimits>,
}

/// One task's own limits, each overriding the `[limits]` value of the same name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskLimits {
    /// Wall-clock budget for one run.
    pub timeout_ms: Option<u64>,
    /// Largest linear memory; with pooling, at most `[limits] memory_bytes`, which sizes
    /// the pool's slots.
    pub memory_bytes: Option<u64>,
    /// Largest table, in elements.
    pub table_elements: Option<u64>,
    /// Largest input and output, in bytes.
    pub payload_bytes: Option<usize>,
    /// Messages one run may publish.
    pub publishes: Option<u32>,
    /// Log lines one run may write.
    pub log_lines: Option<u32>,
}

impl Limits {
    /// The limits a run of `task` gets: its overrides over the general values.
    pub fn for_task(&self, task: &str) -> Limits {
        let mut limits = Limits {
            tasks: BTreeMap::new(),
            ..self.clone()
        };
        if let Some(own) = self.tasks.get(task) {
            limits.timeout_ms = own.timeout_ms.unwrap_or(limits.timeout_ms);
            limits.memory_bytes = own.memory_bytes.unwrap_or(limits.memory_bytes);
            limits.table_elements = own.table_elements.unwrap_or(limits.table_elements);
            limits.payload_bytes = own.payload_bytes.unwrap_or(limits.payload_bytes);
            limits.publishes = own.publishes.unwrap_or(limits.publishes);
            limits.log_lines = own.log_lines.unwrap_or(limits.log_lines);
        }
        limits
    }

    /// Refuses overrides that cannot hold: more memory than the pool's slots have.
    pub fn check(&self) -> anyhow::Result<()> {
        for (task, own) in &self.tasks {
            if let Some(memory) = own.memory_bytes
                && self.pooling
                && memory > self.memory_bytes
            {
                anyhow::bail!(
                    "limits.tasks.{task}.memory_bytes = {memory} is over limits.memory_bytes = {}, the most a pooled instance can have; raise limits.memory_bytes or lower the task's",
                    self.memory_bytes
                );
            }
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 10_000,
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            payload_bytes: MAX_PAYLOAD_BYTES,
            pooling: true,
            pool_instances: 64,
            // Covers a render task's whole heap at the usual inventory sizes: 1.4x faster
            // on a 143 KB inventory than returning the pages (BENCHMARKS.md).
            pool_keep_resident_bytes: 4 << 20,
            publishes: 1,
            log_lines: 1000,
            tasks: BTreeMap::new(),
        }
    }
}

/// Enforces memory and table limits for one store, remembering what was hit so the
/// trap can be reported as what it is.
#[derive(Debug)]
pub(crate) struct TaskLimiter {
    memory_bytes: usize,
    table_elements: usize,
    /// Set when a growth was refused.
    pub(crate) exceeded: Option<String>,
}

impl TaskLimiter {
    pub(crate) fn new(limits: &Limits) -> TaskLimiter {
        TaskLimiter {
            memory_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            table_elements: usize::try_from(limits.table_elements).unwrap_or(usize::MAX),
            exceeded: None,
        }
    }
}

impl TaskLimiter {
    /// Allows growth up to `limit`; past it, records why and traps at the growing instruction.
    fn allow(&mut self, desired: usize, limit: usize, what: &str) -> wasmtime::Result<bool> {
        if desired <= limit {
            return Ok(true);
        }
        let why = format!("component exceeded its {what} limit of {limit} (asked for {desired})");
        self.exceeded = Some(why.clone());
        Err(wasmtime::Error::msg(why))
    }
}

impl wasmtime::ResourceLimiter for TaskLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.allow(desired, self.memory_bytes, "memory (bytes)")
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.allow(desired, self.table_elements, "table (elements)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_overrides_win_field_by_field() {
        let limits = Limits {
            tasks: BTreeMap::from([(
                "render".to_string(),
                TaskLimits {
                    timeout_ms: Some(500),
                    memory_bytes: Some(8 << 20),
                    ..TaskLimits::default()
                },
            )]),
            ..Limits::default()
        };
        let render = limits.for_task("render");
        assert_eq!((render.timeout_ms, render.memory_bytes), (500, 8 << 20));
        assert_eq!(render.table_elements, Limits::default().table_elements);
        assert_eq!(limits.for_task("query").timeout_ms, 10_000);
        assert!(limits.check().is_ok());

        let too_big = Limits {
            tasks: BTreeMap::from([(
                "query".to_string(),
                TaskLimits {
                    memory_bytes: Some(1 << 30),
                    ..TaskLimits::default()
                },
            )]),
            ..Limits::default()
        };
        let err = too_big.check().unwrap_err().to_string();
        assert!(err.contains("limits.tasks.query.memory_bytes"), "{err}");
    }
}
