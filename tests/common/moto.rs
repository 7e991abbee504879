//! moto (`moto[server]` in the venv `scripts/test-tools.sh` prepares): the AWS emulator the
//! AWS-path tests run against, one server per test on a free loopback port.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;

/// The region the tests use on moto.
pub const REGION: &str = "us-east-1";

/// A running moto server; stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Moto {
        let server =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin/moto_server");
        assert!(
            server.exists(),
            "{} is missing: run scripts/test-tools.sh (scripts/test.sh does) to install moto",
            server.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Credentials moto accepts (any).
    pub fn credentials() -> Credentials {
        Credentials::new("testing", "testing", None, None, "moto")
    }

    /// An SDK configuration for moto's endpoint.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Self::credentials()),
            )
            .build()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Turns on moto's real Step Functions execution, with Lambda answered from a queue
    /// instead of Docker.
    pub async fn execute_state_machines(&self) {
        let config = serde_json::json!({
            "stepfunctions": { "execute_state_machine": true },
            "lambda": { "use_docker": false },
        });
        self.post("/moto-api/config", &config).await;
    }

    /// Queues the answers moto's Lambda gives, in invocation order.
    pub async fn queue_lambda_results(&self, results: &[serde_json::Value]) {
        let results: Vec<String> = results.iter().map(|r| r.to_string()).collect();
        let body = serde_json::json!({ "results": results, "region": REGION });
        self.post("/moto-api/static/lambda-simple/response", &body)
            .await;
    }

    async fn post(&self, path: &str, body: &serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.endpoint))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("moto answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
}
