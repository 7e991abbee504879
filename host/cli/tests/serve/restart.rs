//! Execution records across stops: a killed server's running execution is failed on
//! restart, a terminated server lets executions finish within its grace period.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::server::Serve;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_servers_running_execution_is_failed_on_restart_and_others_are_intact() {
    let dir = tempfile::tempdir().unwrap();
    let first = paced_server(dir.path(), "30");
    first.start_report("quick", json!({})).await;
    let quick = first.output_of("quick").await;
    assert_eq!(quick["suppliers"], 7);
    let (_, quick_history) = first.get("/executions/quick/history").await;
    first.start_report("slow", json!({ "wait": 600 })).await;
    // Past a checkpoint of its progress.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, slow) = first.get("/executions/slow").await;
    assert_eq!(slow["status"], "RUNNING");
    first.kill();

    let second = paced_server(dir.path(), "30");
    let (_, slow) = second.get("/executions/slow").await;
    assert_eq!(slow["status"], "FAILED", "{slow:#}");
    assert_eq!(slow["error"], "States.Runtime");
    let cause = slow["cause"].as_str().unwrap();
    assert!(
        cause.contains("stopped while this execution was running"),
        "{cause}"
    );
    assert!(slow["stopDate"].is_string());
    let (_, history) = second.get("/executions/slow/history").await;
    // The history saved while it ran, then its end.
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "ExecutionFailed"
        ]
    );
    let last = history["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["executionFailedEventDetails"]["cause"], cause);
    assert!(second.log().contains("marked failed"), "{}", second.log());

    assert_eq!(second.output_of("quick").await, quick);
    let (_, history) = second.get("/executions/quick/history").await;
    assert_eq!(history, quick_history);
    let (_, failed) = second.get("/executions?status=FAILED").await;
    assert_eq!(failed["executions"].as_array().unwrap().len(), 1);
    // The name stays taken, as on AWS.
    let (status, _) = second.create_report("?name=slow", "{}").await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_executions_finish_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let server = paced_server(dir.path(), "3");
    server.start_report("short", json!({ "wait": 1 })).await;
    server.start_report("long", json!({ "wait": 600 })).await;
    let status = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");

    let again = paced_server(dir.path(), "3");
    assert_eq!(again.output_of("short").await["suppliers"], 7);
    let long = again.wait_for_end("long").await;
    assert_eq!(long["status"], "FAILED");
    let cause = long["cause"].as_str().unwrap();
    assert!(
        cause.contains("stopped before this execution finished (it waited 3 s"),
        "{cause}"
    );
    assert!(!again.log().contains("marked failed"), "{}", again.log());
}
