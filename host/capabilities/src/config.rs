//! Configuration of the capability backends: the `[sql]`, `[objects]`, `[notify]` and
//! `[signer]` sections of `cafe-report.toml`. Loading (file + environment) happens in the
//! engine crate's `config` module; every field has a local default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::signer::Credentials;

/// All capability sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapabilitiesConfig {
    /// `[sql]`
    pub sql: SqlConfig,
    /// `[objects]`
    pub objects: ObjectsConfig,
    /// `[notify]`
    pub notify: NotifyConfig,
    /// `[signer]`
    pub signer: SignerConfig,
    /// `[links]`
    pub links: LinksConfig,
}

/// `[links]`: the presigned report links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinksConfig {
    /// The longest lifetime a link may have, in seconds: what a caller may ask for
    /// (`expires_in`), what the signer signs and the embedded endpoint honours; the SAM
    /// template's bucket policy refuses older signatures too.
    pub max_expires_seconds: u64,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            max_expires_seconds: 3600,
        }
    }
}

/// `[sql]`: the café database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqlConfig {
    /// `sqlite://PATH` or `mysql://USER:PASS@HOST:PORT/DB` (env `DATABASE_URL`).
    /// Default: `sqlite://<data_dir>/coffee.db`, created with sample data.
    pub url: Option<String>,
    /// MySQL: the ARN of a Secrets Manager secret holding the login (`{"username",
    /// "password", ...}`, as RDS writes it), read with `[signer]`'s credentials; `url`
    /// then names no user. Read at start and again when the database refuses it.
    pub secret: Option<String>,
    /// MySQL: the time limit of one statement, enforced by the server (MariaDB's
    /// `max_statement_time`, MySQL's `max_execution_time`). SQLite statements stop with
    /// their task instead.
    pub statement_timeout_ms: u64,
}

impl Default for SqlConfig {
    fn default() -> Self {
        SqlConfig {
            url: None,
            secret: None,
            statement_timeout_ms: crate::sql::DEFAULT_STATEMENT_TIMEOUT.as_millis() as u64,
        }
    }
}

impl SqlConfig {
    /// The configured URL or the embedded default.
    pub fn url_or_default(&self, data_dir: &Path) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("coffee.db").display()))
    }
}

/// `[objects]`: where reports are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectsConfig {
    /// The bucket reports go into.
    pub bucket: String,
    /// S3 endpoint URL (env `AWS_ENDPOINT_URL`). Unset: the embedded endpoint, unless
    /// `embedded_server = false`, which means AWS's own endpoint.
    pub endpoint: Option<String>,
    /// Serve an embedded S3 endpoint over `<data_dir>/objects` when no endpoint is set.
    pub embedded_server: bool,
    /// Address the embedded endpoint listens on (`127.0.0.1:0`: any free port).
    pub listen: String,
    /// Region for S3 requests; default: the signer's region.
    pub region: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`) to a configured endpoint.
    pub path_style: bool,
}

impl Default for ObjectsConfig {
    fn default() -> Self {
        ObjectsConfig {
            bucket: "cafe-reports".into(),
            endpoint: None,
            embedded_server: true,
            listen: "127.0.0.1:0".into(),
            region: None,
            path_style: true,
        }
    }
}

impl ObjectsConfig {
    /// Whether the host serves the object store itself.
    pub fn embedded(&self) -> bool {
        self.endpoint.is_none() && self.embedded_server
    }
}

/// `[notify]`: where messages go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// `smtp://host:port` (env `SMTP_URL`); unset: outbox only.
    pub smtp_url: Option<String>,
    /// Publish to this SNS topic instead (aws-sdk-sns; the AWS path). The endpoint is
    /// `sns_endpoint`, else `[objects] endpoint` (`AWS_ENDPOINT_URL`), else AWS's.
    pub sns_topic_arn: Option<String>,
    /// SNS endpoint URL (env `AWS_ENDPOINT_URL_SNS`), e.g. an emulator's.
    pub sns_endpoint: Option<String>,
    /// Sender mailbox.
    pub from: String,
    /// Recipient mailboxes (the topic's subscribers).
    pub to: Vec<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp_url: None,
            sns_topic_arn: None,
            sns_endpoint: None,
            from: "Café Reports <reports@cafe-report.local>".into(),
            to: vec!["Inventory Team <inventory@cafe-report.local>".into()],
        }
    }
}

/// Where the signer's credentials come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialSource {
    /// `[signer]`'s keys (file or `CAFE_REPORT_SIGNER_*`), else (embedded endpoint only)
    /// the data directory's own signing key; `AWS_ACCESS_KEY_ID` and the like are not read.
    #[default]
    Config,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (a Lambda
    /// function's role, a deployment's own keys).
    Environment,
}

/// `[signer]`: the host's credentials. With `source = "environment"` they come from
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; otherwise from
/// here; unset, the embedded endpoint's links use the data directory's signing key
/// ([`crate::objects::EmbeddedKeys`]). `AWS_REGION` sets the region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignerConfig {
    /// Where the credentials come from (`config` or `environment`).
    pub source: CredentialSource,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
    /// Default signing region.
    pub region: String,
}

impl Default for SignerConfig {
    fn default() -> Self {
        SignerConfig {
            source: CredentialSource::Config,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            region: "us-east-1".into(),
        }
    }
}

impl SignerConfig {
    /// The configured credentials, when both keys are set. Without them, the embedded
    /// endpoint's links are signed with the data directory's own signing key.
    pub fn configured(&self) -> Option<Credentials> {
        Some(Credentials {
            access_key_id: self.access_key_id.clone()?,
            secret_access_key: self.secret_access_key.clone()?,
            session_token: self.session_token.clone(),
            region: self.region.clone(),
        })
    }
}

/// Replaces a secret for display: whatever it is, `****`.
pub fn mask(_secret: &str) -> String {
    // Not one character of it: a prefix of a short token is most of the token.
    "****".to_string()
}

impl CapabilitiesConfig {
    /// A copy safe to print: secrets and URL passwords masked.
    pub fn masked(&self) -> CapabilitiesConfig {
        let mut copy = self.clone();
        copy.signer.secret_access_key = copy.signer.secret_access_key.as_deref().map(mask);
        copy.signer.session_token = copy.signer.session_token.as_deref().map(mask);
        copy.sql.url = copy.sql.url.as_deref().map(mask_url);
        copy.notify.smtp_url = copy.notify.smtp_url.as_deref().map(mask_url);
        copy
    }
}

/// `mysql://user:secret@host/db` -> `mysql://user:****@host/db`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets() {
        let mut config = CapabilitiesConfig::default();
        config.signer.secret_access_key = Some("wJalrXUtnFEMI".into());
        config.sql.url = Some("mysql://app:hunter2@db:3306/COFFEE".into());
        let masked = config.masked();
        assert_eq!(masked.signer.secret_access_key.as_deref(), Some("****"));
        config.signer.session_token = Some("tok123".into());
        assert_eq!(
            config.masked().signer.session_token.as_deref(),
            Some("****")
        );
        assert_eq!(
            masked.sql.url.as_deref(),
            Some("mysql://app:****@db:3306/COFFEE")
        );
        assert!(!format!("{masked:?}").contains("hunter2"));
    }
}
