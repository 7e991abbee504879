//! WIT `cafe:report/notify` for components.

use cafe_report_world::notify::Host;

use crate::TaskCtx;

impl Host for TaskCtx {
    async fn publish(&mut self, subject: String, message: String) -> Result<String, String> {
        self.capabilities
            .notifier
            .publish(self.recipient.as_deref(), &subject, &message)
            .await
            .inspect_err(|err| tracing::warn!(task = %self.task, %err, "publish failed"))
            .map_err(|err| err.to_string())
    }
}
