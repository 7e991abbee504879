//! `cafe-report run-task <task> --input <json|@file|->`

use anyhow::bail;
use cafe_report_server::Config;

/// Arguments of `run-task`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task: query, render or presign.
    #[arg(value_parser = ["query", "render", "presign"])]
    task: String,
    /// JSON input: inline, @file, or - for standard input.
    #[arg(long, default_value = "{}")]
    input: String,
    #[command(flatten)]
    now: super::Now,
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let input = crate::input::read(&args.input)?;
    let runtime = super::runtime(config, args.now.standing()).await?;
    match runtime.run(&args.task, &input).await {
        Ok(output) => super::print_json(&serde_json::from_str(&output)?),
        Err(err) => bail!("task {} failed: {err}", args.task),
    }
}
