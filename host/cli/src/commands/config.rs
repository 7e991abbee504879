//! `cafe-report config`

use cafe_report_server::Config;

pub fn run(config: &Config) -> anyhow::Result<()> {
    super::print_json(&serde_json::to_value(config.masked())?)
}
