//! Checks across the states of one scope: transitions, reachability, a way to end.

use std::collections::BTreeSet;

use super::{Kind, States, Transition, ValidationError};

/// Validates the transitions of one scope (the machine, a branch or a processor). `at` is
/// the pointer of the object holding `StartAt` and `States`.
pub(super) fn scope(states: &States, at: &str, errors: &mut Vec<ValidationError>) {
    let state_at = |name: &str, field: &str| {
        format!(
            "{at}/States/{}{field}",
            name.replace('~', "~0").replace('/', "~1")
        )
    };
    let missing = |location: String, target: &str, errors: &mut Vec<ValidationError>| {
        if !states.states.contains_key(target) {
            errors.push(ValidationError::new(
                "MISSING_TRANSITION_TARGET",
                &location,
                format!("Missing 'Next' target: {target}"),
            ));
        }
    };
    missing(format!("{at}/StartAt"), &states.start_at, errors);

    let mut ends = false;
    for (name, state) in &states.states {
        for (field, target) in transitions(state) {
            missing(state_at(name, &field), target, errors);
        }
        ends |= matches!(state.transition, Transition::End)
            || matches!(state.kind, Kind::Succeed | Kind::Fail { .. });
    }
    if !ends {
        errors.push(ValidationError::new(
            "NO_TERMINAL_STATE",
            &format!("{at}/States"),
            "no state ends the workflow (End, Succeed or Fail)",
        ));
    }

    // Reachability from StartAt over every transition.
    let mut seen = BTreeSet::new();
    let mut queue = vec![states.start_at.as_str()];
    while let Some(name) = queue.pop() {
        let Some(state) = states.states.get(name) else {
            continue;
        };
        if seen.insert(name) {
            queue.extend(transitions(state).into_iter().map(|(_, target)| target));
        }
    }
    for name in states.states.keys() {
        if !seen.contains(name.as_str()) {
            errors.push(ValidationError::new(
                "UNREACHABLE_STATE",
                &state_at(name, ""),
                format!("State '{name}' is not reachable"),
            ));
        }
    }
}

/// Every state a state may go to, with the pointer (below the state) of the field.
fn transitions(state: &super::State) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Transition::Next(next) = &state.transition {
        out.push(("/Next".to_string(), next.as_str()));
    }
    if let Kind::Choice { rules, default } = &state.kind {
        for (i, rule) in rules.iter().enumerate() {
            out.push((format!("/Choices/{i}/Next"), rule.next.as_str()));
        }
        out.extend(default.iter().map(|d| ("/Default".to_string(), d.as_str())));
    }
    for (i, catcher) in state.catch.iter().enumerate() {
        out.push((format!("/Catch/{i}/Next"), catcher.next.as_str()));
    }
    out
}
