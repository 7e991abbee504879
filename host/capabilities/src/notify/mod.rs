//! The `notify` capability: delivering the report link to people. Every message is first
//! written to the outbox (one `.eml` and one `.json`), so nothing is lost; with SMTP
//! configured it is then sent as a real email. On AWS, messages go to an SNS topic instead.

mod host;
mod outbox;
mod smtp;
mod sns;

pub use outbox::{Outbox, OutboxEntry};
pub use smtp::SmtpNotifier;
pub use sns::{RECIPIENT_ATTRIBUTE, SnsNotifier};

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::NotifyConfig;
use crate::signer::Credentials;

/// Why a message was not published. The text says what failed and where the message is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The message could not be built (e.g. a subject no mail header can carry).
    #[error("{0}")]
    Message(String),
    /// The outbox could not be written.
    #[error("{0}")]
    Outbox(String),
    /// The delivery path (SMTP server, SNS) refused or could not be reached.
    #[error("{0}")]
    Delivery(String),
}

/// Publishes messages to the configured topic.
#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Publishes one message and returns its id. With a `recipient` (the requester's
    /// address) only that person receives it; without one, the topic's subscribers
    /// (`[notify] to`, or SNS subscriptions without a filter policy) do.
    async fn publish(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<String, NotifyError>;

    /// [`publish`](Notifier::publish) at most once per `key` (one task attempt of one
    /// execution, see `TaskInvoker::invoke_once`): a second call with a key whose
    /// message was delivered returns that message's id and sends nothing. The outbox
    /// and SMTP keep this promise; by default (SNS: a standard topic has no
    /// deduplication) it is a plain publish.
    async fn publish_once(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
        key: &str,
    ) -> Result<String, NotifyError> {
        let _ = key;
        self.publish(recipient, subject, body).await
    }
}

/// An SNS topic when `sns_topic_arn` is set (with `default_endpoint` unless the config
/// names one); else the outbox under `<data_dir>/outbox`, plus SMTP delivery when
/// `smtp_url` is set.
pub fn open(
    config: &NotifyConfig,
    data_dir: &Path,
    credentials: Option<&Credentials>,
    default_endpoint: Option<&str>,
) -> anyhow::Result<Arc<dyn Notifier>> {
    if let Some(topic) = &config.sns_topic_arn {
        let endpoint = config.sns_endpoint.as_deref().or(default_endpoint);
        let credentials = crate::signer::required(credentials, "[notify] sns_topic_arn")?;
        return Ok(Arc::new(SnsNotifier::new(topic, endpoint, credentials)?));
    }
    let outbox = Outbox::new(data_dir.join("outbox"), config)?;
    Ok(match &config.smtp_url {
        Some(url) => Arc::new(SmtpNotifier::new(url, outbox)?),
        None => Arc::new(outbox),
    })
}
