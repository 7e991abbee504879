//! `cafe-report config`

use cafe_report_engine::Config;

pub fn run(config: &Config) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&config.masked())?);
    Ok(())
}
