//! `cafe-report report`: the main job on the configured (by default embedded) backends.
//!
//! Until the local Step Functions engine lands this runs the workflow's shape directly:
//! query, then render and presign concurrently on the same input (as the Parallel state
//! will), each through the runtime exactly as a state machine task would be.

use std::time::Duration;

use anyhow::{Context, bail};
use cafe_report_engine::{Config, Runtime};
use serde_json::{Value, json};

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds the presigned link stays valid (1..=604800).
    #[arg(long, default_value_t = 120)]
    expires_in: u64,
    /// Report id (the object key becomes reports/<id>.html); default: time + random suffix.
    #[arg(long)]
    report_id: Option<String>,
    /// Fix the clock the tasks see (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Keep serving the embedded object store until the link expires (or Ctrl-C), so the
    /// link can be opened in a browser.
    #[arg(long)]
    hold: bool,
    /// Print the result as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn default_report_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let suffix = &cafe_report_capabilities::new_id()[..8];
    format!("{stamp}-{suffix}")
}

async fn task(runtime: &Runtime, name: &str, input: &Value) -> anyhow::Result<Value> {
    let output = runtime
        .run(name, &input.to_string())
        .await
        .map_err(|err| anyhow::anyhow!("task {name} failed: {err}"))?;
    serde_json::from_str(&output).with_context(|| format!("task {name} output"))
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let runtime = super::runtime(config, args.now.as_deref()).await?;
    let report_id = args.report_id.unwrap_or_else(default_report_id);

    let inventory = task(&runtime, "query", &json!({})).await?;
    let branch_input = json!({ "inventory": inventory, "report_id": report_id });
    let mut presign_input = branch_input.clone();
    presign_input["bucket"] = json!(runtime.capabilities().objects.bucket());
    presign_input["expires_in"] = json!(args.expires_in);
    if let Some(endpoint) = runtime.capabilities().objects_endpoint() {
        presign_input["endpoint"] = json!(endpoint);
    }
    if let Some(region) = &config.objects.region {
        presign_input["region"] = json!(region);
    }
    let (stored, link) = tokio::join!(
        task(&runtime, "render", &branch_input),
        task(&runtime, "presign", &presign_input)
    );
    let (stored, link) = (stored?, link?);

    let local_file = runtime
        .capabilities()
        .embedded_s3
        .as_ref()
        .zip(stored["bucket"].as_str().zip(stored["key"].as_str()))
        .map(|(s3, (bucket, key))| s3.root().join(bucket).join(key));
    let message_id = link["message_id"].as_str().unwrap_or_default();
    let message_file = config
        .data_dir
        .join("outbox")
        .join(format!("{message_id}.eml"));

    if args.json {
        let summary = json!({
            "report": stored,
            "file": local_file,
            "link": link,
            "inventory_totals": inventory["totals"],
            "message": message_file,
        });
        super::print_json(&summary)?;
    } else {
        let totals = &inventory["totals"];
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
        super::print(&lines.join("\n"))?;
    }

    if args.hold {
        if runtime.capabilities().embedded_s3.is_none() {
            bail!(
                "--hold serves the embedded object store, but an external endpoint is configured"
            );
        }
        eprintln!(
            "Serving the link for {} s; Ctrl-C to stop.",
            args.expires_in
        );
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(args.expires_in)) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    Ok(())
}
