//! Task states: the invoker call a resource and payload ask for, its events
//! (`TaskScheduled`... or `LambdaFunction...`), timeouts, and the result AWS wraps it in.

use std::time::Duration;

use futures_util::future::{Either, select};
use serde_json::{Value, json};

use crate::definition::{Resource, TaskSpec};
use crate::error::{StatesError, names};
use crate::history::not_truncated;
use crate::invoker::{InvokeError, TaskCall};
use crate::limits::check_size;
use crate::mocks::MockedResponse;
use crate::path::kind_of;
use crate::timestamp;
use crate::tokens::{Callback, Wait};
use crate::variables::Env;

use super::dynamic::seconds;
use super::{Runner, error_details};

impl Runner<'_> {
    pub(super) async fn task(
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
        // `None`: an integration this engine cannot reach (only a mock answers it).
        let call = task_call(&spec.resource, &payload)?;
        let events = TaskEvents::new(&spec.resource, spec.wait_for_token);
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
        if let (Some(extra), Value::Object(details)) = (
            call.as_ref()
                .and_then(|call| self.exec.engine.invoker.annotate(call)),
            &mut scheduled,
        ) {
            details.extend(extra);
        }
        let scheduled_id = self.event(cursor, &events.kind("Scheduled"), Some(scheduled));
        let key = format!(
            "{}/{}/{scheduled_id}",
            self.exec.arn(),
            env.context["State"]["Name"].as_str().unwrap_or_default()
        );
        let started = (!events.direct_lambda).then(|| events.details(json!({})));
        let started_id = self.event(cursor, &events.kind("Started"), started);
        // Registered before the call, so a callback sent while it runs is not lost.
        let mut callback = spec.wait_for_token.then(|| {
            let token = env.context["Task"]["Token"].as_str().unwrap_or_default();
            self.exec.engine.tokens.wait(token)
        });

        let limit = [
            (timeout, names::TIMEOUT),
            (heartbeat, names::HEARTBEAT_TIMEOUT),
        ]
        .into_iter()
        .filter_map(|(seconds, name)| seconds.map(|s| (s, name)))
        .min_by_key(|(seconds, _)| *seconds);
        // A resumed execution does not call a task again whose end is recorded: the
        // recorded result (or error) is the task's.
        // Counted at every call, replayed or not, so a resumed execution's counts match.
        let mocked = self
            .exec
            .mocked(env.context["State"]["Name"].as_str().unwrap_or_default());
        let mut submitted = false;
        if let Some(recorded) = self.history.recorded_after(*cursor)
            && callback.is_some()
            && recorded.kind == events.kind("Submitted")
        {
            // Called before the restart: the callback is what it waits for now.
            self.event(cursor, &recorded.kind, recorded.details().cloned());
            submitted = true;
        }
        if let Some(ended) = self.history.recorded_after(*cursor) {
            let ended_as = |what: &str| ended.kind == events.kind(what);
            let details = ended.details().cloned().unwrap_or_default();
            let text = |key: &str| details[key].as_str().unwrap_or_default().to_string();
            if ended_as("Succeeded")
                && let Ok(result) = serde_json::from_str::<Value>(&text("output"))
            {
                self.event(cursor, &ended.kind, Some(details));
                return Ok(result);
            }
            if ended_as("Failed") || ended_as("TimedOut") {
                self.event(cursor, &ended.kind, Some(details.clone()));
                return Err(StatesError::new(text("error"), text("cause")));
            }
        }
        if let Some(mocked) = mocked {
            return self.mocked(mocked, &events, cursor);
        }
        let Some(call) = call else {
            let error = StatesError::new(
                names::TASK_FAILED,
                format!(
                    "The local engine cannot reach the integration {}: it runs Lambda functions (as components) and sns:publish. Answer this state with a mock test case ([sfn] mock_config)",
                    spec.resource_arn()
                ),
            );
            let details = events.details(error_details(&error));
            self.event(cursor, &events.kind("Failed"), Some(details));
            return Err(error);
        };
        if let Some(wait) = &mut callback {
            if !submitted {
                let output = self.call(call, &key, limit, spec, &events, cursor).await?;
                let details = events.details(
                    json!({ "output": output.to_string(), "outputDetails": not_truncated() }),
                );
                self.event(cursor, &events.kind("Submitted"), Some(details));
            }
            return self
                .callback(wait, timeout, heartbeat, started_id, &events, cursor)
                .await;
        }
        let result = self.call(call, &key, limit, spec, &events, cursor).await?;
        let text = result.to_string();
        match check_size("task's result", &text) {
            Ok(()) => {
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

    /// A mocked call's answer, recorded as the call's would be: `Return` is the task's
    /// result as the service answers it (no envelope added), `Throw` its error. Nothing
    /// outside the engine acts, so nothing waits for the journal.
    fn mocked(
        &self,
        mocked: MockedResponse,
        events: &TaskEvents,
        cursor: &mut u64,
    ) -> Result<Value, StatesError> {
        match mocked {
            MockedResponse::Return(result) => {
                let text = result.to_string();
                let kind = events.kind("Succeeded");
                let details = match check_size("task's result", &text) {
                    Ok(()) => json!({ "output": text, "outputDetails": not_truncated() }),
                    Err(error) => {
                        let details = events.details(error_details(&error));
                        self.event(cursor, &events.kind("Failed"), Some(details));
                        return Err(error);
                    }
                };
                self.event(cursor, &kind, Some(events.details(details)));
                Ok(result)
            }
            MockedResponse::Throw { error, cause } => {
                let error = StatesError::new(error, cause);
                let details = events.details(error_details(&error));
                self.event(cursor, &events.kind("Failed"), Some(details));
                Err(error)
            }
        }
    }

    /// Calls the task (once its events are kept) within `limit`; its result, in AWS's
    /// envelope for the integrations.
    async fn call(
        &self,
        call: TaskCall,
        key: &str,
        limit: Option<(u64, &'static str)>,
        spec: &TaskSpec,
        events: &TaskEvents,
        cursor: &mut u64,
    ) -> Result<Value, StatesError> {
        self.keep().await;
        let invocation = self.exec.engine.invoker.invoke_once(call, key);
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
            Ok(result) => wrap_result(&spec.resource, result, &self.exec.engine.random.uuid()),
            Err(err) => Err(invoke_error(err)),
        };
        result.inspect_err(|error| {
            let details = events.details(error_details(error));
            self.event(cursor, &events.kind("Failed"), Some(details));
        })
    }

    /// Waits for the callback on a task's token: SendTaskSuccess's output, or
    /// SendTaskFailure's error, within the task's `TimeoutSeconds` (counted from its
    /// start, also across a restart) and `HeartbeatSeconds` (from the last heartbeat).
    async fn callback(
        &self,
        wait: &mut Wait,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        started_id: u64,
        events: &TaskEvents,
        cursor: &mut u64,
    ) -> Result<Value, StatesError> {
        // Kept before waiting: a restart waits again instead of calling again.
        self.keep().await;
        let clock = &self.exec.engine.clock;
        let started = self
            .history
            .timestamp(started_id)
            .and_then(|at| timestamp::parse(&at))
            .unwrap_or_else(|| clock.now());
        let deadline = timeout.map(|seconds| started + time::Duration::seconds(seconds as i64));
        let left = |until: time::OffsetDateTime| {
            Duration::try_from(until - clock.now()).unwrap_or_default()
        };
        let timed_out = |name: &str| {
            // AWS gives the error alone (test_sqs_wait_for_task_token_timeout).
            let error = StatesError::new(name, "");
            let details = events.details(error_details(&error));
            (error, details)
        };
        let outcome = loop {
            let beat_until = heartbeat.map(|s| clock.now() + time::Duration::seconds(s as i64));
            let sleep_until = |until: Option<time::OffsetDateTime>| async move {
                match until {
                    Some(until) => clock.sleep(left(until)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                next = wait.next() => match next {
                    Some(callback) => break Ok(callback),
                    None => continue,
                },
                () = sleep_until(deadline) => break Err(names::TIMEOUT),
                () = sleep_until(beat_until) => break Err(names::HEARTBEAT_TIMEOUT),
            }
        };
        match outcome {
            Ok(Callback::Success(output)) => {
                let result = serde_json::from_str(&output).unwrap_or(Value::String(output.clone()));
                let details =
                    events.details(json!({ "output": output, "outputDetails": not_truncated() }));
                self.event(cursor, &events.kind("Succeeded"), Some(details));
                Ok(result)
            }
            Ok(Callback::Failure { error, cause }) => {
                let error = StatesError::new(error, cause);
                let details = events.details(error_details(&error));
                self.event(cursor, &events.kind("Failed"), Some(details));
                Err(error)
            }
            Err(name) => {
                let (error, details) = timed_out(name);
                self.event(cursor, &events.kind("TimedOut"), Some(details));
                Err(error)
            }
        }
    }
}

/// The event names and shared fields of one task's events.
pub(super) struct TaskEvents {
    direct_lambda: bool,
    resource_type: String,
    resource: String,
}

impl TaskEvents {
    fn new(resource: &Resource, wait_for_token: bool) -> Self {
        let (direct_lambda, resource_type, resource) = match (resource, wait_for_token) {
            (Resource::LambdaFunction(_), _) => (true, "lambda", "invoke"),
            (Resource::LambdaInvoke, false) => (false, "lambda", "invoke"),
            (Resource::LambdaInvoke, true) => (false, "lambda", "invoke.waitForTaskToken"),
            (Resource::SnsPublish, false) => (false, "sns", "publish"),
            (Resource::SnsPublish, true) => (false, "sns", "publish.waitForTaskToken"),
            (
                Resource::Other {
                    resource_type,
                    resource,
                    ..
                },
                _,
            ) => (false, resource_type.as_str(), resource.as_str()),
        };
        Self {
            direct_lambda,
            resource_type: resource_type.to_string(),
            resource: resource.to_string(),
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
pub(super) fn task_call(
    resource: &Resource,
    payload: &Value,
) -> Result<Option<TaskCall>, StatesError> {
    let invalid = |service: &str, why: String| {
        StatesError::new(format!("{service}.InvalidParameterException"), why)
    };
    match resource {
        Resource::LambdaFunction(arn) => Ok(Some(TaskCall::Lambda {
            function: arn.clone(),
            payload: payload.clone(),
        })),
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
            Ok(Some(TaskCall::Lambda {
                function: function.to_string(),
                payload,
            }))
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
            let attributes = match payload.get("MessageAttributes") {
                None | Some(Value::Null) => Default::default(),
                Some(value) => message_attributes(value).map_err(|why| invalid("SNS", why))?,
            };
            Ok(Some(TaskCall::SnsPublish {
                topic_arn: topic_arn.to_string(),
                subject,
                message,
                attributes,
            }))
        }
        Resource::Other { .. } => Ok(None),
    }
}

/// SNS `MessageAttributes` (`{"name": {"DataType": "String", "StringValue": "..."}}`) as
/// name -> value. Only string attributes are taken (`String`, `String.*`, `Number`); binary
/// ones have no use in an email.
fn message_attributes(value: &Value) -> Result<std::collections::BTreeMap<String, String>, String> {
    let Value::Object(attributes) = value else {
        return Err(format!(
            "MessageAttributes must be an object, got {}",
            kind_of(value)
        ));
    };
    attributes
        .iter()
        .map(|(name, attribute)| {
            let data_type = attribute.get("DataType").and_then(Value::as_str);
            let string = attribute.get("StringValue").and_then(Value::as_str);
            match (data_type, string) {
                (Some(kind), Some(text)) if kind.starts_with("String") || kind.starts_with("Number") => {
                    Ok((name.clone(), text.to_string()))
                }
                _ => Err(format!(
                    "The message attribute '{name}' must have a DataType of String or Number and a StringValue"
                )),
            }
        })
        .collect()
}

/// The result a Task state sees: the function's own output for a function ARN, AWS's
/// response envelope for the service integrations.
pub(super) fn wrap_result(
    resource: &Resource,
    result: Value,
    request_id: &str,
) -> Result<Value, StatesError> {
    let http = |headers: Value| json!({ "HttpHeaders": headers, "HttpStatusCode": 200 });
    Ok(match resource {
        // Never called: only a mock answers them, with the whole answer.
        Resource::LambdaFunction(_) | Resource::Other { .. } => result,
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
pub(super) fn invoke_error(error: InvokeError) -> StatesError {
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
