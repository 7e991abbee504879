//! Per-task limits and the store's resource limiter that enforces them.

use serde::{Deserialize, Serialize};

/// Step Functions' payload limit, for inputs and outputs alike.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

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
