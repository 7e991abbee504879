//! `run(definition, input)` and the task functions the tests call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cafe_report_asl::{
    BoxFuture, Engine, HistoryEvent, InvokeError, StartExecution, StateMachine, Status, TaskCall,
    TaskInvoker, TokioClock,
};
use serde_json::{Value, json};

/// The fixed start of every test execution.
pub const START: &str = "2026-11-24T09:31:00.000Z";

type Function = Box<dyn Fn(Value) -> BoxFuture<'static, Result<Value, InvokeError>> + Send + Sync>;

/// Task functions by name (the last part of a function ARN), plus a log of every call.
#[derive(Default)]
pub struct Functions {
    functions: HashMap<String, Function>,
    pub calls: Mutex<Vec<TaskCall>>,
}

impl Functions {
    pub fn new() -> Self {
        Self::default()
            .with("echo", |payload| async move { Ok(payload) })
            .with("fail", |_| async move {
                Err(InvokeError::Function {
                    error_type: "CustomError".into(),
                    error_message: "it broke".into(),
                })
            })
            .with("slow", |payload| async move {
                tokio::time::sleep(Duration::from_secs(100)).await;
                Ok(payload)
            })
            .with("big", |_| async move { Ok(json!("x".repeat(300 * 1024))) })
    }

    /// Adds (or replaces) a function.
    pub fn with<F, Fut>(mut self, name: &str, function: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Value, InvokeError>> + Send + 'static,
    {
        self.functions.insert(
            name.to_string(),
            Box::new(move |payload| Box::pin(function(payload))),
        );
        self
    }

    pub fn lambda_calls(&self) -> Vec<(String, Value)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|call| match call {
                TaskCall::Lambda { function, payload } => Some((function.clone(), payload.clone())),
                TaskCall::SnsPublish { .. } => None,
            })
            .collect()
    }
}

impl TaskInvoker for Functions {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, InvokeError>> {
        self.calls.lock().unwrap().push(call.clone());
        match call {
            TaskCall::Lambda { function, payload } => {
                let name = function.rsplit(':').next().unwrap_or_default().to_string();
                match self.functions.get(&name) {
                    Some(function) => function(payload),
                    None => Box::pin(async move {
                        Err(InvokeError::Service {
                            error: "Lambda.ResourceNotFoundException".into(),
                            cause: format!("Function not found: {name}"),
                        })
                    }),
                }
            }
            TaskCall::SnsPublish { .. } => Box::pin(async { Ok(json!("sns-message-1")) }),
        }
    }

    /// Says which test function will run, as the real invoker names a component version.
    fn annotate(&self, call: &TaskCall) -> Option<serde_json::Map<String, Value>> {
        match call {
            TaskCall::Lambda { function, .. } => {
                let name = function.rsplit(':').next().unwrap_or_default();
                Some(serde_json::Map::from_iter([(
                    "testFunction".to_string(),
                    json!(name),
                )]))
            }
            TaskCall::SnsPublish { .. } => None,
        }
    }
}

/// What an execution ended with.
#[derive(Debug)]
pub struct Outcome {
    pub status: Status,
    pub output: Value,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub events: Vec<HistoryEvent>,
    pub start_date: String,
    pub stop_date: String,
}

impl Outcome {
    pub fn types(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.kind.as_str()).collect()
    }

    pub fn event(&self, kind: &str) -> &HistoryEvent {
        self.events
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} event in {:?}", self.types()))
    }

    /// Seconds between two events' timestamps.
    pub fn seconds_between(&self, from: &str, to: &str) -> f64 {
        let at = |kind: &str| {
            time::OffsetDateTime::parse(
                &self.event(kind).timestamp,
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        (at(to) - at(from)).as_seconds_f64()
    }
}

/// A lambda ARN for a test function.
pub fn lambda(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}

/// Runs `definition` on `input` with the default test functions.
pub async fn run(definition: Value, input: Value) -> Outcome {
    run_with(Arc::new(Functions::new()), definition, input).await
}

/// Runs `definition` on `input` with the given functions.
pub async fn run_with(functions: Arc<Functions>, definition: Value, input: Value) -> Outcome {
    run_on(test_engine(functions), definition, input).await
}

/// An engine over `functions` whose clock starts at [`START`].
pub fn test_engine(functions: Arc<Functions>) -> Engine {
    let start =
        time::OffsetDateTime::parse(START, &time::format_description::well_known::Rfc3339).unwrap();
    Engine::new(functions, Arc::new(TokioClock::starting_at(start)))
}

/// Runs `definition` on `input` on the given engine, as machine `test-machine`.
pub async fn run_on(engine: Engine, definition: Value, input: Value) -> Outcome {
    let machine = StateMachine::from_value(&definition)
        .unwrap_or_else(|errors| panic!("definition rejected: {errors}"));
    let request = StartExecution {
        name: Some("test-execution".into()),
        input: Some(input.to_string()),
    };
    let execution = engine
        .execute(Arc::new(machine), "test-machine", request)
        .await
        .unwrap();
    let description = execution.describe();
    Outcome {
        status: description.status,
        output: description
            .output
            .as_deref()
            .map_or(Value::Null, |o| serde_json::from_str(o).unwrap()),
        error: description.error,
        cause: description.cause,
        events: execution.history(),
        start_date: description.start_date,
        stop_date: description.stop_date.unwrap(),
    }
}

/// A one-state machine.
pub fn single(state: Value) -> Value {
    json!({ "StartAt": "Only", "States": { "Only": state } })
}
