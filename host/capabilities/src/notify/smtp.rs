//! Real email through an SMTP server (lettre), after the message is safe in the outbox.

use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Notifier, NotifyError, Outbox};

/// Sends every message by SMTP; the outbox keeps a copy whether or not sending works.
#[derive(Debug, Clone)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    outbox: Outbox,
    server: String,
}

impl SmtpNotifier {
    /// `url` as lettre reads it, e.g. `smtp://127.0.0.1:2525`.
    pub fn new(url: &str, outbox: Outbox) -> anyhow::Result<SmtpNotifier> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| anyhow::anyhow!("SMTP URL {url:?}: {err}"))?
            .build();
        let server = url.split('@').next_back().unwrap_or(url).to_string();
        Ok(SmtpNotifier {
            transport,
            outbox,
            server,
        })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn publish(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<String, NotifyError> {
        let (entry, email) = self.outbox.write(recipient, subject, body).await?;
        self.send(entry, email).await
    }

    async fn publish_once(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
        key: &str,
    ) -> Result<String, NotifyError> {
        let (entry, email) = match self.outbox.reserve(key).await? {
            (id, Some(entry)) if entry.delivered => {
                tracing::info!(message_id = %id, "message already sent by SMTP; not sent again");
                return Ok(id);
            }
            // Written, not sent (the process stopped, or the server refused): send it.
            (_, Some(entry)) => {
                let email = self.outbox.email_of(&entry)?;
                (entry, email)
            }
            (id, None) => self.outbox.write_as(id, recipient, subject, body).await?,
        };
        self.send(entry, email).await
    }
}

impl SmtpNotifier {
    /// Sends a message the outbox holds and marks it delivered. Should the process stop
    /// between the server's answer and the mark, the message is sent again with the
    /// same `Message-ID`, by which mail systems recognize a duplicate.
    async fn send(
        &self,
        mut entry: super::OutboxEntry,
        email: lettre::Message,
    ) -> Result<String, NotifyError> {
        self.transport.send(email).await.map_err(|err| {
            NotifyError::Delivery(format!(
                "sending message {} via SMTP ({}) failed: {err}; it stays in the outbox",
                entry.message_id, self.server
            ))
        })?;
        entry.delivered = true;
        self.outbox.save(&entry, None).await?;
        tracing::info!(message_id = %entry.message_id, "message sent by SMTP");
        Ok(entry.message_id)
    }
}
