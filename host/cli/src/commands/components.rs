//! `cafe-report components`: list, publish and roll back component versions. Publishing
//! writes the components directory, which a watching process (`Runtime::watch`) swaps to
//! without a restart.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use cafe_report_runtime::VersionStore;
use cafe_report_runtime::{Runtime, S3Location};
use cafe_report_server::Config;

/// `components` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Each task's current version (what a serving process runs), the versions that were
    /// current before, and a file on disk that a serving process refused, with the reason.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate and compile a component (and run it once on the task's smoke input, if
    /// one is given or configured), then make it the task's current version.
    Publish {
        /// query, render or presign.
        task: String,
        /// The component (.wasm).
        file: PathBuf,
        /// Input for the smoke run (JSON, @file or -); default: `[components.smoke]`.
        #[arg(long, value_name = "JSON")]
        smoke_input: Option<String>,
    },
    /// Make an earlier version current again (default: the one before the current).
    Rollback {
        /// query, render or presign.
        task: String,
        /// The sha256 (or a unique prefix) of the version to go back to.
        #[arg(long, value_name = "SHA256")]
        to: Option<String>,
    },
    /// Compile every task's current component into the cache directory
    /// (`[components] cache_dir`), e.g. for a Lambda package, so starts skip Cranelift.
    Precompile,
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<()> {
    let store = VersionStore::new(&config.components.dir(), &config.data_dir);
    match command {
        Command::List { json } => list(&store, json, &config.components.hint()),
        Command::Precompile => precompile(config).await,
        Command::Publish {
            task,
            file,
            smoke_input,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let smoke = match smoke_input {
                Some(arg) => Some(crate::input::read(&arg)?),
                None => config.components.smoke.get(&task).cloned(),
            };
            let source = file.display().to_string();
            activate(
                config,
                &store,
                &task,
                &bytes,
                "publish",
                &source,
                smoke.as_deref(),
            )
            .await
        }
        Command::Rollback { task, to } => {
            let sha = store.rollback_target(&task, to.as_deref())?;
            let bytes = store.bytes(&task, &sha)?;
            let smoke = config.components.smoke.get(&task).cloned();
            activate(
                config,
                &store,
                &task,
                &bytes,
                "rollback",
                "kept version",
                smoke.as_deref(),
            )
            .await
        }
    }
}

/// Checks the version the way a serving process will (validate, compile, smoke run),
/// then writes it as current.
async fn activate(
    config: &Config,
    store: &VersionStore,
    task: &str,
    bytes: &[u8],
    action: &str,
    source: &str,
    smoke: Option<&str>,
) -> anyhow::Result<()> {
    let runtime = Arc::new(Runtime::from_config(&config.runtime()).await?);
    runtime
        .publish(task, bytes, source, smoke)
        .await
        .with_context(|| format!("{task}: the new version was refused; the current one stays"))?;
    if let Some(url) = &config.components.s3 {
        upload(&runtime, url, task, bytes).await?;
    }
    let before = store.current(task)?;
    let sha = store.activate(task, bytes, action, source)?;
    let was = before.map_or("none".to_string(), |b| b[..12].to_string());
    super::print(&format!("{task}: {} is current (was {was})", &sha[..12]))
}

/// Puts the version at `<prefix>/<task>.wasm` in the S3 source, which must be in the
/// objects bucket (the store this host is configured to write).
async fn upload(runtime: &Runtime, url: &str, task: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let objects = &runtime.capabilities().objects;
    let location = S3Location::parse(url).context("components.s3")?;
    anyhow::ensure!(
        location.bucket == objects.bucket(),
        "components.s3 must be in the objects bucket {:?}, not {:?}",
        objects.bucket(),
        location.bucket
    );
    objects
        .put(
            &location.key(task),
            bytes.to_vec(),
            "application/wasm",
            "no-cache",
        )
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(())
}

async fn precompile(config: &Config) -> anyhow::Result<()> {
    let runtime = Runtime::from_config(&config.runtime()).await?;
    for world in cafe_report_runtime::World::ALL {
        let component = runtime.component(world.name())?;
        super::print(&format!(
            "{}: {} compiled",
            world.name(),
            &component.sha256[..12]
        ))?;
    }
    Ok(())
}

/// Lists every task's versions; with none at all, says where it looked and fails, so a
/// script does not take an empty table for success.
fn list(store: &VersionStore, json: bool, hint: &str) -> anyhow::Result<()> {
    let tasks = store.list()?;
    if tasks
        .iter()
        .all(|task| task.current.is_none() && task.history.is_empty())
    {
        bail!("no components found ({hint})");
    }
    if json {
        return super::print_json(&serde_json::to_value(&tasks)?);
    }
    // The AT column as wide as its longest time (older logs kept nanoseconds).
    let at = tasks
        .iter()
        .flat_map(|task| {
            let refused = task.refused.iter().map(|r| r.at.len());
            task.history.iter().map(|a| a.at.len()).chain(refused)
        })
        .max()
        .unwrap_or(0)
        .max(2);
    let mut lines = vec![format!(
        "{:<8} {:<12} {:<8} {:<at$} {}",
        "TASK", "SHA256", "ACTION", "AT", "SOURCE"
    )];
    for task in &tasks {
        let mut listed_current = false;
        let mut seen = std::collections::BTreeSet::new();
        for activation in task.history.iter().rev() {
            if !seen.insert(activation.sha256.clone()) {
                continue;
            }
            let is_current = task.current.as_deref() == Some(activation.sha256.as_str());
            listed_current |= is_current;
            lines.push(format!(
                "{:<8} {:<12} {:<8} {:<at$} {}{}",
                task.task,
                &activation.sha256[..12],
                activation.action,
                activation.at,
                activation.source,
                if is_current { "  (current)" } else { "" }
            ));
        }
        if let (Some(current), false) = (&task.current, listed_current) {
            lines.push(format!(
                "{:<8} {:<12} {:<8} {:<at$} {}",
                task.task,
                &current[..12],
                "build",
                "-",
                "(current)"
            ));
        }
        // The file on disk that a serving process refused: it does not serve.
        if let Some(refused) = &task.refused {
            lines.push(format!(
                "{:<8} {:<12} {:<8} {:<at$} {}  (refused: {})",
                task.task,
                &refused.sha256[..12],
                "refused",
                refused.at,
                refused.source,
                refused.reason
            ));
        }
    }
    super::print(&lines.join("\n"))
}
