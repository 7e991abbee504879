//! WIT `cafe:report/objects` for components: puts under the report prefix only
//! ([`check_report_key`]).

use cafe_report_world::objects::{Host, ObjectInfo};

use crate::TaskCtx;

use super::check_report_key;

impl Host for TaskCtx {
    async fn put(
        &mut self,
        key: String,
        body: Vec<u8>,
        content_type: String,
        cache_control: String,
    ) -> Result<ObjectInfo, String> {
        check_report_key(&key)
            .inspect_err(|err| tracing::warn!(task = %self.task, %err, "object put refused"))?;
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

#[cfg(test)]
mod tests {
    use super::check_report_key as check_key;

    #[test]
    fn keys_outside_the_report_prefix_or_the_bucket_are_refused() {
        assert_eq!(check_key("reports/weekly.html"), Ok(()));
        assert_eq!(check_key("reports/2026/11/weekly.html"), Ok(()));
        for (key, why) in [
            (
                "components/presign.wasm",
                "components reach only keys under reports/",
            ),
            ("x.html", "components reach only keys under reports/"),
            (
                "reports/../components/x.wasm",
                "a segment is empty, \".\" or \"..\"",
            ),
            ("../x", "a segment is empty, \".\" or \"..\""),
            ("/abs", "a segment is empty, \".\" or \"..\""),
            ("reports//x", "a segment is empty, \".\" or \"..\""),
            ("reports/x\u{0}y", "it has control characters"),
        ] {
            assert_eq!(
                check_key(key),
                Err(format!("the key {key:?} is refused: {why}")),
                "{key}"
            );
        }
        let long = format!("reports/{}", "k".repeat(1020));
        assert_eq!(
            check_key(&long),
            Err(format!("the key {long:?} is refused: over 1024 bytes"))
        );
    }
}
