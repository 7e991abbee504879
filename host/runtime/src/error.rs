//! How a task fails, in Step Functions' terms.

use cafe_report_base::limits::{MAX_CAUSE_CHARS, MAX_ERROR_CHARS};
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

/// A component's own error, as the host lets it through: names starting `States.` are
/// the service's (a component raising `States.Runtime` would escape every Retry and
/// Catch), so they become `States.TaskFailed` with a cause saying so; names and causes are
/// cut to what Step Functions keeps (256 and 32,768 characters), with a marker, before
/// they reach the history, the records and the failure mail.
impl From<cafe_report_world::TaskError> for TaskError {
    fn from(err: cafe_report_world::TaskError) -> Self {
        match err {
            cafe_report_world::TaskError::InvalidInput(message) => {
                TaskError::InvalidInput(cut(message, MAX_CAUSE_CHARS))
            }
            cafe_report_world::TaskError::Failed((error, cause)) => {
                if error.starts_with("States.") || error.is_empty() {
                    let cause = format!(
                        "the component raised the error name {error:?}, which only the service may raise: {cause}"
                    );
                    return TaskError::failed(names::TASK_FAILED, cut(cause, MAX_CAUSE_CHARS));
                }
                TaskError::Failed {
                    error: cut(error, MAX_ERROR_CHARS),
                    cause: cut(cause, MAX_CAUSE_CHARS),
                }
            }
        }
    }
}

/// What follows a text cut to its limit.
const CUT_MARKER: &str = "… (cut)";

/// `text` if it has at most `max` characters, else its first ones and [`CUT_MARKER`],
/// `max` characters in all.
fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let keep = max - CUT_MARKER.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(CUT_MARKER);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cafe_report_world::TaskError as Guest;

    #[test]
    fn reserved_names_become_task_failed() {
        let err = TaskError::from(Guest::Failed(("States.Runtime".into(), "boom".into())));
        assert_eq!(
            err,
            TaskError::failed(
                names::TASK_FAILED,
                "the component raised the error name \"States.Runtime\", which only the service may raise: boom"
            )
        );
        let err = TaskError::from(Guest::Failed((String::new(), "x".into())));
        assert_eq!(err.error(), names::TASK_FAILED);
        let own = TaskError::from(Guest::Failed(("Sql.Unavailable".into(), "down".into())));
        assert_eq!(own, TaskError::failed("Sql.Unavailable", "down"));
    }

    #[test]
    fn long_names_and_causes_are_cut_to_aws_limits() {
        let err = TaskError::from(Guest::Failed(("E".repeat(300), "é".repeat(10 << 20))));
        assert_eq!(err.error().chars().count(), MAX_ERROR_CHARS);
        assert!(err.error().ends_with(CUT_MARKER));
        assert_eq!(err.cause().chars().count(), MAX_CAUSE_CHARS);
        assert!(err.cause().starts_with("éé") && err.cause().ends_with(CUT_MARKER));
        let short = TaskError::from(Guest::InvalidInput("x".repeat(MAX_CAUSE_CHARS)));
        assert_eq!(short.cause(), "x".repeat(MAX_CAUSE_CHARS));
    }
}
