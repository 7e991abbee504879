//! WIT `cafe:report/signer` for components.

use std::time::{Duration, UNIX_EPOCH};

use cafe_report_world::signer::{Host, SigningIdentity};

use crate::TaskCtx;

impl Host for TaskCtx {
    async fn identity(&mut self) -> SigningIdentity {
        let identity = self.capabilities.signer.identity();
        SigningIdentity {
            access_key_id: identity.access_key_id,
            session_token: identity.session_token,
            region: identity.region,
        }
    }

    async fn sign(
        &mut self,
        string_to_sign: String,
        date: String,
        region: String,
        service: String,
    ) -> Result<String, String> {
        let now = UNIX_EPOCH + Duration::from_millis(self.capabilities.clock.now_millis());
        self.capabilities
            .signer
            .sign(&string_to_sign, &date, &region, &service, now)
            .map_err(|err| {
                tracing::warn!(task = %self.task, %err, "signature refused");
                err.to_string()
            })
    }
}
