//! WIT `cafe:report/signer` for components.

use std::time::{Duration, UNIX_EPOCH};

use cafe_report_world::signer::{self, Host};

use crate::TaskCtx;

use super::LinkRequest;

impl Host for TaskCtx {
    async fn presign(
        &mut self,
        request: signer::LinkRequest,
    ) -> Result<signer::PresignedLink, String> {
        let now = UNIX_EPOCH + Duration::from_millis(self.capabilities.clock.now_millis());
        let request = LinkRequest {
            method: request.method,
            bucket: request.bucket,
            key: request.key,
            expires_in: request.expires_in,
        };
        let link = self
            .capabilities
            .signer
            .presign(&request, now)
            .map_err(|err| {
                tracing::warn!(task = %self.task, %err, "link refused");
                err.to_string()
            })?;
        Ok(signer::PresignedLink {
            url: link.url,
            expires_at: link.expires_at_ms,
        })
    }
}
