//! `cafe-report lambda`: the AWS Lambda custom runtime (also what a binary named
//! `bootstrap` runs with no arguments). One function runs one task component.

use crate::lambda::{LambdaTask, lambda_config, task_for};
use cafe_report_server::Config;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Arguments of `lambda`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task this function runs (query, render or presign); default: `[lambda] task`
    /// (`CAFE_REPORT_LAMBDA_TASK`), else the function's name through `[workflow.functions]`.
    #[arg(long)]
    task: Option<String>,
}

/// What Lambda sets for a custom runtime and lambda_runtime needs (it panics without
/// them).
const LAMBDA_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let missing: Vec<&str> = LAMBDA_VARIABLES
        .into_iter()
        .filter(|name| std::env::var_os(name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(crate::UsageError(format!(
            "lambda runs inside AWS Lambda (or an emulator of its Runtime API), which sets {}; not set: {}",
            LAMBDA_VARIABLES.join(", "),
            missing.join(", ")
        ))
        .into());
    }
    // An error before the first invocation is an init error, which `main` reports to
    // the Runtime API.
    let config = lambda_config(config);
    let world = task_for(&config, args.task.or(config.lambda.task.clone()))?;
    let task = LambdaTask::init(&config, world).await?;
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let task = task.clone();
        async move { task.invoke(event.payload, &event.context.request_id).await }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|err| anyhow::anyhow!("the Lambda runtime stopped: {err}"))
}
