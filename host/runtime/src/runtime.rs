//! The runtime: one wasmtime engine, the loaded components, and running a task in a
//! fresh store under the configured limits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cafe_report_capabilities::clock::Clock;
use cafe_report_capabilities::{Capabilities, Quotas, TaskCtx};
use cafe_report_world::World;
use wasmtime::{Engine, Store, Trap};

use crate::cache::ArtifactCache;
use crate::config::RuntimeConfig;
use crate::error::TaskError;
use crate::limits::{Limits, TaskLimiter};
use crate::loader::{self, LoadedComponent};
use crate::registry::{Registry, Rejection, VersionInfo};
use crate::store::StoreState;
use cafe_report_base::names;

/// The input field naming who a task's notifications are for (the requester). The host
/// reads it and fixes the `notify` capability to that address.
pub const RECIPIENT_FIELD: &str = "recipient";

/// How often the epoch advances; a running component yields to the scheduler this often,
/// which is what lets a time limit stop a component stuck in a loop.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// `CAFE_REPORT_PERFMAP=1`: write a perf map of the compiled components (for profiling).
const PERFMAP_VAR: &str = "CAFE_REPORT_PERFMAP";

/// Loads components and runs tasks. Cheap to share behind an `Arc`; tasks run concurrently.
#[derive(Debug)]
pub struct Runtime {
    engine: Engine,
    cache: ArtifactCache,
    limits: Limits,
    capabilities: Capabilities,
    components_dir: PathBuf,
    /// Said when a component is not found: where the runtime looked.
    components_hint: String,
    registry: Registry,
}

fn engine_for(limits: &Limits) -> anyhow::Result<Engine> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if std::env::var_os(PERFMAP_VAR).is_some_and(|v| v == "1") {
        // Names compiled guest code in /tmp/perf-<pid>.map so `perf report` can show it.
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if limits.pooling {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        let instances = limits.pool_instances;
        pool.total_component_instances(instances)
            // wit-component adds small shim modules: a few core instances per component.
            .total_core_instances(instances * 4)
            .total_memories(instances * 2)
            .total_tables(instances * 4)
            .max_memory_size(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(
                usize::try_from(limits.pool_keep_resident_bytes).unwrap_or(usize::MAX),
            );
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Advances the engine's epoch every tick until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("cafe-report-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

/// The message of a trap or host error, without the wasm backtrace.
fn describe(err: &wasmtime::Error) -> String {
    match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    }
}

impl Runtime {
    /// A runtime over `capabilities`, caching compiled components in `cache_dir` and loading
    /// components by task name from `components_dir/<name>.wasm` on first use.
    pub fn new(
        limits: Limits,
        capabilities: Capabilities,
        cache_dir: PathBuf,
        components_dir: PathBuf,
    ) -> anyhow::Result<Runtime> {
        limits.check()?;
        let engine = engine_for(&limits)?;
        Ok(Runtime {
            cache: ArtifactCache::new(cache_dir, &engine),
            engine,
            limits,
            capabilities,
            components_hint: crate::config::ComponentsConfig {
                dir: Some(components_dir.clone()),
                ..Default::default()
            }
            .hint(),
            components_dir,
            registry: Registry::default(),
        })
    }

    /// Builds capabilities and the runtime from configuration.
    pub async fn from_config(config: &RuntimeConfig) -> anyhow::Result<Runtime> {
        let capabilities =
            Capabilities::from_config(&config.capabilities, &config.data_dir).await?;
        let mut runtime = Runtime::new(
            config.limits.clone(),
            capabilities,
            config
                .components
                .cache_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("cache")),
            config.components.dir(),
        )?;
        runtime.components_hint = config.components.hint();
        Ok(runtime)
    }

    /// The same runtime with tasks seeing `clock` (e.g. fixed, for deterministic runs).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Runtime {
        self.capabilities = self.capabilities.with_clock(clock);
        self
    }

    /// The capabilities tasks are granted from.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The limits every task runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Loads `bytes` as the component for task `name` (linked against `world`) and makes
    /// it the one that serves `name`.
    pub fn load(
        &self,
        name: &str,
        world: World,
        bytes: &[u8],
    ) -> anyhow::Result<Arc<LoadedComponent>> {
        let component = self.compile(name, world, bytes)?;
        self.registry.activate(component.clone(), "load");
        Ok(component)
    }

    fn compile(
        &self,
        name: &str,
        world: World,
        bytes: &[u8],
    ) -> anyhow::Result<Arc<LoadedComponent>> {
        let component = Arc::new(
            loader::load(&self.engine, &self.cache, name, world, bytes)
                .with_context(|| format!("loading component {name:?}"))?,
        );
        tracing::debug!(task = name, sha256 = %component.sha256, "component loaded");
        Ok(component)
    }

    /// Publishes a new version of task `name` (whose world is the task's own): validates
    /// and compiles it, smoke-runs it (on `smoke_input`, else the task's default input;
    /// see `smoke.rs`), and only then makes it current. Tasks already running keep the
    /// version they started with. A version that fails any step is refused with the
    /// reason (also logged) and the current one stays.
    pub async fn publish(
        &self,
        name: &str,
        bytes: &[u8],
        source: &str,
        smoke_input: Option<&str>,
    ) -> anyhow::Result<Arc<LoadedComponent>> {
        let outcome = async {
            let world = World::from_name(name)
                .with_context(|| format!("{name:?} is not a task (query, render, presign)"))?;
            let candidate = self.compile(name, world, bytes)?;
            self.smoke_run(world, &candidate, smoke_input)
                .await
                .context("the smoke run failed")?;
            Ok::<_, anyhow::Error>(candidate)
        }
        .await;
        match outcome {
            Ok(component) => {
                self.registry.activate(component.clone(), source);
                tracing::info!(task = name, sha256 = %component.sha256, source, "component version is now current");
                Ok(component)
            }
            Err(err) => {
                let reason = format!("{err:#}");
                let current = self.registry.current(name).map(|c| c.sha256.clone());
                tracing::warn!(task = name, source, %reason, current = ?current, "component version rejected; the current one stays");
                self.registry
                    .reject(name, crate::sha256(bytes), source, reason);
                Err(err)
            }
        }
    }

    /// [`Runtime::publish`], unless `bytes` are already the version serving `name`: then
    /// nothing happens and the answer is `None`.
    pub(crate) async fn publish_if_new(
        &self,
        name: &str,
        bytes: &[u8],
        source: &str,
        smoke_input: Option<&str>,
    ) -> anyhow::Result<Option<Arc<LoadedComponent>>> {
        let sha256 = crate::sha256(bytes);
        if self
            .registry
            .current(name)
            .is_some_and(|c| c.sha256 == sha256)
        {
            return Ok(None);
        }
        self.publish(name, bytes, source, smoke_input)
            .await
            .map(Some)
    }

    /// Makes an earlier version of `name` current again: the one whose sha256 starts with
    /// `to`, else the one before the current.
    pub fn rollback(&self, name: &str, to: Option<&str>) -> anyhow::Result<Arc<LoadedComponent>> {
        let component = self
            .registry
            .rollback(name, to)
            .map_err(anyhow::Error::msg)?;
        tracing::info!(task = name, sha256 = %component.sha256, "rolled back");
        Ok(component)
    }

    /// Every version loaded in this process, of `task` or of all tasks, oldest first.
    pub fn versions(&self, task: Option<&str>) -> Vec<VersionInfo> {
        self.registry.versions(task)
    }

    /// The versions refused in this process (the latest 50), oldest first, with reasons.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.registry.rejections()
    }

    /// The current version of every loaded task: what an execution pins at its start.
    pub fn snapshot(&self) -> HashMap<String, Arc<LoadedComponent>> {
        self.registry.snapshot()
    }

    /// The component serving `name`, loading `<components_dir>/<name>.wasm` (world of the
    /// same name) on first use.
    pub fn component(&self, name: &str) -> anyhow::Result<Arc<LoadedComponent>> {
        if let Some(component) = self.registry.current(name) {
            return Ok(component);
        }
        let world = World::from_name(name)
            .with_context(|| format!("no component is loaded for task {name:?}"))?;
        let path = self.components_dir.join(format!("{name}.wasm"));
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading {} ({})", path.display(), self.components_hint))?;
        let component = self.compile(name, world, &bytes)?;
        self.registry
            .activate(component.clone(), &path.display().to_string());
        Ok(component)
    }

    /// Runs task `name` on `input` (JSON text) and returns its output (JSON text).
    pub async fn run(&self, name: &str, input: &str) -> Result<String, TaskError> {
        let component = self
            .component(name)
            .map_err(|err| TaskError::failed(names::TASK_FAILED, format!("{err:#}")))?;
        self.run_component(&component, input).await
    }

    /// Step Functions' payload limit, for inputs and outputs alike.
    fn check_payload(limit: usize, what: &str, payload: &str) -> Result<(), TaskError> {
        if payload.len() <= limit {
            return Ok(());
        }
        Err(TaskError::failed(
            names::DATA_LIMIT_EXCEEDED,
            format!(
                "task {what} is {} bytes, over the {limit}-byte limit",
                payload.len()
            ),
        ))
    }

    /// Runs one component on `input` (JSON text) in a fresh store; its output is JSON text.
    pub async fn run_component(
        &self,
        component: &LoadedComponent,
        input: &str,
    ) -> Result<String, TaskError> {
        /// The one field of a task's input the host reads ([`RECIPIENT_FIELD`]).
        #[derive(serde::Deserialize)]
        struct Addressed {
            recipient: Option<String>,
        }
        let recipient = serde_json::from_str::<Addressed>(input)
            .ok()
            .and_then(|addressed| addressed.recipient);
        let output = self
            .execute(component, input, recipient, None, self.capabilities.clone())
            .await?;
        parse_output::<serde::de::IgnoredAny>(&output)?;
        Ok(output)
    }

    /// Runs one component on a JSON value and returns its output as one: what the local
    /// engine's invoker and the Lambda host both need. The output is parsed once, here.
    pub async fn run_json(
        &self,
        component: &LoadedComponent,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, TaskError> {
        self.run_json_once(component, input, None).await
    }

    /// [`run_json`](Runtime::run_json) for one task attempt of an execution, whose
    /// message goes out at most once for `key` however often the attempt runs (a
    /// resumed execution runs again a task whose end was not recorded).
    pub async fn run_json_once(
        &self,
        component: &LoadedComponent,
        input: &serde_json::Value,
        key: Option<&str>,
    ) -> Result<serde_json::Value, TaskError> {
        let recipient = input
            .get(RECIPIENT_FIELD)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        let output = self
            .execute(
                component,
                &input.to_string(),
                recipient,
                key.map(str::to_string),
                self.capabilities.clone(),
            )
            .await?;
        parse_output(&output)
    }

    /// Runs one component in a fresh store with `capabilities` under its limits, its
    /// notifications addressed to `recipient` (and published once for `once_key`); the
    /// output is not yet checked to be JSON.
    pub(crate) async fn execute(
        &self,
        component: &LoadedComponent,
        input: &str,
        recipient: Option<String>,
        once_key: Option<String>,
        capabilities: Capabilities,
    ) -> Result<String, TaskError> {
        let limits = self.limits.for_task(&component.name);
        Self::check_payload(limits.payload_bytes, "input", input)?;
        let state = StoreState {
            ctx: TaskCtx::new(&component.name, capabilities)
                .for_recipient(recipient)
                .publishing_once(once_key)
                .with_quotas(Quotas {
                    publishes: limits.publishes,
                    log_lines: limits.log_lines,
                }),
            limiter: TaskLimiter::new(&limits),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_async_yield_and_update(1);

        let timeout = Duration::from_millis(limits.timeout_ms);
        let outcome = tokio::time::timeout(timeout, async {
            let bindings = component
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(|err| ("could not be instantiated", err))?;
            bindings
                .cafe_report_task()
                .call_run(&mut store, input)
                .await
                .map_err(|err| ("trapped", err))
        })
        .await;

        let output = match outcome {
            Err(_elapsed) => {
                return Err(TaskError::failed(
                    names::TIMEOUT,
                    format!(
                        "task {} did not finish within its time limit of {} ms",
                        component.name, limits.timeout_ms
                    ),
                ));
            }
            Ok(Err((what, err))) => {
                let state = store.data_mut();
                // A refused growth explains itself; otherwise say what failed, with the
                // guest's last error line (its panic message) when there is one.
                let cause = state.limiter.exceeded.take().unwrap_or_else(|| {
                    let mut cause = format!("component {what}: {}", describe(&err));
                    if let Some(logged) = state.ctx.last_error() {
                        cause.push_str(&format!(" ({logged})"));
                    }
                    cause
                });
                tracing::warn!(task = %component.name, %cause, "task failed");
                return Err(TaskError::failed(names::TASK_FAILED, cause));
            }
            Ok(Ok(result)) => result.map_err(TaskError::from)?,
        };
        Self::check_payload(limits.payload_bytes, "output", &output)?;
        Ok(output)
    }
}

/// A component's output as `T`; text that is not JSON fails the task.
pub(crate) fn parse_output<T: serde::de::DeserializeOwned>(output: &str) -> Result<T, TaskError> {
    serde_json::from_str(output).map_err(|err| {
        TaskError::failed(
            names::TASK_FAILED,
            format!("component returned invalid JSON: {err}"),
        )
    })
}
