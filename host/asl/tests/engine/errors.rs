//! Retry, Catch, timeouts and the terminal errors, worked out from AWS's error-handling
//! rules.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use cafe_report_asl::{InvokeError, Status};
use serde_json::{Value, json};

use crate::common::{Functions, lambda, run, run_with, single};

/// A function that fails with `error` `failures` times, then succeeds.
fn flaky(error: &'static str, failures: u32) -> (Arc<Functions>, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let functions = Functions::new().with("flaky", move |input| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(InvokeError::Function {
                    error_type: error.into(),
                    error_message: format!("attempt {}", n + 1),
                })
            } else {
                Ok(input)
            }
        }
    });
    (Arc::new(functions), calls)
}

fn retried(retry: Value, catch: Value) -> Value {
    let mut definition = json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": lambda("flaky"), "Retry": retry, "Catch": catch, "End": true}}
    });
    if definition["States"]["T"]["Catch"] != json!([]) {
        definition["States"]["Recovered"] = json!({"Type": "Pass", "End": true});
    }
    definition
}

fn scheduled_times(out: &crate::common::Outcome) -> Vec<f64> {
    let start = time::OffsetDateTime::parse(
        &out.events[0].timestamp,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    out.events
        .iter()
        .filter(|e| e.kind == "LambdaFunctionScheduled")
        .map(|e| {
            let at = time::OffsetDateTime::parse(
                &e.timestamp,
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            (at - start).as_seconds_f64()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retry_backs_off_exponentially() {
    // IntervalSeconds 2, BackoffRate 3: waits of 2, 6, 18 s before attempts 2, 3, 4.
    let (functions, calls) = flaky("Busy", 3);
    let definition = retried(
        json!([{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]),
        json!([]),
    );
    let out = run_with(functions, definition, json!({"v": 1})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(scheduled_times(&out), vec![0.0, 2.0, 8.0, 26.0]);
}

#[tokio::test(start_paused = true)]
async fn retry_defaults_and_max_delay() {
    // Defaults: 1 s, rate 2.0, 3 attempts -> waits 1, 2, 4.
    let (functions, _) = flaky("Busy", 3);
    let out = run_with(
        functions,
        retried(json!([{"ErrorEquals": ["States.ALL"]}]), json!([])),
        json!({}),
    )
    .await;
    assert_eq!(scheduled_times(&out), vec![0.0, 1.0, 3.0, 7.0]);

    // MaxDelaySeconds caps each wait: 10, 20 -> 15, 40 -> 15.
    let (functions, _) = flaky("Busy", 3);
    let definition = retried(
        json!([{"ErrorEquals": ["Busy"], "IntervalSeconds": 10, "MaxDelaySeconds": 15, "MaxAttempts": 5}]),
        json!([]),
    );
    let out = run_with(functions, definition, json!({})).await;
    assert_eq!(scheduled_times(&out), vec![0.0, 10.0, 25.0, 40.0]);
}

#[tokio::test(start_paused = true)]
async fn full_jitter_never_waits_longer_than_the_backoff() {
    let (functions, _) = flaky("Busy", 3);
    let definition = retried(
        json!([{"ErrorEquals": ["Busy"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}]),
        json!([]),
    );
    let out = run_with(functions, definition, json!({})).await;
    let times = scheduled_times(&out);
    let waits: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for (wait, max) in waits.iter().zip([4.0, 8.0, 16.0]) {
        assert!((0.0..=max).contains(wait), "{waits:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_fall_through_to_catch() {
    let (functions, calls) = flaky("Busy", 10);
    let definition = retried(
        json!([{"ErrorEquals": ["Busy"], "MaxAttempts": 2}]),
        json!([{"ErrorEquals": ["Busy"], "ResultPath": "$.error", "Next": "Recovered"}]),
    );
    let out = run_with(functions, definition, json!({"v": 1})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(out.output["v"], json!(1));
    assert_eq!(out.output["error"]["Error"], json!("Busy"));
    // A function's error reaches the state machine as Lambda reports it.
    let cause: Value =
        serde_json::from_str(out.output["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(
        cause,
        json!({"errorType": "Busy", "errorMessage": "attempt 3"})
    );
    assert_eq!(
        out.types()
            .iter()
            .filter(|t| **t == "LambdaFunctionFailed")
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_first_matching_retrier_counts() {
    // The first retrier matches and allows one retry; the second would allow more but
    // AWS never consults it for this error.
    let (functions, calls) = flaky("Busy", 5);
    let definition = retried(
        json!([
            {"ErrorEquals": ["Busy"], "MaxAttempts": 1},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
        ]),
        json!([]),
    );
    let out = run_with(functions, definition, json!({})).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // MaxAttempts 0 never retries.
    let (functions, calls) = flaky("Busy", 5);
    let out = run_with(
        functions,
        retried(
            json!([{"ErrorEquals": ["Busy"], "MaxAttempts": 0}]),
            json!([]),
        ),
        json!({}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("Busy"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_count_is_in_the_context_object() {
    let (functions, _) = flaky("Busy", 2);
    let definition = json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": lambda("flaky"),
            "Parameters": {"retry.$": "$$.State.RetryCount"},
            "Retry": [{"ErrorEquals": ["Busy"]}],
            "End": true
        }}
    });
    let out = run_with(functions.clone(), definition, json!({})).await;
    assert_eq!(out.output, json!({"retry": 2}));
    let payloads: Vec<Value> = functions
        .lambda_calls()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        payloads,
        vec![
            json!({"retry": 0}),
            json!({"retry": 1}),
            json!({"retry": 2})
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn catchers_are_tried_in_order() {
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": lambda("fail"), "Catch": [
                {"ErrorEquals": ["Other"], "Next": "A"},
                {"ErrorEquals": ["States.TaskFailed"], "Next": "B"},
                {"ErrorEquals": ["States.ALL"], "Next": "C"}
            ], "End": true},
            "A": {"Type": "Pass", "Result": "A", "End": true},
            "B": {"Type": "Pass", "Result": "B", "End": true},
            "C": {"Type": "Pass", "Result": "C", "End": true}
        }
    });
    let out = run(definition, json!({})).await;
    assert_eq!(
        out.output,
        json!("B"),
        "States.TaskFailed matches a custom task error"
    );
    assert!(
        out.types().contains(&"TaskStateExited"),
        "a caught state still exits"
    );
}

#[tokio::test(start_paused = true)]
async fn task_timeout_is_states_timeout_and_not_task_failed() {
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": lambda("slow"), "TimeoutSeconds": 5, "Catch": [
                {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                {"ErrorEquals": ["States.Timeout"], "Next": "Right"}
            ], "End": true},
            "Wrong": {"Type": "Pass", "Result": "wrong", "End": true},
            "Right": {"Type": "Pass", "Result": "right", "End": true}
        }
    });
    let out = run(definition, json!({})).await;
    assert_eq!(out.output, json!("right"));
    assert!(out.types().contains(&"LambdaFunctionTimedOut"));
    assert_eq!(
        out.seconds_between("LambdaFunctionStarted", "LambdaFunctionTimedOut"),
        5.0
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_path_and_heartbeat() {
    let out = run(
        single(json!({"Type": "Task", "Resource": lambda("slow"), "TimeoutSecondsPath": "$.limit", "End": true})),
        json!({"limit": 7}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        out.seconds_between("LambdaFunctionStarted", "LambdaFunctionTimedOut"),
        7.0
    );

    let out = run(
        single(json!({"Type": "Task", "Resource": lambda("slow"), "TimeoutSeconds": 60, "HeartbeatSeconds": 3, "End": true})),
        json!({}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.HeartbeatTimeout"));

    // A task that finishes in time is unaffected.
    let out = run(
        single(
            json!({"Type": "Task", "Resource": lambda("slow"), "TimeoutSeconds": 101, "End": true}),
        ),
        json!({"ok": true}),
    )
    .await;
    assert_eq!(out.output, json!({"ok": true}));
}

#[tokio::test(start_paused = true)]
async fn machine_timeout_times_the_execution_out() {
    let definition = json!({
        "TimeoutSeconds": 30,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}
    });
    let out = run(definition, json!({})).await;
    assert_eq!(out.status, Status::TimedOut);
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
    assert_eq!(out.types().last(), Some(&"ExecutionTimedOut"));
    let start = time::OffsetDateTime::parse(
        &out.start_date,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let stop = time::OffsetDateTime::parse(
        &out.stop_date,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((stop - start).as_seconds_f64(), 30.0);
}

#[tokio::test(start_paused = true)]
async fn runtime_errors_are_never_retried_or_caught() {
    let (functions, calls) = flaky("Busy", 0);
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": lambda("flaky"), "InputPath": "$.nothing",
                  "Retry": [{"ErrorEquals": ["States.ALL"]}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let out = run_with(functions, definition, json!({})).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn data_limit_is_caught_only_when_named() {
    let catching = |errors: Value| {
        json!({
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": lambda("big"), "Catch": [{"ErrorEquals": errors, "Next": "Caught"}], "End": true},
                "Caught": {"Type": "Pass", "Result": "caught", "End": true}
            }
        })
    };
    let out = run(catching(json!(["States.ALL"])), json!({})).await;
    assert_eq!(out.error.as_deref(), Some("States.DataLimitExceeded"));
    let out = run(catching(json!(["States.DataLimitExceeded"])), json!({})).await;
    assert_eq!(out.output, json!("caught"));
}

#[tokio::test(start_paused = true)]
async fn unknown_function_is_a_service_error() {
    let out = run(
        single(json!({"Type": "Task", "Resource": lambda("nope"), "End": true})),
        json!({}),
    )
    .await;
    assert_eq!(
        out.error.as_deref(),
        Some("Lambda.ResourceNotFoundException")
    );
    assert!(out.cause.unwrap().contains("nope"));
}
