//! Parallel and Map states: branches and iterations, with the events AWS records for
//! them and chains as AWS chains them, tolerated failures, and distributed map runs.

use futures_util::future::try_join_all;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use crate::definition::{Language, MapSpec, State, States};
use crate::error::{Recorded, StatesError, names};
use crate::history::History;
use crate::jsonata::bindings;
use crate::path::kind_of;
use crate::variables::{Env, Variables};

use super::Runner;
use super::dynamic::{count, jsonata_type, percentage};

impl Runner<'_> {
    pub(super) async fn parallel(
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

    pub(super) async fn map(
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
            let label = spec
                .label
                .clone()
                .unwrap_or_else(|| self.exec.engine.random.uuid());
            let arn = format!(
                "arn:aws:states:{}:{}:mapRun:{}/{label}:{}",
                self.exec.engine.region,
                self.exec.engine.account,
                self.exec.state_machine_name(),
                self.exec.engine.random.uuid()
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
        // The map's end events follow the map run's end, written then, or `at`.
        let end_run = |cursor: &mut u64, kind: &str, at: u64| match map_run {
            Some(run) => {
                *cursor = run;
                self.event(cursor, kind, None);
            }
            None => *cursor = at,
        };
        while let Some((index, result, at, end)) = running.next().await {
            last_end = last_end.max(end);
            match result {
                Ok(output) => outputs[index] = output,
                Err(error) => {
                    failures += 1;
                    outputs[index] = error.to_output();
                    if !error.is_recoverable() || exceeded(failures) {
                        drop(running);
                        // `MapStateFailed` is the state's to write, after this iteration's
                        // last event (or the map run's end), unless it retries
                        // (test_map_state_retry).
                        end_run(cursor, "MapRunFailed", at);
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
                }
            }
        }
        // `MapStateSucceeded` and the state's exit both follow the last iteration's end
        // (or the map run's).
        end_run(cursor, "MapRunSucceeded", last_end);
        self.event(&mut cursor.clone(), "MapStateSucceeded", None);
        Ok(Value::Array(outputs))
    }
}
