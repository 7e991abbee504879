//! The application's configuration: `cafe-report.toml` (optional) overridden by environment variables.
//!
//! Precedence, lowest first: built-in defaults, the file, the ecosystem's variables
//! (`DATABASE_URL`, `AWS_*`, `SMTP_URL`), then `CAFE_REPORT_<SECTION>_<KEY>` (e.g.
//! `CAFE_REPORT_LIMITS_TIMEOUT_MS=2000`, `CAFE_REPORT_DATA_DIR=/var/lib/cafe`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cafe_report_capabilities::CapabilitiesConfig;
use cafe_report_capabilities::config::{NotifyConfig, ObjectsConfig, SignerConfig, SqlConfig};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use cafe_report_runtime::{ComponentsConfig, Limits, RuntimeConfig};

/// The file read when neither `--config` nor `CAFE_REPORT_CONFIG` names one (if present).
pub const DEFAULT_CONFIG_FILE: &str = "cafe-report.toml";

/// Sections whose keys `CAFE_REPORT_<SECTION>_<KEY>` can set.
const SECTIONS: [&str; 9] = [
    "components",
    "limits",
    "sql",
    "objects",
    "notify",
    "signer",
    "workflow",
    "serve",
    "lambda",
];

/// Ecosystem variable names and the keys they set.
const ECOSYSTEM_VARS: [(&str, &str); 9] = [
    ("DATABASE_URL", "sql.url"),
    ("AWS_ACCESS_KEY_ID", "signer.access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "signer.secret_access_key"),
    ("AWS_SESSION_TOKEN", "signer.session_token"),
    ("AWS_REGION", "signer.region"),
    ("AWS_ENDPOINT_URL", "objects.endpoint"),
    ("SMTP_URL", "notify.smtp_url"),
    ("AWS_ENDPOINT_URL_SNS", "notify.sns_endpoint"),
    ("AWS_ENDPOINT_URL_SFN", "serve.sfn_endpoint"),
];

/// Everything configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// All local state: database, object store, outbox, compiled-component cache.
    pub data_dir: PathBuf,
    /// `[components]`
    pub components: ComponentsConfig,
    /// `[limits]`
    pub limits: Limits,
    /// `[sql]`
    pub sql: SqlConfig,
    /// `[objects]`
    pub objects: ObjectsConfig,
    /// `[notify]`
    pub notify: NotifyConfig,
    /// `[signer]`
    pub signer: SignerConfig,
    /// `[workflow]`
    pub workflow: WorkflowConfig,
    /// `[serve]`
    pub serve: ServeConfig,
    /// `[lambda]`
    pub lambda: LambdaConfig,
}

/// `[lambda]`: `cafe-report lambda`, the AWS Lambda runtime.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambdaConfig {
    /// The task the function runs (query, render or presign); default: the function's
    /// name (`AWS_LAMBDA_FUNCTION_NAME`) through `[workflow.functions]`.
    pub task: Option<String>,
}

/// `[serve]`: the REST API of `cafe-report serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Address the API listens on (`127.0.0.1:0`: any free port).
    pub listen: String,
    /// Executions running at once; more wait in order for a free slot.
    pub max_concurrent_executions: usize,
    /// On SIGTERM or Ctrl-C, how long running executions get to finish.
    pub shutdown_grace_seconds: u64,
    /// Where executions run: `local` (this process's engine) or `aws` (Step Functions).
    pub engine: EngineKind,
    /// The state machine executions start on, with `engine = "aws"`.
    pub state_machine_arn: Option<String>,
    /// Step Functions endpoint URL (env `AWS_ENDPOINT_URL_SFN`); default:
    /// `[objects] endpoint` (`AWS_ENDPOINT_URL`), else AWS's.
    pub sfn_endpoint: Option<String>,
}

/// Where `serve` runs executions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The local Step Functions engine, tasks as components in this process.
    #[default]
    Local,
    /// AWS Step Functions (aws-sdk-sfn), tasks as Lambda functions.
    Aws,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:8080".into(),
            max_concurrent_executions: 8,
            shutdown_grace_seconds: 30,
            engine: EngineKind::Local,
            state_machine_arn: None,
            sfn_endpoint: None,
        }
    }
}

/// `[workflow]`: the state machine the local engine runs for `report` (and `serve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowConfig {
    /// The definition file; default: `statemachine/report.asl.json` as built into the binary.
    pub definition: Option<PathBuf>,
    /// The state machine's name (in ARNs).
    pub name: String,
    /// The account id shown in ARNs.
    pub account: String,
    /// The IAM role the state machine runs as (`ExecutionStarted`, `$$.Execution.RoleArn`);
    /// default `arn:aws:iam::<account>:role/cafe-report-local`.
    pub role_arn: Option<String>,
    /// Lambda function name -> component name. A function not listed runs the component
    /// of the same name, so `arn:aws:lambda:...:function:query` runs `query.wasm`.
    pub functions: BTreeMap<String, String>,
    /// Definition substitutions (`${Name}`) added to, or replacing, the local defaults.
    pub substitutions: BTreeMap<String, String>,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        WorkflowConfig {
            definition: None,
            name: "cafe-report".into(),
            account: "000000000000".into(),
            role_arn: None,
            functions: BTreeMap::new(),
            substitutions: BTreeMap::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(".cafe-report"),
            components: ComponentsConfig::default(),
            limits: Limits::default(),
            sql: SqlConfig::default(),
            objects: ObjectsConfig::default(),
            notify: NotifyConfig::default(),
            signer: SignerConfig::default(),
            workflow: WorkflowConfig::default(),
            serve: ServeConfig::default(),
            lambda: LambdaConfig::default(),
        }
    }
}

/// `limits_timeout_ms` -> `limits.timeout_ms`; top-level keys stay as they are.
fn nest(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    for section in SECTIONS {
        if let Some(rest) = key.strip_prefix(section).and_then(|r| r.strip_prefix('_')) {
            return format!("{section}.{rest}");
        }
    }
    key
}

impl Config {
    /// Loads the file `path`, else `CAFE_REPORT_CONFIG`, else `./cafe-report.toml` if it
    /// exists, then applies the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let env_path = std::env::var_os("CAFE_REPORT_CONFIG").map(PathBuf::from);
        let file = match path.map(Path::to_path_buf).or(env_path) {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "config file {} does not exist",
                    path.display()
                );
                Some(path)
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let ecosystem = Env::raw()
            .only(&ECOSYSTEM_VARS.map(|(var, _)| var))
            .map(|var| {
                let key = ECOSYSTEM_VARS
                    .iter()
                    .find(|(name, _)| var.as_str().eq_ignore_ascii_case(name))
                    .map_or(var.as_str(), |(_, key)| key);
                key.to_string().into()
            });
        let own = Env::prefixed("CAFE_REPORT_")
            .ignore(&["config"])
            .map(|key| nest(key.as_str()).into());
        figment
            .merge(ecosystem)
            .merge(own)
            .extract()
            .with_context(|| match &file {
                Some(file) => format!("reading configuration ({} and environment)", file.display()),
                None => "reading configuration from the environment".to_string(),
            })
    }

    /// What the wasm runtime is built from: its sections and the capabilities'.
    pub fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            data_dir: self.data_dir.clone(),
            components: self.components.clone(),
            limits: self.limits.clone(),
            capabilities: self.capabilities(),
        }
    }

    /// The capability sections, for building backends.
    pub fn capabilities(&self) -> CapabilitiesConfig {
        CapabilitiesConfig {
            sql: self.sql.clone(),
            objects: self.objects.clone(),
            notify: self.notify.clone(),
            signer: self.signer.clone(),
        }
    }

    /// A copy safe to print: secrets masked.
    pub fn masked(&self) -> Config {
        let caps = self.capabilities().masked();
        Config {
            sql: caps.sql,
            objects: caps.objects,
            notify: caps.notify,
            signer: caps.signer,
            ..self.clone()
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn env_keys_nest_into_sections() {
        assert_eq!(nest("limits_timeout_ms"), "limits.timeout_ms");
        assert_eq!(nest("objects_bucket"), "objects.bucket");
        assert_eq!(nest("data_dir"), "data_dir");
        assert_eq!(nest("COMPONENTS_DIR"), "components.dir");
    }

    #[test]
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cafe-report.toml",
                "data_dir = \"/tmp/x\"\n[limits]\ntimeout_ms = 1234\n[objects]\nbucket = \"from-file\"\n",
            )?;
            jail.set_env("CAFE_REPORT_OBJECTS_BUCKET", "from-env");
            jail.set_env("DATABASE_URL", "mysql://root@127.0.0.1:3306/COFFEE");
            jail.set_env("AWS_REGION", "eu-west-1");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
            assert_eq!(config.limits.timeout_ms, 1234);
            assert_eq!(config.objects.bucket, "from-env");
            assert_eq!(
                config.sql.url.as_deref(),
                Some("mysql://root@127.0.0.1:3306/COFFEE")
            );
            assert_eq!(config.signer.region, "eu-west-1");
            Ok(())
        });
    }

    #[test]
    fn the_example_file_parses_and_shows_the_defaults() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../cafe-report.example.toml"
        );
        let parsed: Config = Figment::from(Toml::file_exact(example))
            .extract()
            .unwrap_or_else(|err| panic!("{example}: {err}"));
        assert_eq!(
            parsed,
            Config::default(),
            "a value in {example} is not the default"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("cafe-report.toml", "[limits]\ntimeout = 5\n")?;
            let err = Config::load(None).unwrap_err();
            assert!(format!("{err:#}").contains("timeout"), "{err:#}");
            Ok(())
        });
    }
}
