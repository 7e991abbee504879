//! `cafe-report execute`: any state machine on the local engine, printed as
//! DescribeExecution (and GetExecutionHistory's events with `--history`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use cafe_report_asl::{StartExecution, Status};
use cafe_report_server::Config;
use cafe_report_server::workflow::{self, Workflow};

/// Arguments of `execute`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The definition (Amazon States Language, JSON).
    definition: PathBuf,
    /// The execution input: JSON text, @file, or - for standard input.
    #[arg(long, default_value = "{}")]
    input: String,
    /// The execution's name (default: a UUID).
    #[arg(long)]
    name: Option<String>,
    /// The state machine's name, as in its ARN (default: the file name without `.asl.json`).
    #[arg(long, value_name = "NAME")]
    state_machine_name: Option<String>,
    /// The IAM role the state machine runs as, as CreateStateMachine's `roleArn`
    /// (default: `[workflow] role_arn`, else a local stand-in).
    #[arg(long, value_name = "ARN")]
    role_arn: Option<String>,
    /// Add the execution history (`events`, as GetExecutionHistory shows them).
    #[arg(long)]
    history: bool,
    #[command(flatten)]
    substitutions: Substitutions,
    #[command(flatten)]
    now: super::Now,
}

/// `--subst NAME=VALUE`, shared by `execute` and `validate`.
#[derive(Debug, clap::Args)]
pub struct Substitutions {
    /// Definition substitution for `${NAME}` (repeatable). Local defaults exist for
    /// QueryFunctionArn, RenderFunctionArn, PresignFunctionArn, ReportBucket and
    /// ReportTopicArn.
    #[arg(long = "subst", value_name = "NAME=VALUE", value_parser = parse_substitution)]
    pub values: Vec<(String, String)>,
}

fn parse_substitution(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))
}

/// The state machine's name in ARNs: the file name without `.json` and `.asl`.
fn machine_name(path: &std::path::Path) -> String {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("state-machine");
    let name = file.strip_suffix(".json").unwrap_or(file);
    name.strip_suffix(".asl").unwrap_or(name).to_string()
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let text = workflow::read_definition(&args.definition)?;
    let input = crate::input::read(&args.input)?;
    let runtime = super::runtime(config, args.now.running()).await?;
    let mut config = config.clone();
    config.workflow.name = args
        .state_machine_name
        .unwrap_or_else(|| machine_name(&args.definition));
    if let Some(role_arn) = args.role_arn {
        config.workflow.role_arn = Some(role_arn);
    }

    let workflow = Workflow::from_definition(
        &config,
        Arc::new(runtime),
        &text,
        &args.substitutions.values,
    )?;
    let execution = workflow
        .execute(StartExecution {
            name: args.name,
            input: Some(input),
        })
        .await?;
    let description = execution.describe();
    let mut printed = serde_json::to_value(&description)?;
    if args.history {
        printed["events"] = serde_json::to_value(execution.history())?;
    }
    super::print_json(&printed)?;
    if description.status != Status::Succeeded {
        bail!(
            "execution {} ended {}: {}: {}",
            description.name,
            description.status,
            description.error.as_deref().unwrap_or("(no error name)"),
            description.cause.as_deref().unwrap_or("(no cause)")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_drop_the_extensions() {
        assert_eq!(
            machine_name(std::path::Path::new("statemachine/report.asl.json")),
            "report"
        );
        assert_eq!(machine_name(std::path::Path::new("flow.json")), "flow");
    }
}
