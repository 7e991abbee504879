//! The render task: turns the inventory document into a self-contained HTML report and
//! stores it through the `objects` capability.
//!
//! Input: `{"inventory": <query output>, "report_id"?: "...", "key"?: "...", "title"?: "..."}`.
//! Output: `{"bucket", "key", "size", "etag", "content_type"}`.

pub mod input;
pub mod page;
#[cfg(target_arch = "wasm32")]
mod task;
