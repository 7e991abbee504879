//! Workflow variables (`Assign`): what a scope can read, what one state assigns, and
//! AWS's limits on both. Paths and expressions read them through an [`Env`].

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{StatesError, names};
use crate::limits::MAX_PAYLOAD_BYTES;

/// AWS's limit on the variables of one execution together, serialized (10 MiB).
pub(crate) const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;

/// What a state's paths and expressions read besides their input: the context object,
/// the variables as they were when the state was entered, and the engine's randomness
/// (`States.UUID`, an unseeded `States.MathRandom`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub(crate) context: &'a Value,
    pub(crate) variables: &'a Variables,
    pub(crate) random: &'a dyn cafe_report_base::random::Random,
}

/// The variables visible in one scope. A Parallel branch or Map iteration starts with a
/// copy of the outer ones, so what it assigns stays inside it; values are shared, so the
/// copy costs a reference count per variable, not a copy of each value. The serialized
/// size of each value is kept, so the execution-wide limit costs nothing to check.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variables {
    values: HashMap<String, Stored>,
    total_bytes: usize,
}

#[derive(Debug, Clone)]
struct Stored {
    value: Arc<Value>,
    /// Serialized size.
    bytes: usize,
}

impl Variables {
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).map(|stored| &*stored.value)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values
            .iter()
            .map(|(name, stored)| (name.as_str(), &*stored.value))
    }

    /// Makes a state's assignment visible to the states after it.
    pub(crate) fn apply(&mut self, assignment: Assignment) {
        self.total_bytes = assignment.total_bytes;
        for Assigned { name, value, text } in assignment.entries {
            let stored = Stored {
                value: Arc::new(value),
                bytes: text.len(),
            };
            self.values.insert(name, stored);
        }
    }
}

/// The values one `Assign` gave, checked against AWS's limits and not yet applied: they
/// take effect when the state exits.
#[derive(Debug)]
pub(crate) struct Assignment {
    entries: Vec<Assigned>,
    /// The scope's total once applied.
    total_bytes: usize,
}

#[derive(Debug)]
struct Assigned {
    name: String,
    value: Value,
    /// The value as JSON: its size, and its form in the state's exited event.
    text: String,
}

impl Assignment {
    /// Checks `values` (an evaluated `Assign`) against the 256 KiB limit of one
    /// assignment and the 10 MiB limit of all the variables `visible` once it is applied.
    pub(crate) fn check(
        values: Map<String, Value>,
        visible: &Variables,
    ) -> Result<Self, StatesError> {
        let entries: Vec<Assigned> = values
            .into_iter()
            .map(|(name, value)| {
                let text = value.to_string();
                Assigned { name, value, text }
            })
            .collect();
        let bytes: usize = entries.iter().map(|entry| entry.text.len()).sum();
        if bytes > MAX_PAYLOAD_BYTES {
            return Err(StatesError::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The variables assigned by this state are {bytes} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit"
                ),
            ));
        }
        let replaced: usize = entries
            .iter()
            .filter_map(|entry| visible.values.get(&entry.name))
            .map(|stored| stored.bytes)
            .sum();
        let total_bytes = visible.total_bytes - replaced + bytes;
        if total_bytes > MAX_TOTAL_BYTES {
            return Err(StatesError::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The workflow variables would total {total_bytes} bytes after this state's Assign, over the {MAX_TOTAL_BYTES}-byte limit of an execution"
                ),
            ));
        }
        Ok(Self {
            entries,
            total_bytes,
        })
    }

    /// Whether the `Assign` set no variable (`"Assign": {}`).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `assignedVariables` of the exited event: each value as JSON text, as AWS records it.
    pub(crate) fn record(&self) -> Value {
        Value::Object(
            self.entries
                .iter()
                .map(|entry| (entry.name.clone(), Value::String(entry.text.clone())))
                .collect(),
        )
    }
}

/// A variable's name: a letter or `_`, then letters, digits or `_`, at most 80
/// characters; `states` is reserved (JSONata's `$states`).
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Err("it must start with a letter or '_' and hold only letters, digits and '_'");
    }
    if name.chars().count() > 80 {
        return Err("it is longer than 80 characters");
    }
    if name == "states" {
        return Err("'states' is reserved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(pairs: Value) -> Map<String, Value> {
        pairs.as_object().unwrap().clone()
    }

    #[test]
    fn applying_replaces_and_keeps_the_total() {
        let mut variables = Variables::default();
        let first = Assignment::check(values(json!({"a": "xx", "b": 1})), &variables).unwrap();
        variables.apply(first);
        assert_eq!(variables.total_bytes, 5);
        let second = Assignment::check(values(json!({"a": 12345})), &variables).unwrap();
        assert_eq!(second.record(), json!({"a": "12345"}));
        variables.apply(second);
        assert_eq!(variables.total_bytes, 6);
        assert_eq!(variables.get("a"), Some(&json!(12345)));
        assert_eq!(variables.get("b"), Some(&json!(1)));
    }

    #[test]
    fn limits_are_data_limit_exceeded() {
        let big = "x".repeat(MAX_PAYLOAD_BYTES);
        let err =
            Assignment::check(values(json!({ "a": big })), &Variables::default()).unwrap_err();
        assert_eq!(err.error, names::DATA_LIMIT_EXCEEDED);

        let chunk = "y".repeat(MAX_PAYLOAD_BYTES - 10);
        let mut variables = Variables::default();
        let mut n = 0;
        let err = loop {
            match Assignment::check(values(json!({ format!("v{n}"): chunk })), &variables) {
                Ok(assignment) => variables.apply(assignment),
                Err(err) => break err,
            }
            n += 1;
        };
        assert_eq!(err.error, names::DATA_LIMIT_EXCEEDED);
        assert!(err.cause.contains("limit of an execution"), "{}", err.cause);
        assert_eq!(n, MAX_TOTAL_BYTES / (chunk.len() + 2));
        // Replacing a variable frees its bytes.
        let again = Assignment::check(values(json!({ "v0": chunk })), &variables);
        assert!(again.is_ok());
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("_a1").is_ok());
        assert!(check_name("café").is_ok());
        assert!(check_name("1a").is_err());
        assert!(check_name("a-b").is_err());
        assert!(check_name("states").is_err());
        assert!(check_name(&"a".repeat(81)).is_err());
    }
}
