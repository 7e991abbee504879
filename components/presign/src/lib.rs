//! The presign task: makes an S3 SigV4 presigned GET URL for the report and publishes it
//! through the `notify` capability.
//!
//! Input: `{"bucket": "...", "key"?: "...", "report_id"?: "...", "inventory"?: {...},
//! "expires_in"?: 120, "endpoint"?: "http://127.0.0.1:9000", "addressing"?: "path"|"virtual",
//! "region"?: "...", "subject"?: "..."}`. The key follows the same rule as render's.
//! Output: `{"url", "expires_at", "expires_in", "message_id", "bucket", "key"}`.

mod message;
mod sigv4;

use cafe_guest::{Inventory, ReportTarget, parse_input, to_output};
use serde::{Deserialize, Serialize};

wit_bindgen::generate!({ path: "../../wit", world: "presign" });

use cafe::report::{clock, log, notify, signer};
use exports::cafe::report::task::{Guest, TaskError};
use sigv4::{Addressing, PresignRequest};

const DEFAULT_EXPIRES_IN: i64 = 120;
/// SigV4 presigned URLs live at most seven days.
const MAX_EXPIRES_IN: i64 = 604_800;

#[derive(Debug, Deserialize)]
struct PresignInput {
    bucket: String,
    #[serde(flatten)]
    target: ReportTarget,
    inventory: Option<Inventory>,
    expires_in: Option<serde_json::Number>,
    endpoint: Option<String>,
    addressing: Option<Addressing>,
    region: Option<String>,
    subject: Option<String>,
}

#[derive(Debug, Serialize)]
struct PresignOutput {
    url: String,
    expires_at: String,
    expires_in: i64,
    message_id: String,
    bucket: String,
    key: String,
}

fn expires_in(value: Option<&serde_json::Number>) -> Result<i64, String> {
    let Some(number) = value else {
        return Ok(DEFAULT_EXPIRES_IN);
    };
    match number.as_i64() {
        Some(seconds) if (1..=MAX_EXPIRES_IN).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "expires_in: must be a whole number of seconds from 1 to {MAX_EXPIRES_IN}, got {number}"
        )),
    }
}

struct Presign;

impl Guest for Presign {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let input: PresignInput = parse_input(&input).map_err(TaskError::InvalidInput)?;
        let key = input
            .target
            .key(input.inventory.as_ref())
            .map_err(TaskError::InvalidInput)?;
        let expires_in = expires_in(input.expires_in.as_ref()).map_err(TaskError::InvalidInput)?;
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
        .map_err(|cause| TaskError::Failed(("Signer.Failed".into(), cause)))?;
        let url = unsigned.url_with(&signature);

        let expires_at_ms = now.saturating_add(expires_in as u64 * 1000);
        let note = message::compose(
            input.subject.as_deref(),
            &url,
            expires_at_ms,
            expires_in,
            input.inventory.as_ref(),
        );
        let message_id = notify::publish(&note.subject, &note.body)
            .map_err(|cause| TaskError::Failed(("Notify.PublishFailed".into(), cause)))?;
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
