//! `cafe-report config`

use cafe_report_server::Config;

/// Prints the effective configuration, secrets masked, with the components directory
/// as found (it is searched for when not configured).
pub fn run(config: &Config) -> anyhow::Result<()> {
    let mut shown = config.masked();
    shown.components.dir = Some(config.components.dir());
    super::print_json(&serde_json::to_value(shown)?)
}
