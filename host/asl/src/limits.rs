//! AWS's size limits and their checks; the bottom of the crate, so every module can use
//! them without depending on the interpreter or executions.

use crate::error::{StatesError, names};

pub(crate) use cafe_report_base::limits::MAX_PAYLOAD_BYTES;

/// Fails with `States.DataLimitExceeded` when a payload is over 256 KiB.
pub(crate) fn check_size(what: &str, text: &str) -> Result<(), StatesError> {
    within_limit(text, || {
        format!(
            "The {what} is {} bytes, which exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes",
            text.len()
        )
    })
}

/// Fails with `States.DataLimitExceeded`, in AWS's words, when a state's output is over
/// 256 KiB (test_start_large_input).
pub(crate) fn check_state_size(state: &str, text: &str) -> Result<(), StatesError> {
    within_limit(text, || {
        format!(
            "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
        )
    })
}

fn within_limit(text: &str, cause: impl FnOnce() -> String) -> Result<(), StatesError> {
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(StatesError::new(names::DATA_LIMIT_EXCEEDED, cause()));
    }
    Ok(())
}
