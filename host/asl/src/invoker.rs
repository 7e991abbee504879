//! How the engine reaches tasks: the [`TaskInvoker`] trait. The CLI implements it with
//! wasm components; tests implement it with closures; an AWS implementation could call
//! real Lambdas.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A call the engine asks the outside world to make for a Task state.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskCall {
    /// Invoke a Lambda function. `function` is the name or ARN exactly as the definition
    /// gives it (the invoker maps it to something runnable).
    Lambda {
        /// Function name, full or partial ARN.
        function: String,
        /// The event the function receives.
        payload: Value,
    },
    /// Publish a message to an SNS topic.
    SnsPublish {
        /// The topic's ARN.
        topic_arn: String,
        /// The subject line (email subscribers see it), if any.
        subject: Option<String>,
        /// The message text.
        message: String,
        /// String message attributes (`MessageAttributes`), by name: subscription filter
        /// policies match on them.
        attributes: std::collections::BTreeMap<String, String>,
    },
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and returned an error: Lambda's `errorType` and `errorMessage`.
    /// The engine reports it as AWS does: error = `errorType`, cause = the error as JSON.
    #[error("{error_type}: {error_message}")]
    Function {
        /// The error name `ErrorEquals` matches, e.g. `States.TaskFailed`.
        error_type: String,
        /// What went wrong.
        error_message: String,
    },
    /// The service refused or could not make the call (`Lambda.ResourceNotFoundException`,
    /// `SNS.InternalErrorException`, ...): error and cause are reported as they are.
    #[error("{error}: {cause}")]
    Service {
        /// The error name.
        error: String,
        /// What went wrong.
        cause: String,
    },
}

/// Runs the calls of Task states.
pub trait TaskInvoker: Send + Sync {
    /// Makes one call. Lambda calls answer the function's JSON result; SNS publishes
    /// answer the message id as a JSON string.
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, InvokeError>>;

    /// [`invoke`](TaskInvoker::invoke), with the call's idempotency key: one task
    /// attempt of one execution (`<execution ARN>/<state>/<scheduled event id>`), the
    /// same when a resumed execution calls it again, so an effect the first call had (a
    /// message sent) need not happen twice. Ignored by default.
    fn invoke_once<'a>(
        &'a self,
        call: TaskCall,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        self.invoke(call)
    }

    /// Fields to add to the call's `TaskScheduled` (or `LambdaFunctionScheduled`) event
    /// details, e.g. which version of the code will run it. None by default.
    fn annotate(&self, _call: &TaskCall) -> Option<Map<String, Value>> {
        None
    }
}

impl<F, Fut> TaskInvoker for F
where
    F: Fn(TaskCall) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, InvokeError>> + Send + 'static,
{
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, InvokeError>> {
        Box::pin(self(call))
    }
}
