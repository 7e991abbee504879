//! A parsed, validated state machine. [`StateMachine::parse`] is the only way to build
//! one, so every definition the engine runs has passed the same checks as AWS's
//! CreateStateMachine.

mod choice;
mod parse;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::intrinsics::Call;
use crate::jsonata::{self, Expression};
use crate::path::{Path, ReferencePath};
use crate::template::Template;

pub(crate) use choice::Condition;

/// A state machine definition that parsed and validated.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub(crate) states: Arc<States>,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) comment: Option<String>,
    /// The JSON it was parsed from (what a viewer draws).
    pub(crate) source: Arc<Value>,
}

impl StateMachine {
    /// Parses and validates a definition (JSON text). Every problem found is reported,
    /// each with the JSON pointer of the field (which names the state).
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        let value: Value = serde_json::from_str(text).map_err(|err| {
            ValidationErrors(vec![ValidationError::new(
                "INVALID_JSON_DESCRIPTION",
                "",
                format!("the definition is not valid JSON: {err}"),
            )])
        })?;
        Self::from_value(&value)
    }

    /// Parses and validates a definition already read as JSON.
    pub fn from_value(value: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let machine = parse::machine(value, &mut errors);
        if let Value::Object(object) = value {
            validate::scope(object, "", &mut errors);
        }
        match machine {
            Some(machine) if errors.is_empty() => Ok(machine),
            _ => Err(ValidationErrors(errors)),
        }
    }

    /// The definition it was parsed from, as JSON.
    pub fn definition(&self) -> &Value {
        &self.source
    }

    /// The definition's `Comment`, if any.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The state names of the top level, in definition order.
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.order.iter().map(String::as_str)
    }
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// AWS's diagnostic code: `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, ...
    pub code: &'static str,
    /// JSON pointer of the field, e.g. `/States/Query/Retry/0/MaxAttempts`.
    pub location: String,
    /// What is wrong, for people.
    pub message: String,
}

impl ValidationError {
    pub(crate) fn new(code: &'static str, location: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            location: location.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.location.is_empty() {
            "/"
        } else {
            &self.location
        };
        write!(f, "{}: {} at {at}", self.code, self.message)
    }
}

/// Every problem found in a definition (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid state machine definition ({n} error{})",
            if n == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// A set of states with a start: the machine itself, a Parallel branch or a Map processor.
#[derive(Debug)]
pub(crate) struct States {
    pub(crate) start_at: String,
    pub(crate) states: BTreeMap<String, State>,
    /// Definition order, for listings.
    pub(crate) order: Vec<String>,
}

impl States {
    pub(crate) fn get(&self, name: &str) -> &State {
        // Validation guarantees every transition names a state of the same scope.
        &self.states[name]
    }
}

/// The query language a state's fields are written in (`QueryLanguage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    JsonPath,
    Jsonata,
}

/// One state, with the fields every kind shares.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) language: Language,
    /// JSONata: `Arguments`, the task's input (the state input when absent).
    pub(crate) arguments: Option<jsonata::Template>,
    /// JSONata: `Output`, the state's output (the result, or the input for states
    /// without one, when absent).
    pub(crate) output: Option<jsonata::Template>,
    /// `Assign`, the workflow variables the state sets.
    pub(crate) assign: Option<Assign>,
    /// `None` when the definition says `null` (the state sees `{}`).
    pub(crate) input_path: Option<Path>,
    /// `None` when the definition says `null` (the state outputs `{}`).
    pub(crate) output_path: Option<Path>,
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    /// `None` when the definition says `null` (the result is discarded).
    pub(crate) result_path: Option<ReferencePath>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
    pub(crate) transition: Transition,
}

/// Where a state goes when it is done.
#[derive(Debug, Clone)]
pub(crate) enum Transition {
    Next(String),
    End,
    /// Choice picks its own; Succeed and Fail end the scope.
    None,
}

impl Transition {
    /// The state that follows, when the state names one itself.
    pub(crate) fn next(&self) -> Option<&str> {
        match self {
            Transition::Next(next) => Some(next),
            Transition::End | Transition::None => None,
        }
    }
}

/// What a state does.
#[derive(Debug)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(Box<TaskSpec>),
    Choice {
        rules: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel {
        branches: Vec<Arc<States>>,
    },
    Map(Box<MapSpec>),
}

impl Kind {
    /// The prefix of the state's history events (`Task` in `TaskStateEntered`).
    pub(crate) fn event_prefix(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// An `Assign` field (of a state, a Catch entry or a Choice rule): variable names and the
/// values they get, in the language of the state.
#[derive(Debug, Clone)]
pub(crate) enum Assign {
    /// Keys ending in `.$` take a path (`$` is the state's result, or its input for
    /// Choice and Wait, or the error output in a Catch), `$$`, `$var` or an intrinsic.
    JsonPath(Template),
    /// Values are JSONata templates over `$states` and the variables.
    Jsonata(jsonata::Template),
}

/// A top-level Choice rule. When it matches, its `Assign` and `Output` replace the
/// state's own, which apply only when `Default` is taken.
#[derive(Debug)]
pub(crate) struct ChoiceRule {
    pub(crate) condition: Condition,
    pub(crate) next: String,
    pub(crate) assign: Option<Assign>,
    /// JSONata only.
    pub(crate) output: Option<jsonata::Template>,
}

/// A Task state's own fields.
#[derive(Debug)]
pub(crate) struct TaskSpec {
    pub(crate) resource: Resource,
    /// `.waitForTaskToken`: the task ends when SendTaskSuccess or SendTaskFailure names
    /// the token it handed out (`$$.Task.Token`), not when the call returns.
    pub(crate) wait_for_token: bool,
    pub(crate) timeout: Option<Seconds>,
    pub(crate) heartbeat: Option<Seconds>,
}

/// The task resources the local engine runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// A Lambda function ARN used directly as the resource: the state's input is the
    /// payload and the function's answer is the result.
    LambdaFunction(String),
    /// `arn:aws:states:::lambda:invoke`: `Parameters` hold `FunctionName` and `Payload`;
    /// the result is AWS's wrapped response (`Payload`, `StatusCode`, ...).
    LambdaInvoke,
    /// `arn:aws:states:::sns:publish`.
    SnsPublish,
    /// Any other integration (`arn:aws:states:::sqs:sendMessage`,
    /// `arn:aws:states:::aws-sdk:s3:getObject`, ...): valid, as AWS takes it, but not
    /// reachable from the local engine: it runs only when a mock test case answers it.
    Other {
        /// The events' `resourceType` (`sqs`, `aws-sdk:s3`).
        resource_type: String,
        /// The events' `resource` (`sendMessage`, `startExecution.sync`).
        resource: String,
        /// The whole ARN, for the error that names it.
        arn: String,
    },
}

impl TaskSpec {
    /// The resource as the definition names it (for errors).
    pub(crate) fn resource_arn(&self) -> &str {
        match &self.resource {
            Resource::LambdaFunction(arn) | Resource::Other { arn, .. } => arn,
            Resource::LambdaInvoke => "arn:aws:states:::lambda:invoke",
            Resource::SnsPublish => "arn:aws:states:::sns:publish",
        }
    }
}

/// A number of seconds, given in the definition or read from the input.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
    Expression(Expression),
}

/// A Wait state's duration or deadline.
#[derive(Debug)]
pub(crate) enum WaitFor {
    Seconds(u64),
    Timestamp(time::OffsetDateTime),
    SecondsPath(Path),
    TimestampPath(Path),
    SecondsExpression(Expression),
    TimestampExpression(Expression),
}

/// A Fail state's `Error` or `Cause`: fixed text, or a path or intrinsic (`ErrorPath`).
#[derive(Debug)]
pub(crate) enum Text {
    Fixed(String),
    Path(Path),
    Call(Call),
    Expression(Expression),
}

/// A Map state's own fields.
#[derive(Debug)]
pub(crate) struct MapSpec {
    /// JSONPath: `ItemsPath`.
    pub(crate) items_path: Path,
    /// JSONata: `Items` (the state input when absent).
    pub(crate) items: Option<jsonata::Template>,
    /// JSONPath: `ItemSelector` (or its old name, `Parameters`), evaluated per item.
    pub(crate) item_selector: Option<Template>,
    /// JSONata: `ItemSelector`, evaluated per item with `$states.context.Map.Item`.
    pub(crate) jsonata_item_selector: Option<jsonata::Template>,
    pub(crate) processor: Arc<States>,
    /// 0 means no limit.
    pub(crate) max_concurrency: Count,
    pub(crate) tolerated_failure_count: Option<Count>,
    pub(crate) tolerated_failure_percentage: Option<Percentage>,
    /// `ProcessorConfig.Mode` is `DISTRIBUTED`: iterations run as a map run's child
    /// executions, outside the parent's history.
    pub(crate) distributed: bool,
    /// `Label`, which names the map run (its ARN's second part).
    pub(crate) label: Option<String>,
}

/// A whole number, fixed or read from the input.
#[derive(Debug)]
pub(crate) enum Count {
    Fixed(u64),
    Path(Path),
    Expression(Expression),
}

/// A percentage, fixed or read from the input.
#[derive(Debug)]
pub(crate) enum Percentage {
    Fixed(f64),
    Path(Path),
    Expression(Expression),
}

/// One `Retry` entry.
#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    pub(crate) full_jitter: bool,
}

/// One `Catch` entry.
#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: String,
    /// `None` when the definition says `null`.
    pub(crate) result_path: Option<ReferencePath>,
    /// JSONata: `Output`, with `$states.errorOutput` (the error output when absent).
    pub(crate) output: Option<jsonata::Template>,
    /// `Assign`, reading the error output (`$` or `$states.errorOutput`).
    pub(crate) assign: Option<Assign>,
}
