//! Limits shared by the engine, the runtime and the guests.

/// Step Functions' payload limit (256 KiB): state input and output, task input and
/// output, the execution's input, and the variables one state assigns.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
