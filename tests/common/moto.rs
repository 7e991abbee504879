//! moto (`moto[server]` in the venv `scripts/test-tools.sh` prepares): the AWS emulator the
//! AWS-path tests run against, one server per test on a free loopback port.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;

use aws_credential_types::Credentials;
use cafe_report_asl::{Engine, Execution, InvokeError, StartExecution, TaskCall, TokioClock};
use serde_json::Value;

/// The region the tests use on moto.
pub const REGION: &str = "us-east-1";
/// The bucket the AWS-path tests store reports in.
pub const BUCKET: &str = "cafe-reports-aws";

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

/// report.asl.json created on moto (real execution turned on), with function ARNs that
/// moto answers from its queue; returns the definition and the state machine's ARN.
pub async fn report_machine_on(moto: &Moto) -> (String, String) {
    moto.execute_state_machines().await;
    let config = moto.sdk_config();
    let topic = aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name("cafe-report")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let function = |name: &str| format!("arn:aws:lambda:{REGION}:123456789012:function:{name}");
    let substitutions = [
        ("QueryFunctionArn", function("query")),
        ("RenderFunctionArn", function("render")),
        ("PresignFunctionArn", function("presign")),
        ("ReportBucket", BUCKET.to_string()),
        ("ReportTopicArn", topic),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let definition = cafe_report_server::workflow::substitute(
        cafe_report_server::workflow::REPORT_DEFINITION,
        &substitutions,
    )
    .unwrap();
    let machine = aws_sdk_sfn::Client::new(&config)
        .create_state_machine()
        .name("cafe-report")
        .definition(&definition)
        .role_arn("arn:aws:iam::123456789012:role/cafe-report")
        .send()
        .await
        .unwrap();
    (definition, machine.state_machine_arn().to_string())
}

/// What the functions answer: query's inventory, then one object that serves as both
/// render's and presign's answer (moto hands queued answers out in call order, and the
/// two run in parallel).
pub fn canned_answers() -> (Value, Value) {
    let inventory =
        serde_json::json!({ "totals": { "suppliers": 7, "beans": 18 }, "suppliers": [] });
    let delivered = serde_json::json!({
        "bucket": BUCKET, "key": "reports/side-by-side.html", "etag": "e1",
        "url": "https://example/reports/side-by-side.html?X-Amz-Signature=1",
        "expires_at": "2026-11-29T12:00:00Z", "message_id": "m-1",
    });
    (inventory, delivered)
}

/// The state names and event types of a history, in order.
pub fn steps(events: &[(String, Option<String>)]) -> Vec<String> {
    events
        .iter()
        .map(|(kind, state)| match state {
            Some(state) => format!("{kind} {state}"),
            None => kind.clone(),
        })
        .collect()
}

/// The local engine's stand-in for moto's queued answers: query gets the inventory, every
/// other function the delivery; SNS publishes (the failure path) are refused.
pub fn answers(inventory: Value, delivered: Value) -> Arc<dyn cafe_report_asl::TaskInvoker> {
    Arc::new(move |call: TaskCall| {
        let (inventory, delivered) = (inventory.clone(), delivered.clone());
        async move {
            match call {
                TaskCall::Lambda { function, .. } if function.ends_with(":query") => Ok(inventory),
                TaskCall::Lambda { .. } => Ok(delivered),
                TaskCall::SnsPublish { .. } => Err(InvokeError::Service {
                    error: "Unexpected".into(),
                    cause: "the failure path ran".into(),
                }),
            }
        }
    })
}

/// Starts an execution on moto's Step Functions, polls it (every 5 ms) to its end, and
/// answers its description and its events as (type, state name).
pub async fn run_on_moto(
    sfn: &aws_sdk_sfn::Client,
    machine_arn: &str,
    name: &str,
    input: &str,
) -> (
    aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
    Vec<(String, Option<String>)>,
) {
    let started = sfn
        .start_execution()
        .state_machine_arn(machine_arn)
        .name(name)
        .input(input)
        .send()
        .await
        .unwrap();
    let description = loop {
        let description = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .unwrap();
        if description.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            break description;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let history = sfn
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .unwrap();
    let events = history
        .events()
        .iter()
        .map(|e| {
            let state = e
                .state_entered_event_details()
                .map(|d| d.name().to_string())
                .or_else(|| e.state_exited_event_details().map(|d| d.name().to_string()));
            (e.r#type().as_str().to_string(), state)
        })
        .collect();
    (description, events)
}

/// The same definition executed on the local engine with `invoker`'s answers.
pub async fn run_locally(
    definition: &str,
    invoker: Arc<dyn cafe_report_asl::TaskInvoker>,
    name: &str,
    input: &str,
) -> Arc<Execution> {
    let engine = Engine::new(invoker, Arc::new(TokioClock::system()));
    let machine = cafe_report_asl::StateMachine::parse(definition).unwrap();
    let request = StartExecution {
        name: Some(name.into()),
        input: Some(input.into()),
    };
    engine
        .execute(Arc::new(machine), "cafe-report", request)
        .await
        .unwrap()
}
