//! What the API needs from an execution backend: the local engine ([`Executions`]) or
//! AWS Step Functions ([`AwsExecutions`]), behind one trait so the routes are the same.
//!
//! [`Executions`]: super::executions::Executions
//! [`AwsExecutions`]: super::aws::AwsExecutions

use cafe_report_asl::{StartError, StartExecution, Status};

use serde_json::Value;

use super::store::{AlreadyExists, Page};
pub use crate::auth::Identity;

/// StartExecution's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The new execution's ARN.
    pub execution_arn: String,
    /// When it started.
    pub start_date: String,
}

/// Why an execution did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartFailure {
    /// The name or input was refused (StartExecution's own checks).
    #[error(transparent)]
    Invalid(#[from] StartError),
    /// An execution of that name exists.
    #[error(transparent)]
    AlreadyExists(#[from] AlreadyExists),
    /// `[serve] max_queued_executions` executions are waiting already.
    #[error("{0} executions are waiting for a slot already; try again later")]
    Throttled(usize),
    /// Its record could not be written (disk full, read-only records): nothing started,
    /// since an execution that is not recorded could not be resumed or described.
    #[error(
        "the execution was not started: its record could not be written ({0:#}); try again later"
    )]
    Unrecorded(anyhow::Error),
    /// The backend could not record or start it.
    #[error("starting the execution failed: {0:#}")]
    Backend(anyhow::Error),
}

/// How many executions run and wait (local engine only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Load {
    /// Running now.
    pub running: usize,
    /// Started, waiting for a free slot.
    pub queued: usize,
    /// Slots.
    pub limit: usize,
}

/// Starts and describes executions of the report workflow, for a caller: an execution
/// belongs to whoever started it, and a caller who is not an administrator sees only
/// their own (another's is `None`, exactly like one that does not exist).
#[async_trait::async_trait]
pub trait ExecutionService: Send + Sync + std::fmt::Debug {
    /// StartExecution, owned by `caller`.
    async fn start(
        &self,
        request: StartExecution,
        caller: &Identity,
    ) -> Result<Started, StartFailure>;
    /// DescribeExecution, by ARN or name; `None` if unknown or not the caller's.
    async fn describe(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Value>>;
    /// GetExecutionHistory's events, oldest first, by ARN or name; `None` if unknown or
    /// not the caller's.
    async fn history(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Vec<Value>>>;
    /// The definition (JSON) of the state machine an execution runs, by ARN or name;
    /// `None` if unknown or not the caller's.
    async fn definition(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Value>>;
    /// ListExecutions of what the caller may see, newest first.
    async fn list(
        &self,
        status: Option<Status>,
        max: usize,
        token: Option<String>,
        caller: &Identity,
    ) -> anyhow::Result<Page>;
    /// Running and waiting executions, where the backend knows them.
    fn load(&self) -> Option<Load> {
        None
    }
}
