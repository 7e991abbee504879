//! The render task: turns the inventory document into a self-contained HTML report and
//! stores it through the `objects` capability.
//!
//! Input: `{"inventory": <query output>, "report_id"?: "...", "key"?: "...", "title"?: "..."}`.
//! Output: `{"bucket", "key", "size", "etag", "content_type"}`.

mod page;

use cafe_guest::{Inventory, ReportTarget, parse_input, timefmt, to_output};
use serde::{Deserialize, Serialize};

wit_bindgen::generate!({ path: "../../wit", world: "render" });

use cafe::report::{clock, log, objects};
use exports::cafe::report::task::{Guest, TaskError};

const CONTENT_TYPE: &str = "text/html; charset=utf-8";
/// Reports are regenerated on demand; caches must always revalidate.
const CACHE_CONTROL: &str = "max-age=0";
const DEFAULT_TITLE: &str = "Coffee inventory report";

#[derive(Debug, Deserialize)]
struct RenderInput {
    inventory: Inventory,
    #[serde(flatten)]
    target: ReportTarget,
    title: Option<String>,
}

#[derive(Debug, Serialize)]
struct RenderOutput {
    bucket: String,
    key: String,
    size: u64,
    etag: String,
    content_type: &'static str,
}

struct Render;

impl Guest for Render {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let input: RenderInput = parse_input(&input).map_err(TaskError::InvalidInput)?;
        let key = input
            .target
            .key(Some(&input.inventory))
            .map_err(TaskError::InvalidInput)?;
        let title = input.title.as_deref().unwrap_or(DEFAULT_TITLE);
        let rendered_at = timefmt::human(clock::now());
        let html = page::render(title, &rendered_at, &input.inventory);
        let info = objects::put(&key, html.as_bytes(), CONTENT_TYPE, CACHE_CONTROL)
            .map_err(|cause| TaskError::Failed(("Objects.PutFailed".into(), cause)))?;
        log::log(
            log::Level::Info,
            &format!("stored {} bytes at {}/{}", info.size, info.bucket, info.key),
        );
        Ok(to_output(&RenderOutput {
            bucket: info.bucket,
            key: info.key,
            size: info.size,
            etag: info.etag,
            content_type: CONTENT_TYPE,
        }))
    }
}

export!(Render);
