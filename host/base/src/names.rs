//! Error names: what `ErrorEquals` matches and what histories show. Step Functions' own
//! (`States.*`, AWS service errors) first, then the ones our tasks raise.

/// Wildcard that matches any error name except the terminal ones below.
pub const ALL: &str = "States.ALL";
/// A task failed (trap, memory limit, bad output, the component said so); as a matcher,
/// any error except `States.Timeout`.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A task or the execution ran longer than its time limit.
pub const TIMEOUT: &str = "States.Timeout";
/// A task sent no heartbeat within `HeartbeatSeconds`.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// An error in the definition's processing (bad path, bad type), or an execution the
/// host stopped running; never retried or caught.
pub const RUNTIME: &str = "States.Runtime";
/// A payload over [`MAX_PAYLOAD_BYTES`](crate::limits::MAX_PAYLOAD_BYTES); caught only
/// when named explicitly.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// A branch of a Parallel state failed.
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// No Choice rule matched and there is no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// An intrinsic function failed on its arguments.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// `ResultPath` cannot be applied to the state's input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// A Map state had more failed items than it tolerates.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A parameter could not be resolved (e.g. a bad `Payload` for a task).
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A JSONata expression failed or returned nothing (undefined).
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Lambda: the function (here, its component) does not exist.
pub const LAMBDA_RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
/// SNS: the publish failed inside the service.
pub const SNS_INTERNAL_ERROR: &str = "SNS.InternalErrorException";

/// A component rejected its input (`task-error::invalid-input`).
pub const INVALID_INPUT: &str = "CafeReport.InvalidInput";
/// The Lambda host could not start (configuration, component); sent to the Runtime API.
pub const INIT_ERROR: &str = "CafeReport.InitError";
/// query: the database could not be reached.
pub const SQL_UNAVAILABLE: &str = "Sql.Unavailable";
/// query: the database refused the statement.
pub const SQL_QUERY_FAILED: &str = "Sql.QueryFailed";
/// render: the report could not be stored.
pub const OBJECTS_PUT_FAILED: &str = "Objects.PutFailed";
/// presign: the signer refused or failed.
pub const SIGNER_FAILED: &str = "Signer.Failed";
/// presign: the message could not be published.
pub const NOTIFY_PUBLISH_FAILED: &str = "Notify.PublishFailed";
