//! `cargo bench -p cafe-report --bench lambda`: the Lambda host's cold start (process
//! start to its first `next` request, i.e. init done) and per-invocation cost, measured
//! through a Runtime API on loopback, as Lambda drives a custom runtime.
//!
//! Runs the release binary as `bootstrap`. "precompiled": the data directory already
//! holds the compiled component (what a package with a warm cache, or a second start in
//! the same sandbox, sees); "compile": an empty one, so init compiles with Cranelift.
//! The warm series also run with `[components] s3` on moto (test-venv): the check of the
//! prefix not yet due, and due at every invocation (one conditional HEAD each).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/lambda/runtime_api.rs"]
mod runtime_api;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use runtime_api::{Answer, RuntimeApi};
use serde_json::{Value, json};

const STARTS: usize = 20;
const INVOCATIONS: usize = 500;

use common::components_dir;

fn spawn(bootstrap: &Path, data: &Path, components: &Path, api: &RuntimeApi, task: &str) -> Child {
    spawn_with(bootstrap, data, components, api, task, &[])
}

fn spawn_with(
    bootstrap: &Path,
    data: &Path,
    components: &Path,
    api: &RuntimeApi,
    task: &str,
    env: &[(&str, &str)],
) -> Child {
    common::clean_command(bootstrap)
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", task)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("CAFE_REPORT_DATA_DIR", data)
        .env("CAFE_REPORT_COMPONENTS_DIR", components)
        // The role's credentials, as Lambda gives them (objects go to S3, never embedded).
        .env("CAFE_REPORT_SIGNER_SOURCE", "environment")
        .env("AWS_ACCESS_KEY_ID", "AKIDFUNCTIONROLE")
        .env("AWS_SECRET_ACCESS_KEY", "function-role-secret")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting bootstrap")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<44} n={:<4} p50 {:>9.3} ms  p99 {:>9.3} ms  min {:>9.3} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
    );
}

async fn invoke(api: &mut RuntimeApi, event: Value) -> Duration {
    let start = Instant::now();
    api.invoke(event);
    let (at, answer) = api.answer(Duration::from_secs(60)).await;
    // Render refuses `{}` (no inventory): an answer all the same, and no network needed.
    assert!(!matches!(answer, Answer::InitError { .. }), "{answer:?}");
    at - start
}

/// Init times for `STARTS` starts, each with a fresh data dir when `compile`.
async fn cold_starts(
    dir: &Path,
    bootstrap: &Path,
    task: &str,
    compile: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut inits, mut firsts) = (Vec::new(), Vec::new());
    // Run 0 is a warm-up (it fills the cache for the precompiled series) and is not counted.
    for run in 0..=STARTS {
        let data = if compile {
            dir.join(format!("data-{task}-{run}"))
        } else {
            dir.join(format!("data-{task}"))
        };
        let mut api = RuntimeApi::start().await;
        let start = Instant::now();
        let mut child = spawn(bootstrap, &data, &components_dir(), &api, task);
        // The first invocation is queued at once; it is handed out when init is over.
        invoke(&mut api, json!({})).await;
        let answered = start.elapsed();
        let init = api.first_next().expect("the runtime asked for work") - start;
        if run > 0 {
            inits.push(init);
            firsts.push(answered);
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    (inits, firsts)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    std::fs::copy(common::binary(), &bootstrap).unwrap();

    for task in ["query", "render"] {
        let (inits, _) = cold_starts(dir.path(), &bootstrap, task, true).await;
        summary(&format!("{task}: init, compiling the component"), inits);
        let (inits, firsts) = cold_starts(dir.path(), &bootstrap, task, false).await;
        summary(&format!("{task}: init, precompiled component"), inits);
        summary(&format!("{task}: process start to first answer"), firsts);
    }

    // Per-invocation: a warm function, the smallest task (misbehave echoes its input)
    // and query (SQLite), each a round trip through the Runtime API.
    let package = dir.path().join("package");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::copy(
        components_dir().join("testing/misbehave.wasm"),
        package.join("render.wasm"),
    )
    .unwrap();
    // The echo's S3 prefix on moto holds the same version, so a due check is one HEAD
    // answered 304 and nothing is swapped.
    let moto = cafe_report_tests::moto::Moto::start();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config())
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("deploy").send().await.unwrap();
    s3.put_object()
        .bucket("deploy")
        .key("live/render.wasm")
        .body(std::fs::read(package.join("render.wasm")).unwrap().into())
        .send()
        .await
        .unwrap();
    let polled = |seconds: &'static str| {
        vec![
            ("CAFE_REPORT_COMPONENTS_S3", "s3://deploy/live"),
            ("CAFE_REPORT_COMPONENTS_POLL_SECONDS", seconds),
            ("CAFE_REPORT_OBJECTS_BUCKET", "deploy"),
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
        ]
    };
    let quiet = vec![("RUST_LOG", "warn")];
    for (label, task, components, event, env) in [
        (
            "echo (no guest work): warm invocation",
            "render",
            package.clone(),
            json!("hi"),
            vec![],
        ),
        (
            "echo, without the per-invocation log line",
            "render",
            package.clone(),
            json!("hi"),
            quiet,
        ),
        (
            "echo, [components] s3, check not due",
            "render",
            package.clone(),
            json!("hi"),
            polled("3600"),
        ),
        (
            "echo, [components] s3, checked every time",
            "render",
            package.clone(),
            json!("hi"),
            polled("0"),
        ),
        (
            "query (SQLite): warm invocation",
            "query",
            components_dir(),
            json!({}),
            vec![],
        ),
    ] {
        let mut api = RuntimeApi::start().await;
        let data = dir.path().join(format!("data-{task}"));
        let mut child = spawn_with(&bootstrap, &data, &components, &api, task, &env);
        for _ in 0..20 {
            invoke(&mut api, event.clone()).await;
        }
        let mut samples = Vec::with_capacity(INVOCATIONS);
        for _ in 0..INVOCATIONS {
            samples.push(invoke(&mut api, event.clone()).await);
        }
        summary(label, samples);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
