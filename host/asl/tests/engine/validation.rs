//! Definitions AWS's CreateStateMachine would refuse are refused here too, with every
//! problem named by the pointer of its field.

use cafe_report_asl::StateMachine;
use serde_json::{Value, json};

use crate::common::lambda;

/// The (code, location) pairs of every error in a definition.
fn problems(definition: Value) -> Vec<(String, String)> {
    match StateMachine::from_value(&definition) {
        Ok(_) => panic!("accepted: {definition}"),
        Err(errors) => errors
            .0
            .into_iter()
            .map(|e| (e.code.to_string(), e.location))
            .collect(),
    }
}

fn has(definition: Value, code: &str, location: &str) {
    let found = problems(definition.clone());
    assert!(
        found.iter().any(|(c, l)| c == code && l == location),
        "expected {code} at {location} for {definition}, got {found:?}"
    );
}

#[test]
fn transitions_must_name_states() {
    has(
        json!({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "End": true}}}),
        "MISSING_TRANSITION_TARGET",
        "/StartAt",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}),
        "MISSING_TRANSITION_TARGET",
        "/States/A/Next",
    );
    has(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "Z"}], "Default": "Y"},
            "Y": {"Type": "Succeed"}
        }}),
        "MISSING_TRANSITION_TARGET",
        "/States/A/Choices/0/Next",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("f"), "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]}}}),
        "MISSING_TRANSITION_TARGET",
        "/States/A/Catch/0/Next",
    );
}

#[test]
fn next_or_end_and_a_way_to_stop() {
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Next",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/End",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}),
        "NO_TERMINAL_STATE",
        "/States",
    );
}

#[test]
fn unreachable_states_are_named() {
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Lost": {"Type": "Succeed"}}}),
        "UNREACHABLE_STATE",
        "/States/Lost",
    );
}

#[test]
fn unreachable_states_are_named_beside_schema_errors() {
    // A state with a schema error neither hides an unreachable state nor makes the states
    // it leads to look unreachable or missing (issue 23).
    let top = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Colour": "blue", "Next": "B"},
        "B": {"Type": "Succeed"},
        "Lost": {"Type": "Succeed"}
    }});
    assert_eq!(
        problems(top),
        [
            ("SCHEMA_VALIDATION_FAILED".into(), "/States/A/Colour".into()),
            ("UNREACHABLE_STATE".into(), "/States/Lost".into()),
        ]
    );
    let branch = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
    "Branches": [{"StartAt": "X", "States": {
        "X": {"Type": "Wait", "Seconds": "soon", "Next": "Y"},
        "Y": {"Type": "Pass", "End": true},
        "Stray": {"Type": "Pass", "End": true}
    }}]}}});
    assert_eq!(
        problems(branch),
        [
            (
                "SCHEMA_VALIDATION_FAILED".into(),
                "/States/P/Branches/0/States/X/Seconds".into()
            ),
            (
                "UNREACHABLE_STATE".into(),
                "/States/P/Branches/0/States/Stray".into()
            ),
        ]
    );
}

#[test]
fn field_types_and_unknown_fields() {
    let bad = json!({"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": lambda("f"), "End": true,
        "TimeoutSeconds": "60",
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": -1, "BackoffRate": 0.5}],
        "ResultPath": 7,
        "Colour": "blue"
    }}});
    let found = problems(bad);
    for location in [
        "/States/A/TimeoutSeconds",
        "/States/A/Retry/0/MaxAttempts",
        "/States/A/Retry/0/BackoffRate",
        "/States/A/ResultPath",
        "/States/A/Colour",
    ] {
        assert!(
            found.iter().any(|(_, l)| l == location),
            "{location} not in {found:?}"
        );
    }
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Dance", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Type",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [], "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/End",
    );
}

#[test]
fn bad_paths_and_intrinsics() {
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.a[", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/InputPath",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/ResultPath",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"deep": {"x.$": "States.Format('{}', $.a"}}, "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Parameters/deep/x.$",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Parameters/x.$",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "nope", "IsNull": true, "Next": "A"}]}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Choices/0/Variable",
    );
}

#[test]
fn retry_and_catch_rules() {
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("f"), "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Retry/0/ErrorEquals",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("f"), "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Retry/0/ErrorEquals",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("f"), "End": true,
            "Retry": [{"ErrorEquals": []}]}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Retry/0/ErrorEquals",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Retry": [{"ErrorEquals": ["X"]}]}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Retry",
    );
}

#[test]
fn resources_and_timeouts() {
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "not-an-arn", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Resource",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${QueryFunctionArn}", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Resource",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload": {}}, "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Parameters",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("f"), "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/HeartbeatSeconds",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("f"), "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t", "End": true}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/TimeoutSecondsPath",
    );
}

#[test]
fn branches_and_processors_are_their_own_scopes() {
    // A branch cannot jump out to a state of the outer machine.
    has(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Done"}}}], "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }}),
        "MISSING_TRANSITION_TARGET",
        "/States/P/Branches/0/States/B/Next",
    );
    has(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "PARALLEL"}, "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}}),
        "SCHEMA_VALIDATION_FAILED",
        "/States/M/ItemProcessor/ProcessorConfig/Mode",
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let found = problems(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Missing"},
        "B": {"Type": "Wait", "End": true},
        "C": {"Type": "Fail", "Error": 3}
    }}));
    assert_eq!(
        found,
        [
            (
                "SCHEMA_VALIDATION_FAILED".to_string(),
                "/States/B".to_string()
            ),
            (
                "SCHEMA_VALIDATION_FAILED".to_string(),
                "/States/C/Error".to_string()
            ),
            // States with schema errors still exist and still lead somewhere, so the
            // transition problems come in the same answer (issue 23: they were held back).
            (
                "MISSING_TRANSITION_TARGET".to_string(),
                "/States/A/Next".to_string()
            ),
            ("UNREACHABLE_STATE".to_string(), "/States/B".to_string()),
            ("UNREACHABLE_STATE".to_string(), "/States/C".to_string()),
        ]
    );
    // With every state parsing, all transition problems come together too.
    let found = problems(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Missing"},
        "B": {"Type": "Pass", "Next": "Gone"}
    }}));
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "MISSING_TRANSITION_TARGET",
            "MISSING_TRANSITION_TARGET",
            "NO_TERMINAL_STATE",
            "UNREACHABLE_STATE"
        ]
    );
}

#[test]
fn invalid_json_is_refused() {
    let err = StateMachine::parse("{ not json").unwrap_err();
    assert_eq!(err.0[0].code, "INVALID_JSON_DESCRIPTION");
    assert!(err.to_string().contains("not valid JSON"));
}

#[test]
fn the_report_definition_is_valid() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine/report.asl.json"
    ))
    .unwrap();
    let text = text
        .replace("${QueryFunctionArn}", &lambda("query"))
        .replace("${RenderFunctionArn}", &lambda("render"))
        .replace("${PresignFunctionArn}", &lambda("presign"))
        .replace("${ReportBucket}", "cafe-reports")
        .replace(
            "${ReportTopicArn}",
            "arn:aws:sns:us-east-1:000000000000:cafe-report",
        );
    StateMachine::parse(&text).unwrap_or_else(|errors| panic!("{errors}"));
}

#[test]
fn start_execution_checks_name_and_input() {
    use std::sync::Arc;

    use cafe_report_asl::{Engine, StartError, StartExecution, TokioClock};

    let machine = Arc::new(
        StateMachine::from_value(&json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
            .unwrap(),
    );
    let engine = Engine::new(
        Arc::new(crate::common::Functions::new()),
        Arc::new(TokioClock::system()),
    );
    let start = |name: Option<&str>, input: String| {
        engine.start(
            machine.clone(),
            "m",
            StartExecution {
                name: name.map(str::to_string),
                input: Some(input),
            },
        )
    };
    assert!(matches!(
        start(None, "{".into()),
        Err(StartError::InvalidExecutionInput(_))
    ));
    let big = format!("\"{}\"", "x".repeat(cafe_report_asl::MAX_PAYLOAD_BYTES));
    assert!(matches!(
        start(None, big),
        Err(StartError::InvalidExecutionInput(_))
    ));
    assert!(matches!(
        start(Some("has space"), "{}".into()),
        Err(StartError::InvalidName(_))
    ));
    let execution = start(Some("ok-name"), "[1]".into()).unwrap();
    assert_eq!(
        execution.describe().status,
        cafe_report_asl::Status::Running
    );
    assert!(
        execution.history().is_empty(),
        "nothing runs until run() is awaited"
    );
}
