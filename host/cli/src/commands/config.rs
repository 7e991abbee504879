//! `cafe-report config`

use cafe_report_capabilities::config::CredentialSource;
use cafe_report_capabilities::objects::KEYS_FILE;
use cafe_report_server::Config;

/// Prints the effective configuration, secrets masked, with the components directory
/// as found (it is searched for when not configured) and which keys sign report links.
pub fn run(config: &Config) -> anyhow::Result<()> {
    let mut shown = config.masked();
    shown.components.dir = Some(config.components.dir());
    let mut value = serde_json::to_value(shown)?;
    value["signer"]["signing_with"] = signing_with(config).into();
    super::print_json(&value)
}

/// Whose keys sign report links, in words.
fn signing_with(config: &Config) -> String {
    let source = match config.signer.source {
        CredentialSource::Config => "[signer]",
        CredentialSource::Environment => "the environment (AWS_ACCESS_KEY_ID)",
    };
    match (&config.signer.access_key_id, config.objects.embedded()) {
        (Some(id), _) => format!("{id}, from {source}"),
        (None, true) => format!(
            "the embedded endpoint's own signing key, in {}",
            config.data_dir.join(KEYS_FILE).display()
        ),
        (None, false) => "nothing: [signer] needs keys for this endpoint".to_string(),
    }
}
