//! Step Functions error names and the error value that travels through Retry and Catch.

use serde_json::{Value, json};

/// Error names (the States Language's and ours), defined once for host and guests.
pub use cafe_report_base::names;

/// An error raised while running a state: its name (`States.TaskFailed`, a Lambda's
/// `errorType`, a Fail state's `Error`) and a human-readable cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct StatesError {
    /// The error name that `ErrorEquals` matches.
    pub error: String,
    /// What happened, for people.
    pub cause: String,
    /// The field whose evaluation failed (`Output/result`), as AWS's `EvaluationFailed`
    /// event names it.
    pub(crate) location: Option<String>,
    /// Where the error stands in the history: set once the events AWS records for it
    /// (`EvaluationFailed`, a Map's or Parallel's `…StateFailed`) are written.
    pub(crate) recorded: Recorded,
}

/// Which of an error's own history events are still to be written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Raised by the state itself; nothing written yet.
    #[default]
    No,
    /// Came out of a Parallel branch or a Map iteration: the state records its
    /// `…StateFailed` unless it retries.
    FromInside,
    /// Written; the states it passes through record nothing more for it.
    Yes,
}

impl StatesError {
    /// An error with the given name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
            location: None,
            recorded: Recorded::No,
        }
    }

    /// The same error, located in `field`.
    pub(crate) fn at(mut self, field: &str) -> Self {
        self.location = Some(field.to_string());
        self
    }

    /// A `States.Runtime` error: fails the execution, whatever Retry and Catch say.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    /// A `States.IntrinsicFailure` error.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, cause)
    }

    /// Whether Retry and Catch may see this error at all.
    pub(crate) fn is_recoverable(&self) -> bool {
        self.error != names::RUNTIME
    }

    /// Whether one name of an `ErrorEquals` list matches this error, as AWS matches it.
    pub fn matches(&self, name: &str) -> bool {
        match name {
            names::ALL => self.error != names::RUNTIME && self.error != names::DATA_LIMIT_EXCEEDED,
            names::TASK_FAILED => ![names::TIMEOUT, names::RUNTIME, names::DATA_LIMIT_EXCEEDED]
                .contains(&self.error.as_str()),
            name => name == self.error,
        }
    }

    /// The error output a Catch hands to its `ResultPath`.
    pub(crate) fn to_output(&self) -> Value {
        json!({ "Error": self.error, "Cause": self.cause })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_aws_documents() {
        let timeout = StatesError::new(names::TIMEOUT, "");
        let custom = StatesError::new("Custom", "");
        let limit = StatesError::new(names::DATA_LIMIT_EXCEEDED, "");
        assert!(timeout.matches(names::ALL));
        assert!(!timeout.matches(names::TASK_FAILED));
        assert!(custom.matches(names::TASK_FAILED));
        assert!(!limit.matches(names::ALL));
        assert!(limit.matches(names::DATA_LIMIT_EXCEEDED));
        assert!(!StatesError::runtime("x").is_recoverable());
        assert!(!custom.matches("custom"), "names are case-sensitive");
    }
}
