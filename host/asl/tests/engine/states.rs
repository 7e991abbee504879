//! One or more tests per state type.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cafe_report_asl::Status;
use serde_json::json;

use crate::common::{Functions, lambda, run, run_with, single};

#[tokio::test(start_paused = true)]
async fn pass_result_replaces_or_lands_at_result_path() {
    // The spec's example: Result placed at ResultPath inside the input.
    let out = run(
        single(json!({"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords", "End": true})),
        json!({"georefOf": "Home"}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(
        out.output,
        json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
    );

    let out = run(
        single(json!({"Type": "Pass", "End": true})),
        json!({"a": 1}),
    )
    .await;
    assert_eq!(
        out.output,
        json!({"a": 1}),
        "a bare Pass passes its input through"
    );
}

#[tokio::test(start_paused = true)]
async fn pass_chain_follows_next() {
    let definition = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "Next": "C"},
            "C": {"Type": "Pass", "End": true}
        }
    });
    let out = run(definition, json!({})).await;
    assert_eq!(out.output, json!({"a": 1, "b": 2}));
}

#[tokio::test(start_paused = true)]
async fn task_with_function_arn_returns_the_function_output() {
    let out = run(
        single(json!({"Type": "Task", "Resource": lambda("echo"), "End": true})),
        json!({"k": "v"}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output, json!({"k": "v"}));
}

#[tokio::test(start_paused = true)]
async fn lambda_invoke_wraps_the_result_like_aws() {
    let functions = Arc::new(Functions::new());
    let out = run_with(
        functions.clone(),
        single(json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": lambda("echo"), "Payload": {"n.$": "$.n"}},
            "End": true
        })),
        json!({"n": 7}),
    )
    .await;
    assert_eq!(out.output["Payload"], json!({"n": 7}));
    assert_eq!(out.output["StatusCode"], json!(200));
    assert_eq!(out.output["ExecutedVersion"], json!("$LATEST"));
    assert!(out.output["SdkResponseMetadata"]["RequestId"].is_string());
    assert_eq!(
        functions.lambda_calls(),
        vec![(lambda("echo"), json!({"n": 7}))]
    );
}

#[tokio::test(start_paused = true)]
async fn sns_publish_goes_through_the_invoker() {
    let functions = Arc::new(Functions::new());
    let out = run_with(
        functions.clone(),
        single(json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Subject": "S", "Message.$": "$.m",
                "MessageAttributes": {"recipient": {"DataType": "String", "StringValue.$": "$.to"}}
            },
            "ResultSelector": {"id.$": "$.MessageId"},
            "End": true
        })),
        json!({"m": {"text": "hi"}, "to": "ana@example.com"}),
    )
    .await;
    assert_eq!(out.output, json!({"id": "sns-message-1"}));
    let calls = functions.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![cafe_report_asl::TaskCall::SnsPublish {
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            subject: Some("S".into()),
            message: r#"{"text":"hi"}"#.into(),
            attributes: [("recipient".to_string(), "ana@example.com".to_string())].into(),
        }]
    );
}

fn choice_machine() -> serde_json::Value {
    json!({
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                    {"And": [
                        {"Variable": "$.name", "IsPresent": true},
                        {"Variable": "$.name", "StringMatches": "caf*"}
                    ], "Next": "Cafe"}
                ],
                "Default": "Other"
            },
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Cafe": {"Type": "Pass", "Result": "cafe", "End": true},
            "Other": {"Type": "Pass", "Result": "other", "End": true}
        }
    })
}

#[tokio::test(start_paused = true)]
async fn choice_takes_the_first_matching_rule_or_default() {
    assert_eq!(
        run(choice_machine(), json!({"n": 11, "name": "cafe"}))
            .await
            .output,
        json!("big")
    );
    assert_eq!(
        run(choice_machine(), json!({"n": 1, "name": "cafeteria"}))
            .await
            .output,
        json!("cafe")
    );
    assert_eq!(
        run(choice_machine(), json!({"n": 1})).await.output,
        json!("other")
    );
}

#[tokio::test(start_paused = true)]
async fn choice_without_match_or_default_fails() {
    let mut definition = choice_machine();
    definition["States"]["Pick"]
        .as_object_mut()
        .unwrap()
        .remove("Default");
    definition["States"]
        .as_object_mut()
        .unwrap()
        .remove("Other");
    let out = run(definition, json!({"n": 1})).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test(start_paused = true)]
async fn wait_seconds_runs_on_the_virtual_clock() {
    let wall = std::time::Instant::now();
    let out = run(
        single(json!({"Type": "Wait", "Seconds": 3600, "End": true})),
        json!({"x": 1}),
    )
    .await;
    assert_eq!(out.output, json!({"x": 1}));
    assert_eq!(
        out.seconds_between("WaitStateEntered", "WaitStateExited"),
        3600.0
    );
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "the hour passed virtually"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_until_timestamps_and_paths() {
    let out = run(
        single(json!({"Type": "Wait", "Timestamp": "2026-11-24T10:31:00Z", "End": true})),
        json!({}),
    )
    .await;
    assert_eq!(
        out.seconds_between("WaitStateEntered", "WaitStateExited"),
        3600.0
    );

    let out = run(
        single(json!({"Type": "Wait", "SecondsPath": "$.s", "End": true})),
        json!({"s": 90}),
    )
    .await;
    assert_eq!(
        out.seconds_between("WaitStateEntered", "WaitStateExited"),
        90.0
    );

    let out = run(
        single(json!({"Type": "Wait", "TimestampPath": "$.t", "End": true})),
        json!({"t": "2026-11-24T09:32:00Z"}),
    )
    .await;
    assert_eq!(
        out.seconds_between("WaitStateEntered", "WaitStateExited"),
        60.0
    );

    // A timestamp in the past does not wait.
    let out = run(
        single(json!({"Type": "Wait", "TimestampPath": "$.t", "End": true})),
        json!({"t": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        out.seconds_between("WaitStateEntered", "WaitStateExited"),
        0.0
    );

    let out = run(
        single(json!({"Type": "Wait", "SecondsPath": "$.s", "End": true})),
        json!({"s": "soon"}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test(start_paused = true)]
async fn succeed_applies_input_and_output_paths() {
    let out = run(
        single(json!({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"})),
        json!({"a": {"b": 42}}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output, json!(42));
}

#[tokio::test(start_paused = true)]
async fn fail_reports_error_and_cause() {
    let out = run(
        single(json!({"Type": "Fail", "Error": "OutOfBeans", "Cause": "no beans left"})),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(
        (out.error.as_deref(), out.cause.as_deref()),
        (Some("OutOfBeans"), Some("no beans left"))
    );

    let out = run(
        single(json!({"Type": "Fail", "ErrorPath": "$.code", "CausePath": "States.Format('{} beans short', $.n)"})),
        json!({"code": "Short", "n": 3}),
    )
    .await;
    assert_eq!(
        (out.error.as_deref(), out.cause.as_deref()),
        (Some("Short"), Some("3 beans short"))
    );

    let out = run(single(json!({"Type": "Fail"})), json!({})).await;
    assert_eq!(
        (out.status, out.error, out.cause),
        (Status::Failed, None, None)
    );
}

#[tokio::test(start_paused = true)]
async fn parallel_outputs_one_array_entry_per_branch() {
    let definition = single(json!({
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.x", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": lambda("echo"), "InputPath": "$.y", "End": true}}},
            {"StartAt": "C", "States": {"C": {"Type": "Wait", "Seconds": 5, "Next": "D"}, "D": {"Type": "Pass", "Result": "done", "End": true}}}
        ],
        "ResultPath": "$.results",
        "End": true
    }));
    let out = run(definition, json!({"x": 1, "y": 2})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(
        out.output,
        json!({"x": 1, "y": 2, "results": [1, 2, "done"]})
    );
    assert!(out.types().contains(&"ParallelStateStarted"));
    assert!(out.types().contains(&"ParallelStateSucceeded"));
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_run_concurrently() {
    // Two branches that each wait 10 s finish after 10 s, not 20.
    let definition = single(json!({
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}},
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}}
        ],
        "End": true
    }));
    let out = run(definition, json!({})).await;
    assert_eq!(
        out.seconds_between("ParallelStateEntered", "ParallelStateExited"),
        10.0
    );
}

#[tokio::test(start_paused = true)]
async fn parallel_branch_failure_fails_the_state_and_can_be_caught() {
    let definition = json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": lambda("slow"), "End": true}}},
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "BranchBroke", "Cause": "on purpose"}}}
                ],
                "Catch": [{"ErrorEquals": ["BranchBroke"], "ResultPath": "$.error", "Next": "Handled"}],
                "End": true
            },
            "Handled": {"Type": "Pass", "End": true}
        }
    });
    let out = run(definition.clone(), json!({"in": 1})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(
        out.output,
        json!({"in": 1, "error": {"Error": "BranchBroke", "Cause": "on purpose"}})
    );
    assert!(out.types().contains(&"ParallelStateFailed"));
    assert!(
        !out.types().contains(&"TaskSucceeded")
            && !out.types().contains(&"LambdaFunctionSucceeded"),
        "the slow branch was stopped: {:?}",
        out.types()
    );
    assert!(out.seconds_between("ParallelStateEntered", "ParallelStateExited") < 100.0);

    // Uncaught, the branch's error fails the execution.
    let mut uncaught =
        json!({"StartAt": "Both", "States": {"Both": definition["States"]["Both"].clone()}});
    uncaught["States"]["Both"]
        .as_object_mut()
        .unwrap()
        .remove("Catch");
    let out = run(uncaught, json!({})).await;
    assert_eq!(out.error.as_deref(), Some("BranchBroke"));
}

fn map_state(extra: serde_json::Value) -> serde_json::Value {
    let mut state = json!({
        "Type": "Map",
        "ItemsPath": "$.beans",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Price",
            "States": {"Price": {"Type": "Task", "Resource": lambda("price"), "End": true}}
        },
        "End": true
    });
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    single(state)
}

fn price_functions() -> Arc<Functions> {
    Arc::new(Functions::new().with("price", |item| async move {
        match item["price"].as_f64() {
            Some(price) => Ok(json!(price * 2.0)),
            None => Err(cafe_report_asl::InvokeError::Function {
                error_type: "NoPrice".into(),
                error_message: format!("{} has no price", item["name"]),
            }),
        }
    }))
}

#[tokio::test(start_paused = true)]
async fn map_runs_every_item_in_order() {
    let input = json!({"beans": [{"name": "a", "price": 1.5}, {"name": "b", "price": 2.0}, {"name": "c", "price": 0.25}]});
    let out = run_with(price_functions(), map_state(json!({})), input).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output, json!([3.0, 4.0, 0.5]));
    assert_eq!(
        out.event("MapStateStarted").details().unwrap()["length"],
        json!(3)
    );
    assert_eq!(
        out.types()
            .iter()
            .filter(|t| **t == "MapIterationSucceeded")
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn map_item_selector_sees_index_value_and_input() {
    let definition = single(json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "shop.$": "$.shop"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }));
    let out = run(definition, json!({"shop": "Cafe", "items": ["x", "y"]})).await;
    assert_eq!(
        out.output,
        json!([{"index": 0, "value": "x", "shop": "Cafe"}, {"index": 1, "value": "y", "shop": "Cafe"}])
    );
}

#[tokio::test(start_paused = true)]
async fn map_max_concurrency_limits_running_items() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (running.clone(), peak.clone());
    let functions = Arc::new(Functions::new().with("price", move |item| {
        let (running, peak) = (r.clone(), p.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(item)
        }
    }));
    let items: Vec<_> = (0..10).map(|i| json!({"price": i})).collect();
    let out = run_with(
        functions,
        map_state(json!({"MaxConcurrency": 3})),
        json!({"beans": items}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    // 10 items, 3 at a time, 1 s each: 4 rounds.
    assert_eq!(
        out.seconds_between("MapStateStarted", "MapStateSucceeded"),
        4.0
    );
}

#[tokio::test(start_paused = true)]
async fn map_tolerates_failures_up_to_the_threshold() {
    let beans = json!({"beans": [{"price": 1}, {"name": "x"}, {"price": 2}, {"name": "y"}]});
    // 2 of 4 fail: a count of 2 tolerates them; failed items show their error.
    let out = run_with(
        price_functions(),
        map_state(json!({"ToleratedFailureCount": 2})),
        beans.clone(),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output[0], json!(2.0));
    assert_eq!(out.output[1]["Error"], json!("NoPrice"));
    assert_eq!(
        out.types()
            .iter()
            .filter(|t| **t == "MapIterationFailed")
            .count(),
        2
    );

    // 50 % failed is not more than 50 %.
    let out = run_with(
        price_functions(),
        map_state(json!({"ToleratedFailurePercentage": 50})),
        beans.clone(),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);

    let out = run_with(
        price_functions(),
        map_state(json!({"ToleratedFailureCount": 1})),
        beans.clone(),
    )
    .await;
    assert_eq!(
        out.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    let out = run_with(
        price_functions(),
        map_state(json!({"ToleratedFailurePercentage": 25})),
        beans.clone(),
    )
    .await;
    assert_eq!(
        out.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    // Without a tolerance, the first failure is the Map's failure.
    let out = run_with(price_functions(), map_state(json!({})), beans).await;
    assert_eq!(out.error.as_deref(), Some("NoPrice"));
    assert!(out.types().contains(&"MapStateFailed"));
}

#[tokio::test(start_paused = true)]
async fn map_items_path_must_be_an_array() {
    let out = run_with(
        price_functions(),
        map_state(json!({})),
        json!({"beans": {"not": "a list"}}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert!(out.cause.unwrap().contains("ItemsPath"));
}
