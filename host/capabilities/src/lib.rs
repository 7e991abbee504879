//! The host side of cafe-report's capabilities: one module per WIT interface, each with a
//! small backend trait, its backends, and the WIT host implementation (`host.rs`).
//!
//! | capability | trait | backends |
//! |---|---|---|
//! | `sql` | [`sql::SqlBackend`] | SQLite (embedded default), MySQL |
//! | `objects` | [`objects::ObjectStore`] | any S3 endpoint via aws-sdk-s3; [`objects::EmbeddedS3`] serves one locally |
//! | `notify` | [`notify::Notifier`] | outbox directory, SMTP |
//! | `signer` | [`signer::Signer`] | static credentials (config, environment, the embedded endpoint's signing key) |
//! | `clock` | [`clock::Clock`] | the engine's clock (system, from `--now`, fixed) |
//! | `log` | - | the host's `tracing` |
//!
//! [`Capabilities::from_config`] builds them all once; each task gets a [`TaskCtx`] that
//! shares them. Which interfaces a component may call is decided by the linker (engine crate).

#![deny(missing_docs)]

pub mod clock;
pub mod config;
pub mod http;
pub mod log;
pub mod notify;
pub mod objects;
pub mod signer;
pub mod smoke;
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
    /// Makes report links with the host's credentials.
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
        let configured = config.signer.configured();
        let secret = match &config.sql.secret {
            Some(arn) => Some(sql::DatabaseSecret::new(
                arn,
                config.objects.endpoint.as_deref(),
                signer::required(configured.as_ref(), "[sql] secret (Secrets Manager)")?,
            )?),
            None => None,
        };
        let sql = sql::open(&config.sql, data_dir, secret).await?;
        let opened = objects::open(
            &config.objects,
            configured.as_ref(),
            &config.signer.region,
            config.links.max_expires_seconds,
            data_dir,
        )
        .await?;
        let policy = signer::LinkPolicy {
            bucket: config.objects.bucket.clone(),
            endpoint: opened.store.endpoint(),
            path_style: opened.path_style,
            region: opened.region.clone(),
            max_expires_seconds: config.links.max_expires_seconds,
        };
        let notifier = notify::open(
            &config.notify,
            data_dir,
            configured.as_ref(),
            config.objects.endpoint.as_deref(),
        )?;
        Ok(Capabilities {
            sql,
            objects: opened.store,
            notifier,
            signer: Arc::new(signer::StaticSigner::new(opened.signing, policy)?),
            clock: Arc::new(clock::TokioClock::system()),
            embedded_s3: opened.embedded,
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
    /// Who this run's notifications are for (the payload's `recipient`), fixed by the
    /// host: the component cannot address a message to anyone else.
    recipient: Option<String>,
    /// The run's idempotency key, when an execution's task attempt runs it: its message
    /// is published once for that key, however often the attempt runs.
    once_key: Option<String>,
    last_error: Option<String>,
    quotas: Quotas,
    published: u32,
    logged: u32,
}

/// What one run may do at most, beyond time and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Messages published.
    pub publishes: u32,
    /// Log lines written.
    pub log_lines: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            publishes: 1,
            log_lines: 1000,
        }
    }
}

impl TaskCtx {
    /// A context for one run of `task`.
    pub fn new(task: impl Into<String>, capabilities: Capabilities) -> TaskCtx {
        TaskCtx {
            task: task.into(),
            capabilities,
            recipient: None,
            once_key: None,
            last_error: None,
            quotas: Quotas::default(),
            published: 0,
            logged: 0,
        }
    }

    /// The same context under `quotas`.
    pub fn with_quotas(mut self, quotas: Quotas) -> TaskCtx {
        self.quotas = quotas;
        self
    }

    /// The same context whose notifications go to `recipient` alone.
    pub fn for_recipient(mut self, recipient: Option<String>) -> TaskCtx {
        self.recipient = recipient;
        self
    }

    /// The same context publishing at most once for `key` (see
    /// [`notify::Notifier::publish_once`]).
    pub fn publishing_once(mut self, key: Option<String>) -> TaskCtx {
        self.once_key = key;
        self
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

/// An error and its causes as people read them: each cause's own words once, joined by
/// `: `. Errors that repeat their source in their message (mysql_async's `Input/output
/// error: <source>`, anyhow's contexts) or that only wrap it are said once; and not
/// `DisplayErrorContext`, which ends with a `Debug` dump that reached the failure mail.
pub fn error_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(err);
    while let Some(err) = cause {
        let message = err.to_string();
        let source = err.source().map(ToString::to_string);
        // What this error says beyond its source.
        let own = match &source {
            Some(source) if message == *source => "",
            Some(source) => message
                .strip_suffix(source.as_str())
                .map_or(message.as_str(), |own| own.trim_end_matches([':', ' '])),
            None => message.as_str(),
        };
        if !own.is_empty() && parts.last().is_none_or(|last| last != own) {
            parts.push(own.to_string());
        }
        cause = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_text_says_each_cause_once_without_debug() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err = anyhow::Error::new(io)
            .context("Connection refused")
            .context("dispatch failure");
        let text = super::error_text(err.as_ref());
        assert_eq!(text, "dispatch failure: Connection refused");

        // An error whose message already holds its source's, over one that does too.
        #[derive(Debug)]
        struct Wrap(&'static str, Box<dyn std::error::Error + 'static>);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}: {}", self.0, self.1)
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&*self.1)
            }
        }
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let inner = Wrap("Input/output error", Box::new(refused));
        let outer = Wrap("Input/output error", Box::new(inner));
        assert_eq!(
            super::error_text(&outer),
            "Input/output error: Connection refused"
        );
    }
}
