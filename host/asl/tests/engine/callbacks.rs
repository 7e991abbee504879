//! `.waitForTaskToken`: the task hands out `$$.Task.Token`, is submitted, and ends with
//! the callback on that token, or times out; events as AWS records them
//! (test_callback.py: test_sqs_wait_for_task_token, _timeout, _failure, _heartbeat).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cafe_report_asl::{
    Callback, Execution, StartExecution, StateMachine, Status, TaskTokens, TokenError,
};
use serde_json::{Value, json};

use crate::common::{Functions, lambda, test_engine};

/// A machine whose one task sends its token to `notify` and waits for the callback.
fn waiting(extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": lambda("notify"),
            "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"}
        },
        "End": true
    });
    task.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"StartAt": "Ask", "States": {"Ask": task}})
}

/// Starts `definition` with tokens the test holds; returns the execution, the tokens,
/// and where the payloads the task sent end up.
fn start(definition: Value) -> (Arc<Execution>, Arc<TaskTokens>, Arc<Mutex<Vec<Value>>>) {
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = sent.clone();
    let functions = Functions::new().with("notify", move |payload| {
        log.lock().unwrap().push(payload);
        async { Ok(json!({"queued": true})) }
    });
    let tokens = Arc::new(TaskTokens::new([1; 32]));
    let engine = test_engine(Arc::new(functions)).with_task_tokens(tokens.clone());
    let machine = StateMachine::from_value(&definition).unwrap();
    let execution = engine
        .start(
            Arc::new(machine),
            "m",
            StartExecution {
                name: Some("e".into()),
                input: Some(r#"{"order": 7}"#.into()),
            },
        )
        .unwrap();
    (execution, tokens, sent)
}

/// The token the task sent, once it has.
async fn token(sent: &Mutex<Vec<Value>>) -> String {
    for _ in 0..100 {
        if let Some(payload) = sent.lock().unwrap().first() {
            return payload["token"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the task sent no token");
}

fn kinds(execution: &Execution) -> Vec<String> {
    execution.history().into_iter().map(|e| e.kind).collect()
}

#[tokio::test(start_paused = true)]
async fn the_task_ends_with_the_output_sent_on_its_token() {
    let (execution, tokens, sent) = start(waiting(json!({})));
    let running = tokio::spawn(execution.clone().run());
    let token = token(&sent).await;
    assert_eq!(sent.lock().unwrap()[0]["order"], 7);
    tokens
        .complete(&token, Callback::Success(r#"{"approved": true}"#.into()))
        .unwrap();
    running.await.unwrap();
    let description = execution.describe();
    assert_eq!(description.status, Status::Succeeded);
    assert_eq!(description.output.as_deref(), Some(r#"{"approved":true}"#));
    assert_eq!(
        kinds(&execution),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let history = execution.history();
    let scheduled = history[2].details().unwrap();
    assert_eq!(scheduled["resource"], "invoke.waitForTaskToken");
    assert_eq!(scheduled["resourceType"], "lambda");
    // Submitted carries what the call answered, in Lambda's envelope.
    let submitted = history[4].details().unwrap();
    let output: Value = serde_json::from_str(submitted["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["Payload"], json!({"queued": true}));
    assert_eq!(
        history[5].details().unwrap()["output"],
        r#"{"approved": true}"#
    );
    // The task is over: its token takes no more callbacks.
    assert_eq!(
        tokens.complete(&token, Callback::Success("1".into())),
        Err(TokenError::NotWaiting)
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_sent_on_the_token_is_the_task_s_error_and_can_be_caught() {
    let mut machine = waiting(json!({
        "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Handled"}]
    }));
    machine["States"]["Handled"] = json!({"Type": "Pass", "End": true});
    let (execution, tokens, sent) = start(machine);
    let running = tokio::spawn(execution.clone().run());
    let token = token(&sent).await;
    tokens
        .complete(
            &token,
            Callback::Failure {
                error: "Rejected".into(),
                cause: "out of beans".into(),
            },
        )
        .unwrap();
    running.await.unwrap();
    let description = execution.describe();
    assert_eq!(description.status, Status::Succeeded);
    let output: Value = serde_json::from_str(description.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output["why"],
        json!({"Error": "Rejected", "Cause": "out of beans"})
    );
    let failed = execution
        .history()
        .into_iter()
        .find(|e| e.kind == "TaskFailed")
        .unwrap();
    assert_eq!(
        failed.details().unwrap(),
        &json!({"error": "Rejected", "cause": "out of beans",
                "resource": "invoke.waitForTaskToken", "resourceType": "lambda"})
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_callback_the_task_times_out_with_the_error_alone() {
    let (execution, tokens, sent) = start(waiting(json!({"TimeoutSeconds": 5})));
    execution.clone().run().await;
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(description.error.as_deref(), Some("States.Timeout"));
    assert_eq!(description.cause, None);
    let history = execution.history();
    let timed_out = history.iter().find(|e| e.kind == "TaskTimedOut").unwrap();
    assert_eq!(
        timed_out.details().unwrap(),
        &json!({"error": "States.Timeout", "resource": "invoke.waitForTaskToken", "resourceType": "lambda"})
    );
    // Five seconds after the task started.
    let started = history.iter().find(|e| e.kind == "TaskStarted").unwrap();
    assert_eq!(started.timestamp, "2026-11-24T09:31:00.000Z");
    assert_eq!(timed_out.timestamp, "2026-11-24T09:31:05.000Z");
    // A late callback finds no task (AWS answers TaskTimedOut).
    let token = token(&sent).await;
    assert_eq!(
        tokens.complete(&token, Callback::Success("{}".into())),
        Err(TokenError::NotWaiting)
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_task_alive_and_their_absence_times_it_out() {
    let (execution, tokens, sent) = start(waiting(
        json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 2}),
    ));
    let running = tokio::spawn(execution.clone().run());
    let token = token(&sent).await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokens.heartbeat(&token).unwrap();
    }
    tokens
        .complete(&token, Callback::Success("\"done\"".into()))
        .unwrap();
    running.await.unwrap();
    assert_eq!(execution.describe().status, Status::Succeeded);

    let (execution, _tokens, _sent) = start(waiting(
        json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 2}),
    ));
    execution.clone().run().await;
    let description = execution.describe();
    assert_eq!(
        description.error.as_deref(),
        Some("States.HeartbeatTimeout")
    );
    let last_task_event = execution
        .history()
        .into_iter()
        .find(|e| e.kind == "TaskTimedOut")
        .unwrap();
    assert_eq!(last_task_event.timestamp, "2026-11-24T09:31:02.000Z");
}

#[tokio::test(start_paused = true)]
async fn tokens_are_per_attempt_and_only_where_a_task_waits_for_one() {
    let (execution, _tokens, sent) = start(json!({
        "StartAt": "Plain",
        "States": {
            "Plain": {
                "Type": "Task", "Resource": lambda("echo"),
                "Parameters": {"context.$": "$$"}, "ResultPath": "$.plain", "Next": "Ask"
            },
            "Ask": waiting(json!({"TimeoutSeconds": 1}))["States"]["Ask"].clone()
        }
    }));
    execution.clone().run().await;
    let history = execution.history();
    let plain: Value = serde_json::from_str(
        history
            .iter()
            .find(|e| e.kind == "LambdaFunctionSucceeded")
            .unwrap()
            .details()
            .unwrap()["output"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        plain["context"].get("Task"),
        None,
        "no token without waitForTaskToken"
    );
    assert_eq!(token(&sent).await.len(), 43);
}
