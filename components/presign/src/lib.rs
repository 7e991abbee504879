//! The presign task: makes an S3 SigV4 presigned GET URL for the report and publishes it
//! through the `notify` capability.
//!
//! Input: `{"bucket": "...", "key"?: "...", "report_id"?: "...", "inventory"?: {...},
//! "expires_in"?: 120, "endpoint"?: "http://127.0.0.1:9000", "addressing"?: "path"|"virtual",
//! "region"?: "...", "subject"?: "..."}`. The key follows the same rule as render's.
//! Output: `{"url", "expires_at", "expires_in", "message_id", "bucket", "key"}`.

pub mod input;
pub mod message;
pub mod sigv4;
#[cfg(target_arch = "wasm32")]
mod task;
