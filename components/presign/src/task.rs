//! The component: its WIT bindings and the exported `run`. Built only for wasm32, so the
//! pure modules beside it also build natively (unit tests, fuzz targets, benchmarks).

use crate::input::PresignInput;
use cafe_guest::{parse_input, to_output};
use cafe_report_base::names;
use serde::Serialize;

wit_bindgen::generate!({ path: "../../wit", world: "presign" });

use cafe::report::{log, notify, signer};
use exports::cafe::report::task::{Guest, TaskError};

#[derive(Debug, Serialize)]
struct PresignOutput {
    url: String,
    expires_at: String,
    expires_in: u32,
    message_id: String,
    bucket: String,
    key: String,
}

struct Presign;

impl Guest for Presign {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let input: PresignInput = parse_input(&input).map_err(TaskError::InvalidInput)?;
        input.check_retired().map_err(TaskError::InvalidInput)?;
        let key = input.key().map_err(TaskError::InvalidInput)?;
        let expires_in = input.expires_in().map_err(TaskError::InvalidInput)?;
        let link = signer::presign(&signer::LinkRequest {
            method: "GET".into(),
            bucket: input.bucket.clone(),
            key: key.clone(),
            expires_in,
        })
        .map_err(|cause| TaskError::Failed((names::SIGNER_FAILED.into(), cause)))?;

        let note = crate::message::compose(
            input.subject.as_deref(),
            &link.url,
            link.expires_at,
            expires_in,
            input.inventory.as_ref(),
        );
        let message_id = notify::publish(&note.subject, &note.body)
            .map_err(|cause| TaskError::Failed((names::NOTIFY_PUBLISH_FAILED.into(), cause)))?;
        log::log(
            log::Level::Info,
            &format!(
                "published link to {}/{key} as message {message_id}",
                input.bucket
            ),
        );
        Ok(to_output(&PresignOutput {
            url: link.url,
            expires_at: cafe_guest::timefmt::rfc3339(link.expires_at),
            expires_in,
            message_id,
            bucket: input.bucket,
            key,
        }))
    }
}

export!(Presign);
