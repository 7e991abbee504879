//! The interpreter: runs states in AWS's order of input/output processing, applies Retry
//! and Catch, and records every step in the history.

mod dynamic;
mod map;
mod task;

use cafe_report_base::random::Random;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use serde_json::{Value, json};

use crate::definition::{
    Assign, Catcher, ChoiceRule, Kind, Language, Retrier, State, States, Text, WaitFor,
};
use crate::error::{Recorded, StatesError, names};
use crate::execution::{Execution, Stop};
use crate::history::{History, details_key, not_truncated};
use crate::invoker::BoxFuture;
use crate::jsonata::{self, bindings};
use crate::limits::{check_size, check_state_size};
use crate::timestamp;
use crate::variables::{Assignment, Env, Variables};

use dynamic::{evaluate, wrong_value};

/// How an execution ended.
pub(crate) enum Ending {
    Succeeded(String),
    Failed(StatesError),
    TimedOut(StatesError),
    Aborted(Stop),
}

/// Runs a whole execution, from `ExecutionStarted` to its last event.
pub(crate) async fn execution(exec: &Execution) -> Ending {
    let runner = Runner::new(exec);
    // AWS chains the first state's entry to event 0, not to `ExecutionStarted`.
    let mut cursor = 0;
    runner.event(&mut 0, "ExecutionStarted", Some(exec.started_details()));
    let ran = async {
        let body = runner.scope(
            &exec.machine.states,
            exec.input.clone(),
            Variables::default(),
            &mut cursor,
        );
        match exec.machine.timeout_seconds {
            Some(seconds) => {
                // Counted from the execution's start (a resumed one's original start).
                let ran = (exec.engine.clock.now() - exec.start).max(time::Duration::ZERO);
                let left =
                    Duration::from_secs(seconds).saturating_sub(ran.try_into().unwrap_or_default());
                match select(body, exec.engine.clock.sleep(left)).await {
                    Either::Left((result, _)) => Some(result),
                    Either::Right(_) => None,
                }
            }
            None => Some(body.await),
        }
    };
    // A stop is looked at first, so an execution stopped before it ran takes no step.
    let result = match select(pin!(exec.stopped()), pin!(ran)).await {
        Either::Left((stop, _)) => {
            // AWS chains the abort to what the last event was chained to
            // (test_stop_execution: a Wait entered as event 2 after 0, the abort after 0).
            let mut after = exec
                .history
                .snapshot()
                .last()
                .map_or(0, |event| event.previous_event_id);
            runner.event(&mut after, "ExecutionAborted", Some(stop_details(&stop)));
            return Ending::Aborted(stop);
        }
        Either::Right((result, _)) => result,
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

/// [`Runner::keep`] for an execution.
pub(crate) async fn keep(exec: &Execution) {
    if let Some(journal) = &exec.engine.journal {
        exec.history
            .keep(&**journal, exec.arn(), &*exec.engine.clock)
            .await;
    }
}

/// StopExecution's `error` and `cause`, each left out when not given.
fn stop_details(stop: &Stop) -> Value {
    let mut details = serde_json::Map::new();
    if let Some(error) = &stop.error {
        details.insert("error".into(), json!(error));
    }
    if let Some(cause) = &stop.cause {
        details.insert("cause".into(), json!(cause));
    }
    Value::Object(details)
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

    /// Waits until the execution's events so far are kept by the engine's journal, if it
    /// has one: called before every step with an effect outside the engine (a task
    /// call, a sleep, the end), so a crash never loses a step that had one.
    async fn keep(&self) {
        keep(self.exec).await;
    }

    /// Sleeps for `delay` after event `cursor` (a retry's backoff): not at all when a
    /// replay shows the sleep already ended (the branch went on after it).
    async fn sleep(&self, delay: Duration, cursor: u64) {
        if self.history.recorded_after(cursor).is_some() {
            return;
        }
        self.keep().await;
        self.exec.engine.clock.sleep(delay).await;
    }

    /// A Wait state's sleep. A relative wait (`Seconds…`) ends `delay` after the state
    /// was entered, so a resumed execution waits only what was left; a wait until a
    /// timestamp has its `delay` counted from now already.
    async fn wait(&self, wait: &WaitFor, delay: Duration, env: &Env<'_>, cursor: u64) {
        let relative = !matches!(
            wait,
            WaitFor::Timestamp(_) | WaitFor::TimestampPath(_) | WaitFor::TimestampExpression(_)
        );
        let entered = env.context["State"]["EnteredTime"]
            .as_str()
            .and_then(timestamp::parse);
        let left = match entered {
            Some(at) if relative => {
                let waited = (self.exec.engine.clock.now() - at).max(time::Duration::ZERO);
                delay.saturating_sub(waited.try_into().unwrap_or_default())
            }
            _ => delay,
        };
        self.sleep(left, cursor).await;
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
        let entered = json!({ "name": state.name, "input": raw.to_string(), "inputDetails": not_truncated() });
        let before = *cursor;
        let entered_id = self.event(cursor, &format!("{prefix}StateEntered"), Some(entered));
        // The entered event's own time: a resumed execution's is the recorded one.
        let entered_time = self
            .history
            .timestamp(entered_id)
            .unwrap_or_else(|| timestamp::format(self.exec.engine.clock.now()));

        let mut attempts = vec![0u64; state.retry.len()];
        let mut retry_count = 0;
        let (done, output_text) = loop {
            let context = self.context(state, &entered_time, entered_id, retry_count);
            let env = Env {
                context: &context,
                variables,
                random: &*self.exec.engine.random,
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
                retry_delay(
                    &state.retry,
                    &mut attempts,
                    &error,
                    &*self.exec.engine.random,
                )
            } else {
                None
            };
            // A retried state records nothing of the failure (no Map/ParallelStateFailed).
            if let Some(delay) = retry {
                retry_count += 1;
                self.sleep(delay, *cursor).await;
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
    fn record_failure(
        &self,
        state: &State,
        error: &mut StatesError,
        before: u64,
        cursor: &mut u64,
    ) {
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

    fn context(
        &self,
        state: &State,
        entered_time: &str,
        entered_id: u64,
        retry_count: u64,
    ) -> Value {
        let mut context = self.base_context.clone();
        // AWS's Pass states show only `Name` and `EnteredTime` (test_output_path[$$],
        // BASE_EXPR); `RetryCount` belongs to the states that can retry.
        let mut current = json!({ "Name": state.name, "EnteredTime": entered_time });
        if matches!(
            state.kind,
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_)
        ) {
            current["RetryCount"] = json!(retry_count);
        }
        if let Kind::Task(spec) = &state.kind
            && spec.wait_for_token
        {
            // Its place: this execution's entered event and attempt, so a replay after
            // a restart hands out the same token.
            let place = format!("{}/{entered_id}/{retry_count}", self.exec.arn());
            context["Task"] = json!({ "Token": self.exec.engine.tokens.token_for(&place) });
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
        let inspect = |step: &str, value: &Value| self.exec.inspected(&state.name, step, value);
        inspect("input", raw);
        if state.language == Language::Jsonata {
            return self.attempt_jsonata(state, raw, env, cursor).await;
        }
        let effective = match &state.input_path {
            Some(path) => path.select_io(raw, env)?,
            None => json!({}),
        };
        // A Pass with a Result reads nothing of its input (AWS shows no step before it).
        if !matches!(state.kind, Kind::Pass { result: Some(_) }) {
            inspect("afterInputPath", &effective);
        }
        let next = state.transition.next();
        let parameters = |input: Value| {
            let rendered = match &state.parameters {
                Some(template) => template.render(&input, env),
                None => Ok(input),
            }?;
            inspect("afterParameters", &rendered);
            Ok::<Value, StatesError>(rendered)
        };
        let result = match &state.kind {
            Kind::Pass { result } => match result {
                Some(result) => {
                    inspect("result", result);
                    result.clone()
                }
                None => parameters(effective)?,
            },
            Kind::Task(spec) => {
                let payload = parameters(effective)?;
                let result = self.task(spec, payload, raw, env, cursor).await?;
                inspect("result", &result);
                result
            }
            Kind::Parallel { branches } => {
                let input = parameters(effective)?;
                let result = self
                    .parallel(branches, input, env.variables, cursor)
                    .await?;
                inspect("result", &result);
                result
            }
            Kind::Map(spec) => {
                let result = self.map(state, spec, &effective, env, cursor).await?;
                inspect("result", &result);
                result
            }
            Kind::Choice { rules, default } => {
                let branch = choose(state, rules, default.as_deref(), &effective, env)?;
                return without_result(state, Some(branch.next), branch.assign, effective, env);
            }
            Kind::Wait(wait) => {
                let delay = self.wait_for(wait, &effective, env)?;
                self.wait(wait, delay, &env, *cursor).await;
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
        inspect("afterResultSelector", &selected);
        let assigned = evaluate_assign(state.assign.as_ref(), &selected, env)?;
        let merged = match &state.result_path {
            Some(path) => path.write(raw.clone(), selected)?,
            None => raw.clone(),
        };
        inspect("afterResultPath", &merged);
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
                self.wait(wait, delay, &env, *cursor).await;
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
    random: &dyn Random,
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
        seconds *= random.unit();
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
