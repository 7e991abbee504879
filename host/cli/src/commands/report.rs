//! `cafe-report report`: the main job. Runs the report workflow
//! (`statemachine/report.asl.json`, built in) once on the local engine, each task a
//! component on the configured (by default embedded) backends.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use cafe_report_asl::{Execution, StartExecution, Status};
use cafe_report_server::Config;
use cafe_report_server::workflow::Workflow;
use serde_json::{Value, json};

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds the presigned link stays valid (1..=604800).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    expires_in: u64,
    /// Report id: the execution's name, and the object key becomes reports/<id>.html;
    /// default: time + random suffix.
    #[arg(long)]
    report_id: Option<String>,
    #[command(flatten)]
    now: super::Now,
    /// Keep serving the embedded object store until the link expires (or Ctrl-C), so the
    /// link can be opened in a browser.
    #[arg(long)]
    hold: bool,
    /// Print the result as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// `<run's start, to the second>-<8 random hex>`: the start follows `--now`.
fn default_report_id(now: time::OffsetDateTime) -> String {
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let suffix = &cafe_report_capabilities::new_id()[..8];
    format!("{stamp}-{suffix}")
}

/// A cause as a sentence: a Lambda function's failure arrives as AWS writes it, the JSON
/// `{"errorType", "errorMessage", ...}`; people get its message.
fn readable_cause(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|value| value["errorMessage"].as_str().map(str::to_string))
        .unwrap_or_else(|| cause.to_string())
}

/// The message id the workflow's failure notification got, from the history.
fn failure_message_id(execution: &Execution) -> Option<String> {
    execution.history().iter().find_map(|event| {
        let details = event.details()?;
        if event.kind != "TaskSucceeded" || details["resourceType"] != "sns" {
            return None;
        }
        let output: Value = serde_json::from_str(details["output"].as_str()?).ok()?;
        output["MessageId"].as_str().map(str::to_string)
    })
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let runtime = Arc::new(super::runtime(config, args.now.running()).await?);
    let workflow = Workflow::from_config(config, runtime.clone(), &[])?;
    let request = StartExecution {
        name: Some(
            args.report_id
                .unwrap_or_else(|| default_report_id(runtime.capabilities().clock.now())),
        ),
        input: Some(json!({ "expires_in": args.expires_in }).to_string()),
    };
    let execution = workflow.execute(request).await?;
    let description = execution.describe();
    let outbox = config.data_dir.join("outbox");

    if description.status != Status::Succeeded {
        let message = failure_message_id(&execution).map(|id| outbox.join(format!("{id}.eml")));
        if args.json {
            super::print_json(&json!({ "execution": description, "failure_message": message }))?;
        }
        let sent = match &message {
            Some(path) => format!("; failure message: {}", path.display()),
            None => String::new(),
        };
        bail!(
            "the report workflow {} failed: {}: {}{sent}",
            description.execution_arn,
            description.error.as_deref().unwrap_or("?"),
            readable_cause(description.cause.as_deref().unwrap_or("?")),
        );
    }

    let output: Value = serde_json::from_str(description.output.as_deref().unwrap_or("{}"))?;
    let (stored, link, totals) = (&output["report"], &output["link"], &output["totals"]);
    let local_file = runtime
        .capabilities()
        .embedded_s3
        .as_ref()
        .zip(stored["bucket"].as_str().zip(stored["key"].as_str()))
        .map(|(s3, (bucket, key))| s3.root().join(bucket).join(key));
    let message_file = outbox.join(format!(
        "{}.eml",
        link["message_id"].as_str().unwrap_or_default()
    ));

    if args.json {
        let summary = json!({
            "execution": description,
            "report": stored,
            "file": local_file,
            "link": link,
            "inventory_totals": totals,
            "message": message_file,
        });
        super::print_json(&summary)?;
    } else {
        let mut lines = vec![format!(
            "Report:   s3://{}/{}",
            stored["bucket"].as_str().unwrap_or("?"),
            stored["key"].as_str().unwrap_or("?")
        )];
        if let Some(file) = &local_file {
            lines.push(format!("File:     {}", file.display()));
        }
        lines.push(format!(
            "Contents: {} suppliers, {} beans, {} low on stock",
            totals["suppliers"], totals["beans"], totals["low_stock"]
        ));
        lines.push(format!("Link:     {}", link["url"].as_str().unwrap_or("?")));
        lines.push(format!(
            "Expires:  {}",
            link["expires_at"].as_str().unwrap_or("?")
        ));
        lines.push(format!("Message:  {}", message_file.display()));
        lines.push(format!(
            "Run:      {} ({})",
            description.execution_arn, description.status
        ));
        super::print(&lines.join("\n"))?;
    }

    if args.hold {
        if runtime.capabilities().embedded_s3.is_none() {
            bail!(
                "--hold serves the embedded object store, but an external endpoint is configured"
            );
        }
        // The link expires `expires_in` after the run's clock (`--now`), not after now.
        let expires = runtime.capabilities().clock.now() + Duration::from_secs(args.expires_in);
        let left = expires - time::OffsetDateTime::now_utc();
        if !left.is_positive() {
            bail!(
                "--hold: the link expired at {} (the run's clock, --now, is in the past); nothing to serve",
                cafe_report_asl::format_timestamp(expires)
            );
        }
        let left = Duration::try_from(left).unwrap_or_default();
        eprintln!("Serving the link for {} s; Ctrl-C to stop.", left.as_secs());
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    Ok(())
}
