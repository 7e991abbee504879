//! Limits shared by the engine, the runtime and the guests.

/// Step Functions' payload limit (256 KiB): state input and output, task input and
/// output, the execution's input, and the variables one state assigns.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The longest error name Step Functions keeps (characters).
pub const MAX_ERROR_CHARS: usize = 256;

/// The longest cause Step Functions keeps (characters).
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// Where reports live in the bucket: the only prefix render may write under, and the
/// only one links may be signed for.
pub const REPORT_PREFIX: &str = "reports/";

/// The longest object key S3 takes (bytes).
pub const MAX_KEY_BYTES: usize = 1024;

/// Where component versions live in a bucket the embedded endpoint serves
/// (`[components] s3`): beside the reports, the only prefix the host's own key reaches.
pub const COMPONENTS_PREFIX: &str = "components/";
