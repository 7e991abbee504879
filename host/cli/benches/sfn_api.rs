//! `cargo bench -p cafe-report --bench sfn_api`: StartExecution -> end through the Step
//! Functions API, one client (aws-sdk-sfn) against `serve`'s API, moto and MiniStack,
//! side by side in one run: a 10-state Pass machine, and report.asl.json with its three
//! functions answered by canned results (a mock test case on `serve` and MiniStack, which
//! both read Step Functions Local's mock files; moto's queued Lambda answers on moto).
//!
//! Each execution: StartExecution, then DescribeExecution until it is no longer RUNNING
//! (polled at once, then every 0.1 ms), timed by the client. Then DescribeExecution's
//! round trip alone, through the SDK and as a fixed request without it. `CAFE_REPORT_SFN_BENCH_N`
//! executions per target and machine (default 200, after 10 untimed), one after another.
//! moto comes from `scripts/test-tools.sh`; MiniStack, which pins other versions of
//! botocore than moto, gets its own venv from `scripts/bench-tools.sh`, run here.
//! Method and results: BENCHMARKS.md.

#[path = "../tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../tests/serve/server.rs"]
mod server;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::ExecutionStatus;
use cafe_report_tests::moto::{Moto, canned_answers, report_machine_on};
use serde_json::json;

const ROLE: &str = "arn:aws:iam::000000000000:role/bench";

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

/// Ten Pass states in a row.
fn passes() -> String {
    let states: serde_json::Map<String, serde_json::Value> = (1..=10)
        .map(|i| {
            let mut state = json!({"Type": "Pass", "Result": i, "ResultPath": format!("$.s{i}")});
            if i == 10 {
                state["End"] = json!(true);
            } else {
                state["Next"] = json!(format!("S{}", i + 1));
            }
            (format!("S{i}"), state)
        })
        .collect();
    json!({"StartAt": "S1", "States": states}).to_string()
}

/// report.asl.json with function ARNs nothing serves: a mock test case answers them.
fn report_definition() -> String {
    let function = |name: &str| format!("arn:aws:lambda:us-east-1:000000000000:function:{name}");
    let substitutions = [
        ("QueryFunctionArn", function("query")),
        ("RenderFunctionArn", function("render")),
        ("PresignFunctionArn", function("presign")),
        ("ReportBucket", "bench-reports".to_string()),
        (
            "ReportTopicArn",
            "arn:aws:sns:us-east-1:000000000000:cafe-report".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    cafe_report_server::workflow::substitute(
        cafe_report_server::workflow::REPORT_DEFINITION,
        &substitutions,
    )
    .unwrap()
}

/// The mock file both `serve` and MiniStack read: test case `Canned` of machine
/// `report` answers query, render and presign as moto's queue does.
fn mock_file(dir: &Path) -> PathBuf {
    let (inventory, delivered) = canned_answers();
    let answer = |payload: &serde_json::Value| json!({"0": {"Return": {"StatusCode": 200, "Payload": payload}}});
    let config = json!({
        "StateMachines": {"report": {"TestCases": {"Canned": {
            "Query": "Inventory", "Render": "Delivered", "Presign": "Delivered"
        }}}},
        "MockedResponses": {"Inventory": answer(&inventory), "Delivered": answer(&delivered)}
    });
    let path = dir.join("MockConfigFile.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// A running MiniStack; stopped when dropped.
struct MiniStack {
    child: Child,
    endpoint: String,
}

impl MiniStack {
    fn start(mocks: &Path) -> MiniStack {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let status = Command::new("bash")
            .arg(root.join("scripts/bench-tools.sh"))
            .status()
            .expect("running scripts/bench-tools.sh");
        assert!(status.success(), "scripts/bench-tools.sh failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new(root.join("target/ministack-venv/bin/ministack"))
            .env("GATEWAY_PORT", port.to_string())
            .env("SFN_MOCK_CONFIG", mocks)
            .env("LOG_LEVEL", "WARNING")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting ministack");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "MiniStack did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        MiniStack {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for MiniStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// StartExecution (named: moto names unnamed ones "None"), then DescribeExecution until
/// the end; the time the client saw.
async fn one(sfn: &Client, machine: &str, name: &str, input: &str) -> Duration {
    let start = Instant::now();
    let arn = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input)
        .send()
        .await
        .unwrap()
        .execution_arn;
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
        match &described.status {
            // tokio's timer counts whole milliseconds: a thread sleep keeps the poll
            // interval at 0.1 ms (the bench is one client, one request at a time).
            ExecutionStatus::Running => std::thread::sleep(Duration::from_micros(100)),
            ExecutionStatus::Succeeded => return start.elapsed(),
            other => panic!("{arn} ended {other:?}: {:?}", described.cause()),
        }
    }
}

/// `n` timed executions after 10 untimed; `before` runs before each (moto's queue).
async fn measure<F, Fut>(
    name: &str,
    sfn: &Client,
    machine: &str,
    n: usize,
    before: F,
) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n + 10 {
        before().await;
        let took = one(sfn, machine, &format!("run-{i}"), r#"{"expires_in": 300}"#).await;
        if i >= 10 {
            samples.push(took);
        }
    }
    let rate = (n + 10) as f64 / started.elapsed().as_secs_f64();
    report(name, samples.clone(), rate);
    samples
}

/// `n` DescribeExecution calls on an ended execution of `machine`: the API's round
/// trip, client and server, with nothing to run; then the same calls without the SDK.
async fn round_trips(name: &str, sfn: &Client, endpoint: &str, machine: &str, n: usize) {
    let listed = sfn
        .list_executions()
        .state_machine_arn(machine)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let arn = listed.executions[0].execution_arn.clone();
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let start = Instant::now();
        sfn.describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
        samples.push(start.elapsed());
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    report(&format!("{name}: DescribeExecution"), samples, rate);
    raw_round_trips(name, endpoint, &arn, n).await;
}

/// DescribeExecution as one fixed request on a kept-alive connection (reqwest), with a
/// made-up signature, which these three APIs do not check on loopback: how much of the
/// SDK's round trip is the server's.
async fn raw_round_trips(name: &str, endpoint: &str, arn: &str, n: usize) {
    let http = reqwest::Client::new();
    let body = json!({ "executionArn": arn }).to_string();
    let call = || {
        http.post(endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "AWSStepFunctions.DescribeExecution")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00",
            )
            .body(body.clone())
            .send()
    };
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n + 10 {
        let start = Instant::now();
        let response = call().await.unwrap();
        assert!(response.status().is_success(), "{name}: {response:?}");
        response.bytes().await.unwrap();
        if i >= 10 {
            samples.push(start.elapsed());
        }
    }
    let rate = (n + 10) as f64 / started.elapsed().as_secs_f64();
    report(&format!("{name}: DescribeExecution, raw"), samples, rate);
}

fn report(name: &str, mut samples: Vec<Duration>, rate: f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<36} n={:<4} p50={:>9.2?} p99={:>9.2?} executions/s={rate:>8.1}",
        samples.len(),
        at(0.5),
        at(0.99)
    );
}

async fn create(sfn: &Client, name: &str, definition: &str) -> String {
    sfn.create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

#[tokio::main]
async fn main() {
    let n = std::env::var("CAFE_REPORT_SFN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let mocks = mock_file(dir.path());
    let nothing = || async {};

    // serve, durable records (the default) and records without fsync.
    let mut medians = Vec::new();
    for (label, env) in [
        ("cafe-report", vec![]),
        (
            "cafe-report, [sfn] durable = false",
            vec![("CAFE_REPORT_SFN_DURABLE", "false")],
        ),
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut vars = vec![("SFN_MOCK_CONFIG", mocks.to_str().unwrap())];
        vars.extend(env);
        let serve = server::Serve::start(data.path(), &vars);
        let endpoint = serve.sfn.clone().unwrap();
        let sfn = client(&endpoint);
        let pass = create(&sfn, "passes", &passes()).await;
        let report = create(&sfn, "report", &report_definition()).await;
        let p = measure(&format!("{label}: 10 Pass"), &sfn, &pass, n, nothing).await;
        round_trips(label, &sfn, &endpoint, &pass, n).await;
        let r = measure(
            &format!("{label}: report (mocked)"),
            &sfn,
            &format!("{report}#Canned"),
            n,
            nothing,
        )
        .await;
        medians.push((label, common_median(&p), common_median(&r)));
    }

    let moto = Moto::start();
    let (_, moto_report) = report_machine_on(&moto).await;
    let moto_sfn = client(&moto.endpoint);
    let moto_pass = create(&moto_sfn, "passes", &passes()).await;
    let (inventory, delivered) = canned_answers();
    let moto_p = measure("moto: 10 Pass", &moto_sfn, &moto_pass, n, nothing).await;
    round_trips("moto", &moto_sfn, &moto.endpoint, &moto_pass, n).await;
    let queue = || {
        let answers = [inventory.clone(), delivered.clone(), delivered.clone()];
        let moto = &moto;
        async move { moto.queue_lambda_results(&answers).await }
    };
    let moto_r = measure(
        "moto: report (queued answers)",
        &moto_sfn,
        &moto_report,
        n,
        queue,
    )
    .await;
    drop(moto);

    let ministack = MiniStack::start(&mocks);
    let ms_sfn = client(&ministack.endpoint);
    let ms_pass = create(&ms_sfn, "passes", &passes()).await;
    let ms_report = create(&ms_sfn, "report", &report_definition()).await;
    let ms_p = measure("MiniStack: 10 Pass", &ms_sfn, &ms_pass, n, nothing).await;
    round_trips("MiniStack", &ms_sfn, &ministack.endpoint, &ms_pass, n).await;
    let ms_r = measure(
        "MiniStack: report (mocked)",
        &ms_sfn,
        &format!("{ms_report}#Canned"),
        n,
        nothing,
    )
    .await;

    let faster_pass = common_median(&moto_p).min(common_median(&ms_p));
    let faster_report = common_median(&moto_r).min(common_median(&ms_r));
    for (label, pass, report) in medians {
        println!(
            "{label}: p50 {:.1}x faster than the faster emulator for 10 Pass (goal 20x), {:.1}x for the report (goal 50x)",
            faster_pass.as_secs_f64() / pass.as_secs_f64(),
            faster_report.as_secs_f64() / report.as_secs_f64()
        );
    }
}

fn common_median(samples: &[Duration]) -> Duration {
    cafe_report_tests::bench::median(samples)
}
