//! `cafe-report config`

use cafe_report_runtime::Config;

pub fn run(config: &Config) -> anyhow::Result<()> {
    super::print_json(&serde_json::to_value(config.masked())?)
}
