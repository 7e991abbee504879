//! One module per subcommand.

pub mod components;
pub mod config;
pub mod db;
pub mod execute;
pub mod lambda;
pub mod report;
pub mod run_task;
pub mod serve;
pub mod validate;

use std::io::Write;
use std::sync::Arc;

use cafe_report_capabilities::clock::FixedClock;
use cafe_report_runtime::Runtime;
use cafe_report_server::Config;

/// The runtime from configuration, with the clock fixed at `now` (RFC 3339) when given.
pub async fn runtime(config: &Config, now: Option<&str>) -> anyhow::Result<Runtime> {
    let runtime = Runtime::from_config(&config.runtime()).await?;
    match now {
        Some(now) => {
            let millis = crate::input::parse_now(now)?;
            Ok(runtime.with_clock(Arc::new(FixedClock::new(millis))))
        }
        None => Ok(runtime),
    }
}

/// Writes `text` and a newline to stdout. A closed pipe (`cafe-report ... | head`) is not
/// an error: the reader has what it wanted.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}

/// Prints a JSON value, pretty.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    print(&serde_json::to_string_pretty(value)?)
}
