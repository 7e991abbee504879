//! The AWS Lambda host: one function runs one task component. The component is loaded
//! and compiled once at init (from the deployment package or an S3 prefix); each
//! invocation runs it in a fresh instance on the event. A task error becomes a Lambda
//! error whose `errorType` is the Step Functions error name, so the state machine's
//! Retry and Catch see `Sql.Unavailable`, `States.TaskFailed`, ...

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use cafe_report_runtime::{LoadedComponent, Runtime, World};
use cafe_report_server::Config;
use lambda_runtime::Diagnostic;
use serde_json::Value;

use cafe_report_base::names::INIT_ERROR;

/// A task ready to serve invocations.
#[derive(Debug, Clone)]
pub struct LambdaTask {
    runtime: Arc<Runtime>,
    component: Arc<LoadedComponent>,
}

/// A failed invocation, as Lambda reports it.
#[derive(Debug)]
pub struct TaskFailure {
    error_type: String,
    message: String,
}

impl From<TaskFailure> for Diagnostic {
    fn from(failure: TaskFailure) -> Diagnostic {
        Diagnostic {
            error_type: failure.error_type,
            error_message: failure.message,
        }
    }
}

/// The configuration adjusted for Lambda: objects in S3 (a function serves no endpoint),
/// local state under the writable `/tmp`, components in the deployment package
/// (`$LAMBDA_TASK_ROOT/components`) unless configured.
pub fn lambda_config(config: &Config) -> Config {
    let defaults = Config::default();
    let mut config = config.clone();
    config.objects.embedded_server = false;
    if config.data_dir == defaults.data_dir {
        config.data_dir = std::env::temp_dir().join("cafe-report");
    }
    if config.components.dir.is_none()
        && let Some(root) = std::env::var_os("LAMBDA_TASK_ROOT")
    {
        config.components.dir = Some(PathBuf::from(root).join("components"));
    }
    config
}

/// The task a function runs: `task` when given, else the function's name mapped through
/// `[workflow.functions]` (a function not listed runs the component of its own name).
pub fn task_for(config: &Config, task: Option<String>) -> anyhow::Result<World> {
    let name = match task {
        Some(task) => task,
        None => {
            let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").context(
                "no task given (--task or [lambda] task) and AWS_LAMBDA_FUNCTION_NAME is unset",
            )?;
            cafe_report_server::workflow::component_for(&config.workflow.functions, &function)
        }
    };
    World::from_name(&name).with_context(|| {
        format!("{name:?} is not a task (query, render or presign); set CAFE_REPORT_LAMBDA_TASK or [workflow.functions]")
    })
}

impl LambdaTask {
    /// Builds the capabilities and loads the task's component: from `[components] s3`
    /// when set, else from `[components] dir`.
    pub async fn init(config: &Config, world: World) -> anyhow::Result<LambdaTask> {
        let runtime = Arc::new(Runtime::from_config(&config.runtime()).await?);
        let task = world.name();
        let component = match &config.components.s3 {
            Some(url) => {
                let source = runtime.s3_source(url)?;
                let bytes = source.fetch(&source.key(task)).await?;
                runtime.load(task, world, &bytes)?
            }
            None => runtime.component(task).context(
                "the package holds no component for this task ([components] s3 loads one from S3)",
            )?,
        };
        tracing::info!(task, sha256 = %component.sha256, "component ready");
        Ok(LambdaTask { runtime, component })
    }

    /// One invocation: the event is the task's input; its output is the response.
    pub async fn invoke(&self, event: Value) -> Result<Value, TaskFailure> {
        self.runtime
            .run_json(&self.component, &event)
            .await
            .map_err(|err| TaskFailure {
                error_type: err.error().to_string(),
                message: err.cause().to_string(),
            })
    }
}

/// Tells the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) that init failed, so the
/// invocation fails with the reason instead of a bare process exit.
pub async fn report_init_error(err: &anyhow::Error) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({
        "errorType": INIT_ERROR,
        "errorMessage": format!("{err:#}"),
    });
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", INIT_ERROR)
        .body(body.to_string())
        .send()
        .await;
    if let Err(err) = sent {
        tracing::error!(%err, "reporting the init error to the Runtime API failed");
    }
}
