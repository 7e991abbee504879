//! The interpreter: runs states in AWS's order of input/output processing, applies Retry
//! and Catch, and records every step in the history.

use std::time::Duration;

use futures_util::future::{Either, select, try_join_all};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use crate::definition::{
    Assign, Catcher, ChoiceRule, Count, Kind, Language, MapSpec, Percentage, Resource, Retrier,
    Seconds, State, States, TaskSpec, Text, WaitFor,
};
use crate::error::{Recorded, StatesError, names};
use crate::execution::{Execution, check_size, check_state_size};
use crate::history::{History, details_key, not_truncated};
use crate::invoker::{BoxFuture, InvokeError, TaskCall};
use crate::jsonata::{self, Expression, bindings};
use crate::path::kind_of;
use crate::timestamp;
use crate::variables::{Assignment, Env, Variables};

/// How an execution ended.
pub(crate) enum Ending {
    Succeeded(String),
    Failed(StatesError),
    TimedOut(StatesError),
}

/// Runs a whole execution, from `ExecutionStarted` to its last event.
pub(crate) async fn execution(exec: &Execution) -> Ending {
    let runner = Runner::new(exec);
    // AWS chains the first state's entry to event 0, not to `ExecutionStarted`.
    let mut cursor = 0;
    runner.event(&mut 0, "ExecutionStarted", Some(exec.started_details()));
    let result = {
        let body = runner.scope(
            &exec.machine.states,
            exec.input.clone(),
            Variables::default(),
            &mut cursor,
        );
        match exec.machine.timeout_seconds {
            Some(seconds) => {
                match select(body, exec.engine.clock.sleep(Duration::from_secs(seconds))).await {
                    Either::Left((result, _)) => Some(result),
                    Either::Right(_) => None,
                }
            }
            None => Some(body.await),
        }
    };
    let result = result.map(|r| {
        r.and_then(|output| {
            let text = output.to_string();
            check_size("execution's output", &text).map(|()| text)
        })
    });
    match result {
        Some(Ok(output)) => {
            let details = json!({ "output": output, "outputDetails": not_truncated() });
            runner.event(&mut cursor, "ExecutionSucceeded", Some(details));
            Ending::Succeeded(output)
        }
        Some(Err(error)) => {
            runner.event(&mut cursor, "ExecutionFailed", Some(error_details(&error)));
            Ending::Failed(error)
        }
        None => {
            let error = StatesError::new(
                names::TIMEOUT,
                format!(
                    "The execution ran longer than the state machine's TimeoutSeconds ({} s)",
                    exec.machine.timeout_seconds.unwrap_or_default()
                ),
            );
            // The cursor may lag behind a branch; the timeout follows the last event.
            let mut last = exec.history.snapshot().len() as u64;
            runner.event(&mut last, "ExecutionTimedOut", Some(error_details(&error)));
            Ending::TimedOut(error)
        }
    }
}

/// AWS keeps its wait time in 32-bit seconds: a longer delay fails the state
/// (test_timestamp_too_far_in_future_boundary: 24855 days waits, 24856 days fails).
fn delay(duration: Duration) -> Result<Duration, StatesError> {
    if duration.as_secs() > i32::MAX as u64 {
        return Err(StatesError::runtime("Wait state delay is too long."));
    }
    Ok(duration)
}

/// A JSON value's type as JSONata's `$type` names it.
fn jsonata_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as AWS quotes it in a cause after `==`: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An error's `error` and `cause`, each left out when empty (a Fail state without
/// `Error` or `Cause`: test_state_fail_empty).
fn error_details(error: &StatesError) -> Value {
    let mut details = serde_json::Map::new();
    if !error.error.is_empty() {
        details.insert("error".into(), json!(error.error));
    }
    if !error.cause.is_empty() {
        details.insert("cause".into(), json!(error.cause));
    }
    Value::Object(details)
}

struct Runner<'e> {
    exec: &'e Execution,
    /// The context object's `Execution` and `StateMachine`, built once.
    base_context: Value,
    /// Where events go: the execution's history, or a Distributed Map run's own.
    history: &'e History,
}

/// What one attempt at a state decided.
struct Done<'s> {
    next: Option<&'s str>,
    output: Value,
    /// Variables the state assigned (`Assign`), to take effect once it has exited.
    assigned: Option<Assignment>,
}

impl<'e> Runner<'e> {
    fn new(exec: &'e Execution) -> Self {
        let base_context = json!({
            "Execution": exec.context_execution(),
            "StateMachine": exec.context_state_machine(),
        });
        Self {
            exec,
            base_context,
            history: &exec.history,
        }
    }

    fn event(&self, cursor: &mut u64, kind: &str, details: Option<Value>) -> u64 {
        let details = details.map(|d| (details_key(kind), d));
        let now = self.exec.engine.clock.now();
        self.history.record(cursor, now, kind.to_string(), details)
    }

    /// Runs the states of one scope from `StartAt` to an end. `variables` are the ones
    /// visible when the scope starts (an inner scope's copy of the outer ones: what it
    /// assigns stays inside).
    fn scope<'a>(
        &'a self,
        states: &'a States,
        input: Value,
        mut variables: Variables,
        cursor: &'a mut u64,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut name = states.start_at.as_str();
            let mut input = input;
            loop {
                let done = self
                    .state(states.get(name), input, &variables, cursor)
                    .await?;
                if let Some(assignment) = done.assigned {
                    variables.apply(assignment);
                }
                match done.next {
                    Some(next) => {
                        name = next;
                        input = done.output;
                    }
                    None => return Ok(done.output),
                }
            }
        })
    }

    /// Runs one state: entered event, attempts with Retry, Catch, exited event.
    async fn state<'s>(
        &self,
        state: &'s State,
        raw: Value,
        variables: &Variables,
        cursor: &mut u64,
    ) -> Result<Done<'s>, StatesError> {
        let prefix = state.kind.event_prefix();
        let entered_time = timestamp::format(self.exec.engine.clock.now());
        let entered = json!({ "name": state.name, "input": raw.to_string(), "inputDetails": not_truncated() });
        let before = *cursor;
        let entered_id = self.event(cursor, &format!("{prefix}StateEntered"), Some(entered));

        let mut attempts = vec![0u64; state.retry.len()];
        let mut retry_count = 0;
        let (done, output_text) = loop {
            let context = self.context(state, &entered_time, retry_count);
            let env = Env {
                context: &context,
                variables,
            };
            // The output is serialized once: for the size check and the exited event.
            let attempt = self
                .attempt(state, &raw, env, cursor)
                .await
                .and_then(|done| {
                    let text = done.output.to_string();
                    check_state_size(&state.name, &text).map(|()| (done, text))
                });
            let mut error = match attempt {
                Ok(finished) => break Ok(finished),
                Err(error) => locate(error, state, entered_id),
            };
            let retry = if error.is_recoverable() {
                retry_delay(&state.retry, &mut attempts, &error)
            } else {
                None
            };
            // A retried state records nothing of the failure (no Map/ParallelStateFailed).
            if let Some(delay) = retry {
                retry_count += 1;
                self.exec.engine.clock.sleep(delay).await;
                continue;
            }
            self.record_failure(state, &mut error, before, cursor);
            if !error.is_recoverable() {
                break Err(error);
            }
            break match state
                .catch
                .iter()
                .find(|c| c.error_equals.iter().any(|n| error.matches(n)))
            {
                Some(catcher) => catch(catcher, state, &raw, env, &error).map(|done| {
                    let text = done.output.to_string();
                    (done, text)
                }),
                None => Err(error),
            };
        }?;
        let mut exited =
            json!({ "name": state.name, "output": output_text, "outputDetails": not_truncated() });
        // An empty `Assign` records no `assignedVariables` (BASE_EMPTY).
        if let Some(assigned) = done.assigned.as_ref().filter(|a| !a.is_empty()) {
            exited["assignedVariables"] = assigned.record();
            exited["assignedVariablesDetails"] = json!({ "truncated": false });
        }
        self.event(cursor, &format!("{prefix}StateExited"), Some(exited));
        Ok(done)
    }

    /// Writes the events AWS records when a state fails for good (caught or not):
    /// `EvaluationFailed` for a failed JSONata expression (chained, as AWS chains it, to
    /// the event before the state was entered), and `MapStateFailed`/`ParallelStateFailed`
    /// for a failure inside an iteration or branch, or of the state's own expressions.
    fn record_failure(&self, state: &State, error: &mut StatesError, before: u64, cursor: &mut u64) {
        let block = matches!(state.kind, Kind::Map(_) | Kind::Parallel { .. });
        let state_failed = match error.recorded {
            Recorded::Yes => false,
            Recorded::FromInside => true,
            Recorded::No if error.error == names::QUERY_EVALUATION_ERROR => {
                let mut details = json!({
                    "error": error.error,
                    "cause": error.cause,
                    "state": state.name,
                });
                if let Some(location) = &error.location {
                    details["location"] = json!(location);
                }
                // A Wait's own expressions fail after its entry; the other fields'
                // failures chain to the event before it (test_wait_timestamp_jsonata,
                // BASE_UNDEFINED_OUTPUT).
                let mut at = match state.kind {
                    Kind::Wait(_) => *cursor,
                    _ => before,
                };
                *cursor = self.event(&mut at, "EvaluationFailed", Some(details));
                true
            }
            Recorded::No => false,
        };
        if block && state_failed {
            let prefix = state.kind.event_prefix();
            self.event(cursor, &format!("{prefix}StateFailed"), None);
        }
        if state_failed {
            error.recorded = Recorded::Yes;
        }
    }

    fn context(&self, state: &State, entered_time: &str, retry_count: u64) -> Value {
        let mut context = self.base_context.clone();
        // AWS's Pass states show only `Name` and `EnteredTime` (test_output_path[$$],
        // BASE_EXPR); `RetryCount` belongs to the states that can retry.
        let mut current = json!({ "Name": state.name, "EnteredTime": entered_time });
        if matches!(state.kind, Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_)) {
            current["RetryCount"] = json!(retry_count);
        }
        context["State"] = current;
        context
    }

    /// One attempt: InputPath, Parameters, the state's work, ResultSelector, Assign,
    /// ResultPath, OutputPath. Paths read the variables as they were when the state was
    /// entered, so OutputPath does not see what Assign sets.
    async fn attempt<'s>(
        &self,
        state: &'s State,
        raw: &Value,
        env: Env<'_>,
        cursor: &mut u64,
    ) -> Result<Done<'s>, StatesError> {
        if state.language == Language::Jsonata {
            return self.attempt_jsonata(state, raw, env, cursor).await;
        }
        let effective = match &state.input_path {
            Some(path) => path.select_io(raw, env)?,
            None => json!({}),
        };
        let next = state.transition.next();
        let parameters = |input: Value| match &state.parameters {
            Some(template) => template.render(&input, env),
            None => Ok(input),
        };
        let result = match &state.kind {
            Kind::Pass { result } => match result {
                Some(result) => result.clone(),
                None => parameters(effective)?,
            },
            Kind::Task(spec) => {
                let payload = parameters(effective)?;
                self.task(spec, payload, raw, env, cursor).await?
            }
            Kind::Parallel { branches } => {
                let input = parameters(effective)?;
                self.parallel(branches, input, env.variables, cursor)
                    .await?
            }
            Kind::Map(spec) => self.map(state, spec, &effective, env, cursor).await?,
            Kind::Choice { rules, default } => {
                let branch = choose(state, rules, default.as_deref(), &effective, env)?;
                return without_result(state, Some(branch.next), branch.assign, effective, env);
            }
            Kind::Wait(wait) => {
                let delay = self.wait_for(wait, &effective, env)?;
                self.exec.engine.clock.sleep(delay).await;
                return without_result(state, next, state.assign.as_ref(), effective, env);
            }
            Kind::Succeed => return without_result(state, None, None, effective, env),
            Kind::Fail { error, cause } => {
                return Err(failure(error, cause, raw, env)?);
            }
        };
        let selected = match &state.result_selector {
            Some(template) => template.render(&result, env)?,
            None => result,
        };
        let assigned = evaluate_assign(state.assign.as_ref(), &selected, env)?;
        let merged = match &state.result_path {
            Some(path) => path.write(raw.clone(), selected)?,
            None => raw.clone(),
        };
        Ok(Done {
            next,
            output: output_path(state, merged, env)?,
            assigned,
        })
    }

    /// One attempt of a JSONata state: `Arguments`, the state's work, then `Assign` and
    /// `Output`, with `$states.input`, `$states.context`, `$states.result` (after the
    /// work) and the variables visible when the state was entered.
    async fn attempt_jsonata<'s>(
        &self,
        state: &'s State,
        raw: &Value,
        env: Env<'_>,
        cursor: &mut u64,
    ) -> Result<Done<'s>, StatesError> {
        let mut states = json!({ "input": raw, "context": env.context });
        let mut next = state.transition.next();
        let mut assign = state.assign.as_ref();
        let mut output = state.output.as_ref();
        let arguments = |states: &Value| match &state.arguments {
            Some(arguments) => arguments
                .evaluate(&bindings(states, env.variables))
                .map_err(StatesError::from),
            None => Ok(raw.clone()),
        };
        let result = match &state.kind {
            Kind::Pass { .. } | Kind::Succeed => None,
            Kind::Task(spec) => {
                let payload = arguments(&states)?;
                Some(self.task(spec, payload, raw, env, cursor).await?)
            }
            Kind::Choice { rules, default } => {
                let branch = choose(state, rules, default.as_deref(), raw, env)?;
                (next, assign, output) = (Some(branch.next), branch.assign, branch.output);
                None
            }
            Kind::Wait(wait) => {
                let delay = self.wait_for(wait, raw, env)?;
                self.exec.engine.clock.sleep(delay).await;
                None
            }
            Kind::Fail { error, cause } => {
                return Err(failure(error, cause, raw, env)?);
            }
            Kind::Parallel { branches } => {
                let input = arguments(&states)?;
                Some(
                    self.parallel(branches, input, env.variables, cursor)
                        .await?,
                )
            }
            Kind::Map(spec) => Some(self.map(state, spec, raw, env, cursor).await?),
        };
        if let Some(result) = &result {
            states["result"] = result.clone();
        }
        // Output and Assign both see the variables as they were when the state was entered.
        let assigned = evaluate_assign(assign, &states, env)?;
        let output = match (output, result) {
            (Some(output), _) => output.evaluate(&bindings(&states, env.variables))?,
            (None, Some(result)) => result,
            (None, None) => raw.clone(),
        };
        Ok(Done {
            next,
            output,
            assigned,
        })
    }

    fn wait_for(
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

    async fn task(
        &self,
        spec: &TaskSpec,
        payload: Value,
        raw: &Value,
        env: Env<'_>,
        cursor: &mut u64,
    ) -> Result<Value, StatesError> {
        let timeout = seconds(spec.timeout.as_ref(), raw, env, "TimeoutSeconds")?;
        let heartbeat = seconds(spec.heartbeat.as_ref(), raw, env, "HeartbeatSeconds")?;
        let payload_text = payload.to_string();
        check_size("task's input", &payload_text)?;
        let call = task_call(&spec.resource, &payload)?;
        let events = TaskEvents::new(&spec.resource);
        let mut scheduled = match &spec.resource {
            Resource::LambdaFunction(arn) => {
                json!({ "resource": arn, "input": payload_text, "inputDetails": not_truncated() })
            }
            _ => events
                .details(json!({ "parameters": payload_text, "region": self.exec.engine.region })),
        };
        if let Some(t) = timeout {
            scheduled["timeoutInSeconds"] = json!(t);
        }
        if let Some(h) = heartbeat {
            scheduled["heartbeatInSeconds"] = json!(h);
        }
        if let (Some(extra), Value::Object(details)) =
            (self.exec.engine.invoker.annotate(&call), &mut scheduled)
        {
            details.extend(extra);
        }
        self.event(cursor, &events.kind("Scheduled"), Some(scheduled));
        let started = (!events.direct_lambda).then(|| events.details(json!({})));
        self.event(cursor, &events.kind("Started"), started);

        let limit = [
            (timeout, names::TIMEOUT),
            (heartbeat, names::HEARTBEAT_TIMEOUT),
        ]
        .into_iter()
        .filter_map(|(seconds, name)| seconds.map(|s| (s, name)))
        .min_by_key(|(seconds, _)| *seconds);
        let invocation = self.exec.engine.invoker.invoke(call);
        let outcome = match limit {
            Some((seconds, name)) => match select(
                invocation,
                self.exec.engine.clock.sleep(Duration::from_secs(seconds)),
            )
            .await
            {
                Either::Left((outcome, _)) => outcome,
                Either::Right(_) => {
                    let error = StatesError::new(
                        name,
                        format!("The task did not finish within {seconds} s"),
                    );
                    let details = events.details(error_details(&error));
                    self.event(cursor, &events.kind("TimedOut"), Some(details));
                    return Err(error);
                }
            },
            None => invocation.await,
        };
        let result = match outcome {
            Ok(result) => wrap_result(&spec.resource, result),
            Err(err) => Err(invoke_error(err)),
        };
        let result = result.and_then(|result| {
            let text = result.to_string();
            check_size("task's result", &text).map(|()| (result, text))
        });
        match result {
            Ok((result, text)) => {
                let details =
                    events.details(json!({ "output": text, "outputDetails": not_truncated() }));
                self.event(cursor, &events.kind("Succeeded"), Some(details));
                Ok(result)
            }
            Err(error) => {
                let details = events.details(error_details(&error));
                self.event(cursor, &events.kind("Failed"), Some(details));
                Err(error)
            }
        }
    }

    async fn parallel(
        &self,
        branches: &[std::sync::Arc<States>],
        input: Value,
        variables: &Variables,
        cursor: &mut u64,
    ) -> Result<Value, StatesError> {
        let started = self.event(cursor, "ParallelStateStarted", None);
        let runs = branches.iter().map(|branch| {
            let input = input.clone();
            async move {
                let mut at = started;
                match self.scope(branch, input, variables.clone(), &mut at).await {
                    Ok(output) => Ok((output, at)),
                    Err(error) => Err((error, at)),
                }
            }
        });
        // The first failure stops the other branches, as on AWS. The end events chain as
        // AWS chains them: `ParallelStateSucceeded` and the state's exit both follow the
        // last branch event; a failure leaves `ParallelStateFailed` to the state, which
        // writes it only when it does not retry (test_parallel_state_retry).
        match try_join_all(runs).await {
            Ok(results) => {
                *cursor = results.iter().map(|(_, at)| *at).max().unwrap_or(started);
                let outputs = results.into_iter().map(|(output, _)| output).collect();
                self.event(&mut cursor.clone(), "ParallelStateSucceeded", None);
                Ok(Value::Array(outputs))
            }
            Err((mut error, at)) => {
                *cursor = at;
                error.recorded = Recorded::FromInside;
                Err(error)
            }
        }
    }

    async fn map(
        &self,
        state: &State,
        spec: &MapSpec,
        input: &Value,
        env: Env<'_>,
        cursor: &mut u64,
    ) -> Result<Value, StatesError> {
        let items = match state.language {
            Language::JsonPath => spec.items_path.select(input, env)?,
            Language::Jsonata => match &spec.items {
                Some(items) => {
                    let states = json!({ "input": input, "context": env.context });
                    let value = items.evaluate(&bindings(&states, env.variables))?;
                    match (value.is_array(), items.expression_text()) {
                        (false, Some(text)) => {
                            return Err(StatesError::new(
                                names::QUERY_EVALUATION_ERROR,
                                format!(
                                    "The JSONata expression '{text}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {value}",
                                    jsonata_type(&value)
                                ),
                            )
                            .at("Items"));
                        }
                        _ => value,
                    }
                }
                None => input.clone(),
            },
        };
        let items = match items {
            Value::Array(items) => items,
            other if state.language == Language::Jsonata => {
                return Err(StatesError::new(
                    names::QUERY_EVALUATION_ERROR,
                    format!("Map state input must be an array but was: {other}"),
                ));
            }
            other => {
                return Err(StatesError::runtime(format!(
                    "The ItemsPath '{}' must select an array, got {}",
                    spec.items_path.text(),
                    kind_of(&other)
                )));
            }
        };
        let total = items.len();
        let max_concurrency = count(&spec.max_concurrency, input, env, "MaxConcurrencyPath")?;
        let started = self.event(cursor, "MapStateStarted", Some(json!({ "length": total })));
        // AWS reads the tolerated failures once the Map has started: their errors follow
        // `MapStateStarted` (test_map_state_tolerated_failure_count_path).
        let tolerated_count = spec
            .tolerated_failure_count
            .as_ref()
            .map(|c| count(c, input, env, "ToleratedFailureCountPath"))
            .transpose()?;
        let tolerated_percentage = spec
            .tolerated_failure_percentage
            .as_ref()
            .map(|p| percentage(p, input, env))
            .transpose()?;
        let tolerant = tolerated_count.is_some() || tolerated_percentage.is_some();
        let exceeded = |failures: usize| {
            let over_count = failures as u64 > tolerated_count.unwrap_or(0);
            let over_percentage =
                tolerated_percentage.is_none_or(|p| failures as f64 * 100.0 / total as f64 > p);
            if tolerant {
                over_count && over_percentage
            } else {
                failures > 0
            }
        };

        let limit = match max_concurrency {
            0 => total.max(1),
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        // A Distributed Map runs its iterations as child executions of a map run: the
        // parent history shows only the run (MapRunStarted, MapRunSucceeded/Failed), as
        // AWS records it (test_map_state_config_distributed_parameters).
        let run_history = History::default();
        let (runner, map_run) = if spec.distributed {
            let label = spec.label.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let arn = format!(
                "arn:aws:states:{}:{}:mapRun:{}/{label}:{}",
                self.exec.engine.region,
                self.exec.engine.account,
                self.exec.state_machine_name(),
                uuid::Uuid::new_v4()
            );
            let details = json!({ "mapRunArn": arn });
            let id = self.event(cursor, "MapRunStarted", Some(details));
            let runner = Runner {
                exec: self.exec,
                base_context: self.base_context.clone(),
                history: &run_history,
            };
            (Some(runner), Some(id))
        } else {
            (None, None)
        };
        let this = runner.as_ref().unwrap_or(self);
        let started = map_run.unwrap_or(started);
        // How AWS chains an iteration's events: `MapIterationStarted` follows
        // `MapStateStarted` for the iterations that start at once, and the last event of the
        // iteration whose end freed the slot for the others; `MapIterationSucceeded`/`Failed`
        // follow the iteration's last event but nothing follows them (BASE_SCOPE_MAP).
        let freed = std::sync::Mutex::new(started);
        let iterations = items.into_iter().enumerate().map(|(index, item)| {
            let freed = &freed;
            async move {
                let mut at = if index < limit {
                    started
                } else {
                    *freed.lock().unwrap_or_else(|e| e.into_inner())
                };
                let details = json!({ "name": state.name, "index": index });
                this.event(&mut at, "MapIterationStarted", Some(details.clone()));
                let item_context = || {
                    let mut context = env.context.clone();
                    context["Map"] = json!({ "Item": { "Index": index, "Value": item } });
                    context
                };
                let item_input = match (&spec.item_selector, &spec.jsonata_item_selector) {
                    (Some(selector), _) => {
                        let context = item_context();
                        selector.render(
                            input,
                            Env {
                                context: &context,
                                ..env
                            },
                        )
                    }
                    (None, Some(selector)) => {
                        let states = json!({ "input": input, "context": item_context() });
                        selector
                            .evaluate(&bindings(&states, env.variables))
                            .map_err(StatesError::from)
                    }
                    (None, None) => Ok(item),
                };
                let result = match item_input {
                    Ok(item_input) => {
                        let variables = env.variables.clone();
                        this.scope(&spec.processor, item_input, variables, &mut at)
                            .await
                    }
                    Err(error) => Err(error),
                };
                let kind = if result.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                let end = this.event(&mut at.clone(), kind, Some(details));
                *freed.lock().unwrap_or_else(|e| e.into_inner()) = at;
                (index, result, at, end)
            }
        });
        let mut running = stream::iter(iterations).buffer_unordered(limit);
        let mut outputs = vec![Value::Null; total];
        let mut failures = 0;
        let mut last_end = started;
        while let Some((index, result, at, end)) = running.next().await {
            match result {
                Ok(output) => {
                    last_end = last_end.max(end);
                    outputs[index] = output;
                }
                Err(error) => {
                    failures += 1;
                    outputs[index] = error.to_output();
                    if !error.is_recoverable() || exceeded(failures) {
                        drop(running);
                        // `MapStateFailed` is the state's to write, after this iteration's
                        // last event (or the map run's end), unless it retries
                        // (test_map_state_retry).
                        match map_run {
                            Some(run) => {
                                *cursor = run;
                                self.event(cursor, "MapRunFailed", None);
                            }
                            None => *cursor = at,
                        }
                        let mut error = if tolerant && error.is_recoverable() {
                            StatesError::new(
                                names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                format!(
                                    "The Map state failed because {failures} of {total} items failed, more than it tolerates; item {index} failed with {}: {}",
                                    error.error, error.cause
                                ),
                            )
                        } else {
                            error
                        };
                        error.recorded = Recorded::FromInside;
                        return Err(error);
                    }
                    last_end = last_end.max(end);
                }
            }
        }
        // `MapStateSucceeded` and the state's exit both follow the last iteration's end
        // (or the map run's).
        match map_run {
            Some(run) => {
                *cursor = run;
                self.event(cursor, "MapRunSucceeded", None);
            }
            None => *cursor = last_end,
        }
        self.event(&mut cursor.clone(), "MapStateSucceeded", None);
        Ok(Value::Array(outputs))
    }
}

/// Adds AWS's "where" to a `States.Runtime` or `States.QueryEvaluationError` cause, once.
fn locate(mut error: StatesError, state: &State, entered_id: u64) -> StatesError {
    const PREFIX: &str = "An error occurred while executing the state";
    let located = [names::RUNTIME, names::QUERY_EVALUATION_ERROR];
    if located.contains(&error.error.as_str()) && !error.cause.starts_with(PREFIX) {
        error.cause = format!(
            "{PREFIX} '{}' (entered at the event id #{entered_id}). {}",
            state.name, error.cause
        );
    }
    error
}

/// The wait before the next attempt, if the first retrier that matches has attempts left.
/// AWS uses only the first matching retrier, even when it is exhausted.
fn retry_delay(
    retriers: &[Retrier],
    attempts: &mut [u64],
    error: &StatesError,
) -> Option<Duration> {
    let (index, retrier) = retriers
        .iter()
        .enumerate()
        .find(|(_, r)| r.error_equals.iter().any(|name| error.matches(name)))?;
    let done = attempts[index];
    if done >= retrier.max_attempts {
        return None;
    }
    attempts[index] += 1;
    let mut seconds = retrier.interval_seconds as f64
        * retrier
            .backoff_rate
            .powi(i32::try_from(done).unwrap_or(i32::MAX));
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    if retrier.full_jitter {
        seconds *= rand::random::<f64>();
    }
    Some(Duration::from_secs_f64(seconds.min(1.0e9)))
}

fn catch<'s>(
    catcher: &'s Catcher,
    state: &State,
    raw: &Value,
    env: Env<'_>,
    error: &StatesError,
) -> Result<Done<'s>, StatesError> {
    let (output, assigned) = match state.language {
        Language::Jsonata => {
            let states =
                json!({ "input": raw, "context": env.context, "errorOutput": error.to_output() });
            let assigned = evaluate_assign(catcher.assign.as_ref(), &states, env)?;
            let output = match &catcher.output {
                Some(output) => output.evaluate(&bindings(&states, env.variables))?,
                None => error.to_output(),
            };
            (output, assigned)
        }
        Language::JsonPath => {
            let error_output = error.to_output();
            let assigned = evaluate_assign(catcher.assign.as_ref(), &error_output, env)?;
            let output = match &catcher.result_path {
                Some(path) => path.write(raw.clone(), error_output)?,
                None => raw.clone(),
            };
            (output, assigned)
        }
    };
    Ok(Done {
        next: Some(&catcher.next),
        output,
        assigned,
    })
}

/// Evaluates an `Assign` field into the values it gives, checked against AWS's limits.
/// `reads` is what its expressions see: `$` in JSONPath, the `$states` object in JSONata.
fn evaluate_assign(
    assign: Option<&Assign>,
    reads: &Value,
    env: Env<'_>,
) -> Result<Option<Assignment>, StatesError> {
    let values = match assign {
        None => return Ok(None),
        Some(Assign::JsonPath(template)) => template.render(reads, env)?,
        Some(Assign::Jsonata(template)) => template.evaluate(&bindings(reads, env.variables))?,
    };
    let Value::Object(values) = values else {
        unreachable!("validation makes Assign an object");
    };
    Assignment::check(values, env.variables).map(Some)
}

/// The end of a JSONPath state that has no result (Choice, Wait, Succeed): Assign reads
/// its effective input, which OutputPath then filters.
fn without_result<'s>(
    state: &State,
    next: Option<&'s str>,
    assign: Option<&Assign>,
    effective: Value,
    env: Env<'_>,
) -> Result<Done<'s>, StatesError> {
    let assigned = evaluate_assign(assign, &effective, env)?;
    Ok(Done {
        next,
        output: output_path(state, effective, env)?,
        assigned,
    })
}

fn output_path(state: &State, value: Value, env: Env<'_>) -> Result<Value, StatesError> {
    // The 256 KiB check happens once the attempt is done (`Runner::state`).
    Ok(match &state.output_path {
        Some(path) => path.select_io(&value, env)?,
        None => json!({}),
    })
}

fn string_result(value: Value, what: &str) -> Result<String, StatesError> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(StatesError::runtime(format!(
            "{what} must give a string, got {other}"
        ))),
    }
}

fn seconds(
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

/// A JSONata state's single-expression field (`Seconds`, `Error`, ...) evaluated with
/// `$states.input` and `$states.context`.
fn evaluate(
    expression: &Expression,
    field: &str,
    input: &Value,
    env: Env<'_>,
) -> Result<Value, StatesError> {
    let states = json!({ "input": input, "context": env.context });
    Ok(expression.evaluate_field(field, &bindings(&states, env.variables))?)
}

/// A JSONata field whose expression gave a value of the wrong kind.
fn wrong_value(expression: &Expression, field: &str, expected: &str, value: &Value) -> StatesError {
    StatesError::new(
        names::QUERY_EVALUATION_ERROR,
        format!(
            "The JSONata expression '{}' specified for the field '{field}' must give {expected}, got {value}.",
            expression.text()
        ),
    )
}

/// Where a Choice state goes, with the `Assign` and `Output` that apply there.
struct Branch<'s> {
    next: &'s str,
    assign: Option<&'s Assign>,
    output: Option<&'s jsonata::Template>,
}

/// The first rule that matches, with its own `Assign` and `Output`; else `Default`, with
/// the state's; else `States.NoChoiceMatched`.
fn choose<'s>(
    state: &'s State,
    rules: &'s [ChoiceRule],
    default: Option<&'s str>,
    input: &Value,
    env: Env<'_>,
) -> Result<Branch<'s>, StatesError> {
    for rule in rules {
        if rule.condition.eval(input, env)? {
            return Ok(Branch {
                next: &rule.next,
                assign: rule.assign.as_ref(),
                output: rule.output.as_ref(),
            });
        }
    }
    match default {
        Some(next) => Ok(Branch {
            next,
            assign: state.assign.as_ref(),
            output: state.output.as_ref(),
        }),
        None => Err(StatesError::new(
            names::NO_CHOICE_MATCHED,
            format!(
                "No Choice rule of state '{}' matched, and it has no Default",
                state.name
            ),
        )),
    }
}

/// A Fail state's error: its `Error` and `Cause`, fixed or computed.
fn failure(
    error: &Option<Text>,
    cause: &Option<Text>,
    raw: &Value,
    env: Env<'_>,
) -> Result<StatesError, StatesError> {
    let text = |text: &Option<Text>, field: &str| -> Result<String, StatesError> {
        match text {
            None => Ok(String::new()),
            Some(Text::Fixed(text)) => Ok(text.clone()),
            Some(Text::Path(path)) => {
                let field = format!("{field}Path");
                let value = path
                    .find(raw, env)
                    .ok_or_else(|| path.not_found(Some(&field), raw, env))?;
                string_result(value, path.text())
            }
            Some(Text::Call(call)) => string_result(call.eval(raw, env)?, "the intrinsic function"),
            Some(Text::Expression(expression)) => match evaluate(expression, field, raw, env)? {
                Value::String(text) => Ok(text),
                other => Err(wrong_value(expression, field, "a string", &other)),
            },
        }
    };
    Ok(StatesError::new(
        text(error, "Error")?,
        text(cause, "Cause")?,
    ))
}

fn count(spec: &Count, input: &Value, env: Env<'_>, field: &str) -> Result<u64, StatesError> {
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
                Some(n) if n < 0 => Err(StatesError::runtime(format!(
                    "{name} cannot be negative."
                ))),
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

fn percentage(spec: &Percentage, input: &Value, env: Env<'_>) -> Result<f64, StatesError> {
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

/// The event names and shared fields of one task's events.
struct TaskEvents {
    direct_lambda: bool,
    resource_type: &'static str,
    resource: &'static str,
}

impl TaskEvents {
    fn new(resource: &Resource) -> Self {
        let (direct_lambda, resource_type, resource) = match resource {
            Resource::LambdaFunction(_) => (true, "lambda", "invoke"),
            Resource::LambdaInvoke => (false, "lambda", "invoke"),
            Resource::SnsPublish => (false, "sns", "publish"),
        };
        Self {
            direct_lambda,
            resource_type,
            resource,
        }
    }

    /// `TaskScheduled`, or `LambdaFunctionScheduled` for a function ARN resource.
    fn kind(&self, what: &str) -> String {
        let prefix = if self.direct_lambda {
            "LambdaFunction"
        } else {
            "Task"
        };
        format!("{prefix}{what}")
    }

    /// `extra`'s fields, plus `resourceType` and `resource`, which every Task* event
    /// carries (LambdaFunction* events do not).
    fn details(&self, extra: Value) -> Value {
        let mut details = extra;
        if !self.direct_lambda {
            details["resourceType"] = json!(self.resource_type);
            details["resource"] = json!(self.resource);
        }
        details
    }
}

/// The invoker call a Task's resource and payload ask for.
fn task_call(resource: &Resource, payload: &Value) -> Result<TaskCall, StatesError> {
    let invalid = |service: &str, why: String| {
        StatesError::new(format!("{service}.InvalidParameterException"), why)
    };
    match resource {
        Resource::LambdaFunction(arn) => Ok(TaskCall::Lambda {
            function: arn.clone(),
            payload: payload.clone(),
        }),
        Resource::LambdaInvoke => {
            let function = payload
                .get("FunctionName")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("Lambda", "FunctionName must be a string".into()))?;
            let payload = match payload.get("Payload") {
                Some(Value::String(text)) => {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
                }
                Some(value) => value.clone(),
                None => json!({}),
            };
            Ok(TaskCall::Lambda {
                function: function.to_string(),
                payload,
            })
        }
        Resource::SnsPublish => {
            let topic_arn = payload
                .get("TopicArn")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("SNS", "TopicArn must be a string".into()))?;
            let message = match payload.get("Message") {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => return Err(invalid("SNS", "Message is required".into())),
            };
            let subject = match payload.get("Subject") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(other) => {
                    return Err(invalid(
                        "SNS",
                        format!("Subject must be a string, got {}", kind_of(other)),
                    ));
                }
            };
            Ok(TaskCall::SnsPublish {
                topic_arn: topic_arn.to_string(),
                subject,
                message,
            })
        }
    }
}

/// The result a Task state sees: the function's own output for a function ARN, AWS's
/// response envelope for the service integrations.
fn wrap_result(resource: &Resource, result: Value) -> Result<Value, StatesError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let http = |headers: Value| json!({ "HttpHeaders": headers, "HttpStatusCode": 200 });
    Ok(match resource {
        Resource::LambdaFunction(_) => result,
        Resource::LambdaInvoke => json!({
            "ExecutedVersion": "$LATEST",
            "Payload": result,
            "SdkHttpMetadata": http(json!({
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id,
            })),
            "SdkResponseMetadata": { "RequestId": request_id },
            "StatusCode": 200,
        }),
        Resource::SnsPublish => {
            let message_id = match result {
                Value::String(id) => id,
                other => other.to_string(),
            };
            json!({
                "MessageId": message_id,
                "SdkHttpMetadata": http(json!({ "Content-Type": "text/xml", "x-amzn-RequestId": request_id })),
                "SdkResponseMetadata": { "RequestId": request_id },
            })
        }
    })
}

/// A failed call as the state machine sees it. A function's own error keeps its
/// `errorType` as the error name and becomes a JSON cause, as Lambda reports it.
fn invoke_error(error: InvokeError) -> StatesError {
    match error {
        InvokeError::Function {
            error_type,
            error_message,
        } => {
            let cause =
                json!({ "errorType": error_type, "errorMessage": error_message }).to_string();
            StatesError::new(error_type, cause)
        }
        InvokeError::Service { error, cause } => StatesError::new(error, cause),
    }
}
