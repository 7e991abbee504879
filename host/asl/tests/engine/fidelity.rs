//! Histories and causes as AWS records them. Each expected value below is a fact read
//! from an execution recorded on AWS itself: the AWS-validated snapshots of LocalStack's
//! Step Functions tests (`tests/aws/services/stepfunctions/v2/**/*.snapshot.json`), named
//! by test. The definitions are this project's own, written to exercise the same rule.

use std::sync::Arc;

use cafe_report_asl::Status;
use serde_json::{Value, json};

use crate::common::{Functions, Outcome, run, run_on, single, test_engine};

const ROLE: &str = "arn:aws:iam::111111111111:role/report-runner";

/// Runs `definition` on an engine created with a role, as CreateStateMachine's `roleArn`.
async fn run_with_role(definition: Value, input: Value) -> Outcome {
    let engine = test_engine(Arc::new(Functions::new())).with_role_arn(ROLE);
    run_on(engine, definition, input).await
}

/// The history as JSON, every timestamp replaced by "timestamp" (as LocalStack's
/// snapshots normalise them).
fn whole(out: &Outcome) -> Value {
    let mut events = serde_json::to_value(&out.events).unwrap();
    for event in events.as_array_mut().unwrap() {
        event["timestamp"] = json!("timestamp");
    }
    events
}

/// (id, previousEventId, type) of every event.
fn chain(out: &Outcome) -> Vec<(u64, u64, &str)> {
    out.events
        .iter()
        .map(|e| (e.id, e.previous_event_id, e.kind.as_str()))
        .collect()
}

fn cause_of(out: &Outcome) -> &str {
    out.cause.as_deref().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_pass_history_is_aws_s_field_for_field() {
    // test_assign_base.py::test_base_cases[BASE_EMPTY]: ExecutionStarted has input,
    // inputDetails and roleArn only; the first state follows event 0; an empty Assign
    // records no assignedVariables.
    let definition = single(json!({"Type": "Pass", "Assign": {}, "End": true}));
    let out = run_with_role(definition, json!({"greeting": "hi"})).await;
    assert_eq!(
        whole(&out),
        json!([
            {"timestamp": "timestamp", "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
             "executionStartedEventDetails": {"input": "{\"greeting\":\"hi\"}", "inputDetails": {"truncated": false}, "roleArn": ROLE}},
            {"timestamp": "timestamp", "type": "PassStateEntered", "id": 2, "previousEventId": 0,
             "stateEnteredEventDetails": {"name": "Only", "input": "{\"greeting\":\"hi\"}", "inputDetails": {"truncated": false}}},
            {"timestamp": "timestamp", "type": "PassStateExited", "id": 3, "previousEventId": 2,
             "stateExitedEventDetails": {"name": "Only", "output": "{\"greeting\":\"hi\"}", "outputDetails": {"truncated": false}}},
            {"timestamp": "timestamp", "type": "ExecutionSucceeded", "id": 4, "previousEventId": 3,
             "executionSucceededEventDetails": {"output": "{\"greeting\":\"hi\"}", "outputDetails": {"truncated": false}}},
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn the_context_object_has_aws_s_fields_in_aws_s_order() {
    // test_context_object.py::test_output_path[$$] and test_assign_base BASE_EXPR: a Pass
    // state's $$.State is {Name, EnteredTime}; Execution lists Id, Input, StartTime, Name,
    // RoleArn, RedriveCount; RoleArn is the state machine's role.
    let definition = single(json!({"Type": "Pass", "OutputPath": "$$", "End": true}));
    let out = run_with_role(definition, json!({"input-value": 0})).await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&out.output["Execution"]),
        [
            "Id",
            "Input",
            "StartTime",
            "Name",
            "RoleArn",
            "RedriveCount"
        ]
    );
    assert_eq!(out.output["Execution"]["RoleArn"], json!(ROLE));
    assert_eq!(keys(&out.output["State"]), ["Name", "EnteredTime"]);
    assert_eq!(
        out.output["StateMachine"]["Id"],
        json!("arn:aws:states:us-east-1:000000000000:stateMachine:test-machine")
    );
}

#[tokio::test(start_paused = true)]
async fn map_iterations_chain_as_aws_chains_them() {
    // test_assign_base.py::test_base_cases[BASE_SCOPE_MAP]: with MaxConcurrency 1, the next
    // iteration follows the previous one's last state event, not its
    // MapIterationSucceeded; MapStateSucceeded follows the last MapIterationSucceeded and
    // MapStateExited follows the same event.
    let definition = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}}}}});
    let out = run(definition, json!([1, 2])).await;
    assert_eq!(
        chain(&out),
        [
            (1, 0, "ExecutionStarted"),
            (2, 0, "MapStateEntered"),
            (3, 2, "MapStateStarted"),
            (4, 3, "MapIterationStarted"),
            (5, 4, "PassStateEntered"),
            (6, 5, "PassStateExited"),
            (7, 6, "MapIterationSucceeded"),
            (8, 6, "MapIterationStarted"),
            (9, 8, "PassStateEntered"),
            (10, 9, "PassStateExited"),
            (11, 10, "MapIterationSucceeded"),
            (12, 11, "MapStateSucceeded"),
            (13, 11, "MapStateExited"),
            (14, 13, "ExecutionSucceeded"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_map_records_no_failure_until_it_gives_up() {
    // test_base_scenarios.py::test_map_state_retry: each retry starts again after the
    // failed iteration's last event, with no MapStateFailed; the last attempt's
    // MapStateFailed follows that iteration's last state event.
    let definition = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "End": true,
        "Retry": [{"ErrorEquals": ["Broken"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        "ItemProcessor": {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Broken"}}}}}});
    let out = run(definition, json!([1])).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(
        chain(&out),
        [
            (1, 0, "ExecutionStarted"),
            (2, 0, "MapStateEntered"),
            (3, 2, "MapStateStarted"),
            (4, 3, "MapIterationStarted"),
            (5, 4, "FailStateEntered"),
            (6, 5, "MapIterationFailed"),
            (7, 5, "MapStateStarted"),
            (8, 7, "MapIterationStarted"),
            (9, 8, "FailStateEntered"),
            (10, 9, "MapIterationFailed"),
            (11, 9, "MapStateFailed"),
            (12, 11, "ExecutionFailed"),
        ]
    );
    // A Fail state without a Cause leaves it out (test_base.py::test_state_fail_empty).
    assert_eq!(out.events[11].details(), Some(&json!({"error": "Broken"})));
}

#[tokio::test(start_paused = true)]
async fn parallel_end_events_follow_the_last_branch_event() {
    // test_base_scenarios.py::test_parallel_state_retry and test_assign_base
    // BASE_SCOPE_PARALLEL: ParallelStateFailed only once retries are spent;
    // ParallelStateSucceeded and ParallelStateExited both follow the last branch event.
    let retried = json!({"StartAt": "Both", "States": {"Both": {
        "Type": "Parallel", "End": true,
        "Retry": [{"ErrorEquals": ["Broken"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        "Branches": [{"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Broken"}}}]}}});
    let out = run(retried, json!({})).await;
    assert_eq!(
        chain(&out),
        [
            (1, 0, "ExecutionStarted"),
            (2, 0, "ParallelStateEntered"),
            (3, 2, "ParallelStateStarted"),
            (4, 3, "FailStateEntered"),
            (5, 4, "ParallelStateStarted"),
            (6, 5, "FailStateEntered"),
            (7, 6, "ParallelStateFailed"),
            (8, 7, "ExecutionFailed"),
        ]
    );
    let ok = json!({"StartAt": "Both", "States": {"Both": {
        "Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}});
    let out = run(ok, json!({})).await;
    assert_eq!(
        chain(&out)[3..],
        [
            (4, 3, "PassStateEntered"),
            (5, 4, "PassStateExited"),
            (6, 5, "ParallelStateSucceeded"),
            (7, 5, "ParallelStateExited"),
            (8, 7, "ExecutionSucceeded"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_jsonata_expression_records_evaluation_failed() {
    // test_assign_base.py::test_undefined_reference[BASE_UNDEFINED_OUTPUT_FIELD]: the event
    // follows the event before the state's entry and names the field and the state.
    let definition = single(json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Output": {"result": "{% $doesNotExist %}"}, "End": true}));
    let out = run(definition, json!({})).await;
    let cause = "An error occurred while executing the state 'Only' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).";
    assert_eq!(
        chain(&out),
        [
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 0, "EvaluationFailed"),
            (4, 3, "ExecutionFailed"),
        ]
    );
    assert_eq!(
        out.events[2].details(),
        Some(
            &json!({"error": "States.QueryEvaluationError", "cause": cause, "state": "Only", "location": "Output/result"})
        )
    );
    assert_eq!(cause_of(&out), cause);
}

#[tokio::test(start_paused = true)]
async fn map_items_that_are_not_an_array_fail_in_aws_s_words() {
    // test_base_scenarios.py::test_map_state_items_eval_jsonata_fail[number]: EvaluationFailed
    // then MapStateFailed; test_map_state_items_input_types[string] for a missing Items.
    let processor = json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}});
    let definition = single(
        json!({"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% 1 %}",
        "ItemProcessor": processor, "End": true}),
    );
    let out = run(definition, json!({})).await;
    assert_eq!(
        cause_of(&out),
        "An error occurred while executing the state 'Only' (entered at the event id #2). The JSONata expression '1' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1"
    );
    assert_eq!(
        out.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "EvaluationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    let definition = single(json!({"Type": "Map", "QueryLanguage": "JSONata",
        "ItemProcessor": processor, "End": true}));
    let out = run(definition, json!("string")).await;
    assert!(
        cause_of(&out).ends_with("Map state input must be an array but was: \"string\""),
        "{}",
        cause_of(&out)
    );
}

#[tokio::test(start_paused = true)]
async fn wait_paths_fail_in_aws_s_words() {
    // test_wait.py::test_base_wait_seconds_path[-1], [1.5], test_base (no value) and
    // test_wait_timestamp_path[NO_T]; test_timestamp_too_far_in_future_boundary[24856].
    let seconds =
        single(json!({"Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": true}));
    let cases = [
        (
            json!({"input": {"waitSeconds": -1}}),
            "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
        ),
        (
            json!({"input": {"waitSeconds": 1.5}}),
            "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == 1.5",
        ),
        (
            json!({}),
            "The SecondsPath parameter does not reference an input value: $.input.waitSeconds",
        ),
    ];
    for (input, expected) in cases {
        let out = run(seconds.clone(), input).await;
        assert_eq!(out.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            cause_of(&out),
            format!(
                "An error occurred while executing the state 'Only' (entered at the event id #2). {expected}"
            )
        );
        assert_eq!(
            out.types(),
            ["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]
        );
    }
    let until = single(json!({"Type": "Wait", "TimestampPath": "$.at", "End": true}));
    for at in [
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
    ] {
        let out = run(until.clone(), json!({ "at": at })).await;
        assert!(
            cause_of(&out).ends_with(&format!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.at == {at}")),
            "{at}: {}",
            cause_of(&out)
        );
    }
    let out = run(until, json!({"at": "2094-12-20T09:27:02.000Z"})).await;
    assert!(
        cause_of(&out).ends_with("Wait state delay is too long."),
        "{}",
        cause_of(&out)
    );
}

#[tokio::test(start_paused = true)]
async fn map_counts_from_paths_follow_aws() {
    // test_assign_reference_variables MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH: the
    // string "1" is a count; test_map_state_max_concurrency_path[NoNumber] and
    // test_map_state_tolerated_failure_count_path[-1] / _percentage_path[-1.1] otherwise.
    let processor = json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}});
    let map = |field: &str| {
        let mut state =
            json!({"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": true});
        state[field] = json!("$.n");
        single(state)
    };
    let out = run(
        map("MaxConcurrencyPath"),
        json!({"items": [1, 2], "n": "1"}),
    )
    .await;
    assert_eq!(out.output, json!([1, 2]));
    let cases = [
        (
            "MaxConcurrencyPath",
            json!("NoNumber"),
            "The MaxConcurrencyPath field refers to value \"NoNumber\" which is not a valid integer: $.n",
        ),
        (
            "ToleratedFailureCountPath",
            json!(-1),
            "ToleratedFailureCount cannot be negative.",
        ),
        (
            "ToleratedFailureCountPath",
            json!({}),
            "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: $.n",
        ),
        (
            "ToleratedFailurePercentagePath",
            json!(-1.1),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            "ToleratedFailurePercentagePath",
            json!("x"),
            "The ToleratedFailurePercentagePath field refers to value \"x\" which is not a valid float: $.n",
        ),
    ];
    for (field, n, expected) in cases {
        let out = run(map(field), json!({"items": [1], "n": n})).await;
        assert_eq!(out.error.as_deref(), Some("States.Runtime"), "{field}");
        assert!(
            cause_of(&out).ends_with(expected),
            "{field}: {}",
            cause_of(&out)
        );
    }
    // The tolerated counts are read once the Map has started.
    let out = run(
        map("ToleratedFailureCountPath"),
        json!({"items": [1], "n": -1}),
    )
    .await;
    assert_eq!(
        out.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "ExecutionFailed"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn missing_paths_fail_in_aws_s_words() {
    // test_base_scenarios.py::test_invalid_jsonpath[INVALID_JSONPATH_IN_ERRORPATH] and
    // [ST.INVALID_JSONPATH_IN_INPUTPATH]: ErrorPath names its field; InputPath and
    // OutputPath speak Jayway's words with the path's normal form.
    let fail = single(json!({"Type": "Fail", "ErrorPath": "$.ErrorX", "Cause": "c"}));
    let out = run(fail, json!({"int-literal": 0})).await;
    assert!(cause_of(&out).ends_with(
        "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{\"int-literal\":0}'"
    ), "{}", cause_of(&out));
    let pass = single(json!({"Type": "Pass", "InputPath": "$.NoSuchInputPath", "End": true}));
    let out = run(pass, json!({"int-literal": 0})).await;
    assert!(
        cause_of(&out).ends_with(
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        ),
        "{}",
        cause_of(&out)
    );
}

#[tokio::test(start_paused = true)]
async fn paths_read_as_aws_reads_them() {
    // test_base_scenarios.py::test_map_state_item_selector: `$.delivery-partner`;
    // test_context_object.py::test_variable: `$$.Execution.Input.input-value`;
    // test_escape_sequence_parsing[ESCAPE_SEQUENCES_JSONPATH]: a backslash before the other
    // quote is part of the name.
    let definition = single(json!({"Type": "Pass", "Parameters": {
        "partner.$": "$.delivery-partner",
        "from_context.$": "$$.Execution.Input.input-value",
        "escaped.$": "$['Test\\\"Name']",
        "codes.$": "$.items[?(@.dest-code == 9511)].prod"
    }, "End": true}));
    let input = json!({"delivery-partner": "UQS", "input-value": 0, "Test\\\"Name": "V",
        "items": [{"prod": "R31", "dest-code": 9511}, {"prod": "S39", "dest-code": 9833}]});
    let out = run(definition, input).await;
    assert_eq!(
        out.output,
        json!({"partner": "UQS", "from_context": 0, "escaped": "V", "codes": ["R31"]})
    );
}

#[tokio::test(start_paused = true)]
async fn intrinsics_take_arguments_as_aws_does() {
    // test_math_operations.py::test_math_add (1.49 + 1.5 = 3, -1.5 + 0 = -1),
    // test_string_operations.py::test_format_2 (objects as {Arg1=1, Arg2=[]}),
    // test_json_manipulation.py::test_string_to_json ("" gives null),
    // test_array_jsonata.py::test_array_range ($range(1, 1, 1) gives 1).
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {
            "sum.$": "States.MathAdd($.a, $.b)",
            "negative.$": "States.MathAdd($.c, 0)",
            "text.$": "States.Format('fst={}', $.o)",
            "parsed.$": "States.StringToJson($.empty)"
        }, "Next": "J"},
        "J": {"Type": "Pass", "QueryLanguage": "JSONata",
              "Output": "{% $merge([$states.input, {'range': $range(1, 1, 1)}]) %}", "End": true}}});
    let out = run(
        definition,
        json!({"a": 1.49, "b": 1.5, "c": -1.5, "o": {"Arg1": 1, "Arg2": []}, "empty": ""}),
    )
    .await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    assert_eq!(
        out.output,
        json!({"sum": 3, "negative": -1, "text": "fst={Arg1=1, Arg2=[]}", "parsed": null, "range": 1})
    );
}

#[tokio::test(start_paused = true)]
async fn a_distributed_map_shows_its_run_not_its_iterations() {
    // test_base_scenarios.py::test_map_state_config_distributed_parameters and
    // test_map_state_label: MapRunStarted (with the run's ARN, named by Label) and
    // MapRunSucceeded stand for the iterations; MapStateSucceeded and MapStateExited both
    // follow MapRunSucceeded.
    let definition = single(json!({"Type": "Map", "Label": "TestMap", "End": true,
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "constant": "c"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}}));
    let out = run(definition, json!(["Hello", "World"])).await;
    assert_eq!(
        out.output,
        json!([{"value": "Hello", "constant": "c"}, {"value": "World", "constant": "c"}])
    );
    assert_eq!(
        chain(&out),
        [
            (1, 0, "ExecutionStarted"),
            (2, 0, "MapStateEntered"),
            (3, 2, "MapStateStarted"),
            (4, 3, "MapRunStarted"),
            (5, 4, "MapRunSucceeded"),
            (6, 5, "MapStateSucceeded"),
            (7, 5, "MapStateExited"),
            (8, 7, "ExecutionSucceeded"),
        ]
    );
    let arn = out.events[3].details().unwrap()["mapRunArn"]
        .as_str()
        .unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:000000000000:mapRun:test-machine/TestMap:"),
        "{arn}"
    );
}
