//! The host side of cafe-report's capabilities: one module per WIT interface, each with a
//! small backend trait, its backends, and the WIT host implementation (`host.rs`).
//!
//! | capability | trait | backends |
//! |---|---|---|
//! | `sql` | [`sql::SqlBackend`] | SQLite (embedded default), MySQL |
//! | `objects` | [`objects::ObjectStore`] | any S3 endpoint via aws-sdk-s3; [`objects::EmbeddedS3`] serves one locally |
//! | `notify` | [`notify::Notifier`] | outbox directory, SMTP |
//! | `signer` | [`signer::Signer`] | static credentials (config/env) |
//! | `clock` | [`clock::Clock`] | the engine's clock (system, from `--now`, fixed) |
//! | `log` | - | the host's `tracing` |
//!
//! [`Capabilities::from_config`] builds them all once; each task gets a [`TaskCtx`] that
//! shares them. Which interfaces a component may call is decided by the linker (engine crate).

#![deny(missing_docs)]

pub mod clock;
pub mod config;
pub mod log;
pub mod notify;
pub mod objects;
pub mod signer;
pub mod sql;

use std::path::Path;
use std::sync::Arc;

pub use config::CapabilitiesConfig;

/// Every backend the host can grant, built once and shared by all tasks.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// The café database.
    pub sql: Arc<dyn sql::SqlBackend>,
    /// Where reports are stored.
    pub objects: Arc<dyn objects::ObjectStore>,
    /// Where notifications go.
    pub notifier: Arc<dyn notify::Notifier>,
    /// Signs with the host's credentials.
    pub signer: Arc<dyn signer::Signer>,
    /// The time tasks see.
    pub clock: Arc<dyn clock::Clock>,
    /// The embedded S3 endpoint, when objects are stored locally; kept alive with the host.
    pub embedded_s3: Option<Arc<objects::EmbeddedS3>>,
}

impl Capabilities {
    /// Builds the configured backends. Local defaults live under `data_dir`.
    pub async fn from_config(
        config: &CapabilitiesConfig,
        data_dir: &Path,
    ) -> anyhow::Result<Capabilities> {
        let signer = Arc::new(signer::StaticSigner::new(config.signer.credentials())?);
        let sql_url = config.sql.url_or_default(data_dir);
        let sql = sql::open(&sql_url).await?;
        let (objects, embedded_s3) =
            objects::open(&config.objects, signer.credentials(), data_dir).await?;
        let notifier = notify::open(
            &config.notify,
            data_dir,
            signer.credentials(),
            config.objects.endpoint.as_deref(),
        )?;
        Ok(Capabilities {
            sql,
            objects,
            notifier,
            signer,
            clock: Arc::new(clock::TokioClock::system()),
            embedded_s3,
        })
    }

    /// The same capabilities with another clock (e.g. fixed, for deterministic runs).
    pub fn with_clock(mut self, clock: Arc<dyn clock::Clock>) -> Capabilities {
        self.clock = clock;
        self
    }

    /// The S3 endpoint URL that presigned links should point at, when not AWS's own.
    pub fn objects_endpoint(&self) -> Option<String> {
        self.objects.endpoint()
    }
}

/// What one task's store holds: the shared capabilities and the task's name for logs.
#[derive(Debug)]
pub struct TaskCtx {
    task: String,
    capabilities: Capabilities,
    last_error: Option<String>,
}

impl TaskCtx {
    /// A context for one run of `task`.
    pub fn new(task: impl Into<String>, capabilities: Capabilities) -> TaskCtx {
        TaskCtx {
            task: task.into(),
            capabilities,
            last_error: None,
        }
    }

    /// The last error-level line the component logged (guests log their panic message
    /// there just before trapping).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

/// A fresh random id (32 lowercase hex digits).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
