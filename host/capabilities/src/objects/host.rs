//! WIT `cafe:report/objects` for components.

use cafe_report_world::objects::{Host, ObjectInfo};

use crate::TaskCtx;

impl Host for TaskCtx {
    async fn put(
        &mut self,
        key: String,
        body: Vec<u8>,
        content_type: String,
        cache_control: String,
    ) -> Result<ObjectInfo, String> {
        let info = self
            .capabilities
            .objects
            .put(&key, body, &content_type, &cache_control)
            .await
            .inspect_err(|err| tracing::warn!(task = %self.task, %err, "object put failed"))
            .map_err(|err| err.to_string())?;
        Ok(ObjectInfo {
            bucket: info.bucket,
            key: info.key,
            etag: info.etag,
            size: info.size,
        })
    }
}
