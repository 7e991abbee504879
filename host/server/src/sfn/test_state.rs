//! TestState: one state run on its own, answered as AWS answers it: its output, the
//! state it would go to, its error, a status (`SUCCEEDED`, `FAILED`, `CAUGHT_ERROR`,
//! `RETRIABLE`), and at `DEBUG` or `TRACE` the data after each step.
//!
//! The state runs as the first state of a machine made for it (named `TestState`), in
//! which every state it can go to is a `Pass` that ends: the entered one is its next
//! state. Its `Retry` is left out (TestState does not retry); a failure a retrier
//! matches is `RETRIABLE`, as AWS reports it. Tasks run as executions' tasks do
//! (components, notify, mocks aside). Nothing is recorded.

use std::sync::Arc;

use cafe_report_asl::{StartExecution, StateMachine, StatesError, Status};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::StepFunctions;
use super::protocol::SfnError;
use crate::workflow::Workflow;

/// The name the tested state runs under (`$$.State.Name`).
const TESTED: &str = "TestState";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TestStateInput {
    definition: String,
    role_arn: Option<String>,
    input: Option<String>,
    inspection_level: Option<String>,
}

pub(super) async fn test_state(
    api: &StepFunctions,
    request: TestStateInput,
) -> Result<Value, SfnError> {
    let level = request.inspection_level.as_deref().unwrap_or("INFO");
    if !matches!(level, "INFO" | "DEBUG" | "TRACE") {
        return Err(SfnError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
            ),
        ));
    }
    let state: Value = serde_json::from_str(&request.definition).map_err(|err| {
        SfnError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {err}'"),
        )
    })?;
    let Value::Object(mut state) = state else {
        return Err(SfnError::new(
            "InvalidDefinition",
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: a state is a JSON object at /'",
        ));
    };
    let retriers = state.remove("Retry").unwrap_or(Value::Null);
    let targets = targets(&state);
    let mut states = Map::new();
    for target in &targets {
        states.insert(target.clone(), json!({"Type": "Pass", "End": true}));
    }
    states.insert(TESTED.into(), Value::Object(state));
    let machine = json!({ "StartAt": TESTED, "States": states });
    let machine = StateMachine::from_value(&machine).map_err(|errors| {
        let listed: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        SfnError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", listed.join(", ")),
        )
    })?;
    let role = request.role_arn.unwrap_or_else(|| {
        format!(
            "arn:aws:iam::{}:role/cafe-report-local",
            api.config.workflow.account
        )
    });
    let workflow = Workflow::named(&api.config, api.runtime.clone(), machine, TESTED, &role)
        .with_task_tokens(api.tokens.clone());
    let execution = workflow
        .start(StartExecution {
            name: None,
            input: Some(request.input.unwrap_or_else(|| "{}".into())),
        })
        .map_err(|err| SfnError::new("InvalidExecutionInput", err.to_string()))?;
    execution.inspect();
    Arc::clone(&execution).run().await;

    let history: Vec<Value> = execution
        .history()
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    let described = execution.describe();
    // The state gone to: the first placeholder entered.
    let next = history.iter().find_map(|event| {
        let name = event["stateEnteredEventDetails"]["name"].as_str()?;
        targets.iter().any(|t| t == name).then(|| name.to_string())
    });
    let entered_output = |name: &str| {
        history.iter().find_map(|event| {
            let details = &event["stateEnteredEventDetails"];
            (details["name"] == name).then(|| details["input"].clone())
        })
    };
    let exited_output = history.iter().find_map(|event| {
        let details = &event["stateExitedEventDetails"];
        (details["name"] == TESTED).then(|| details["output"].clone())
    });
    // The tested state's error, caught or not: the last error recorded before the next
    // state (or the end).
    let error = history
        .iter()
        .take_while(|event| {
            let entered = event["stateEnteredEventDetails"]["name"].as_str();
            entered.is_none() || entered != next.as_deref()
        })
        .filter_map(|event| {
            let details = event
                .as_object()?
                .values()
                .find(|v| v.get("error").is_some())?;
            Some(StatesError::new(
                details["error"].as_str().unwrap_or_default(),
                details["cause"].as_str().unwrap_or_default(),
            ))
        })
        .last();
    let retriable = error.as_ref().is_some_and(|error| {
        retriers.as_array().into_iter().flatten().any(|retrier| {
            retrier["ErrorEquals"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|name| error.matches(name))
        })
    });

    let mut answer = Map::new();
    let status = match (&described.status, &error, retriable) {
        (_, Some(_), true) => "RETRIABLE",
        (Status::Succeeded, Some(_), false) => "CAUGHT_ERROR",
        (Status::Succeeded, None, _) => "SUCCEEDED",
        _ => "FAILED",
    };
    answer.insert("status".into(), json!(status));
    if let Some(error) = &error {
        if !error.error.is_empty() {
            answer.insert("error".into(), json!(error.error));
        }
        if !error.cause.is_empty() {
            answer.insert("cause".into(), json!(error.cause));
        }
    }
    match status {
        "SUCCEEDED" => {
            if let Some(output) = exited_output {
                answer.insert("output".into(), output);
            }
        }
        "CAUGHT_ERROR" => {
            if let Some(output) = next.as_deref().and_then(entered_output) {
                answer.insert("output".into(), output);
            }
        }
        _ => {}
    }
    if matches!(status, "SUCCEEDED" | "CAUGHT_ERROR")
        && let Some(next) = &next
    {
        answer.insert("nextState".into(), json!(next));
    }
    if level != "INFO" {
        // AWS gives each step as JSON text.
        let inspection: Map<String, Value> = execution
            .inspection()
            .unwrap_or_default()
            .into_iter()
            .map(|(step, value)| (step, json!(value.to_string())))
            .collect();
        answer.insert("inspectionData".into(), Value::Object(inspection));
    }
    Ok(Value::Object(answer))
}

/// Every state a state can go to: `Next`, `Default`, each choice's and catcher's `Next`.
fn targets(state: &Map<String, Value>) -> Vec<String> {
    let mut targets: Vec<String> = Vec::new();
    let mut add = |name: Option<&str>| {
        if let Some(name) = name
            && name != TESTED
            && !targets.iter().any(|t| t == name)
        {
            targets.push(name.to_string());
        }
    };
    add(state.get("Next").and_then(Value::as_str));
    add(state.get("Default").and_then(Value::as_str));
    for list in ["Choices", "Catch"] {
        for entry in state
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(entry.get("Next").and_then(Value::as_str));
        }
    }
    targets
}
