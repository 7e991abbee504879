//! Checks across the states of one scope: transitions, reachability, a way to end.
//!
//! They read the scope's JSON, not the parsed states, so a state with a schema error still
//! counts: its name exists, and its `Next`, `Default`, `Choices[].Next` and `Catch[].Next`
//! strings still lead somewhere. Every problem of a definition is then reported at once,
//! as AWS does, without a broken state making others look unreachable.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::ValidationError;

/// Validates the transitions of one scope (the machine, a branch or a processor). `at` is
/// the pointer of the object holding `StartAt` and `States`. A scope without a `States`
/// object has nothing to check here (its schema error is reported by the parser).
pub(super) fn scope(object: &Map<String, Value>, at: &str, errors: &mut Vec<ValidationError>) {
    let Some(Value::Object(states)) = object.get("States") else {
        return;
    };
    let start_at = object.get("StartAt").and_then(Value::as_str);
    let state_at = |name: &str, field: &str| {
        format!(
            "{at}/States/{}{field}",
            name.replace('~', "~0").replace('/', "~1")
        )
    };
    let missing = |location: String, target: &str, errors: &mut Vec<ValidationError>| {
        if !states.contains_key(target) {
            errors.push(ValidationError::new(
                "MISSING_TRANSITION_TARGET",
                &location,
                format!("Missing 'Next' target: {target}"),
            ));
        }
    };
    if let Some(start_at) = start_at {
        missing(format!("{at}/StartAt"), start_at, errors);
    }

    let mut ends = false;
    for (name, state) in states {
        for (field, target) in transitions(state) {
            missing(state_at(name, &field), target, errors);
        }
        ends |= state.get("End") == Some(&Value::Bool(true))
            || matches!(
                state.get("Type").and_then(Value::as_str),
                Some("Succeed" | "Fail")
            );
    }
    if !ends && !states.is_empty() {
        errors.push(ValidationError::new(
            "NO_TERMINAL_STATE",
            &format!("{at}/States"),
            "no state ends the workflow (End, Succeed or Fail)",
        ));
    }

    // Reachability from StartAt over every transition; without a StartAt every state would
    // look unreachable, and its absence is already the error.
    let Some(start_at) = start_at else {
        return;
    };
    let mut seen = BTreeSet::new();
    let mut queue = vec![start_at];
    while let Some(name) = queue.pop() {
        let Some(state) = states.get(name) else {
            continue;
        };
        if seen.insert(name) {
            queue.extend(transitions(state).into_iter().map(|(_, target)| target));
        }
    }
    for name in states.keys() {
        if !seen.contains(name.as_str()) {
            errors.push(ValidationError::new(
                "UNREACHABLE_STATE",
                &state_at(name, ""),
                format!("State '{name}' is not reachable"),
            ));
        }
    }
}

/// Every state a state may go to, with the pointer (below the state) of the field. Only
/// string targets count: a target of another type is a schema error of its own.
fn transitions(state: &Value) -> Vec<(String, &str)> {
    fn target(value: &Value) -> Option<&str> {
        value.get("Next").and_then(Value::as_str)
    }
    let list = |field: &str| -> Vec<&Value> {
        state
            .get(field)
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    if let Some(next) = target(state) {
        out.push(("/Next".to_string(), next));
    }
    // Choice rules and Default lead somewhere only in a Choice state; elsewhere they are
    // fields the parser refuses.
    if state.get("Type").and_then(Value::as_str) == Some("Choice") {
        for (i, rule) in list("Choices").into_iter().enumerate() {
            out.extend(target(rule).map(|next| (format!("/Choices/{i}/Next"), next)));
        }
        if let Some(default) = state.get("Default").and_then(Value::as_str) {
            out.push(("/Default".to_string(), default));
        }
    }
    for (i, catcher) in list("Catch").into_iter().enumerate() {
        out.extend(target(catcher).map(|next| (format!("/Catch/{i}/Next"), next)));
    }
    out
}
