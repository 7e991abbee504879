//! The component: its WIT bindings and the exported `run`. Built only for wasm32, so the
//! pure modules beside it also build natively (unit tests, fuzz targets, benchmarks).

use crate::input::PresignInput;
use cafe_guest::{parse_input, to_output};
use cafe_report_base::names;
use serde::Serialize;

wit_bindgen::generate!({ path: "../../wit", world: "presign" });

use crate::sigv4::PresignRequest;
use cafe::report::{clock, log, notify, signer};
use exports::cafe::report::task::{Guest, TaskError};

#[derive(Debug, Serialize)]
struct PresignOutput {
    url: String,
    expires_at: String,
    expires_in: i64,
    message_id: String,
    bucket: String,
    key: String,
}

struct Presign;

impl Guest for Presign {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let input: PresignInput = parse_input(&input).map_err(TaskError::InvalidInput)?;
        let key = input.key().map_err(TaskError::InvalidInput)?;
        let expires_in = input.expires_in().map_err(TaskError::InvalidInput)?;
        let identity = signer::identity();
        let now = clock::now();
        let request = PresignRequest {
            // An empty endpoint (a deploy-time substitution left blank) means AWS's own.
            endpoint: input.endpoint.as_deref().filter(|e| !e.is_empty()),
            addressing: input.addressing,
            region: input.region.as_deref().unwrap_or(&identity.region),
            bucket: &input.bucket,
            key: &key,
            access_key_id: &identity.access_key_id,
            session_token: identity.session_token.as_deref(),
            now_millis: now,
            expires_in,
        };
        let unsigned = request.prepare().map_err(TaskError::InvalidInput)?;
        let signature = signer::sign(
            &unsigned.string_to_sign,
            &unsigned.date,
            request.region,
            "s3",
        )
        .map_err(|cause| TaskError::Failed((names::SIGNER_FAILED.into(), cause)))?;
        let url = unsigned.url_with(&signature);

        let expires_at_ms = now.saturating_add(expires_in as u64 * 1000);
        let note = crate::message::compose(
            input.subject.as_deref(),
            &url,
            expires_at_ms,
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
            url,
            expires_at: cafe_guest::timefmt::rfc3339(expires_at_ms),
            expires_in,
            message_id,
            bucket: input.bucket,
            key,
        }))
    }
}

export!(Presign);
