//! States written in JSONata (`"QueryLanguage": "JSONata"`): `Arguments`, `Output`,
//! `Condition`, `Seconds`/`Timestamp`, `Error`/`Cause`, `TimeoutSeconds` and Catch
//! `Output` as expressions, with `$states` in each phase; JSONPath-only fields refused;
//! failed or empty expressions as `States.QueryEvaluationError`; machines mixing languages.

use std::sync::Arc;

use cafe_report_asl::{StateMachine, Status};
use serde_json::{Value, json};

use crate::common::{Functions, START, lambda, run, run_with};

fn jsonata(states: Value, start: &str) -> Value {
    json!({ "QueryLanguage": "JSONata", "StartAt": start, "States": states })
}

#[tokio::test(start_paused = true)]
async fn pass_output_sees_the_input_and_the_context() {
    let out = run(
        jsonata(
            json!({"P": {"Type": "Pass", "End": true, "Output": {
                "who": "{% $states.input.customer.name %}",
                "total": "{% $sum($states.input.items.(price * qty)) %}",
                "state": "{% $states.context.State.Name %}",
                "execution": "{% $states.context.Execution.Name %}",
                "literal": "{% is only an expression when it ends so",
                "fixed": [1, true, null]
            }}}),
            "P",
        ),
        json!({"customer": {"name": "Ana"}, "items": [{"price": 2.5, "qty": 4}, {"price": 1, "qty": 1}]}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(
        out.output,
        json!({"who": "Ana", "total": 11, "state": "P", "execution": "test-execution",
               "literal": "{% is only an expression when it ends so", "fixed": [1, true, null]})
    );
    // Without Output a Pass state passes its input on.
    let out = run(
        jsonata(json!({"P": {"Type": "Pass", "End": true}}), "P"),
        json!({"a": 1}),
    )
    .await;
    assert_eq!(out.output, json!({"a": 1}));
}

#[tokio::test(start_paused = true)]
async fn task_arguments_build_the_payload_and_output_sees_the_result() {
    let functions = Arc::new(Functions::new());
    let definition = jsonata(
        json!({
            "Direct": {
                "Type": "Task", "Resource": lambda("echo"),
                "Arguments": {"order": "{% $states.input.id %}", "lines": "{% $count($states.input.items) %}"},
                "Next": "Invoke"
            },
            "Invoke": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": lambda("echo"), "Payload": {"again": "{% $states.input.order %}"}},
                "Output": {"payload": "{% $states.result.Payload %}", "status": "{% $states.result.StatusCode %}", "input": "{% $states.input %}"},
                "End": true
            }
        }),
        "Direct",
    );
    let out = run_with(
        functions.clone(),
        definition,
        json!({"id": "A-17", "items": [1, 2, 3]}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    // Without Output, a task's output is its result.
    assert_eq!(
        functions.lambda_calls(),
        vec![
            (lambda("echo"), json!({"order": "A-17", "lines": 3})),
            (lambda("echo"), json!({"again": "A-17"})),
        ]
    );
    assert_eq!(
        out.output,
        json!({"payload": {"again": "A-17"}, "status": 200, "input": {"order": "A-17", "lines": 3}})
    );
    // The history records the evaluated arguments, as for JSONPath's Parameters.
    let scheduled = out.event("TaskScheduled").details().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(scheduled["parameters"].as_str().unwrap()).unwrap(),
        json!({"FunctionName": lambda("echo"), "Payload": {"again": "A-17"}})
    );
}

#[tokio::test(start_paused = true)]
async fn choice_conditions_pick_the_first_true_rule() {
    let definition = |amount: i64| {
        let machine = jsonata(
            json!({
                "C": {"Type": "Choice", "Choices": [
                    {"Condition": "{% $states.input.amount > 100 %}", "Next": "Big"},
                    {"Condition": "{% $states.input.amount > 10 and $states.context.State.Name = 'C' %}", "Next": "Medium",
                     "Output": {"seen": "{% $states.input.amount %}"}}
                ], "Default": "Small", "Output": {"seen": "{% $states.input.amount %}"}},
                "Big": {"Type": "Pass", "Output": {"big": "{% $states.input %}"}, "End": true},
                "Medium": {"Type": "Pass", "Output": "{% 'medium ' & $string($states.input.seen) %}", "End": true},
                "Small": {"Type": "Succeed", "Output": {"small": "{% $states.input.seen %}"}}
            }),
            "C",
        );
        (machine, json!({"amount": amount}))
    };
    for (amount, expected) in [
        // A matching rule's Output replaces the state's; without one the input passes.
        (500, json!({"big": {"amount": 500}})),
        (50, json!("medium 50")),
        (5, json!({"small": 5})),
    ] {
        let (machine, input) = definition(amount);
        let out = run(machine, input).await;
        assert_eq!(out.output, expected, "amount {amount}");
    }
    // A condition that is not a boolean fails the state.
    let out = run(
        jsonata(
            json!({"C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.amount %}", "Next": "D"}], "Default": "D"},
                   "D": {"Type": "Succeed"}}),
            "C",
        ),
        json!({"amount": 3}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.QueryEvaluationError"));
}

#[tokio::test(start_paused = true)]
async fn wait_seconds_and_timestamp_can_be_expressions() {
    let out = run(
        jsonata(
            json!({"W": {"Type": "Wait", "Seconds": "{% $states.input.delay * 60 %}", "Next": "T"},
                   "T": {"Type": "Wait", "Timestamp": "{% $states.input.until %}", "End": true}}),
            "W",
        ),
        json!({"delay": 2, "until": "2026-11-24T12:00:00Z"}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    // Two minutes from 09:31, then until 12:00 (the executions start at START).
    assert_eq!(START, "2026-11-24T09:31:00.000Z");
    assert_eq!(
        out.seconds_between("ExecutionStarted", "ExecutionSucceeded"),
        2.0 * 3600.0 + 29.0 * 60.0
    );
}

#[tokio::test(start_paused = true)]
async fn fail_error_and_cause_can_be_expressions() {
    let out = run(
        jsonata(
            json!({"F": {"Type": "Fail", "Error": "{% 'Order.' & $states.input.code %}", "Cause": "{% 'order ' & $states.input.id & ' refused' %}"}}),
            "F",
        ),
        json!({"code": "Refused", "id": "A-17"}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("Order.Refused"));
    assert_eq!(out.cause.as_deref(), Some("order A-17 refused"));
}

#[tokio::test(start_paused = true)]
async fn catch_output_sees_the_error_output_and_the_input() {
    let definition = jsonata(
        json!({
            "T": {"Type": "Task", "Resource": lambda("fail"), "End": true, "Catch": [
                {"ErrorEquals": ["CustomError"], "Next": "Handled",
                 "Output": {"failed": "{% $states.errorOutput.Error %}", "why": "{% $parse($states.errorOutput.Cause).errorMessage %}", "order": "{% $states.input.id %}"}}
            ]},
            "Handled": {"Type": "Pass", "End": true}
        }),
        "T",
    );
    let out = run(definition, json!({"id": "A-17"})).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(
        out.output,
        json!({"failed": "CustomError", "why": "it broke", "order": "A-17"})
    );

    // Without Output the state's output is the error output.
    let definition = jsonata(
        json!({
            "T": {"Type": "Task", "Resource": lambda("fail"), "End": true,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]},
            "Handled": {"Type": "Pass", "End": true}
        }),
        "T",
    );
    let out = run(definition, json!({})).await;
    assert_eq!(out.output["Error"], "CustomError");
}

#[tokio::test(start_paused = true)]
async fn task_timeout_can_be_an_expression() {
    let out = run(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": lambda("slow"), "TimeoutSeconds": "{% $states.input.limit %}", "End": true}}),
            "T",
        ),
        json!({"limit": 5}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        out.seconds_between("LambdaFunctionScheduled", "LambdaFunctionTimedOut"),
        5.0
    );
}

#[tokio::test(start_paused = true)]
async fn an_expression_that_gives_nothing_or_fails_is_a_query_evaluation_error() {
    let out = run(
        jsonata(
            json!({"E": {"Type": "Pass", "Output": {"v": {"w": "{% $states.input.missing %}"}}, "End": true}}),
            "E",
        ),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.QueryEvaluationError"));
    assert_eq!(
        out.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'E' (entered at the event id #2). The JSONata expression '$states.input.missing' specified for the field 'Output/v/w' returned nothing (undefined)."
        )
    );

    let out = run(
        jsonata(
            json!({"E": {"Type": "Pass", "Output": "{% $abs('x') %}", "End": true}}),
            "E",
        ),
        json!({}),
    )
    .await;
    assert_eq!(out.error.as_deref(), Some("States.QueryEvaluationError"));
    let cause = out.cause.unwrap();
    assert!(
        cause.contains("specified for the field 'Output' threw an error during evaluation. T0410"),
        "{cause}"
    );

    // Retry and Catch see it like any other error.
    let out = run(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": lambda("echo"), "Arguments": "{% $states.input.nothing %}", "End": true,
                         "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}]},
                   "Caught": {"Type": "Pass", "End": true}}),
            "T",
        ),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output["Error"], "States.QueryEvaluationError");
}

#[tokio::test(start_paused = true)]
async fn jsonpath_and_jsonata_states_mix_in_one_machine() {
    let definition = json!({
        "StartAt": "Path",
        "States": {
            "Path": {"Type": "Pass", "Parameters": {"n.$": "$.start"}, "ResultPath": "$.first", "Next": "Nata"},
            "Nata": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"doubled": "{% $states.input.first.n * 2 %}"}, "Next": "Back"},
            "Back": {"Type": "Pass", "Parameters": {"result.$": "States.MathAdd($.doubled, 1)"}, "End": true}
        }
    });
    let out = run(definition, json!({"start": 20})).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(out.output, json!({"result": 41}));
}

#[tokio::test(start_paused = true)]
async fn parallel_arguments_feed_every_branch_and_output_sees_their_results() {
    let definition = jsonata(
        json!({
            "P": {
                "Type": "Parallel",
                "Arguments": {"n": "{% $states.input.n %}"},
                "Branches": [
                    {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "Output": "{% $states.input.n * 2 %}", "End": true}}},
                    {"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": lambda("echo"), "End": true}}}
                ],
                "Output": {"doubled": "{% $states.result[0] %}", "echoed": "{% $states.result[1].n %}", "kept": "{% $states.input.keep %}"},
                "End": true
            }
        }),
        "P",
    );
    let out = run(definition, json!({"n": 21, "keep": "me"})).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(
        out.output,
        json!({"doubled": 42, "echoed": 21, "kept": "me"})
    );
}

#[tokio::test(start_paused = true)]
async fn map_items_and_item_selector_are_expressions() {
    let definition = jsonata(
        json!({
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.orders[qty > 0] %}",
                "ItemSelector": {
                    "sku": "{% $states.context.Map.Item.Value.sku %}",
                    "index": "{% $states.context.Map.Item.Index %}",
                    "customer": "{% $states.input.customer %}"
                },
                "MaxConcurrency": "{% $states.input.parallelism %}",
                "ItemProcessor": {"StartAt": "Line", "States": {
                    "Line": {"Type": "Pass", "Output": "{% $states.input.customer & ':' & $states.input.sku & '#' & $string($states.input.index) %}", "End": true}
                }},
                "Output": "{% $join($states.result, ', ') %}",
                "End": true
            }
        }),
        "M",
    );
    let input = json!({"customer": "Ana", "parallelism": 2, "orders": [
        {"sku": "K1", "qty": 3}, {"sku": "P2", "qty": 0}, {"sku": "E3", "qty": 1}
    ]});
    let out = run(definition, input).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(out.output, json!("Ana:K1#0, Ana:E3#1"));

    // Without Items the input itself is the array; a non-array is an error.
    let machine = |items: Value| {
        let mut map = json!({"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true});
        if !items.is_null() {
            map["Items"] = items;
        }
        jsonata(json!({"M": map}), "M")
    };
    let out = run(machine(Value::Null), json!([1, 2])).await;
    assert_eq!(out.output, json!([1, 2]));
    let out = run(
        machine(json!([3, "{% $states.input.x %}"])),
        json!({"x": 4}),
    )
    .await;
    assert_eq!(out.output, json!([3, 4]));
    let out = run(machine(json!("{% $states.input.x %}")), json!({"x": 4})).await;
    assert_eq!(out.error.as_deref(), Some("States.QueryEvaluationError"));
}

#[tokio::test(start_paused = true)]
async fn assign_sets_variables_that_later_states_read() {
    let definition = jsonata(
        json!({
            "Start": {"Type": "Pass", "Assign": {"customer": "{% $states.input.customer %}", "count": 1}, "Next": "Call"},
            "Call": {
                "Type": "Task", "Resource": lambda("echo"),
                "Arguments": {"who": "{% $customer %}"},
                "Assign": {"greeted": "{% $states.result.who %}", "count": "{% $count + 1 %}"},
                "Output": {"count_seen_by_output": "{% $count %}"},
                "Next": "End"
            },
            "End": {"Type": "Pass", "Output": {"greeted": "{% $greeted %}", "count": "{% $count %}", "before": "{% $states.input %}"}, "End": true}
        }),
        "Start",
    );
    let out = run(definition, json!({"customer": "Ana"})).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    // Output saw the variables as they were when Call was entered; End sees the new ones.
    assert_eq!(
        out.output,
        json!({"greeted": "Ana", "count": 2, "before": {"count_seen_by_output": 1}})
    );
    // The exited event records what was assigned, each value as JSON text.
    let exited = out
        .events
        .iter()
        .find(|e| e.kind == "TaskStateExited")
        .unwrap()
        .details()
        .unwrap();
    assert_eq!(
        exited["assignedVariables"],
        json!({"greeted": "\"Ana\"", "count": "2"})
    );
    assert_eq!(
        exited["assignedVariablesDetails"],
        json!({"truncated": false})
    );
}

#[tokio::test(start_paused = true)]
async fn one_assign_reads_the_values_from_before_the_state() {
    let definition = jsonata(
        json!({
            "A": {"Type": "Pass", "Assign": {"a": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"a": 10, "b": "{% $a %}"}, "Next": "C"},
            "C": {"Type": "Pass", "Output": {"a": "{% $a %}", "b": "{% $b %}"}, "End": true}
        }),
        "A",
    );
    let out = run(definition, json!({})).await;
    assert_eq!(out.output, json!({"a": 10, "b": 1}));
}

#[tokio::test(start_paused = true)]
async fn branches_and_iterations_read_outer_variables_and_keep_their_own() {
    let definition = jsonata(
        json!({
            "Set": {"Type": "Pass", "Assign": {"base": 100, "mine": "outer"}, "Next": "Par"},
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "B1", "States": {
                        "B1": {"Type": "Pass", "Assign": {"mine": "branch one"}, "Next": "B2"},
                        "B2": {"Type": "Pass", "Output": {"base": "{% $base %}", "mine": "{% $mine %}"}, "End": true}
                    }},
                    {"StartAt": "C1", "States": {
                        "C1": {"Type": "Pass", "Output": "{% $mine %}", "End": true}
                    }}
                ],
                "Next": "Map"
            },
            "Map": {
                "Type": "Map",
                "Items": [1, 2, 3],
                "ItemProcessor": {"StartAt": "I1", "States": {
                    "I1": {"Type": "Pass", "Assign": {"mine": "{% $states.input %}"}, "Next": "I2"},
                    "I2": {"Type": "Pass", "Output": "{% $base + $mine %}", "End": true}
                }},
                "Assign": {"sums": "{% $states.result %}"},
                "Next": "After"
            },
            "After": {"Type": "Pass", "Output": {"mine": "{% $mine %}", "sums": "{% $sums %}", "branches": "{% $states.input %}"}, "End": true}
        }),
        "Set",
    );
    let out = run(definition, json!({})).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(out.output["sums"], json!([101, 102, 103]));
    // What the branches and iterations assigned stayed inside them.
    assert_eq!(out.output["mine"], json!("outer"));
}

#[tokio::test(start_paused = true)]
async fn catch_assign_sees_the_error_and_limits_apply() {
    let definition = jsonata(
        json!({
            "T": {"Type": "Task", "Resource": lambda("fail"), "End": true, "Catch": [
                {"ErrorEquals": ["States.ALL"], "Next": "After", "Assign": {"failure": "{% $states.errorOutput.Error %}"}}
            ]},
            "After": {"Type": "Pass", "Output": "{% $failure %}", "End": true}
        }),
        "T",
    );
    let out = run(definition, json!({})).await;
    assert_eq!(out.output, json!("CustomError"));

    let definition = jsonata(
        json!({"Big": {"Type": "Pass", "Assign": {"x": "{% $pad('', 300000, 'x') %}"}, "End": true}}),
        "Big",
    );
    let out = run(definition, json!({})).await;
    assert_eq!(out.error.as_deref(), Some("States.DataLimitExceeded"));
}

fn refused(definition: Value) -> Vec<(String, String)> {
    match StateMachine::from_value(&definition) {
        Ok(_) => panic!("accepted: {definition}"),
        Err(errors) => errors
            .0
            .into_iter()
            .map(|e| (e.location, e.message))
            .collect(),
    }
}

#[test]
fn jsonpath_fields_and_bad_expressions_are_refused_in_jsonata_states() {
    for field in [
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
    ] {
        let mut state = json!({"Type": "Task", "Resource": lambda("echo"), "End": true});
        state[field] = json!("$.x");
        let found = refused(jsonata(json!({"T": state}), "T"));
        assert!(
            found.iter().any(
                |(at, why)| at == &format!("/States/T/{field}") && why.contains("uses JSONata")
            ),
            "{field}: {found:?}"
        );
    }
    let cases = [
        // A state's expressions have no context: `$` and bare field names are refused.
        (
            json!({"Type": "Pass", "Output": {"a": "{% $.x %}"}, "End": true}),
            "/States/S/Output",
        ),
        (
            json!({"Type": "Choice", "Choices": [{"Condition": "{% amount > 1 %}", "Next": "S"}]}),
            "/States/S/Choices/0/Condition",
        ),
        (
            json!({"Type": "Pass", "Output": {"a": ["{% 1 + %}"]}, "End": true}),
            "/States/S/Output",
        ),
        (
            json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}),
            "/States/S/SecondsPath",
        ),
        (
            json!({"Type": "Fail", "ErrorPath": "$.e"}),
            "/States/S/ErrorPath",
        ),
        (
            json!({"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "S"}]}),
            "/States/S/Choices/0/Variable",
        ),
        (
            json!({"Type": "Choice", "Choices": [{"Condition": "$states.input.x", "Next": "S"}]}),
            "/States/S/Choices/0/Condition",
        ),
        (
            json!({"Type": "Task", "Resource": lambda("echo"), "TimeoutSeconds": "ten", "End": true}),
            "/States/S/TimeoutSeconds",
        ),
        (
            json!({"Type": "Task", "Resource": lambda("echo"), "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S", "ResultPath": "$.e"}]}),
            "/States/S/Catch/0/ResultPath",
        ),
        (
            json!({"Type": "Pass", "Assign": {"states": 1}, "End": true}),
            "/States/S/Assign/states",
        ),
        (
            json!({"Type": "Pass", "Assign": {"1st": 1}, "End": true}),
            "/States/S/Assign/1st",
        ),
        (
            json!({"Type": "Pass", "Assign": {"x.$": "$.a"}, "End": true}),
            "/States/S/Assign/x.$",
        ),
        (
            json!({"Type": "Map", "ItemsPath": "$.x", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}, "End": true}),
            "/States/S/ItemsPath",
        ),
        (
            json!({"Type": "Map", "MaxConcurrency": "two", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}, "End": true}),
            "/States/S/MaxConcurrency",
        ),
    ];
    for (state, location) in cases {
        let found = refused(jsonata(json!({"S": state}), "S"));
        assert!(
            found.iter().any(|(at, _)| at == location),
            "{location}: {found:?}"
        );
    }
    // A JSONata machine cannot hold JSONPath states; the other way round is fine.
    let found = refused(jsonata(
        json!({"S": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}),
        "S",
    ));
    assert_eq!(found[0].0, "/States/S/QueryLanguage");
    let found = refused(
        json!({"QueryLanguage": "XPath", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
    );
    assert_eq!(found[0].0, "/QueryLanguage");
    assert!(
        StateMachine::from_value(&json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": true}}})).is_ok()
    );
}
