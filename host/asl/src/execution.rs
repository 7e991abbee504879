//! Executions: starting one (StartExecution's checks), running it, and describing it as
//! DescribeExecution does.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::definition::StateMachine;
use crate::error::StatesError;
use crate::history::{History, HistoryEvent, not_truncated};
use crate::invoker::TaskInvoker;
use crate::journal::Journal;
use crate::limits::MAX_PAYLOAD_BYTES;
use crate::mocks::{MockedCase, MockedResponse};
use crate::run;
use crate::timestamp;
use crate::tokens::TaskTokens;
use cafe_report_base::clock::Clock;
use cafe_report_base::random::{Random, SystemRandom};

/// The engine: runs executions of validated state machines, calling tasks through a
/// [`TaskInvoker`] and keeping time with a [`Clock`].
#[derive(Clone)]
pub struct Engine {
    pub(crate) invoker: Arc<dyn TaskInvoker>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    pub(crate) region: String,
    pub(crate) account: String,
    /// The IAM role the state machine was created with (`None`: a local stand-in).
    role_arn: Option<String>,
    /// Where histories are made durable (`None`: in memory only).
    pub(crate) journal: Option<Arc<dyn Journal>>,
    /// The tokens `.waitForTaskToken` tasks hand out and wait on.
    pub(crate) tokens: Arc<TaskTokens>,
}

/// The ARN of state machine `machine` in `region` and `account`.
pub fn state_machine_arn(region: &str, account: &str, machine: &str) -> String {
    format!("arn:aws:states:{region}:{account}:stateMachine:{machine}")
}

/// The ARN of execution `name` of state machine `machine`: the one format the engine,
/// the server's records and its lookups share.
pub fn execution_arn(region: &str, account: &str, machine: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account}:execution:{machine}:{name}")
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("clock", &self.clock)
            .field("random", &self.random)
            .field("region", &self.region)
            .field("account", &self.account)
            .field("role_arn", &self.role_arn)
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine in region `us-east-1`, account `000000000000` (ARNs only).
    pub fn new(invoker: Arc<dyn TaskInvoker>, clock: Arc<dyn Clock>) -> Self {
        Self {
            invoker,
            clock,
            random: Arc::new(SystemRandom),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            role_arn: None,
            journal: None,
            tokens: Arc::new(TaskTokens::random()),
        }
    }

    /// Shares `tokens` with whoever sends callbacks (the Step Functions API's
    /// SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat).
    pub fn with_task_tokens(mut self, tokens: Arc<TaskTokens>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Keeps every execution's history in `journal`: the engine waits for each batch
    /// of events to be kept before it invokes a task, sleeps, or ends.
    pub fn with_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Sets the source of execution names, request ids and retry jitter (e.g. seeded,
    /// for repeatable runs).
    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// Sets the region and account that execution ARNs show.
    pub fn with_region(mut self, region: impl Into<String>, account: impl Into<String>) -> Self {
        self.region = region.into();
        self.account = account.into();
        self
    }

    /// Sets the role the state machine was created with, as CreateStateMachine's
    /// `roleArn`: executions report it in `ExecutionStarted` and `$$.Execution.RoleArn`.
    /// Without one they report `arn:aws:iam::<account>:role/cafe-report-local`.
    pub fn with_role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.role_arn = Some(role_arn.into());
        self
    }

    /// The role executions run as.
    pub fn role_arn(&self) -> String {
        self.role_arn
            .clone()
            .unwrap_or_else(|| format!("arn:aws:iam::{}:role/cafe-report-local", self.account))
    }

    /// Starts an execution (it runs when [`Execution::run`] is awaited). Checks what
    /// StartExecution checks: the name and the input.
    pub fn start(
        &self,
        machine: Arc<StateMachine>,
        machine_name: &str,
        request: StartExecution,
    ) -> Result<Arc<Execution>, StartError> {
        let name = match request.name {
            Some(name) => {
                check_name(&name)?;
                name
            }
            None => self.random.uuid(),
        };
        let input_text = request.input.unwrap_or_else(|| "{}".to_string());
        if input_text.len() > MAX_PAYLOAD_BYTES {
            return Err(StartError::InvalidExecutionInput(format!(
                "the input is {} bytes; at most {MAX_PAYLOAD_BYTES} are allowed",
                input_text.len()
            )));
        }
        let input: Value = serde_json::from_str(&input_text).map_err(|err| {
            StartError::InvalidExecutionInput(format!("the input is not JSON: {err}"))
        })?;
        Ok(Arc::new(Execution {
            engine: self.clone(),
            machine,
            arn: execution_arn(&self.region, &self.account, machine_name, &name),
            state_machine_arn: state_machine_arn(&self.region, &self.account, machine_name),
            state_machine_name: machine_name.to_string(),
            name,
            input_text,
            input,
            start: self.clock.now(),
            history: History::default(),
            outcome: Mutex::new(None),
            inspection: std::sync::OnceLock::new(),
            mocks: std::sync::OnceLock::new(),
            mock_calls: Mutex::default(),
            stop: tokio::sync::watch::Sender::new(None),
            ended: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// An execution that was running when its process stopped, to run again from its
    /// kept history (it continues when [`Execution::run`] is awaited): the same ARN,
    /// input and start; the replay meets its recorded events again without acting on
    /// them (a task whose end is recorded is not called, a Wait that ended is not
    /// slept), and goes on from where each branch stopped. A task that was called and
    /// has no recorded end is called again, as AWS calls a function again after a
    /// lost invocation.
    pub fn resume(
        &self,
        machine: Arc<StateMachine>,
        machine_name: &str,
        resume: Resume,
    ) -> Result<Arc<Execution>, StartError> {
        check_name(&resume.name)?;
        let input: Value = serde_json::from_str(&resume.input).map_err(|err| {
            StartError::InvalidExecutionInput(format!("the input is not JSON: {err}"))
        })?;
        Ok(Arc::new(Execution {
            engine: self.clone(),
            machine,
            arn: execution_arn(&self.region, &self.account, machine_name, &resume.name),
            state_machine_arn: state_machine_arn(&self.region, &self.account, machine_name),
            state_machine_name: machine_name.to_string(),
            name: resume.name,
            input_text: resume.input,
            input,
            start: resume.start,
            history: History::resumed(resume.events),
            outcome: Mutex::new(None),
            inspection: std::sync::OnceLock::new(),
            mocks: std::sync::OnceLock::new(),
            mock_calls: Mutex::default(),
            stop: tokio::sync::watch::Sender::new(None),
            ended: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// Starts an execution and runs it to the end.
    pub async fn execute(
        &self,
        machine: Arc<StateMachine>,
        machine_name: &str,
        request: StartExecution,
    ) -> Result<Arc<Execution>, StartError> {
        let execution = self.start(machine, machine_name, request)?;
        execution.clone().run().await;
        Ok(execution)
    }
}

/// StartExecution's request.
#[derive(Debug, Clone, Default)]
pub struct StartExecution {
    /// The execution's name (default: a random UUID).
    pub name: Option<String>,
    /// The input as JSON text (default `{}`).
    pub input: Option<String>,
}

/// What a resumed execution is rebuilt from: its record.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The execution's name.
    pub name: String,
    /// Its input, as JSON text.
    pub input: String,
    /// When it started.
    pub start: OffsetDateTime,
    /// Its kept events, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// Why an execution could not start (StartExecution's errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// `InvalidName`.
    #[error("InvalidName: {0}")]
    InvalidName(String),
    /// `InvalidExecutionInput`.
    #[error("InvalidExecutionInput: {0}")]
    InvalidExecutionInput(String),
}

/// Execution names: 1 to 80 characters, none of the ones AWS forbids.
fn check_name(name: &str) -> Result<(), StartError> {
    const FORBIDDEN: &str = " <>{}[]?*\"#%\\^|~`$&,;:/";
    let bad = name
        .chars()
        .find(|c| FORBIDDEN.contains(*c) || c.is_whitespace() || c.is_control());
    if name.is_empty() || name.chars().count() > 80 {
        Err(StartError::InvalidName(format!(
            "{name:?}: names have 1 to 80 characters"
        )))
    } else if let Some(c) = bad {
        Err(StartError::InvalidName(format!(
            "{name:?}: the character {c:?} is not allowed"
        )))
    } else {
        Ok(())
    }
}

/// An execution's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Not finished.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Ran longer than the machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped from outside.
    Aborted,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        })
    }
}

/// What StopExecution asked for: the error and cause the execution ends with (either
/// may be absent, as StopExecution's are optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stop {
    /// `error`.
    pub error: Option<String>,
    /// `cause`.
    pub cause: Option<String>,
}

/// How a finished execution ended.
#[derive(Debug, Clone)]
struct Outcome {
    status: Status,
    stop: OffsetDateTime,
    output: Option<String>,
    error: Option<StatesError>,
}

/// One execution of a state machine.
pub struct Execution {
    pub(crate) engine: Engine,
    pub(crate) machine: Arc<StateMachine>,
    arn: String,
    state_machine_arn: String,
    state_machine_name: String,
    name: String,
    input_text: String,
    pub(crate) input: Value,
    pub(crate) start: OffsetDateTime,
    pub(crate) history: History,
    outcome: Mutex<Option<Outcome>>,
    /// TestState's inspection data of the machine's first state, once asked for.
    inspection: std::sync::OnceLock<Mutex<serde_json::Map<String, Value>>>,
    /// A mock configuration's test case this execution runs as, if any.
    mocks: std::sync::OnceLock<Arc<MockedCase>>,
    /// Calls of each mocked state so far (Step Functions Local's counters).
    mock_calls: Mutex<std::collections::HashMap<String, u64>>,
    /// Set by [`Execution::stop`]; the run ends at its next step.
    stop: tokio::sync::watch::Sender<Option<Stop>>,
    /// True once the outcome is set.
    ended: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// DescribeExecution's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    /// The execution's ARN.
    pub execution_arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The execution's name.
    pub name: String,
    /// Where it stands.
    pub status: Status,
    /// When it started.
    pub start_date: String,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
    /// The input, as JSON text.
    pub input: String,
    /// `{"included": true}`.
    pub input_details: Value,
    /// The output, as JSON text (SUCCEEDED only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `{"included": true}` when there is an output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<Value>,
    /// The error name (FAILED, TIMED_OUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause (FAILED, TIMED_OUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Execution {
    /// The execution's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The execution's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state machine's name.
    pub fn state_machine_name(&self) -> &str {
        &self.state_machine_name
    }

    /// The status now.
    pub fn status(&self) -> Status {
        self.outcome().map_or(Status::Running, |o| o.status)
    }

    fn outcome(&self) -> Option<Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs the execution to its end: success, failure or timeout. Running it twice does
    /// nothing the second time.
    pub async fn run(self: Arc<Self>) {
        if self.outcome().is_some() {
            return;
        }
        let outcome = run::execution(&self).await;
        let stop = self.engine.clock.now();
        let (status, output, error) = match outcome {
            run::Ending::Succeeded(output) => (Status::Succeeded, Some(output), None),
            run::Ending::Failed(error) => (Status::Failed, None, Some(error)),
            run::Ending::TimedOut(error) => (Status::TimedOut, None, Some(error)),
            run::Ending::Aborted(Stop { error, cause }) => (
                Status::Aborted,
                None,
                (error.is_some() || cause.is_some()).then(|| {
                    StatesError::new(error.unwrap_or_default(), cause.unwrap_or_default())
                }),
            ),
        };
        let outcome = Outcome {
            status,
            stop,
            output,
            error,
        };
        // The last events are kept, with the end, before the execution shows as ended.
        if let Some(journal) = &self.engine.journal {
            let ended = self.description(Some(&outcome));
            self.history
                .keep_end(&**journal, &self.arn, &*self.engine.clock, &ended)
                .await;
        }
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
        self.ended.send_replace(true);
    }

    /// StopExecution: the execution ends ABORTED at its next step (a task in flight is
    /// dropped, a Wait cut short), with an `ExecutionAborted` event carrying `stop`'s
    /// error and cause. Returns false when it had ended already (nothing changes).
    pub fn stop(&self, stop: Stop) -> bool {
        if self.outcome().is_some() {
            return false;
        }
        self.stop.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(stop);
                true
            } else {
                false
            }
        });
        true
    }

    /// Records the first state's input and its steps (`afterInputPath`,
    /// `afterParameters`, `result`, `afterResultSelector`, `afterResultPath`), as
    /// TestState's DEBUG inspection shows them; call before it runs.
    pub fn inspect(&self) {
        let _ = self.inspection.set(Mutex::default());
    }

    /// What [`Execution::inspect`] recorded.
    pub fn inspection(&self) -> Option<serde_json::Map<String, Value>> {
        let recorded = self.inspection.get()?;
        Some(recorded.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Records one inspection step of the machine's first state, when inspecting.
    pub(crate) fn inspected(&self, state: &str, step: &str, value: &Value) {
        if let Some(recorded) = self.inspection.get()
            && state == self.machine.states.start_at
        {
            recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(step)
                .or_insert_with(|| value.clone());
        }
    }

    /// Runs this execution as `case` of a mock configuration (before it runs): its
    /// mocked states answer from their responses instead of calling anything.
    pub fn use_mocks(&self, case: Arc<MockedCase>) {
        let _ = self.mocks.set(case);
    }

    /// The mocked answer to this call of `state`, if the execution's test case mocks it;
    /// counts the call.
    pub(crate) fn mocked(&self, state: &str) -> Option<MockedResponse> {
        let case = self.mocks.get()?;
        let mut calls = self.mock_calls.lock().unwrap_or_else(|e| e.into_inner());
        let n = calls.entry(state.to_string()).or_default();
        let response = case.response(state, *n).cloned();
        *n += 1;
        response
    }

    /// Resolves once StopExecution was called.
    pub(crate) async fn stopped(&self) -> Stop {
        let mut requests = self.stop.subscribe();
        // The guard is dropped before anything else is awaited.
        let stop = requests
            .wait_for(Option::is_some)
            .await
            .map(|stop| stop.clone().unwrap_or_default());
        match stop {
            Ok(stop) => stop,
            // The sender lives as long as the execution.
            Err(_) => std::future::pending().await,
        }
    }

    /// Resolves once the execution has ended (at once if it has).
    pub async fn ended(&self) {
        let mut ended = self.ended.subscribe();
        let _ = ended.wait_for(|ended| *ended).await;
    }

    /// DescribeExecution.
    pub fn describe(&self) -> ExecutionDescription {
        self.description(self.outcome().as_ref())
    }

    /// DescribeExecution's answer, ended as `outcome` says (`None`: running).
    fn description(&self, outcome: Option<&Outcome>) -> ExecutionDescription {
        let output = outcome.and_then(|o| o.output.clone());
        let error = outcome.and_then(|o| o.error.clone());
        ExecutionDescription {
            execution_arn: self.arn.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            name: self.name.clone(),
            status: outcome.map_or(Status::Running, |o| o.status),
            start_date: timestamp::format(self.start),
            stop_date: outcome.map(|o| timestamp::format(o.stop)),
            input: self.input_text.clone(),
            input_details: json!({ "included": true }),
            output_details: output.as_ref().map(|_| json!({ "included": true })),
            output,
            // A Fail state may leave out Error and Cause: AWS then reports none.
            error: error
                .as_ref()
                .map(|e| e.error.clone())
                .filter(|e| !e.is_empty()),
            cause: error.map(|e| e.cause).filter(|c| !c.is_empty()),
        }
    }

    /// GetExecutionHistory's events, oldest first.
    pub fn history(&self) -> Vec<HistoryEvent> {
        self.history.snapshot()
    }

    /// The `Execution` part of the context object.
    pub(crate) fn context_execution(&self) -> Value {
        // In AWS's order (`$$` printed whole shows it: test_output_path[$$]).
        json!({
            "Id": self.arn,
            "Input": self.input,
            "StartTime": timestamp::format(self.start),
            "Name": self.name,
            "RoleArn": self.engine.role_arn(),
            "RedriveCount": 0,
        })
    }

    pub(crate) fn context_state_machine(&self) -> Value {
        json!({ "Id": self.state_machine_arn, "Name": self.state_machine_name })
    }

    /// The `ExecutionStarted` details: AWS records the input and the role, not the state
    /// machine (every recorded history has exactly these three fields).
    pub(crate) fn started_details(&self) -> Value {
        json!({
            "input": self.input_text,
            "inputDetails": not_truncated(),
            "roleArn": self.engine.role_arn(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_can_run_on_any_thread() {
        fn spawnable<T: Send + 'static>(_: &T) {}
        let invoker = |_: crate::TaskCall| async { Ok::<Value, crate::InvokeError>(Value::Null) };
        let engine = Engine::new(Arc::new(invoker), Arc::new(crate::TokioClock::system()));
        let machine =
            StateMachine::parse(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#)
                .unwrap();
        let execution = engine
            .start(Arc::new(machine), "m", StartExecution::default())
            .unwrap();
        spawnable(&execution.run());
    }

    #[test]
    fn names_follow_start_execution_rules() {
        assert!(check_name("report-2026-11-24_1").is_ok());
        for bad in ["", "has space", "a/b", "x:y", "{x}", &"n".repeat(81)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
