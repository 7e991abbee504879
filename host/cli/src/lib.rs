//! The parts of the `cafe-report` binary that tests and other entry points share.
//!
//! [`workflow`] connects the local Step Functions engine (`cafe-report-asl`) to the
//! wasm runtime (`cafe-report-runtime`): Lambda tasks run components, SNS publishes go
//! through the notify capability.

pub mod lambda;
pub mod serve;
pub mod versions;
pub mod workflow;
