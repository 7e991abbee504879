//! The component: its WIT bindings and the exported `run`. Built only for wasm32, so the
//! pure modules beside it also build natively (unit tests, fuzz targets, benchmarks).

use crate::input::RenderInput;
use cafe_guest::{parse_input, timefmt, to_output};
use cafe_report_base::names;
use serde::Serialize;

wit_bindgen::generate!({ path: "../../wit", world: "render" });

use cafe::report::{clock, log, objects};
use exports::cafe::report::task::{Guest, TaskError};

const CONTENT_TYPE: &str = "text/html; charset=utf-8";
/// Reports are regenerated on demand; caches must always revalidate.
const CACHE_CONTROL: &str = "max-age=0";

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
        let key = input.key().map_err(TaskError::InvalidInput)?;
        let title = input.title();
        let rendered_at = timefmt::human(clock::now());
        let html = crate::page::render(title, &rendered_at, &input.inventory);
        let info = objects::put(&key, html.as_bytes(), CONTENT_TYPE, CACHE_CONTROL)
            .map_err(|cause| TaskError::Failed((names::OBJECTS_PUT_FAILED.into(), cause)))?;
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
