//! The history has AWS's event types, order, ids and details.

use cafe_report_asl::Status;
use serde_json::json;

use crate::common::{lambda, run};

#[tokio::test(start_paused = true)]
async fn a_task_machine_has_aws_event_sequence() {
    let definition = json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": lambda("echo"), "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": true
            }
        }
    });
    let out = run(definition, json!({"a": 1})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(
        out.types(),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Each event follows the one before, except the first state's entry, which AWS
    // chains to 0 (every recorded history, e.g. test_assign_base BASE_EMPTY).
    for (i, event) in out.events.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1);
        let previous = if i == 1 { 0 } else { i as u64 };
        assert_eq!(event.previous_event_id, previous, "{}", event.kind);
    }
    let scheduled = out.event("TaskScheduled").details().unwrap();
    assert_eq!(scheduled["resourceType"], json!("lambda"));
    assert_eq!(scheduled["resource"], json!("invoke"));
    assert_eq!(scheduled["region"], json!("us-east-1"));
    assert_eq!(
        scheduled["testFunction"],
        json!("echo"),
        "the invoker's annotation"
    );
    let parameters: serde_json::Value =
        serde_json::from_str(scheduled["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        parameters,
        json!({"FunctionName": lambda("echo"), "Payload": {"a": 1}})
    );
    let entered = out.event("TaskStateEntered").details().unwrap();
    assert_eq!(entered["name"], json!("Call"));
    assert_eq!(entered["input"], json!("{\"a\":1}"));
    let succeeded = out.event("ExecutionSucceeded").details().unwrap();
    assert_eq!(succeeded["output"], json!("{\"a\":1}"));

    // Serialized as GetExecutionHistory shows events.
    let serialized = serde_json::to_value(out.event("TaskStateEntered")).unwrap();
    assert_eq!(serialized["type"], json!("TaskStateEntered"));
    assert_eq!(serialized["previousEventId"], json!(3));
    assert!(serialized["stateEnteredEventDetails"].is_object());
}

#[tokio::test(start_paused = true)]
async fn failed_task_history() {
    let out = run(json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": lambda("fail"), "End": true}}}), json!({})).await;
    assert_eq!(
        out.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "ExecutionFailed"
        ]
    );
    let scheduled = out.event("LambdaFunctionScheduled").details().unwrap();
    assert_eq!(scheduled["testFunction"], json!("fail"));
    let failed = out.event("ExecutionFailed").details().unwrap();
    assert_eq!(failed["error"], json!("CustomError"));
}

#[tokio::test(start_paused = true)]
async fn branch_events_chain_to_their_parallel_start() {
    let definition = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
        ],
        "End": true
    }}});
    let out = run(definition, json!({})).await;
    let started = out.event("ParallelStateStarted").id;
    let branch_entries: Vec<_> = out
        .events
        .iter()
        .filter(|e| e.kind == "PassStateEntered")
        .collect();
    assert_eq!(branch_entries.len(), 2);
    assert!(
        branch_entries
            .iter()
            .all(|e| e.previous_event_id == started)
    );
    let types = out.types();
    assert_eq!(
        &types[..4],
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered"
        ]
    );
    assert_eq!(
        &types[types.len() - 3..],
        [
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn map_events_name_each_iteration() {
    let definition = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }}});
    let out = run(definition, json!(["a", "b"])).await;
    let iterations: Vec<_> = out
        .events
        .iter()
        .filter(|e| e.kind == "MapIterationStarted")
        .collect();
    assert_eq!(iterations.len(), 2);
    assert_eq!(
        iterations[0].details().unwrap(),
        &json!({"name": "M", "index": 0})
    );
    assert_eq!(
        serde_json::to_value(iterations[1]).unwrap()["mapIterationStartedEventDetails"],
        json!({"name": "M", "index": 1})
    );
}
