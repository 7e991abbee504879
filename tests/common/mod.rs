//! The shared harness for end-to-end tests: a runtime over real backends in a temporary
//! data directory (embedded S3 endpoint, SQLite or MySQL, outbox), with a clock the test
//! controls, and helpers to read what the tasks left behind.

#![allow(missing_docs)]

pub mod bench;
pub mod moto;

pub use bench::summarize;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cafe_report_capabilities::clock::FixedClock;
use cafe_report_capabilities::notify::{Outbox, OutboxEntry};
use cafe_report_capabilities::sql::MysqlBackend;
use cafe_report_runtime::{Limits, Runtime, TaskError};
use cafe_report_server::Config;
use serde_json::Value;

/// Where `cargo xtask components` puts the built components.
pub fn components_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/components");
    assert!(
        dir.join("query.wasm").exists(),
        "components are not built: run `cargo xtask components` first (scripts/test.sh does)"
    );
    dir
}

/// A temporary directory holding copies of the built task components, for tests that
/// write component files (publishing, watching).
pub fn own_components_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for task in ["query", "render", "presign"] {
        let name = format!("{task}.wasm");
        std::fs::copy(components_dir().join(&name), dir.path().join(&name))
            .expect("copying a component");
    }
    dir
}

/// A test fixture component, e.g. `misbehave`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        components_dir()
            .join("testing")
            .join(format!("{name}.wasm")),
    )
    .expect("fixture components are built by `cargo xtask components`")
}

/// The MySQL server tests run against (`CAFE_REPORT_TEST_MYSQL_URL`, default: local MariaDB).
pub fn mysql_url(database: &str) -> String {
    let base = std::env::var("CAFE_REPORT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string());
    format!("{}/{database}", base.trim_end_matches('/'))
}

/// Creates `database` on the test MySQL server, with the café tables freshly seeded;
/// answers its URL.
pub async fn seeded_mysql(database: &str) -> String {
    let url = mysql_url(database);
    MysqlBackend::create_database(&url)
        .await
        .unwrap_or_else(|err| panic!("MySQL must be running for this test ({url}): {err:#}"));
    let db = MysqlBackend::new(&url).expect("MySQL URL");
    db.reset_and_seed().await.expect("seeding MySQL");
    db.close().await.expect("closing the seeding connection");
    url
}

/// Milliseconds since the epoch, now.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// 2026-11-24T09:31:00Z, for deterministic outputs.
pub const FIXED_NOW: u64 = 1_795_512_660_000;

/// One runtime with its own data directory.
#[derive(Debug)]
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub runtime: Arc<Runtime>,
    pub clock: Arc<FixedClock>,
}

/// A change to the harness's configuration.
pub type ConfigureFn = Box<dyn FnOnce(&mut Config)>;

/// How to build a harness.
#[derive(Default)]
#[allow(missing_debug_implementations)] // holds a closure
pub struct Options {
    /// Database URL (default: embedded SQLite).
    pub sql_url: Option<String>,
    /// Clock start (default: the real time now, so the embedded S3 accepts presigned URLs).
    pub now: Option<u64>,
    /// Limits (default: the product's, with a 3 s timeout).
    pub limits: Option<Limits>,
    /// Where the components are (default: the build's `target/components`).
    pub components_dir: Option<PathBuf>,
    /// Any further change to the configuration.
    pub configure: Option<ConfigureFn>,
}

impl Options {
    /// These options, running statemachine/report.jsonata.asl.json instead of the JSONPath
    /// file.
    pub fn in_jsonata(self) -> Options {
        Options {
            configure: Some(Box::new(|config| {
                config.workflow.definition = Some(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../statemachine/report.jsonata.asl.json"),
                );
            })),
            ..self
        }
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Harness {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.components.dir = Some(options.components_dir.unwrap_or_else(components_dir));
        config.sql.url = options.sql_url;
        config.limits = options.limits.unwrap_or_else(|| Limits {
            timeout_ms: 3_000,
            ..Limits::default()
        });
        if let Some(configure) = options.configure {
            configure(&mut config);
        }
        let clock = Arc::new(FixedClock::from_millis(
            options.now.unwrap_or_else(now_millis),
        ));
        let runtime = Runtime::from_config(&config.runtime())
            .await
            .expect("runtime from config")
            .with_clock(clock.clone());
        Harness {
            dir,
            config,
            runtime: Arc::new(runtime),
            clock,
        }
    }

    /// Runs a task on a JSON value; the output parsed.
    pub async fn run(&self, task: &str, input: &Value) -> Result<Value, TaskError> {
        self.run_text(task, &input.to_string()).await
    }

    /// Runs a task on raw input text.
    pub async fn run_text(&self, task: &str, input: &str) -> Result<Value, TaskError> {
        let output = self.runtime.run(task, input).await?;
        Ok(serde_json::from_str(&output).expect("task output is JSON"))
    }

    /// The embedded S3 endpoint URL.
    pub fn endpoint(&self) -> String {
        self.runtime
            .capabilities()
            .objects_endpoint()
            .expect("harness uses the embedded S3 endpoint")
    }

    /// The bucket reports go to.
    pub fn bucket(&self) -> String {
        self.runtime.capabilities().objects.bucket().to_string()
    }

    /// A stored object's bytes, read from the embedded store's directory.
    pub fn stored(&self, key: &str) -> Vec<u8> {
        let s3 = self
            .runtime
            .capabilities()
            .embedded_s3
            .as_ref()
            .expect("embedded S3");
        std::fs::read(s3.root().join(self.bucket()).join(key)).expect("object stored")
    }

    /// Every message in the outbox.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        Outbox::new(self.dir.path().join("outbox"), &self.config.notify)
            .and_then(|outbox| outbox.entries())
            .expect("outbox readable")
    }

    /// The report workflow (statemachine/report.asl.json) on this harness's runtime.
    pub fn workflow(&self) -> cafe_report_server::workflow::Workflow {
        cafe_report_server::workflow::Workflow::from_config(&self.config, self.runtime.clone(), &[])
            .expect("the report definition loads")
    }

    /// Runs the report workflow once as execution `name`.
    pub async fn execute_report(&self, name: &str) -> Arc<cafe_report_asl::Execution> {
        self.execute_report_with(name, serde_json::json!({ "expires_in": 300 }))
            .await
    }

    /// Runs the report workflow once as execution `name` on `input`.
    pub async fn execute_report_with(
        &self,
        name: &str,
        input: Value,
    ) -> Arc<cafe_report_asl::Execution> {
        let request = cafe_report_asl::StartExecution {
            name: Some(name.to_string()),
            input: Some(input.to_string()),
        };
        self.workflow()
            .execute(request)
            .await
            .expect("execution starts")
    }

    /// query, then render and presign on `{inventory, report_id}` as the workflow does.
    pub async fn report(&self, report_id: &str, expires_in: u64) -> (Value, Value, Value) {
        let inventory = self
            .run("query", &serde_json::json!({}))
            .await
            .expect("query");
        let branch = serde_json::json!({ "inventory": inventory, "report_id": report_id });
        let stored = self.run("render", &branch).await.expect("render");
        let mut presign = branch.clone();
        presign["bucket"] = self.bucket().into();
        presign["expires_in"] = expires_in.into();
        let link = self.run("presign", &presign).await.expect("presign");
        (inventory, stored, link)
    }
}

/// A plain HTTP GET on loopback; (status, body).
pub async fn http_get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("HTTP body"))
}

/// Statements that replace the sample beans with `count` generated ones (1000 per INSERT),
/// spread over the seven sample suppliers: an inventory far over 256 KiB.
pub fn many_beans_sql(count: u64) -> Vec<String> {
    let mut statements = vec![String::from("DELETE FROM beans")];
    for chunk in 0..count.div_ceil(1000) {
        let rows: Vec<String> = (chunk * 1000 + 1..=((chunk + 1) * 1000).min(count))
            .map(|id| {
                format!(
                    "({id}, {}, 'Arabica', 'Bean {id}', '9.99', 'A fine bean.', {})",
                    id % 7 + 1,
                    id % 50
                )
            })
            .collect();
        statements.push(format!(
            "INSERT INTO beans (id, supplier_id, type, product_name, price, description, quantity) VALUES {}",
            rows.join(",")
        ));
    }
    statements
}
