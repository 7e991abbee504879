//! Execution records across stops: a killed server's running execution resumes on
//! restart from its kept history, a terminated server lets executions finish within its
//! grace period and the rest resume at the next start; one process per data directory.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::server::{Serve, Unprivileged};

/// A workflow that waits `$.wait` seconds (when given) before querying the inventory.
const PACED: &str = r#"{
  "StartAt": "Pace",
  "States": {
    "Pace": {
      "Type": "Choice",
      "Choices": [{ "Variable": "$.wait", "IsPresent": true, "Next": "Wait" }],
      "Default": "Query"
    },
    "Wait": { "Type": "Wait", "SecondsPath": "$.wait", "Next": "Query" },
    "Query": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": { "FunctionName": "${QueryFunctionArn}", "Payload": {} },
      "ResultSelector": { "suppliers.$": "$.Payload.totals.suppliers" },
      "End": true
    }
  }
}"#;

/// A server running [`PACED`], whose executions may wait as long as asked.
pub fn paced_server(dir: &Path, grace: &str) -> Serve {
    paced_server_with(dir, grace, &[])
}

/// [`paced_server`] with more variables set.
pub fn paced_server_with(dir: &Path, grace: &str, env: &[(&str, &str)]) -> Serve {
    let definition = dir.join("paced.asl.json");
    std::fs::write(&definition, PACED).unwrap();
    let mut vars = vec![
        (
            "CAFE_REPORT_WORKFLOW_DEFINITION",
            definition.to_str().unwrap(),
        ),
        ("CAFE_REPORT_SERVE_SHUTDOWN_GRACE_SECONDS", grace),
    ];
    vars.extend_from_slice(env);
    Serve::start(dir, &vars)
}

/// The events' types.
fn kinds(history: &serde_json::Value) -> Vec<String> {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Ids 1, 2, ... and each `previousEventId` an earlier event's.
fn assert_continuous(history: &serde_json::Value) {
    for (at, event) in history["events"].as_array().unwrap().iter().enumerate() {
        assert_eq!(event["id"], at as u64 + 1, "{history:#}");
        assert!(
            event["previousEventId"].as_u64().unwrap() <= at as u64,
            "{history:#}"
        );
    }
}

fn time_of(history: &serde_json::Value, kind: &str) -> time::OffsetDateTime {
    let event = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {history:#}"));
    time::OffsetDateTime::parse(
        event["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_servers_running_execution_resumes_on_restart_and_others_are_intact() {
    let dir = tempfile::tempdir().unwrap();
    let first = paced_server(dir.path(), "30");
    first.start_report("quick", json!({})).await;
    let quick = first.output_of("quick").await;
    assert_eq!(quick["suppliers"], 7);
    let (_, quick_history) = first.get("/executions/quick/history").await;
    first.start_report("slow", json!({ "wait": 6 })).await;
    // Inside its Wait: kept before it began to sleep.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, slow) = first.get("/executions/slow").await;
    assert_eq!(slow["status"], "RUNNING");
    let (_, before) = first.get("/executions/slow/history").await;
    assert_eq!(kinds(&before).last().unwrap(), "WaitStateEntered");
    first.kill();

    let second = paced_server(dir.path(), "30");
    let slow = second.wait_for_end("slow").await;
    assert_eq!(slow["status"], "SUCCEEDED", "{slow:#}");
    assert_eq!(slow["output"], r#"{"suppliers":7}"#);
    let (_, history) = second.get("/executions/slow/history").await;
    assert_eq!(
        kinds(&history),
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_continuous(&history);
    // What was kept before the kill stands as it was, timestamps and all.
    let kept = before["events"].as_array().unwrap();
    assert_eq!(
        &history["events"].as_array().unwrap()[..kept.len()],
        &kept[..]
    );
    // The Wait ended 6 s after it was entered, not 6 s after the restart.
    let waited = time_of(&history, "WaitStateExited") - time_of(&history, "WaitStateEntered");
    assert!(
        waited >= time::Duration::seconds(6) && waited < time::Duration::seconds(8),
        "{waited}"
    );
    assert!(second.log().contains("resumed"), "{}", second.log());

    assert_eq!(second.output_of("quick").await, quick);
    let (_, history) = second.get("/executions/quick/history").await;
    assert_eq!(history, quick_history);
    let (_, failed) = second.get("/executions?status=FAILED").await;
    assert!(
        failed["executions"].as_array().unwrap().is_empty(),
        "{failed:#}"
    );
    // The name stays taken, as on AWS.
    let (status, _) = second.create_report("?name=slow", "{}").await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_executions_finish_within_the_grace_period_and_the_rest_resume() {
    let dir = tempfile::tempdir().unwrap();
    let server = paced_server(dir.path(), "3");
    server.start_report("short", json!({ "wait": 1 })).await;
    server.start_report("long", json!({ "wait": 8 })).await;
    let status = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");

    let again = paced_server(dir.path(), "3");
    assert_eq!(again.output_of("short").await["suppliers"], 7);
    let long = again.wait_for_end("long").await;
    assert_eq!(long["status"], "SUCCEEDED", "{long:#}");
    let (_, history) = again.get("/executions/long/history").await;
    assert_continuous(&history);
    assert!(again.log().contains("resuming"), "{}", again.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_process_on_the_data_directory_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let server = paced_server(dir.path(), "3");
    let holder = std::fs::read_to_string(dir.path().join("data/lock")).unwrap();
    assert!(holder.ends_with(" (serve)\n"), "{holder:?}");
    let pid = holder.split(' ').next().unwrap();
    for args in [
        &["serve"][..],
        &["report"],
        &["execute", "statemachine/report.asl.json"],
        &["run-task", "query"],
        &["components", "rollback", "render"],
    ] {
        let output = crate::common::cafe_report()
            .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("is in use by process {pid} (serve)")),
            "{args:?}: {stderr}"
        );
    }
    // Reading commands share it.
    let output = crate::common::cafe_report()
        .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
        .args(["components", "list"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_records_refuse_new_executions_with_503_and_start_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let nobody = Unprivileged::prepare(dir.path());
    let first = Serve::start_as(dir.path(), &[], Some(&nobody));
    first.start_report("before", json!({})).await;
    assert_eq!(first.wait_for_end("before").await["status"], "SUCCEEDED");
    assert!(first.terminate(Duration::from_secs(20)).success());
    let records = dir.path().join("data/executions.db");
    std::fs::set_permissions(&records, std::fs::Permissions::from_mode(0o444)).unwrap();
    let outbox = || {
        std::fs::read_dir(dir.path().join("data/outbox"))
            .unwrap()
            .count()
    };
    let messages = outbox();

    let second = Serve::start_as(dir.path(), &[], Some(&nobody));
    let response = second.post_report(&second.token, "?name=after", "{}").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let (_, body) = crate::server::json_answer(response).await;
    assert_eq!(body["error"], "ServiceUnavailable", "{body:#}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("its record could not be written"),
        "{message}"
    );
    assert!(message.contains("readonly"), "{message}");
    // Nothing started: no execution to describe, none listed, no message sent.
    let (status, _) = second.get("/executions/after").await;
    assert_eq!(status, 404);
    assert_eq!(second.listed_names("/executions").await, ["before"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(outbox(), messages);
}
