//! The presign task: gets an S3 SigV4 presigned GET URL for the report from the host's
//! `signer` (which builds, checks and signs it: the component never sees a key) and
//! publishes it through the `notify` capability.
//!
//! Input: `{"bucket": "...", "key"?: "...", "report_id"?: "...", "inventory"?: {...},
//! "expires_in"?: 120, "subject"?: "..."}`. The key follows the same rule as render's.
//! Output: `{"url", "expires_at", "expires_in", "message_id", "bucket", "key"}`.

pub mod input;
pub mod message;
#[cfg(target_arch = "wasm32")]
mod task;
