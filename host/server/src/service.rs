//! What the API needs from an execution backend: the local engine ([`Executions`]) or
//! AWS Step Functions ([`AwsExecutions`]), behind one trait so the routes are the same.
//!
//! [`Executions`]: super::executions::Executions
//! [`AwsExecutions`]: super::aws::AwsExecutions

use cafe_report_asl::{StartError, StartExecution, Status};

use serde_json::Value;

use super::store::{AlreadyExists, Page};

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

/// Starts and describes executions of the report workflow.
#[async_trait::async_trait]
pub trait ExecutionService: Send + Sync + std::fmt::Debug {
    /// StartExecution.
    async fn start(&self, request: StartExecution) -> Result<Started, StartFailure>;
    /// DescribeExecution, by ARN or name; `None` if unknown.
    async fn describe(&self, id: &str) -> anyhow::Result<Option<Value>>;
    /// GetExecutionHistory's events, oldest first, by ARN or name; `None` if unknown.
    async fn history(&self, id: &str) -> anyhow::Result<Option<Vec<Value>>>;
    /// ListExecutions, newest first.
    async fn list(
        &self,
        status: Option<Status>,
        max: usize,
        token: Option<String>,
    ) -> anyhow::Result<Page>;
    /// Running and waiting executions, where the backend knows them.
    fn load(&self) -> Option<Load> {
        None
    }
}
