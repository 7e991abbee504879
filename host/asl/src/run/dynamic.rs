//! Values a state reads when it runs: Wait's delay, Task timeouts, Map counts and
//! percentages, from a fixed number, a path or a JSONata expression, with AWS's causes
//! when they are not what the field needs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::definition::{Count, Percentage, Seconds, WaitFor};
use crate::error::{StatesError, names};
use crate::jsonata::{Expression, bindings};
use crate::timestamp;
use crate::variables::Env;

use super::Runner;

impl Runner<'_> {
    pub(super) fn wait_for(
        &self,
        wait: &WaitFor,
        input: &Value,
        env: Env<'_>,
    ) -> Result<Duration, StatesError> {
        let now = self.exec.engine.clock.now();
        let until = |at: time::OffsetDateTime| {
            let left = (at - now).whole_milliseconds().max(0);
            let left = u64::try_from(left).unwrap_or(u64::MAX);
            delay(Duration::from_millis(left))
        };
        match wait {
            WaitFor::Seconds(seconds) => delay(Duration::from_secs(*seconds)),
            WaitFor::Timestamp(at) => until(*at),
            WaitFor::SecondsPath(path) => {
                let value = path.find(input, env).ok_or_else(|| {
                    StatesError::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        path.text()
                    ))
                })?;
                match (value.as_i64(), value.as_u64()) {
                    (_, Some(seconds)) => delay(Duration::from_secs(seconds)),
                    (Some(_), None) => Err(StatesError::runtime(format!(
                        "The SecondsPath parameter references a negative value: {} == {value}",
                        path.text()
                    ))),
                    _ => Err(StatesError::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        path.text(),
                        plain(&value)
                    ))),
                }
            }
            WaitFor::SecondsExpression(expression) => {
                let value = evaluate(expression, "Seconds", input, env)?;
                delay(Duration::from_secs(value.as_u64().ok_or_else(|| {
                    wrong_value(expression, "Seconds", "a non-negative integer", &value)
                })?))
            }
            WaitFor::TimestampExpression(expression) => {
                let value = evaluate(expression, "Timestamp", input, env)?;
                let at = value.as_str().and_then(timestamp::parse).ok_or_else(|| {
                    StatesError::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                            plain(&value)
                        ),
                    )
                    .at("Timestamp")
                })?;
                until(at)
            }
            WaitFor::TimestampPath(path) => {
                let value = path.find(input, env).ok_or_else(|| {
                    StatesError::runtime(format!(
                        "The TimestampPath parameter does not reference an input value: {}",
                        path.text()
                    ))
                })?;
                let at = value.as_str().and_then(timestamp::parse).ok_or_else(|| {
                    StatesError::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        path.text(),
                        plain(&value)
                    ))
                })?;
                until(at)
            }
        }
    }
}

/// AWS keeps its wait time in 32-bit seconds: a longer delay fails the state
/// (test_timestamp_too_far_in_future_boundary: 24855 days waits, 24856 days fails).
pub(super) fn delay(duration: Duration) -> Result<Duration, StatesError> {
    if duration.as_secs() > i32::MAX as u64 {
        return Err(StatesError::runtime("Wait state delay is too long."));
    }
    Ok(duration)
}

/// A value as AWS quotes it in a cause after `==`: strings without quotes.
pub(super) fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A JSON value's type as JSONata's `$type` names it.
pub(super) fn jsonata_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSONata state's single-expression field (`Seconds`, `Error`, ...) evaluated with
/// `$states.input` and `$states.context`.
pub(super) fn evaluate(
    expression: &Expression,
    field: &str,
    input: &Value,
    env: Env<'_>,
) -> Result<Value, StatesError> {
    let states = json!({ "input": input, "context": env.context });
    Ok(expression.evaluate_field(field, &bindings(&states, env.variables))?)
}

/// A JSONata field whose expression gave a value of the wrong kind.
pub(super) fn wrong_value(
    expression: &Expression,
    field: &str,
    expected: &str,
    value: &Value,
) -> StatesError {
    StatesError::new(
        names::QUERY_EVALUATION_ERROR,
        format!(
            "The JSONata expression '{}' specified for the field '{field}' must give {expected}, got {value}.",
            expression.text()
        ),
    )
}

pub(super) fn seconds(
    spec: Option<&Seconds>,
    raw: &Value,
    env: Env<'_>,
    field: &str,
) -> Result<Option<u64>, StatesError> {
    match spec {
        None => Ok(None),
        Some(Seconds::Fixed(seconds)) => Ok(Some(*seconds)),
        Some(Seconds::Path(path)) => {
            let value = path.select(raw, env)?;
            match value.as_u64() {
                Some(seconds) if seconds > 0 => Ok(Some(seconds)),
                _ => Err(StatesError::runtime(format!(
                    "The {field}Path '{}' must select a positive integer, got {value}",
                    path.text()
                ))),
            }
        }
        Some(Seconds::Expression(expression)) => {
            let value = evaluate(expression, field, raw, env)?;
            match value.as_u64() {
                Some(seconds) if seconds > 0 => Ok(Some(seconds)),
                _ => Err(wrong_value(expression, field, "a positive integer", &value)),
            }
        }
    }
}

pub(super) fn count(
    spec: &Count,
    input: &Value,
    env: Env<'_>,
    field: &str,
) -> Result<u64, StatesError> {
    match spec {
        Count::Fixed(n) => Ok(*n),
        Count::Path(path) => {
            let value = path.select(input, env)?;
            // AWS reads the value as Java parses an int: the string "1" counts as 1
            // (MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH).
            let number = match &value {
                Value::String(text) => text.trim().parse::<i64>().ok(),
                other => other.as_i64(),
            };
            let name = field.trim_end_matches("Path");
            match number {
                Some(n) if n < 0 => {
                    Err(StatesError::runtime(format!("{name} cannot be negative.")))
                }
                Some(n) => Ok(n as u64),
                None => Err(StatesError::runtime(format!(
                    "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                    plain(&value),
                    path.text()
                ))),
            }
        }
        Count::Expression(expression) => {
            let field = field.trim_end_matches("Path");
            let value = evaluate(expression, field, input, env)?;
            value
                .as_u64()
                .ok_or_else(|| wrong_value(expression, field, "a non-negative integer", &value))
        }
    }
}

pub(super) fn percentage(
    spec: &Percentage,
    input: &Value,
    env: Env<'_>,
) -> Result<f64, StatesError> {
    let in_range = |p: f64| {
        if (0.0..=100.0).contains(&p) {
            Ok(p)
        } else {
            Err(StatesError::runtime(
                "ToleratedFailurePercentage must be between 0 and 100.",
            ))
        }
    };
    match spec {
        Percentage::Fixed(p) => Ok(*p),
        Percentage::Path(path) => {
            let value = path.select(input, env)?;
            let number = match &value {
                Value::String(text) => text.trim().parse::<f64>().ok(),
                other => other.as_f64(),
            };
            match number {
                Some(p) => in_range(p),
                None => Err(StatesError::runtime(format!(
                    "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                    plain(&value),
                    path.text()
                ))),
            }
        }
        Percentage::Expression(expression) => {
            let field = "ToleratedFailurePercentage";
            let value = evaluate(expression, field, input, env)?;
            value
                .as_f64()
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| wrong_value(expression, field, "a number from 0 to 100", &value))
        }
    }
}
