//! One module per subcommand.

pub mod components;
pub mod config;
pub mod db;
pub mod execute;
pub mod lambda;
pub mod report;
pub mod run_task;
pub mod serve;
pub mod users;
pub mod validate;

use std::io::Write;
use std::sync::Arc;

use cafe_report_capabilities::clock::{Clock, FixedClock, TokioClock};
use cafe_report_runtime::Runtime;
use cafe_report_server::Config;
use time::OffsetDateTime;

/// `--now`: the time a run starts at, for repeatable runs.
#[derive(Debug, Clone, clap::Args)]
pub struct Now {
    /// Start the clock at this time (RFC 3339): the engine's and, through the same
    /// clock, the tasks'.
    #[arg(long = "now", value_name = "RFC3339", value_parser = parse_now)]
    at: Option<OffsetDateTime>,
}

fn parse_now(text: &str) -> Result<OffsetDateTime, String> {
    crate::input::parse_now(text).map_err(|err| err.to_string())
}

impl Now {
    /// A clock that starts at `--now` and runs on (the system's without it): for an
    /// execution, whose Waits, retries and timestamps must move.
    pub fn running(&self) -> Arc<dyn Clock> {
        match self.at {
            Some(at) => Arc::new(TokioClock::starting_at(at)),
            None => Arc::new(TokioClock::system()),
        }
    }

    /// A clock that stands at `--now` (the system's without it): for one task run,
    /// so the same input gives the same output.
    pub fn standing(&self) -> Arc<dyn Clock> {
        match self.at {
            Some(at) => Arc::new(FixedClock::new(at)),
            None => Arc::new(TokioClock::system()),
        }
    }
}

/// The runtime from configuration, its tasks (and the engine over it) reading `clock`.
pub async fn runtime(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Runtime> {
    Ok(Runtime::from_config(&config.runtime())
        .await?
        .with_clock(clock))
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
