//! The application's configuration: `cafe-report.toml` (optional) overridden by environment variables.
//!
//! Precedence, lowest first: built-in defaults, the file, the ecosystem's variables
//! (`DATABASE_URL`, `AWS_*`, `SMTP_URL`), then `CAFE_REPORT_<SECTION>_<KEY>` (e.g.
//! `CAFE_REPORT_LIMITS_TIMEOUT_MS=2000`, `CAFE_REPORT_DATA_DIR=/var/lib/cafe`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cafe_report_capabilities::CapabilitiesConfig;
use cafe_report_capabilities::config::{
    CredentialSource, LinksConfig, NotifyConfig, ObjectsConfig, SignerConfig, SqlConfig,
};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use cafe_report_runtime::{ComponentsConfig, Limits, RuntimeConfig};

/// The file read when neither `--config` nor `CAFE_REPORT_CONFIG` names one (if present).
pub const DEFAULT_CONFIG_FILE: &str = "cafe-report.toml";

/// Ecosystem variable names and the keys they set.
const ECOSYSTEM_VARS: [(&str, &str); 10] = [
    ("DATABASE_URL", "sql.url"),
    // Read only with `[signer] source = "environment"` (see `CREDENTIAL_VARS`).
    ("AWS_ACCESS_KEY_ID", "signer.access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "signer.secret_access_key"),
    ("AWS_SESSION_TOKEN", "signer.session_token"),
    ("AWS_REGION", "signer.region"),
    ("AWS_ENDPOINT_URL", "objects.endpoint"),
    ("SMTP_URL", "notify.smtp_url"),
    ("AWS_ENDPOINT_URL_SNS", "notify.sns_endpoint"),
    ("AWS_ENDPOINT_URL_SFN", "serve.sfn_endpoint"),
    // Step Functions Local's variable for its mock file.
    ("SFN_MOCK_CONFIG", "sfn.mock_config"),
];

/// The variables that carry AWS credentials, read only with `[signer] source =
/// "environment"`.
const CREDENTIAL_VARS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
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
    /// `[auth]`
    pub auth: AuthConfig,
    /// `[links]`
    pub links: LinksConfig,
    /// `[lambda]`
    pub lambda: LambdaConfig,
    /// `[sfn]`
    pub sfn: SfnConfig,
}

/// `[sfn]`: the Step Functions API `serve` answers beside its own (local engine only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SfnConfig {
    /// Its address (`127.0.0.1:0`: any free port); `off`: no listener.
    pub listen: String,
    /// Requests must be signed with a user's access key (`cafe-report users access-key`)
    /// on loopback too. On any other address they always must; on loopback, by default,
    /// any SigV4 credentials pass, as with every local Step Functions emulator.
    pub verify_signatures: bool,
    /// A mock configuration in Step Functions Local's format (env `SFN_MOCK_CONFIG`):
    /// executions started as `<machine ARN>#<test case>` answer its mocked states from it.
    pub mock_config: Option<PathBuf>,
    /// `false`: its records (`sfn.db`) are written without waiting for the disk, as a
    /// test suite may want: they survive a killed process, not a power loss.
    pub durable: bool,
}

impl Default for SfnConfig {
    fn default() -> Self {
        SfnConfig {
            listen: "127.0.0.1:8083".into(),
            verify_signatures: false,
            mock_config: None,
            durable: true,
        }
    }
}

impl SfnConfig {
    /// The address to listen on, unless the API is turned off.
    pub fn address(&self) -> Option<&str> {
        let listen = self.listen.trim();
        (!listen.is_empty() && listen != "off").then_some(listen)
    }
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
    /// Executions waiting for a slot beyond which new ones are refused (429).
    pub max_queued_executions: usize,
    /// Host names requests may carry in `Host`, beside `localhost`, `127.0.0.1`, `::1`
    /// and the listen address (what a DNS-rebinding page cannot send).
    pub allowed_hosts: Vec<String>,
    /// Seconds a client gets to send a request's headers, and then its body.
    pub request_timeout_seconds: u64,
    /// Origins (`https://app.example`) whose pages may call the API from a browser;
    /// none by default, so no page can.
    pub cors_origins: Vec<String>,
}

/// `[auth]`: who may call the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `local` (users in the data directory, `cafe-report users`), `jwt` (tokens from
    /// an OIDC issuer such as a Cognito user pool) or `none` (loopback only, warned).
    pub mode: AuthMode,
    /// `[auth.jwt]`, for `mode = "jwt"`.
    pub jwt: JwtConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::Local,
            jwt: JwtConfig::default(),
        }
    }
}

/// `[auth.jwt]`: the issuer whose tokens count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// `iss` tokens must carry, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub issuer: String,
    /// App client ids a token may be for (`aud`, or `client_id` in access tokens).
    pub audience: Vec<String>,
    /// The key set's URL; default `<issuer>/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    /// A key set file instead of a URL.
    pub jwks_file: Option<PathBuf>,
    /// `token_use` tokens must carry (`id` or `access`); unset: either.
    pub token_use: Option<String>,
    /// A group (`cognito:groups`) whose members see every execution.
    pub admin_group: Option<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub leeway_seconds: u64,
}

/// How callers prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Bearer tokens of the users `cafe-report users add` made.
    Local,
    /// JWTs of an OIDC issuer (`[auth.jwt]`).
    Jwt,
    /// No authentication: every caller is an administrator. Only on loopback.
    None,
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
            max_queued_executions: 1000,
            allowed_hosts: Vec::new(),
            request_timeout_seconds: 10,
            cors_origins: Vec::new(),
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
            auth: AuthConfig::default(),
            links: LinksConfig::default(),
            sfn: SfnConfig::default(),
            lambda: LambdaConfig::default(),
        }
    }
}

/// The configuration `CAFE_REPORT_<SECTION>_<KEY>` variables give, nested as the file
/// is. Hand-written rather than figment's `Env` because the shape decides: a variable
/// that names no key is ignored (the project's own `CAFE_REPORT_TEST_*` are not
/// configuration), a list takes `a,b` as well as JSON, and map keys keep their case
/// (`CAFE_REPORT_WORKFLOW_SUBSTITUTIONS_ReportBucket`).
fn from_variables(vars: impl Iterator<Item = (String, String)>) -> serde_json::Value {
    let shape = serde_json::to_value(Config::default()).expect("the defaults serialize");
    let mut out = serde_json::Value::Object(Default::default());
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("CAFE_REPORT_") else {
            continue;
        };
        if rest == "CONFIG" {
            continue;
        }
        match key_path(&shape, rest) {
            Some(path) => {
                let default = path.iter().try_fold(&shape, |at, key| at.get(key));
                let value = typed(default, &path, value);
                let mut at = &mut out;
                for key in &path {
                    let object = at.as_object_mut().expect("only objects on the way");
                    at = object
                        .entry(key.clone())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()));
                }
                *at = value;
            }
            None => tracing::debug!(variable = %name, "not a configuration key; ignored"),
        }
    }
    out
}

/// `LIMITS_TIMEOUT_MS` -> `[limits, timeout_ms]`, `WORKFLOW_SUBSTITUTIONS_ReportBucket` ->
/// `[workflow, substitutions, ReportBucket]`, `LIMITS_TASKS_RENDER_TIMEOUT_MS` ->
/// `[limits, tasks, render, timeout_ms]`; `None` when it names no key.
fn key_path(shape: &serde_json::Value, rest: &str) -> Option<Vec<String>> {
    let lower = rest.to_ascii_lowercase();
    if shape.get(&lower).is_some_and(|v| !v.is_object()) {
        return Some(vec![lower]);
    }
    // The sections are the tables at the top of the configuration.
    let sections = shape
        .as_object()?
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_object()?)));
    for (section, fields) in sections {
        let Some(field_part) = lower
            .strip_prefix(section)
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        // Longest first: `pool_keep_resident_bytes` before `pool_instances`... and a
        // table's name before its keys.
        let mut names: Vec<&String> = fields.keys().collect();
        names.sort_by_key(|name| std::cmp::Reverse(name.len()));
        for field in names {
            let is_table = fields[field].is_object();
            // A whole table takes JSON (`CAFE_REPORT_WORKFLOW_FUNCTIONS={"fn":"query"}`).
            if field_part == *field {
                return Some(vec![section.to_string(), field.clone()]);
            }
            if is_table
                && let Some(key) = field_part
                    .strip_prefix(field.as_str())
                    .and_then(|r| r.strip_prefix('_'))
            {
                // A nested section's own key (`AUTH_JWT_ADMIN_GROUP`).
                if fields[field].get(key).is_some() {
                    return Some(vec![section.into(), field.clone(), key.to_string()]);
                }
                // The key as written (map keys are case-sensitive).
                let key = &rest[rest.len() - key.len()..];
                if (section, field.as_str()) == ("limits", "tasks") {
                    let (task, limit) = key.split_once('_')?;
                    return Some(vec![
                        section.into(),
                        field.clone(),
                        task.to_ascii_lowercase(),
                        limit.to_ascii_lowercase(),
                    ]);
                }
                return Some(vec![section.into(), field.clone(), key.to_string()]);
            }
        }
    }
    None
}

/// A variable's text as the type its key has: lists from `a,b` or JSON, numbers and
/// booleans parsed, everything else (strings, paths, optional strings) as written.
fn typed(default: Option<&serde_json::Value>, path: &[String], text: String) -> serde_json::Value {
    use serde_json::Value;
    // JSON, else figment's own syntax for environment values (`{k=v}`, `[a, b]`).
    let parsed = || {
        serde_json::from_str::<Value>(&text).ok().or_else(|| {
            let value: figment::value::Value = text.parse().ok()?;
            serde_json::to_value(value).ok()
        })
    };
    match default {
        Some(Value::Array(_)) if text.trim_start().starts_with('[') => {
            parsed().unwrap_or(Value::String(text))
        }
        Some(Value::Array(_)) => Value::Array(
            text.split(',')
                .map(|item| Value::String(item.trim().to_string()))
                .collect(),
        ),
        Some(Value::Number(_) | Value::Bool(_) | Value::Object(_)) => {
            parsed().unwrap_or(Value::String(text))
        }
        // A task's own limits: numbers.
        None if path.len() == 4 => parsed().unwrap_or(Value::String(text)),
        _ => Value::String(text),
    }
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
        let ecosystem = |with_credentials: bool| {
            let vars: Vec<&str> = ECOSYSTEM_VARS
                .iter()
                .map(|(var, _)| *var)
                .filter(|var| with_credentials || !CREDENTIAL_VARS.contains(var))
                .collect();
            Env::raw().only(&vars).map(|var| {
                let key = ECOSYSTEM_VARS
                    .iter()
                    .find(|(name, _)| var.as_str().eq_ignore_ascii_case(name))
                    .map_or(var.as_str(), |(_, key)| key);
                key.to_string().into()
            })
        };
        let own = Serialized::defaults(from_variables(std::env::vars()));
        let context = || match &file {
            Some(file) => format!("reading configuration ({} and environment)", file.display()),
            None => "reading configuration from the environment".to_string(),
        };
        // The environment's AWS credentials are a developer's or a role's: the signer
        // takes them only when the configuration says so, so a component never signs with
        // credentials that merely happen to be in the environment.
        let config: Config = figment
            .clone()
            .merge(ecosystem(false))
            .merge(own.clone())
            .extract()
            .with_context(context)?;
        if config.signer.source != CredentialSource::Environment {
            if CREDENTIAL_VARS
                .iter()
                .any(|var| std::env::var_os(var).is_some())
            {
                tracing::debug!(
                    "AWS credentials in the environment are not used: [signer] source = \"config\""
                );
            }
            return Ok(config);
        }
        let config: Config = figment
            .merge(ecosystem(true))
            .merge(own)
            .extract()
            .with_context(context)?;
        anyhow::ensure!(
            config.signer.access_key_id.is_some() && config.signer.secret_access_key.is_some(),
            "[signer] source = \"environment\" needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        );
        Ok(config)
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
            links: self.links.clone(),
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
            links: caps.links,
            ..self.clone()
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> serde_json::Value {
        from_variables(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn variables_nest_into_sections_as_their_keys_are_typed() {
        let value = vars(&[
            ("CAFE_REPORT_LIMITS_TIMEOUT_MS", "2500"),
            ("CAFE_REPORT_DATA_DIR", "/tmp/x"),
            ("CAFE_REPORT_COMPONENTS_DIR", "/c"),
            ("CAFE_REPORT_LIMITS_POOL_KEEP_RESIDENT_BYTES", "0"),
            ("CAFE_REPORT_OBJECTS_PATH_STYLE", "false"),
            ("CAFE_REPORT_WORKFLOW_ACCOUNT", "000000000042"),
            ("CAFE_REPORT_AUTH_MODE", "jwt"),
            ("CAFE_REPORT_AUTH_JWT_ADMIN_GROUP", "admins"),
            ("CAFE_REPORT_AUTH_JWT_AUDIENCE", "app-1,app-2"),
            ("CAFE_REPORT_AUTH_JWT_LEEWAY_SECONDS", "5"),
        ]);
        assert_eq!(
            value,
            serde_json::json!({
                "limits": {"timeout_ms": 2500, "pool_keep_resident_bytes": 0},
                "data_dir": "/tmp/x",
                "components": {"dir": "/c"},
                "objects": {"path_style": false},
                "workflow": {"account": "000000000042"},
                "auth": {
                    "mode": "jwt",
                    "jwt": {"admin_group": "admins", "audience": ["app-1", "app-2"], "leeway_seconds": 5},
                },
            })
        );
    }

    #[test]
    fn lists_and_tables_can_be_set_from_variables() {
        let value = vars(&[
            ("CAFE_REPORT_NOTIFY_TO", "a@b.c, d@e.f"),
            (
                "CAFE_REPORT_SERVE_CORS_ORIGINS",
                r#"["https://a.example","https://b.example"]"#,
            ),
            ("CAFE_REPORT_WORKFLOW_SUBSTITUTIONS_ReportBucket", "other"),
            ("CAFE_REPORT_WORKFLOW_FUNCTIONS_cafe-QueryFunction", "query"),
            ("CAFE_REPORT_LIMITS_TASKS_RENDER_TIMEOUT_MS", "2000"),
            ("CAFE_REPORT_COMPONENTS_SMOKE_render", "{}"),
            ("CAFE_REPORT_SERVE_LISTEN", "127.0.0.1:1"),
        ]);
        let whole = vars(&[("CAFE_REPORT_WORKFLOW_FUNCTIONS", r#"{"fn-1":"query"}"#)]);
        assert_eq!(whole["workflow"]["functions"]["fn-1"], "query");
        let figment_style = vars(&[("CAFE_REPORT_WORKFLOW_FUNCTIONS", "{fn-1=query}")]);
        assert_eq!(figment_style["workflow"]["functions"]["fn-1"], "query");
        assert_eq!(value["notify"]["to"], serde_json::json!(["a@b.c", "d@e.f"]));
        assert_eq!(
            value["serve"]["cors_origins"],
            serde_json::json!(["https://a.example", "https://b.example"])
        );
        assert_eq!(value["workflow"]["substitutions"]["ReportBucket"], "other");
        assert_eq!(
            value["workflow"]["functions"]["cafe-QueryFunction"],
            "query"
        );
        assert_eq!(value["limits"]["tasks"]["render"]["timeout_ms"], 2000);
        assert_eq!(value["components"]["smoke"]["render"], "{}");
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Serialized::defaults(value))
            .extract()
            .unwrap();
        assert_eq!(config.limits.tasks["render"].timeout_ms, Some(2000));
        assert_eq!(config.notify.to.len(), 2);
    }

    #[test]
    fn variables_that_name_no_key_are_ignored() {
        let value = vars(&[
            ("CAFE_REPORT_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
            ("CAFE_REPORT_WASM_TOOLCHAIN", "debian"),
            ("CAFE_REPORT_CONFIG", "x.toml"),
            ("CAFE_REPORT_PERFMAP", "1"),
            ("OTHER_LIMITS_TIMEOUT_MS", "1"),
        ]);
        assert_eq!(value, serde_json::json!({}));
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
