//! The `cafe-report` binary as a user runs it: output, exit codes, one-line errors.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;

use common::components_dir;

/// The binary with a fresh data directory and no ambient configuration.
fn cafe_report(data_dir: &Path, args: &[&str]) -> Output {
    cafe_report_with(data_dir, &[], args)
}

/// The same, with some environment variables set (after the defaults, so they win).
fn cafe_report_with(data_dir: &Path, env: &[(&str, &OsStr)], args: &[&str]) -> Output {
    common::in_dir(data_dir)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("running cafe-report")
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn run_task_prints_the_output_and_honours_now() {
    let dir = tempfile::tempdir().unwrap();
    let output = cafe_report(
        dir.path(),
        &["run-task", "query", "--now", "2026-11-24T09:31:00Z"],
    );
    let inventory = stdout_json(&output);
    assert_eq!(inventory["generated_at"], "2026-11-24T09:31:00Z");
    assert_eq!(inventory["totals"]["suppliers"], 7);

    // Same input and clock, same output: the run is deterministic.
    let again = cafe_report(
        dir.path(),
        &["run-task", "query", "--now", "2026-11-24T09:31:00Z"],
    );
    assert_eq!(output.stdout, again.stdout);

    // Input from a file, piped into the next task.
    let file = dir.path().join("render-input.json");
    let input = serde_json::json!({"inventory": inventory, "report_id": "cli"});
    std::fs::write(&file, input.to_string()).unwrap();
    let stored = stdout_json(&cafe_report(
        dir.path(),
        &[
            "run-task",
            "render",
            "--input",
            &format!("@{}", file.display()),
        ],
    ));
    assert_eq!(stored["key"], "reports/cli.html");
    assert!(
        dir.path()
            .join("data/objects/cafe-reports/reports/cli.html")
            .exists()
    );
}

#[test]
fn task_errors_exit_non_zero_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = cafe_report(dir.path(), &["run-task", "query", "--input", "{oops"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: task query failed: CafeReport.InvalidInput: input is not valid JSON"
        ),
        "{stderr}"
    );

    // A bad --now is a usage error, said once (not "could not be parsed: could not be parsed").
    let output = cafe_report(dir.path(), &["run-task", "query", "--now", "yesterday"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'--now <RFC3339>'"), "{stderr}");
    assert_eq!(
        stderr
            .matches("\"yesterday\" is not an RFC 3339 time")
            .count(),
        1,
        "{stderr}"
    );

    let output = cafe_report(dir.path(), &["run-task", "bake"]);
    assert_eq!(output.status.code(), Some(2), "clap rejects unknown tasks");
}

#[test]
fn report_runs_the_whole_job() {
    let dir = tempfile::tempdir().unwrap();
    let summary = stdout_json(&cafe_report(
        dir.path(),
        &["report", "--json", "--report-id", "main-job"],
    ));
    assert_eq!(summary["report"]["key"], "reports/main-job.html");
    let file = PathBuf::from(summary["file"].as_str().unwrap());
    let html = std::fs::read_to_string(file).unwrap();
    assert!(html.contains("Øresund Coffee Traders"));
    let url = summary["link"]["url"].as_str().unwrap();
    assert!(url.contains("/cafe-reports/reports/main-job.html?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    let message = PathBuf::from(summary["message"].as_str().unwrap());
    let eml = std::fs::read_to_string(dir.path().join(message)).unwrap();
    assert!(eml.contains("Subject: Your coffee inventory report is ready"));

    let text = cafe_report(dir.path(), &["report"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Link:     http://127.0.0.1:"), "{text}");
}

#[test]
fn a_configured_role_that_is_no_role_arn_stops_the_report() {
    // `[workflow] role_arn` is checked wherever a workflow is built, not only by execute.
    let dir = tempfile::tempdir().unwrap();
    let output = cafe_report_with(
        dir.path(),
        &[("CAFE_REPORT_WORKFLOW_ROLE_ARN", OsStr::new("admin"))],
        &["report"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("InvalidArn: \"admin\" is not a role ARN"),
        "{stderr}"
    );
}

#[test]
fn environment_credentials_sign_only_when_configured_to() {
    // A developer's real keys in the shell are not what components sign with (issue 18).
    let dir = tempfile::tempdir().unwrap();
    let config = |source: Option<&str>| {
        let mut command = common::cafe_report();
        command
            .current_dir(dir.path())
            .env("AWS_ACCESS_KEY_ID", "AKIADEVELOPERKEY")
            .env("AWS_SECRET_ACCESS_KEY", "developer-secret")
            .arg("config");
        if let Some(source) = source {
            command.env("CAFE_REPORT_SIGNER_SOURCE", source);
        }
        command.output().unwrap()
    };
    let default = stdout_json(&config(None));
    assert_eq!(default["signer"]["source"], "config");
    assert_eq!(default["signer"]["access_key_id"], Value::Null, "{default}");
    assert_eq!(
        default["signer"]["signing_with"],
        format!(
            "the embedded endpoint's own signing key, in {}",
            std::path::Path::new(".cafe-report")
                .join("embedded-s3-keys.json")
                .display()
        ),
        "{default}"
    );
    let environment = stdout_json(&config(Some("environment")));
    assert_eq!(environment["signer"]["source"], "environment");
    assert_eq!(environment["signer"]["access_key_id"], "AKIADEVELOPERKEY");
    assert_eq!(
        environment["signer"]["signing_with"],
        "AKIADEVELOPERKEY, from the environment (AWS_ACCESS_KEY_ID)"
    );
    assert_eq!(environment["signer"]["secret_access_key"], "****");

    // Asked for and missing: said, not the local pair in their place.
    let missing = common::cafe_report()
        .current_dir(dir.path())
        .env("CAFE_REPORT_SIGNER_SOURCE", "environment")
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains(
            "[signer] source = \"environment\" needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ),
        "{stderr}"
    );
}

#[test]
fn config_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::cafe_report()
        .current_dir(dir.path())
        .env("CAFE_REPORT_SIGNER_SECRET_ACCESS_KEY", "super-secret-value")
        .env(
            "DATABASE_URL",
            "mysql://app:hunter2@db.internal:3306/COFFEE",
        )
        .env("CAFE_REPORT_LIMITS_TIMEOUT_MS", "2500")
        // Not configuration: ignored, not an error.
        .env("CAFE_REPORT_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
        .env("CAFE_REPORT_NOTIFY_TO", "a@b.c")
        .arg("config")
        .output()
        .unwrap();
    let config = stdout_json(&output);
    let text = config.to_string();
    assert!(
        !text.contains("super-secret-value") && !text.contains("hunter2"),
        "{text}"
    );
    assert_eq!(config["limits"]["timeout_ms"], 2500);
    assert_eq!(config["notify"]["to"], serde_json::json!(["a@b.c"]));
    assert_eq!(config["signer"]["secret_access_key"], "****");
    assert_eq!(
        config["sql"]["url"],
        "mysql://app:****@db.internal:3306/COFFEE"
    );
}

#[test]
fn db_seed_prepares_mysql_for_query() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::env::var("CAFE_REPORT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string());
    let url = format!("{}/cafe_report_cli_test", base.trim_end_matches('/'));
    let with_db = |args: &[&str]| {
        common::cafe_report()
            .current_dir(dir.path())
            .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
            .env("CAFE_REPORT_COMPONENTS_DIR", components_dir())
            .env("DATABASE_URL", &url)
            .args(args)
            .output()
            .unwrap()
    };
    let seeded = with_db(&["db", "seed"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(String::from_utf8_lossy(&seeded.stdout).starts_with("seeded mysql://"));
    let inventory = stdout_json(&with_db(&["run-task", "query"]));
    assert_eq!(inventory["totals"]["suppliers"], 7);
    assert_eq!(inventory["suppliers"][6]["name"], "Øresund Coffee Traders");
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::cafe_report()
        .current_dir(dir.path())
        .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
        .env("CAFE_REPORT_COMPONENTS_DIR", components_dir())
        .args(["run-task", "query"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Like `cafe-report run-task query | head -0`: the reader is gone before the output.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{:?} {stderr}", output.status);
}

/// A definition that runs the real query component and shapes its result.
const QUERY_MACHINE: &str = r#"{
  "StartAt": "Query",
  "States": {
    "Query": {
      "Type": "Task",
      "Resource": "arn:aws:lambda:us-east-1:000000000000:function:query",
      "Parameters": {"low_stock_threshold": 10},
      "ResultSelector": {"suppliers.$": "$.totals.suppliers", "first.$": "$.suppliers[0].name"},
      "ResultPath": "$.inventory",
      "Next": "Done"
    },
    "Done": {"Type": "Succeed"}
  }
}"#;

#[test]
fn execute_prints_describe_execution_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let definition = dir.path().join("inventory.asl.json");
    std::fs::write(&definition, QUERY_MACHINE).unwrap();
    let output = cafe_report(
        dir.path(),
        &[
            "execute",
            definition.to_str().unwrap(),
            "--name",
            "n1",
            "--input",
            r#"{"who": "barista"}"#,
            "--history",
            "--now",
            "2026-11-24T09:31:00Z",
        ],
    );
    let described = stdout_json(&output);
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(
        described["executionArn"],
        "arn:aws:states:us-east-1:000000000000:execution:inventory:n1"
    );
    assert_eq!(
        described["stateMachineArn"],
        "arn:aws:states:us-east-1:000000000000:stateMachine:inventory"
    );
    assert_eq!(described["input"], r#"{"who": "barista"}"#);
    assert!(
        described["startDate"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-24T09:31:00")
    );
    assert!(described["stopDate"].is_string());
    // `output` is JSON text, as AWS returns it.
    let output_value: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output_value,
        serde_json::json!({"who": "barista", "inventory": {"suppliers": 7, "first": "Café Altura & Söhne"}})
    );
    let types: Vec<&str> = described["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(described["events"][2]["previousEventId"], 2);

    // Without --history there are no events.
    let plain = stdout_json(&cafe_report(
        dir.path(),
        &["execute", definition.to_str().unwrap()],
    ));
    assert!(plain.get("events").is_none());
}

#[test]
fn execute_runs_as_the_named_state_machine_and_role() {
    // As a deployment would: the state machine's name in the ARNs, its role in
    // ExecutionStarted and the context object (AWS records both there).
    let dir = tempfile::tempdir().unwrap();
    let definition = dir.path().join("flow.asl.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "Who", "States": {"Who": {"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn", "machine.$": "$$.StateMachine.Name"}, "End": true}}}"#,
    )
    .unwrap();
    let role = "arn:aws:iam::111111111111:role/report-runner";
    let output = cafe_report(
        dir.path(),
        &[
            "execute",
            definition.to_str().unwrap(),
            "--name",
            "n2",
            "--state-machine-name",
            "InventoryReport",
            "--role-arn",
            role,
            "--history",
        ],
    );
    let described = stdout_json(&output);
    assert_eq!(
        described["executionArn"],
        "arn:aws:states:us-east-1:000000000000:execution:InventoryReport:n2"
    );
    let result: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        serde_json::json!({"role": role, "machine": "InventoryReport"})
    );
    assert_eq!(
        described["events"][0]["executionStartedEventDetails"],
        serde_json::json!({"input": "{}", "inputDetails": {"truncated": false}, "roleArn": role})
    );

    // A role that is not a role ARN is refused before anything runs.
    let refused = cafe_report(
        dir.path(),
        &[
            "execute",
            definition.to_str().unwrap(),
            "--role-arn",
            "admin",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("InvalidArn: \"admin\" is not a role ARN"),
        "{stderr}"
    );
}

#[test]
fn execute_failures_print_the_record_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let definition = dir.path().join("fail.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "OutOfBeans", "Cause": "none left"}}}"#,
    )
    .unwrap();
    let output = cafe_report(dir.path(), &["execute", definition.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let described: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(described["status"], "FAILED");
    assert_eq!(described["error"], "OutOfBeans");
    assert_eq!(described["cause"], "none left");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("FAILED: OutOfBeans: none left"), "{stderr}");

    // Bad input never starts an execution.
    let output = cafe_report(
        dir.path(),
        &["execute", definition.to_str().unwrap(), "--input", "{oops"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("InvalidExecutionInput"));
}

#[test]
fn validate_names_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = cafe_report(
        dir.path(),
        &[
            "validate",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../statemachine/report.asl.json"
            ),
        ],
    );
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("valid"));

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}}}"#,
    )
    .unwrap();
    let output = cafe_report(dir.path(), &["validate", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("UNREACHABLE_STATE: State 'B' is not reachable at /States/B"),
        "{stderr}"
    );

    // A placeholder without a value is named, not run.
    let placeholder = dir.path().join("placeholder.json");
    std::fs::write(
        &placeholder,
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${MissingArn}", "End": true}}}"#,
    )
    .unwrap();
    let output = cafe_report(dir.path(), &["validate", placeholder.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("MissingArn"));
    let output = cafe_report(
        dir.path(),
        &[
            "validate",
            placeholder.to_str().unwrap(),
            "--subst",
            "MissingArn=arn:aws:lambda:us-east-1:1:function:query",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn report_failure_sends_the_failure_message() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the database is down.
    let output = cafe_report_with(
        dir.path(),
        &[(
            "DATABASE_URL",
            OsStr::new("mysql://root@127.0.0.1:1/COFFEE"),
        )],
        &["report", "--report-id", "down"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One line: the retries' warnings are for -v.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(last.contains("failed: Sql.Unavailable"), "{stderr}");
    // The cause as a sentence, not Lambda's JSON envelope.
    assert!(!last.contains("errorType") && !last.contains('{'), "{last}");
    let message = last
        .split("failure message: ")
        .nth(1)
        .expect("the message is named");
    let eml = std::fs::read_to_string(message).unwrap();
    assert!(
        eml.contains("Subject: Cafe inventory report failed"),
        "{eml}"
    );
    assert!(
        eml.contains("The inventory report down could not be produced."),
        "{eml}"
    );
    assert!(eml.contains("Error: Sql.Unavailable"), "{eml}");
    // No report was stored.
    assert!(
        !dir.path()
            .join("data/objects/cafe-reports/reports/down.html")
            .exists()
    );
}

#[test]
fn components_publish_list_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    // A components directory of our own, so the build's stays untouched.
    let components = dir.path().join("components");
    std::fs::create_dir_all(&components).unwrap();
    for task in ["query", "render", "presign"] {
        std::fs::copy(
            components_dir().join(format!("{task}.wasm")),
            components.join(format!("{task}.wasm")),
        )
        .unwrap();
    }
    let v1 = std::fs::read(components.join("render.wasm")).unwrap();
    let v2_file = components_dir().join("testing/render-v2.wasm");
    let own_components = [("CAFE_REPORT_COMPONENTS_DIR", components.as_os_str())];
    let run = |args: &[&str]| cafe_report_with(dir.path(), &own_components, args);
    let stdout = |output: &Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout.clone()).unwrap()
    };

    // A render component that imports sql is refused; nothing changes.
    let refused = run(&[
        "components",
        "publish",
        "render",
        components.join("query.wasm").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refused") && stderr.contains("cafe:report/sql"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(components.join("render.wasm")).unwrap(), v1);

    // A render component that stores no page fails the default smoke run (issue 23: it
    // was accepted, and the next report stored nothing); the smoke run mails nobody.
    let misbehave = components_dir().join("testing/misbehave.wasm");
    let refused = run(&[
        "components",
        "publish",
        "render",
        misbehave.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the smoke run failed: render must store one report object, it stored 0"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(components.join("render.wasm")).unwrap(), v1);
    let outbox = dir.path().join("data/outbox");
    assert!(!outbox.exists() || std::fs::read_dir(&outbox).unwrap().next().is_none());

    // v2 passes its smoke run and becomes current.
    let inventory = stdout(&run(&["run-task", "query"]));
    let smoke = serde_json::json!({"inventory": serde_json::from_str::<Value>(&inventory).unwrap(), "key": "reports/smoke-render.html"});
    let published = stdout(&run(&[
        "components",
        "publish",
        "render",
        v2_file.to_str().unwrap(),
        "--smoke-input",
        &smoke.to_string(),
    ]));
    assert!(
        published.starts_with("render: ") && published.contains("is current"),
        "{published}"
    );
    assert_eq!(
        std::fs::read(components.join("render.wasm")).unwrap(),
        std::fs::read(&v2_file).unwrap()
    );
    let report = stdout_json(&run(&["report", "--json", "--report-id", "after-publish"]));
    let html = std::fs::read_to_string(report["file"].as_str().unwrap()).unwrap();
    assert!(html.contains("Report layout v2"));

    let listed: Value =
        serde_json::from_str(&stdout(&run(&["components", "list", "--json"]))).unwrap();
    let render = common::listed_task(&listed, "render");
    let history: Vec<&str> = render["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["found", "publish"]);
    let table = stdout(&run(&["components", "list"]));
    assert!(table.contains("(current)"), "{table}");
    // Every row's SOURCE starts where the header's does.
    let header = table.lines().next().unwrap();
    let column = header.find("SOURCE").unwrap();
    for row in table.lines().skip(1) {
        assert_eq!(&row[column - 1..column], " ", "misaligned: {table}");
        assert_ne!(&row[column..column + 1], " ", "misaligned: {table}");
    }

    // Rollback returns to v1, byte for byte.
    let rolled = stdout(&run(&["components", "rollback", "render"]));
    assert!(rolled.contains("is current"), "{rolled}");
    assert_eq!(std::fs::read(components.join("render.wasm")).unwrap(), v1);
    let unknown = run(&["components", "rollback", "render", "--to", "ffffffff"]);
    assert_eq!(unknown.status.code(), Some(1));

    // With an S3 source configured, publishing also uploads the version there.
    let uploaded = cafe_report_with(
        dir.path(),
        &[
            own_components[0],
            (
                "CAFE_REPORT_COMPONENTS_S3",
                OsStr::new("s3://cafe-reports/components/live"),
            ),
        ],
        &["components", "publish", "render", v2_file.to_str().unwrap()],
    );
    stdout(&uploaded);
    let object = dir
        .path()
        .join("data/objects/cafe-reports/components/live/render.wasm");
    assert_eq!(
        std::fs::read(object).unwrap(),
        std::fs::read(&v2_file).unwrap()
    );
}

#[test]
fn components_precompile_fills_the_configured_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("package-cache");
    let output = cafe_report_with(
        dir.path(),
        &[("CAFE_REPORT_COMPONENTS_CACHE_DIR", cache.as_os_str())],
        &["components", "precompile"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    for task in ["query", "render", "presign"] {
        assert!(stdout.contains(&format!("{task}: ")), "{stdout}");
    }
    let artifacts = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert_eq!(artifacts, 3);
    // The data directory's own cache stays empty: everything went to the configured one.
    assert!(!dir.path().join("data/cache").exists());
}

#[test]
fn the_binary_finds_its_components_from_any_directory() {
    // No CAFE_REPORT_COMPONENTS_DIR and a working directory outside the repository: the
    // binary finds the components built beside it (target/<profile>/../components).
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        common::run_from(dir.path(), &dir.path().join("data"))
            .args(args)
            .output()
            .unwrap()
    };
    let inventory = stdout_json(&run(&["run-task", "query"]));
    assert_eq!(inventory["totals"]["suppliers"], 7);
    let summary = stdout_json(&run(&["report", "--json", "--report-id", "anywhere"]));
    assert_eq!(summary["report"]["key"], "reports/anywhere.html");
}

#[test]
fn components_list_with_nothing_to_list_says_where_it_looked_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-components");
    let output = cafe_report_with(
        dir.path(),
        &[("CAFE_REPORT_COMPONENTS_DIR", empty.as_os_str())],
        &["components", "list"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: no components found (looked in {}; build the components with",
            empty.display()
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no empty table");
}

/// The `cafe-report` lines of README.md's shell blocks, as written (comments dropped);
/// `serve` runs until stopped, so the serve tests run it instead.
fn readme_commands() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let mut in_shell = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_shell = line == "```sh";
            continue;
        }
        let command = line.split(" #").next().unwrap().trim();
        if in_shell && command.starts_with("cafe-report ") && !command.contains(" serve") {
            commands.push(
                command
                    .split_whitespace()
                    .skip(1)
                    .map(String::from)
                    .collect(),
            );
        }
    }
    commands
}

#[test]
fn every_cafe_report_command_in_the_readme_works_as_written() {
    let commands = readme_commands();
    assert!(commands.len() >= 5, "{commands:?}");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = tempfile::tempdir().unwrap();
    for args in commands {
        // From the repository root, as the README says; only the data directory is a
        // temporary one, so the test leaves nothing behind.
        let output = common::run_from(&repo, data.path())
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "cafe-report {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.stdout.is_empty(),
            "cafe-report {} printed nothing",
            args.join(" ")
        );
    }
}

#[test]
fn a_database_that_is_down_is_said_once_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens, the connection is refused.
    let url = std::ffi::OsString::from("mysql://root@127.0.0.1:1/COFFEE");
    let output = cafe_report_with(dir.path(), &[("DATABASE_URL", &url)], &["db", "seed"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.matches("Connection refused").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("Input/output error").count(), 1, "{stderr}");
}

#[test]
fn validate_counts_in_words_and_report_checks_the_link_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.asl.json");
    std::fs::write(&one, r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#).unwrap();
    let output = cafe_report(dir.path(), &["validate", one.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.ends_with(": valid (1 state at the top level)\n"),
        "{stdout}"
    );

    // --help says 1..=604800; 0 is a usage error before anything runs.
    let output = cafe_report(dir.path(), &["report", "--expires-in", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("0 is not in 1..=604800"), "{stderr}");
    assert!(
        !dir.path().join("data/outbox").exists(),
        "no mail was written"
    );
}

#[test]
fn hold_with_a_past_clock_says_the_link_has_expired_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let output = cafe_report(
        dir.path(),
        &["report", "--hold", "--now", "2020-01-01T00:00:00Z"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: --hold: the link expired at 2020-01-01T00:02:0"),
        "{stderr}"
    );
}
