//! StopExecution: the execution ends ABORTED at its next step, with AWS's events.

use std::sync::Arc;
use std::time::Duration;

use cafe_report_asl::{StartExecution, StateMachine, Status, Stop};
use serde_json::json;

use crate::common::{Functions, lambda, test_engine};

fn started(definition: serde_json::Value) -> Arc<cafe_report_asl::Execution> {
    let engine = test_engine(Arc::new(Functions::new()));
    let machine = StateMachine::from_value(&definition).unwrap();
    engine
        .start(Arc::new(machine), "m", StartExecution::default())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_stopped_wait_ends_aborted_as_aws_records_it() {
    let execution = started(json!({
        "StartAt": "State_1",
        "States": {"State_1": {"Type": "Wait", "Seconds": 60, "End": true}}
    }));
    let running = tokio::spawn(execution.clone().run());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(execution.stop(Stop::default()));
    running.await.unwrap();
    let description = execution.describe();
    assert_eq!(description.status, Status::Aborted);
    assert_eq!((description.error, description.cause), (None, None));
    // test_sfn_api.py::test_stop_execution, recorded on AWS.
    let events: Vec<_> = execution
        .history()
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    let shape: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e["type"].clone(),
                e["id"].clone(),
                e["previousEventId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (json!("ExecutionStarted"), json!(1), json!(0)),
            (json!("WaitStateEntered"), json!(2), json!(0)),
            (json!("ExecutionAborted"), json!(3), json!(0)),
        ]
    );
    assert_eq!(events[2]["executionAbortedEventDetails"], json!({}));
    // Three seconds in, not the Wait's sixty.
    assert_eq!(events[2]["timestamp"], "2026-11-24T09:31:03.000Z");
}

#[tokio::test(start_paused = true)]
async fn a_stop_drops_the_task_in_flight_and_keeps_its_error_and_cause() {
    let execution = started(json!({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": lambda("slow"), "Next": "After"},
            "After": {"Type": "Pass", "End": true}
        }
    }));
    let running = tokio::spawn(execution.clone().run());
    tokio::time::sleep(Duration::from_secs(1)).await;
    execution.stop(Stop {
        error: Some("Manual".into()),
        cause: Some("probe".into()),
    });
    execution.ended().await;
    running.await.unwrap();
    let description = execution.describe();
    assert_eq!(description.status, Status::Aborted);
    assert_eq!(description.error.as_deref(), Some("Manual"));
    assert_eq!(description.cause.as_deref(), Some("probe"));
    let history = execution.history();
    let last = history.last().unwrap();
    assert_eq!(last.kind, "ExecutionAborted");
    assert_eq!(
        last.details(),
        Some(&json!({"error": "Manual", "cause": "probe"}))
    );
    // Nothing after the stop: the task's result never arrived, After never ran.
    assert!(!history.iter().any(|e| e.kind == "PassStateEntered"));
    // Stopping again changes nothing.
    assert!(!execution.stop(Stop::default()));
    assert_eq!(execution.describe().error.as_deref(), Some("Manual"));
}

#[tokio::test(start_paused = true)]
async fn an_execution_stopped_before_it_runs_takes_no_step() {
    let execution = started(json!({
        "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}
    }));
    execution.stop(Stop::default());
    execution.clone().run().await;
    let types: Vec<_> = execution.history().into_iter().map(|e| e.kind).collect();
    assert_eq!(types, ["ExecutionStarted", "ExecutionAborted"]);
}
