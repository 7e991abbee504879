//! The `notify` capability: delivering the report link to people. Every message is first
//! written to the outbox (one `.eml` and one `.json`), so nothing is lost; with SMTP
//! configured it is then sent as a real email.

mod host;
mod outbox;
mod smtp;

pub use outbox::{Outbox, OutboxEntry};
pub use smtp::SmtpNotifier;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::NotifyConfig;

/// Publishes messages to the configured topic.
#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Publishes one message and returns its id.
    async fn publish(&self, subject: &str, body: &str) -> Result<String, String>;
}

/// The outbox under `<data_dir>/outbox`, plus SMTP delivery when `smtp_url` is set.
pub fn open(config: &NotifyConfig, data_dir: &Path) -> anyhow::Result<Arc<dyn Notifier>> {
    let outbox = Outbox::new(data_dir.join("outbox"), config)?;
    Ok(match &config.smtp_url {
        Some(url) => Arc::new(SmtpNotifier::new(url, outbox)?),
        None => Arc::new(outbox),
    })
}
