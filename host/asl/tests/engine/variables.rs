//! Workflow variables in JSONPath states, Choice rules' own `Assign` and `Output`, and
//! the limits. The JSONata side of `Assign` is in `jsonata.rs`. Cases follow AWS's
//! documentation of variables and the behaviour LocalStack recorded against AWS.

use cafe_report_asl::{StateMachine, Status};
use serde_json::{Value, json};

use crate::common::{lambda, run};

fn machine(states: Value, start: &str) -> Value {
    json!({ "StartAt": start, "States": states })
}

/// Runs `states` from `start` on `{}`; the execution must succeed.
async fn succeeds(states: Value, start: &str) -> crate::common::Outcome {
    let out = run(machine(states, start), json!({})).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    out
}

fn exited<'a>(out: &'a crate::common::Outcome, state: &str) -> &'a Value {
    out.events
        .iter()
        .filter(|e| e.kind.ends_with("StateExited"))
        .filter_map(|e| e.details())
        .find(|d| d["name"] == state)
        .unwrap_or_else(|| panic!("{state} never exited: {:?}", out.types()))
}

#[tokio::test(start_paused = true)]
async fn jsonpath_assign_reads_the_result_and_paths_read_the_variables() {
    let out = run(
        machine(
            json!({
                "S0": {"Type": "Pass", "Result": {"answer": 42}, "Assign": {
                    "theAnswer.$": "$.answer",
                    "literal": "$.answer",
                    "template": {"n.$": "$.answer", "kept": "{% $x %}"},
                    "state.$": "$$.State.Name",
                    "formatted.$": "States.Format('n={}', $.answer)"
                }, "Next": "S1"},
                "S1": {"Type": "Pass", "Parameters": {
                    "a.$": "$theAnswer",
                    "b.$": "States.MathAdd($theAnswer, 1)",
                    "n.$": "$template.n",
                    "state.$": "$state",
                    "not_a_reference": "$theAnswer"
                }, "ResultPath": "$.p", "Next": "S2"},
                "S2": {"Type": "Pass", "InputPath": "$formatted", "End": true}
            }),
            "S0",
        ),
        json!({"in": 1}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(out.output, json!("n=42"));
    let s1 = serde_json::from_str::<Value>(exited(&out, "S1")["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        s1["p"],
        json!({"a": 42, "b": 43, "n": 42, "state": "S0", "not_a_reference": "$theAnswer"})
    );
    assert_eq!(
        exited(&out, "S0")["assignedVariables"],
        json!({
            "theAnswer": "42",
            "literal": "\"$.answer\"",
            "template": "{\"n\":42,\"kept\":\"{% $x %}\"}",
            "state": "\"S0\"",
            "formatted": "\"n=42\""
        })
    );
}

#[tokio::test(start_paused = true)]
async fn task_assign_sees_the_selected_result_and_output_path_the_old_values() {
    let out = succeeds(
        json!({
            "Setup": {"Type": "Pass", "Assign": {"timeout": 30, "who": "old"}, "Next": "Call"},
            "Call": {
                "Type": "Task", "Resource": lambda("echo"),
                "Parameters": {"name": "new"},
                "TimeoutSecondsPath": "$timeout",
                "ResultSelector": {"n.$": "$.name"},
                "Assign": {"who.$": "$.n", "before.$": "$who"},
                "ResultPath": "$.r",
                "OutputPath": "$who",
                "Next": "Read"
            },
            "Read": {"Type": "Pass", "Parameters": {"who.$": "$who", "before.$": "$before", "input.$": "$"}, "End": true}
        }),
        "Setup",
    )
    .await;
    // OutputPath read `$who` before the Task's own Assign took effect.
    assert_eq!(
        out.output,
        json!({"who": "new", "before": "old", "input": "old"})
    );
    let scheduled = out.event("LambdaFunctionScheduled").details().unwrap();
    assert_eq!(scheduled["timeoutInSeconds"], json!(30));
}

/// `Assign` on a Choice rule replaces the state's, which applies only with `Default`.
fn guessing_game(language: &str) -> Value {
    let (rules, state_assign, read) = if language == "JSONata" {
        (
            json!([
                {"Condition": "{% $not($exists($states.input.guess)) %}", "Assign": {"status": "UNKNOWN"}, "Next": "Final"},
                {"Condition": "{% $states.input.guess = 42 %}", "Assign": {"status": "CORRECT"},
                 "Output": {"matched": "{% $states.input.guess %}"}, "Next": "Final"}
            ]),
            json!({"status": "INCORRECT", "guessed": "{% $states.input.guess %}"}),
            json!({"Type": "Pass", "Output": {"status": "{% $status %}", "input": "{% $states.input %}"}, "End": true}),
        )
    } else {
        (
            json!([
                {"Variable": "$.guess", "IsPresent": false, "Assign": {"status": "UNKNOWN"}, "Next": "Final"},
                {"Variable": "$.guess", "NumericEquals": 42, "Assign": {"status": "CORRECT"}, "Next": "Final"}
            ]),
            json!({"status": "INCORRECT", "guessed.$": "$.guess"}),
            json!({"Type": "Pass", "Parameters": {"status.$": "$status", "input.$": "$"}, "End": true}),
        )
    };
    json!({
        "QueryLanguage": language,
        "StartAt": "Check",
        "States": {
            "Check": {"Type": "Choice", "Choices": rules, "Default": "Final", "Assign": state_assign},
            "Final": read
        }
    })
}

#[tokio::test(start_paused = true)]
async fn choice_rules_assign_instead_of_the_state_in_both_languages() {
    for language in ["JSONPath", "JSONata"] {
        for (input, status) in [
            (json!({}), "UNKNOWN"),
            (json!({"guess": 42}), "CORRECT"),
            (json!({"guess": 7}), "INCORRECT"),
        ] {
            let out = run(guessing_game(language), input.clone()).await;
            assert_eq!(out.status, Status::Succeeded, "{language}: {:?}", out.cause);
            assert_eq!(out.output["status"], json!(status), "{language} {input}");
            let assigned = &exited(&out, "Check")["assignedVariables"];
            let expected = match status {
                "INCORRECT" => json!({"status": "\"INCORRECT\"", "guessed": "7"}),
                _ => json!({ "status": format!("\"{status}\"") }),
            };
            assert_eq!(assigned, &expected, "{language} {input}");
            // Only the JSONata rule for 42 has an Output; elsewhere the input passes on.
            let passed_on = if language == "JSONata" && status == "CORRECT" {
                json!({"matched": 42})
            } else {
                input
            };
            assert_eq!(out.output["input"], passed_on, "{language} {status}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn choice_variables_wait_and_fail_read_variables() {
    let out = run(
        machine(
            json!({
                "Setup": {"Type": "Pass", "Assign": {"guess": "the_guess", "answer": "the_answer", "delay": 5}, "Next": "Check"},
                "Check": {"Type": "Choice", "Choices": [
                    {"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "Done"},
                    {"Variable": "$missing", "IsPresent": true, "Next": "Done"}
                ], "Default": "Wrong"},
                "Wrong": {"Type": "Wait", "SecondsPath": "$delay", "Assign": {"guess.$": "$answer", "tries": 1}, "Next": "Check"},
                "Done": {"Type": "Fail", "ErrorPath": "$guess", "CausePath": "States.Format('after {} wait', $tries)"}
            }),
            "Setup",
        ),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("the_answer"));
    assert_eq!(out.cause.as_deref(), Some("after 1 wait"));
    assert_eq!(
        out.seconds_between("WaitStateEntered", "WaitStateExited"),
        5.0
    );
    let checks = out
        .types()
        .iter()
        .filter(|t| **t == "ChoiceStateEntered")
        .count();
    assert_eq!(checks, 2);
}

#[tokio::test(start_paused = true)]
async fn catch_assign_reads_the_error_output() {
    let out = run(
        machine(
            json!({
                "Call": {"Type": "Task", "Resource": lambda("fail"), "Catch": [{
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {"error.$": "$.Error", "whole.$": "$"},
                    "ResultPath": "$.caught",
                    "Next": "Read"
                }], "End": true},
                "Read": {"Type": "Pass", "Parameters": {"error.$": "$error", "cause.$": "$whole.Cause", "input.$": "$"}, "End": true}
            }),
            "Call",
        ),
        json!({"order": 7}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(out.output["error"], json!("CustomError"));
    let cause: Value = serde_json::from_str(out.output["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], json!("it broke"));
    assert_eq!(out.output["input"]["order"], json!(7));
    assert_eq!(out.output["input"]["caught"]["Error"], json!("CustomError"));
}

#[tokio::test(start_paused = true)]
async fn map_and_parallel_read_outer_variables_and_keep_their_own() {
    let out = succeeds(
        json!({
            "Setup": {"Type": "Pass", "Assign": {"items": [1, 2, 3], "bias": 10, "limit": 2}, "Next": "Each"},
            "Each": {
                "Type": "Map", "ItemsPath": "$items", "MaxConcurrencyPath": "$limit",
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "bias.$": "$bias"},
                "ItemProcessor": {"StartAt": "Inner", "States": {
                    "Inner": {"Type": "Pass", "Assign": {"bias.$": "States.MathAdd($.value, $bias)"}, "Next": "Read"},
                    "Read": {"Type": "Pass", "Parameters": {"inner.$": "$bias"}, "End": true}
                }},
                "ResultPath": "$.each", "Next": "Both"
            },
            "Both": {
                "Type": "Parallel", "ResultPath": "$.both", "Next": "After",
                "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Assign": {"bias": -1}, "Parameters": {"b.$": "$bias"}, "End": true}}},
                    {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "Parameters": {"b.$": "$bias"}, "End": true}}}
                ]
            },
            "After": {"Type": "Pass", "Parameters": {"bias.$": "$bias", "each.$": "$.each", "both.$": "$.both"}, "End": true}
        }),
        "Setup",
    )
    .await;
    assert_eq!(
        out.output,
        json!({
            "bias": 10,
            "each": [{"inner": 11}, {"inner": 12}, {"inner": 13}],
            // B1's Parameters ran before its own Assign took effect.
            "both": [{"b": 10}, {"b": 10}]
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_jsonata_item_selector_reads_outer_variables() {
    // The selector once saw only `$states`, so `$bias` was undefined.
    let out = run(
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Setup",
            "States": {
                "Setup": {"Type": "Pass", "Assign": {"bias": 100}, "Next": "Each"},
                "Each": {
                    "Type": "Map", "Items": [1, 2],
                    "ItemSelector": {"v": "{% $states.context.Map.Item.Value + $bias %}"},
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                    "End": true
                }
            }
        }),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(out.output, json!([{"v": 101}, {"v": 102}]));
}

#[tokio::test(start_paused = true)]
async fn variables_cross_query_languages() {
    let out = succeeds(
        json!({
            "A": {"Type": "Pass", "Result": {"n": 2}, "Assign": {"fromPath.$": "$.n"}, "Next": "B"},
            "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"fromJsonata": "{% $fromPath * 10 %}"}, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($fromPath, $fromJsonata)"}, "End": true}
        }),
        "A",
    )
    .await;
    assert_eq!(out.output, json!({"sum": 22}));
}

#[tokio::test(start_paused = true)]
async fn an_unassigned_variable_is_a_runtime_error() {
    let out = run(
        machine(
            json!({"P": {"Type": "Pass", "Parameters": {"x.$": "$nope.field"}, "End": true}}),
            "P",
        ),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    let cause = out.cause.unwrap();
    assert!(
        cause.contains("'$nope.field'") && cause.contains("'x.$'") && cause.contains("'nope'"),
        "{cause}"
    );
}

#[tokio::test(start_paused = true)]
async fn all_the_variables_of_an_execution_stay_under_10_mib() {
    // Each state stores the 250,000-character input in a new variable: the 42nd would
    // take the total past 10 MiB (10,485,760 bytes).
    let states: serde_json::Map<String, Value> = (0..45)
        .map(|i| {
            let mut state = json!({"Type": "Pass", "Assign": { format!("v{i}.$"): "$.big" }});
            state["Next"] = json!(format!("S{}", i + 1));
            if i == 44 {
                state = json!({"Type": "Pass", "Assign": { "last.$": "$.big" }, "End": true});
            }
            (format!("S{i}"), state)
        })
        .collect();
    let out = run(
        machine(Value::Object(states), "S0"),
        json!({"big": "x".repeat(250_000)}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        out.cause.as_deref().unwrap().contains("10485760"),
        "{:?}",
        out.cause
    );
    let last_entered = out
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "PassStateEntered")
        .and_then(|e| e.details())
        .unwrap();
    assert_eq!(last_entered["name"], json!("S41"));
}

#[test]
fn jsonpath_variable_fields_are_checked() {
    let refused = |state: Value| -> Vec<String> {
        StateMachine::from_value(&machine(json!({ "S": state }), "S"))
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.location)
            .collect()
    };
    let cases = [
        (
            json!({"Type": "Pass", "Assign": {"x.$": 3}, "End": true}),
            "/States/S/Assign/x.$",
        ),
        (
            json!({"Type": "Pass", "Assign": {"x.$": "not a path"}, "End": true}),
            "/States/S/Assign/x.$",
        ),
        (
            json!({"Type": "Pass", "Assign": {"x": 1, "x.$": "$.a"}, "End": true}),
            "/States/S/Assign/x.$",
        ),
        (
            json!({"Type": "Pass", "Assign": ["x"], "End": true}),
            "/States/S/Assign",
        ),
        (
            json!({"Type": "Pass", "ResultPath": "$var", "End": true}),
            "/States/S/ResultPath",
        ),
        (
            json!({"Type": "Pass", "InputPath": "$1x", "End": true}),
            "/States/S/InputPath",
        ),
        (
            json!({"Type": "Succeed", "Assign": {"x": 1}}),
            "/States/S/Assign",
        ),
        (
            json!({"Type": "Choice", "Default": "S", "Choices": [
                {"Not": {"Variable": "$.a", "IsNull": true, "Assign": {"x": 1}}, "Next": "S"}
            ]}),
            "/States/S/Choices/0/Not/Assign",
        ),
        (
            json!({"Type": "Choice", "Default": "S", "Choices": [
                {"Variable": "$.a", "IsNull": true, "Output": {"x": 1}, "Next": "S"}
            ]}),
            "/States/S/Choices/0/Output",
        ),
    ];
    for (state, location) in cases {
        let found = refused(state.clone());
        assert!(
            found.iter().any(|at| at == location),
            "{state}: expected {location}, got {found:?}"
        );
    }
}
