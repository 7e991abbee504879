//! WIT `cafe:report/notify` for components.

use cafe_report_world::notify::Host;

use crate::TaskCtx;

impl Host for TaskCtx {
    async fn publish(&mut self, subject: String, message: String) -> Result<String, String> {
        if self.published >= self.quotas.publishes {
            let refusal = format!(
                "this task may publish at most {} message(s) per run ([limits] publishes)",
                self.quotas.publishes
            );
            tracing::warn!(task = %self.task, "{refusal}");
            return Err(refusal);
        }
        self.published += 1;
        let notifier = &self.capabilities.notifier;
        let recipient = self.recipient.as_deref();
        match &self.once_key {
            Some(key) => {
                notifier
                    .publish_once(recipient, &subject, &message, key)
                    .await
            }
            None => notifier.publish(recipient, &subject, &message).await,
        }
        .inspect_err(|err| tracing::warn!(task = %self.task, %err, "publish failed"))
        .map_err(|err| err.to_string())
    }
}
