//! The AWS Lambda host: one function runs one task component. The component is loaded
//! and compiled once at init (from the deployment package or an S3 prefix); each
//! invocation runs it in a fresh instance on the event. With an S3 prefix, a warm
//! function picks up a new version there without a restart, checked and swapped as
//! `serve` swaps one. A task error becomes a Lambda
//! error whose `errorType` is the Step Functions error name, so the state machine's
//! Retry and Catch see `Sql.Unavailable`, `States.TaskFailed`, ...

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cafe_report_runtime::{Polled, Runtime, S3Source, World};
use cafe_report_server::Config;
use lambda_runtime::Diagnostic;
use serde_json::Value;
use tokio::sync::Mutex;

use cafe_report_base::names::INIT_ERROR;

/// A task ready to serve invocations.
#[derive(Debug, Clone)]
pub struct LambdaTask {
    runtime: Arc<Runtime>,
    task: &'static str,
    /// With `[components] s3`: where new versions are looked for between invocations.
    poll: Option<Arc<Mutex<S3Poll>>>,
}

/// The S3 prefix a warm function checks for a new version of its task. A frozen
/// function runs no timers, so the check happens as an invocation starts, at most every
/// `every`.
#[derive(Debug)]
struct S3Poll {
    source: S3Source,
    every: Duration,
    last: Instant,
    /// The ETag seen last, so an unchanged object costs one conditional HEAD.
    etags: HashMap<String, String>,
    smoke: Option<String>,
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
    /// Builds the capabilities and loads the task's component: the package's, replaced
    /// by the version in `[components] s3` when one is there and passes the checks a
    /// swap makes (validation, smoke run). Without a package version, the S3 one must.
    pub async fn init(config: &Config, world: World) -> anyhow::Result<LambdaTask> {
        let runtime = Arc::new(Runtime::from_config(&config.runtime()).await?);
        let task = world.name();
        let packaged = runtime.component(task);
        let poll = match &config.components.s3 {
            Some(url) => {
                let mut poll = S3Poll {
                    source: runtime.s3_source(url)?,
                    every: Duration::from_secs(config.components.poll_seconds),
                    last: Instant::now(),
                    etags: HashMap::new(),
                    smoke: config.components.smoke.get(task).cloned(),
                };
                let key = poll.source.key(task);
                let polled = runtime
                    .poll_s3_task(&poll.source, task, &mut poll.etags, poll.smoke.as_deref())
                    .await?;
                match (polled, &packaged) {
                    // (Unchanged cannot happen: the first poll knows no ETag.)
                    (Polled::Published(_) | Polled::Current | Polled::Unchanged, _) => {}
                    (Polled::Missing, Ok(_)) => {
                        tracing::info!(task, key, "no version in S3 yet; the package's serves");
                    }
                    (Polled::Refused(reason), Ok(_)) => {
                        tracing::warn!(task, key, %reason, "the version in S3 was refused; the package's serves");
                    }
                    (Polled::Missing, Err(_)) => anyhow::bail!(
                        "the package holds no component for {task} and s3 key {key} does not exist"
                    ),
                    (Polled::Refused(reason), Err(_)) => anyhow::bail!(
                        "the package holds no component for {task} and the version in s3 key {key} was refused: {reason}"
                    ),
                }
                Some(Arc::new(Mutex::new(poll)))
            }
            None => {
                packaged.context(
                    "the package holds no component for this task ([components] s3 loads one from S3)",
                )?;
                None
            }
        };
        let component = runtime.component(task)?;
        tracing::info!(task, sha256 = %component.sha256, "component ready");
        Ok(LambdaTask {
            runtime,
            task,
            poll,
        })
    }

    /// Checks the S3 prefix when `poll_seconds` have passed since the last check. A new
    /// version is swapped in as `serve` swaps one; a refused one, or a failed check,
    /// leaves the current version serving (and is logged).
    async fn refresh(&self) {
        let Some(poll) = &self.poll else { return };
        let mut poll = poll.lock().await;
        if poll.last.elapsed() < poll.every {
            return;
        }
        poll.last = Instant::now();
        let S3Poll {
            source,
            etags,
            smoke,
            ..
        } = &mut *poll;
        match self
            .runtime
            .poll_s3_task(source, self.task, etags, smoke.as_deref())
            .await
        {
            Ok(Polled::Published(sha256)) => {
                tracing::info!(task = self.task, %sha256, "a new version from S3 now serves");
            }
            Ok(Polled::Refused(reason)) => {
                tracing::warn!(task = self.task, %reason, "the new version in S3 was refused; the current one keeps serving");
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(task = self.task, error = %format!("{err:#}"), "checking S3 for a new version failed; the current one keeps serving");
            }
        }
    }

    /// One invocation: the event is the task's input; its output is the response. The
    /// version that ran is logged with the invocation's request id.
    pub async fn invoke(&self, event: Value, request_id: &str) -> Result<Value, TaskFailure> {
        self.refresh().await;
        let component = self
            .runtime
            .component(self.task)
            .map_err(|err| TaskFailure {
                error_type: cafe_report_base::names::TASK_FAILED.to_string(),
                message: format!("{err:#}"),
            })?;
        tracing::info!(
            request_id,
            task = self.task,
            component_version = %component.sha256,
            "invocation"
        );
        self.runtime
            .run_json(&component, &event)
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
