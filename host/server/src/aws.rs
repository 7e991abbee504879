//! `engine = "aws"`: executions on AWS Step Functions (or an emulator) through
//! aws-sdk-sfn: StartExecution, DescribeExecution, GetExecutionHistory and
//! ListExecutions, answered in the same JSON shapes as the local engine's.

use anyhow::Context;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use cafe_report_asl::{StartError, StartExecution, Status, format_timestamp};
use cafe_report_capabilities::signer::Credentials;
use serde_json::{Map, Value, json};

use super::service::{ExecutionService, Identity, StartFailure, Started};
use super::store::{AlreadyExists, Page};

/// One state machine on Step Functions.
#[derive(Debug, Clone)]
pub struct AwsExecutions {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl AwsExecutions {
    /// Executions of `state_machine_arn` (its region is the client's), at `endpoint`
    /// (AWS's when `None`).
    pub fn new(
        state_machine_arn: &str,
        endpoint: Option<&str>,
        credentials: &Credentials,
    ) -> anyhow::Result<AwsExecutions> {
        let region = state_machine_arn
            .split(':')
            .nth(3)
            .filter(|r| state_machine_arn.contains(":stateMachine:") && !r.is_empty())
            .with_context(|| format!("{state_machine_arn:?} is not a state machine ARN"))?;
        let mut builder = aws_sdk_sfn::config::Builder::new()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(aws_sdk_sfn::config::Region::new(region.to_string()))
            .credentials_provider(credentials.for_sdk());
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(AwsExecutions {
            client: aws_sdk_sfn::Client::from_conf(builder.build()),
            state_machine_arn: state_machine_arn.to_string(),
        })
    }

    /// An execution's ARN from its ARN or its name; `None` for an ARN of another state
    /// machine's execution, which this server does not serve.
    fn execution_arn(&self, id: &str) -> Option<String> {
        let prefix = format!(
            "{}:",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        );
        if !id.starts_with("arn:") {
            return Some(format!("{prefix}{id}"));
        }
        let name = id.strip_prefix(&prefix)?;
        (!name.is_empty() && !name.contains(':')).then(|| id.to_string())
    }

    /// Whether the caller may see the execution: an administrator always; anyone else
    /// when the execution's input names them as its recipient (serve and API Gateway
    /// both set it from the caller's identity).
    fn sees(caller: &Identity, description: &Map<String, Value>) -> bool {
        if caller.admin {
            return true;
        }
        let recipient = description
            .get("input")
            .and_then(Value::as_str)
            .and_then(|input| serde_json::from_str::<Value>(input).ok())
            .and_then(|input| input.get(cafe_report_runtime::RECIPIENT_FIELD).cloned());
        matches!((recipient, &caller.email), (Some(Value::String(to)), Some(email)) if to.eq_ignore_ascii_case(email))
    }
}

#[async_trait::async_trait]
impl ExecutionService for AwsExecutions {
    async fn start(
        &self,
        request: StartExecution,
        _caller: &Identity,
    ) -> Result<Started, StartFailure> {
        let name = request
            .name
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let started = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(&name)
            .input(request.input.unwrap_or_else(|| "{}".into()))
            .send()
            .await
            .map_err(|err| {
                let message = err.message().unwrap_or_default().to_string();
                match err.code() {
                    Some("InvalidName") => StartFailure::Invalid(StartError::InvalidName(message)),
                    Some("InvalidExecutionInput") => {
                        StartFailure::Invalid(StartError::InvalidExecutionInput(message))
                    }
                    Some("ExecutionAlreadyExists") => {
                        StartFailure::AlreadyExists(AlreadyExists(name.clone()))
                    }
                    _ => StartFailure::Backend(anyhow::anyhow!(
                        "StartExecution: {}",
                        cafe_report_capabilities::error_text(&err)
                    )),
                }
            })?;
        Ok(Started {
            execution_arn: started.execution_arn().to_string(),
            start_date: timestamp(started.start_date()),
        })
    }

    async fn describe(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Value>> {
        let Some(arn) = self.execution_arn(id) else {
            return Ok(None);
        };
        let described = match self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(described) => described,
            Err(err) if err.code() == Some("ExecutionDoesNotExist") => return Ok(None),
            Err(err) => anyhow::bail!(
                "DescribeExecution: {}",
                cafe_report_capabilities::error_text(&err)
            ),
        };
        let mut description = object([
            ("executionArn", Some(described.execution_arn())),
            ("stateMachineArn", Some(described.state_machine_arn())),
            ("name", described.name()),
            ("status", Some(described.status().as_str())),
            ("input", described.input()),
            ("output", described.output()),
            ("error", described.error()),
            ("cause", described.cause()),
        ]);
        description.insert("startDate".into(), timestamp(described.start_date()).into());
        if let Some(stop) = described.stop_date() {
            description.insert("stopDate".into(), timestamp(stop).into());
        }
        description.insert("inputDetails".into(), json!({ "included": true }));
        if described.output().is_some() {
            description.insert("outputDetails".into(), json!({ "included": true }));
        }
        if described.state_machine_arn() != self.state_machine_arn
            || !Self::sees(caller, &description)
        {
            return Ok(None);
        }
        Ok(Some(Value::Object(description)))
    }

    async fn history(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Vec<Value>>> {
        let Some(arn) = self.execution_arn(id) else {
            return Ok(None);
        };
        if self.describe(&arn, caller).await?.is_none() {
            return Ok(None);
        }
        let mut events = Vec::new();
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => events.extend(page.events().iter().map(event_json)),
                Err(err) if err.code() == Some("ExecutionDoesNotExist") => return Ok(None),
                Err(err) => anyhow::bail!(
                    "GetExecutionHistory: {}",
                    cafe_report_capabilities::error_text(&err)
                ),
            }
        }
        Ok(Some(events))
    }

    /// DescribeStateMachine's definition: every execution served is of that machine.
    async fn definition(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Value>> {
        if self.describe(id, caller).await?.is_none() {
            return Ok(None);
        }
        let machine = self
            .client
            .describe_state_machine()
            .state_machine_arn(&self.state_machine_arn)
            .send()
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "DescribeStateMachine: {}",
                    cafe_report_capabilities::error_text(&err)
                )
            })?;
        let definition = serde_json::from_str(machine.definition())
            .context("the state machine's definition is not JSON")?;
        Ok(Some(definition))
    }

    /// A page as Step Functions lists it; for a caller who is not an administrator, only
    /// the executions they may see (so a page may hold fewer than `max`).
    async fn list(
        &self,
        status: Option<Status>,
        max: usize,
        token: Option<String>,
        caller: &Identity,
    ) -> anyhow::Result<Page> {
        let status = status.map(|s| ExecutionStatus::from(s.to_string().as_str()));
        let listed = self
            .client
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .set_status_filter(status)
            .max_results(i32::try_from(max).unwrap_or(1000))
            .set_next_token(token)
            .send()
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "ListExecutions: {}",
                    cafe_report_capabilities::error_text(&err)
                )
            })?;
        let executions = listed
            .executions()
            .iter()
            .map(|item| {
                let mut entry = object([
                    ("executionArn", Some(item.execution_arn())),
                    ("stateMachineArn", Some(item.state_machine_arn())),
                    ("name", Some(item.name())),
                    ("status", Some(item.status().as_str())),
                ]);
                entry.insert("startDate".into(), timestamp(item.start_date()).into());
                if let Some(stop) = item.stop_date() {
                    entry.insert("stopDate".into(), timestamp(stop).into());
                }
                Value::Object(entry)
            })
            .collect::<Vec<Value>>();
        let executions = if caller.admin {
            executions
        } else {
            let mut seen = Vec::new();
            for item in executions {
                let arn = item["executionArn"].as_str().unwrap_or_default();
                if self.describe(arn, caller).await?.is_some() {
                    seen.push(item);
                }
            }
            seen
        };
        Ok(Page {
            executions,
            next_token: listed.next_token().map(str::to_string),
        })
    }
}

/// `2026-11-29T12:00:00.123Z`, as the local engine writes dates.
fn timestamp(at: &DateTime) -> String {
    let nanos = i128::from(at.to_millis().unwrap_or_default()) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map(format_timestamp)
        .unwrap_or_default()
}

/// A JSON object of the fields that are present.
fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_string(), Value::String(value?.to_string()))))
        .collect()
}

/// One history event in GetExecutionHistory's JSON shape: the common fields and the
/// details of the event types the report workflow produces (the others keep their type).
fn event_json(event: &HistoryEvent) -> Value {
    let mut json = Map::new();
    json.insert("id".into(), event.id().into());
    json.insert("previousEventId".into(), event.previous_event_id().into());
    json.insert("timestamp".into(), timestamp(event.timestamp()).into());
    json.insert("type".into(), event.r#type().as_str().into());
    let details = [
        (
            "executionStartedEventDetails",
            event
                .execution_started_event_details()
                .map(|d| object([("input", d.input()), ("roleArn", d.role_arn())])),
        ),
        (
            "executionSucceededEventDetails",
            event
                .execution_succeeded_event_details()
                .map(|d| object([("output", d.output())])),
        ),
        (
            "executionFailedEventDetails",
            event
                .execution_failed_event_details()
                .map(|d| object([("error", d.error()), ("cause", d.cause())])),
        ),
        (
            "executionTimedOutEventDetails",
            event
                .execution_timed_out_event_details()
                .map(|d| object([("error", d.error()), ("cause", d.cause())])),
        ),
        (
            "stateEnteredEventDetails",
            event
                .state_entered_event_details()
                .map(|d| object([("name", Some(d.name())), ("input", d.input())])),
        ),
        (
            "stateExitedEventDetails",
            event
                .state_exited_event_details()
                .map(|d| object([("name", Some(d.name())), ("output", d.output())])),
        ),
        (
            "taskScheduledEventDetails",
            event.task_scheduled_event_details().map(|d| {
                object([
                    ("resourceType", Some(d.resource_type())),
                    ("resource", Some(d.resource())),
                    ("region", Some(d.region())),
                    ("parameters", Some(d.parameters())),
                ])
            }),
        ),
        (
            "taskStartedEventDetails",
            event.task_started_event_details().map(|d| {
                object([
                    ("resourceType", Some(d.resource_type())),
                    ("resource", Some(d.resource())),
                ])
            }),
        ),
        (
            "taskSucceededEventDetails",
            event.task_succeeded_event_details().map(|d| {
                object([
                    ("resourceType", Some(d.resource_type())),
                    ("resource", Some(d.resource())),
                    ("output", d.output()),
                ])
            }),
        ),
        (
            "taskFailedEventDetails",
            event.task_failed_event_details().map(|d| {
                object([
                    ("resourceType", Some(d.resource_type())),
                    ("resource", Some(d.resource())),
                    ("error", d.error()),
                    ("cause", d.cause()),
                ])
            }),
        ),
        (
            "taskTimedOutEventDetails",
            event.task_timed_out_event_details().map(|d| {
                object([
                    ("resourceType", Some(d.resource_type())),
                    ("resource", Some(d.resource())),
                    ("error", d.error()),
                    ("cause", d.cause()),
                ])
            }),
        ),
    ];
    for (key, value) in details {
        if let Some(value) = value {
            json.insert(key.to_string(), Value::Object(value));
        }
    }
    Value::Object(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_milliseconds_and_a_z() {
        let at = DateTime::from_millis(1_795_952_000_664);
        assert_eq!(timestamp(&at), "2026-11-29T11:33:20.664Z");
        assert_eq!(
            timestamp(&DateTime::from_secs(1_795_952_000)),
            "2026-11-29T11:33:20.000Z"
        );
    }

    #[test]
    fn names_become_execution_arns() {
        let credentials = Credentials {
            access_key_id: "a".into(),
            secret_access_key: "s".into(),
            session_token: None,
            region: "us-east-1".into(),
        };
        let aws = AwsExecutions::new(
            "arn:aws:states:eu-west-1:123456789012:stateMachine:cafe-report",
            None,
            &credentials,
        )
        .unwrap();
        let own = "arn:aws:states:eu-west-1:123456789012:execution:cafe-report:r1";
        assert_eq!(aws.execution_arn("r1").as_deref(), Some(own));
        assert_eq!(aws.execution_arn(own).as_deref(), Some(own));
        // Executions of other state machines (or other accounts, or a map run's) are not
        // this server's.
        for foreign in [
            "arn:x",
            "arn:aws:states:eu-west-1:123456789012:execution:cafe-report-other:r1",
            "arn:aws:states:eu-west-1:999999999999:execution:cafe-report:r1",
            "arn:aws:states:eu-west-1:123456789012:execution:cafe-report:r1:extra",
            "arn:aws:states:eu-west-1:123456789012:execution:cafe-report:",
        ] {
            assert_eq!(aws.execution_arn(foreign), None, "{foreign}");
        }
        let err = AwsExecutions::new("arn:aws:sns:us-east-1:1:t", None, &credentials).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"arn:aws:sns:us-east-1:1:t\" is not a state machine ARN"
        );
    }
}
