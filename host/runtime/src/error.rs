//! How a task fails, in Step Functions' terms.

use cafe_report_base::names;

/// Why a task produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The component rejected its input; the message names the problem.
    #[error("{name}: {0}", name = names::INVALID_INPUT)]
    InvalidInput(String),
    /// The task failed with a Step Functions error name and a cause.
    #[error("{error}: {cause}")]
    Failed {
        /// Error name, e.g. `States.TaskFailed`, `States.Timeout`, `Sql.Unavailable`.
        error: String,
        /// What happened, for people.
        cause: String,
    },
}

impl TaskError {
    /// A failure with the given error name.
    pub fn failed(error: &str, cause: impl Into<String>) -> TaskError {
        TaskError::Failed {
            error: error.to_string(),
            cause: cause.into(),
        }
    }

    /// The Step Functions error name.
    pub fn error(&self) -> &str {
        match self {
            TaskError::InvalidInput(_) => names::INVALID_INPUT,
            TaskError::Failed { error, .. } => error,
        }
    }

    /// The cause.
    pub fn cause(&self) -> &str {
        match self {
            TaskError::InvalidInput(cause) | TaskError::Failed { cause, .. } => cause,
        }
    }
}

impl From<cafe_report_world::TaskError> for TaskError {
    fn from(err: cafe_report_world::TaskError) -> Self {
        match err {
            cafe_report_world::TaskError::InvalidInput(message) => TaskError::InvalidInput(message),
            cafe_report_world::TaskError::Failed((error, cause)) => {
                TaskError::Failed { error, cause }
            }
        }
    }
}
