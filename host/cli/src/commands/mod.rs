//! One module per subcommand.

pub mod config;
pub mod db;
pub mod report;
pub mod run_task;

use std::sync::Arc;

use cafe_report_capabilities::clock::FixedClock;
use cafe_report_engine::{Config, Runtime};

/// The runtime from configuration, with the clock fixed at `now` (RFC 3339) when given.
pub async fn runtime(config: &Config, now: Option<&str>) -> anyhow::Result<Runtime> {
    let runtime = Runtime::from_config(config).await?;
    match now {
        Some(now) => {
            let millis = crate::input::parse_now(now)?;
            Ok(runtime.with_clock(Arc::new(FixedClock::new(millis))))
        }
        None => Ok(runtime),
    }
}
