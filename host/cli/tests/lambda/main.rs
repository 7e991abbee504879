//! `cafe-report lambda` driven through a Lambda Runtime API on loopback: the real binary
//! as Lambda would run it, one function per task component.

#[path = "../common/mod.rs"]
mod common;
mod on_moto;
mod runtime_api;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use cafe_report_capabilities::objects::{EmbeddedS3, KeyPair, ObjectStore, ReportAccess, S3Store};
use runtime_api::{Answer, RuntimeApi};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

use common::components_dir;

/// The binary as Lambda starts it: named `bootstrap`, no arguments, Lambda's variables.
struct Function {
    child: Child,
}

impl Function {
    fn start(dir: &Path, api: &RuntimeApi, name: &str, env: &[(&str, &str)]) -> Function {
        // Lambda runs a file named `bootstrap`; the binary reads its name from argv[0], so
        // the test sets that instead of copying the binary: a copy just written can fail to
        // start with ETXTBSY while another test's fork still holds its write descriptor.
        let child = common::clean_command(common::binary())
            .arg0("bootstrap")
            .current_dir(dir)
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
            .env("CAFE_REPORT_DATA_DIR", dir.join("data"))
            .env("CAFE_REPORT_COMPONENTS_DIR", components_dir())
            // The role's credentials, as Lambda gives them and the template reads them.
            .env("CAFE_REPORT_SIGNER_SOURCE", "environment")
            .env("AWS_ACCESS_KEY_ID", "AKIDFUNCTIONROLE")
            .env("AWS_SECRET_ACCESS_KEY", "function-role-secret")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
            .spawn()
            .expect("starting the function");
        Function { child }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Invokes and waits for the answer.
async fn invoke(api: &mut RuntimeApi, event: Value) -> Answer {
    let id = api.invoke(event);
    let (_, answer) = api.answer(WAIT).await;
    match &answer {
        Answer::Response { id: got, .. } | Answer::Error { id: got, .. } => assert_eq!(got, &id),
        Answer::InitError { body } => panic!("init failed: {body}"),
    }
    answer
}

/// The init error the function reported (its body), failing the test on anything else.
async fn init_error(api: &mut RuntimeApi) -> Value {
    let (_, answer) = api.answer(WAIT).await;
    let Answer::InitError { body } = answer else {
        panic!("expected an init error, got {answer:?}");
    };
    assert_eq!(body["errorType"], "CafeReport.InitError", "{body}");
    body
}

fn response(answer: Answer) -> Value {
    match answer {
        Answer::Response { body, .. } => body,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn error(answer: Answer) -> Value {
    match answer {
        Answer::Error { body, .. } => body,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_answers_every_invocation_with_its_component() {
    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().await;
    // The function's name picks the component.
    let _function = Function::start(dir.path(), &api, "query", &[]);
    for threshold in [10, 40] {
        let inventory =
            response(invoke(&mut api, json!({ "low_stock_threshold": threshold })).await);
        assert_eq!(inventory["totals"]["suppliers"], 7);
        assert_eq!(inventory["low_stock_threshold"], threshold, "{inventory}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn task_errors_become_lambda_errors_named_for_step_functions() {
    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().await;
    // A deployed name, mapped to its component by configuration.
    let _function = Function::start(
        dir.path(),
        &api,
        "cafe-report-QueryFunction-1A2B",
        &[(
            "CAFE_REPORT_WORKFLOW_FUNCTIONS",
            "{cafe-report-QueryFunction-1A2B=query}",
        )],
    );
    let failure = error(invoke(&mut api, json!({ "no_such_field": 1 })).await);
    assert_eq!(failure["errorType"], "CafeReport.InvalidInput", "{failure}");
    assert!(
        failure["errorMessage"]
            .as_str()
            .unwrap()
            .contains("no_such_field"),
        "{failure}"
    );
    // The function keeps serving.
    let inventory = response(invoke(&mut api, json!({})).await);
    assert_eq!(inventory["totals"]["suppliers"], 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_fails_one_invocation_only() {
    let dir = tempfile::tempdir().unwrap();
    let components = dir.path().join("package");
    std::fs::create_dir(&components).unwrap();
    // misbehave is built for render's world, so it can stand in for render.
    std::fs::copy(
        components_dir().join("testing/misbehave.wasm"),
        components.join("render.wasm"),
    )
    .unwrap();
    let mut api = RuntimeApi::start().await;
    let _function = Function::start(
        dir.path(),
        &api,
        "anything",
        &[
            ("CAFE_REPORT_LAMBDA_TASK", "render"),
            ("CAFE_REPORT_COMPONENTS_DIR", components.to_str().unwrap()),
        ],
    );
    let failure = error(invoke(&mut api, json!("trap")).await);
    assert_eq!(failure["errorType"], "States.TaskFailed", "{failure}");
    assert!(
        failure["errorMessage"]
            .as_str()
            .unwrap()
            .contains("trapping on request"),
        "{failure}"
    );
    assert_eq!(
        response(invoke(&mut api, json!("hello")).await),
        json!("hello")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_is_loaded_from_s3_at_init() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded endpoint stands in for S3; its writer key for the function's role.
    let role = KeyPair {
        access_key_id: "AKIDLAMBDAROLE".into(),
        secret_access_key: "lambda-role-secret".into(),
    };
    let access = ReportAccess {
        bucket: "deploy".into(),
        writer: role.access_key_id.clone(),
        signing: "AKIDUNUSED".into(),
        max_expires_seconds: 3600,
    };
    let s3 = EmbeddedS3::start(
        "127.0.0.1:0",
        &dir.path().join("s3"),
        std::slice::from_ref(&role),
        access,
        &["deploy"],
    )
    .await
    .unwrap();
    let credentials = role.credentials("us-east-1");
    let store = S3Store::new(
        Some(s3.endpoint().to_string()),
        "deploy",
        "us-east-1",
        true,
        &credentials,
    );
    let bytes = std::fs::read(components_dir().join("query.wasm")).unwrap();
    store
        .put(
            "components/v7/query.wasm",
            bytes,
            "application/wasm",
            "no-cache",
        )
        .await
        .unwrap();

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let mut api = RuntimeApi::start().await;
    let _function = Function::start(
        dir.path(),
        &api,
        "query",
        &[
            ("CAFE_REPORT_COMPONENTS_S3", "s3://deploy/components/v7"),
            ("CAFE_REPORT_COMPONENTS_DIR", empty.to_str().unwrap()),
            ("CAFE_REPORT_OBJECTS_BUCKET", "deploy"),
            ("AWS_ENDPOINT_URL", s3.endpoint()),
            ("AWS_ACCESS_KEY_ID", &role.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &role.secret_access_key),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let inventory = response(invoke(&mut api, json!({})).await);
    assert_eq!(inventory["totals"]["suppliers"], 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_failures_are_reported_to_the_runtime_api() {
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Env, &str); 3] = [
        (
            "cafe-report-unknown",
            &[],
            "\"cafe-report-unknown\" is not a task",
        ),
        (
            "query",
            &[("CAFE_REPORT_LIMITS_TIMEOUT_MS", "soon")],
            "timeout_ms",
        ),
        (
            "render",
            &[("CAFE_REPORT_COMPONENTS_DIR", "/nonexistent")],
            "/nonexistent/render.wasm",
        ),
    ];
    for (name, env, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut api = RuntimeApi::start().await;
        let mut function = Function::start(dir.path(), &api, name, env);
        let body = init_error(&mut api).await;
        assert!(
            body["errorMessage"].as_str().unwrap().contains(expected),
            "{body}"
        );
        let status = function.child.wait().unwrap();
        assert!(!status.success());
        assert!(
            api.first_next().is_none(),
            "no invocation is taken after a failed init"
        );
    }
}

#[test]
fn outside_lambda_it_says_which_variables_are_missing_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::in_dir(dir.path())
        .args(["lambda", "--task", "query"])
        .env("AWS_LAMBDA_FUNCTION_NAME", "query")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "not a panic (101)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.ends_with(
            "not set: AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_FUNCTION_VERSION\n"
        ),
        "{stderr}"
    );
}
