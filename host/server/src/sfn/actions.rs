//! The Step Functions actions, one function each: members in, answer out, errors with
//! Step Functions' names and messages (from AWS's API reference and recorded answers).

use std::sync::Arc;

use cafe_report_asl::{
    Callback, StartError, StartExecution, StateMachine, Status, Stop, TokenError,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::machines::{MachineRecord, Tag};
use super::protocol::{SfnError, check_arn, check_name, epoch, epoch_members, members, page_size};
use super::{Machine, StepFunctions};
use crate::service::{ExecutionService, StartFailure};
use crate::store::Record;

type Answer = Result<Value, SfnError>;

/// Runs `action` with its request members.
pub(super) async fn run(api: &StepFunctions, action: &str, body: Value) -> Answer {
    match action {
        "CreateStateMachine" => create_state_machine(api, members(body)?).await,
        "DescribeStateMachine" => describe_state_machine(api, members(body)?),
        "UpdateStateMachine" => update_state_machine(api, members(body)?).await,
        "DeleteStateMachine" => delete_state_machine(api, members(body)?).await,
        "ListStateMachines" => list_state_machines(api, members(body)?).await,
        "ValidateStateMachineDefinition" => validate_definition(members(body)?),
        "StartExecution" => start_execution(api, members(body)?).await,
        "StartSyncExecution" => start_sync_execution(api, members(body)?).await,
        "DescribeExecution" => describe_execution(api, members(body)?).await,
        "DescribeStateMachineForExecution" => {
            describe_state_machine_for_execution(api, members(body)?).await
        }
        "GetExecutionHistory" => get_execution_history(api, members(body)?).await,
        "ListExecutions" => list_executions(api, members(body)?).await,
        "StopExecution" => stop_execution(api, members(body)?).await,
        "SendTaskSuccess" => send_task_success(api, members(body)?),
        "SendTaskFailure" => send_task_failure(api, members(body)?),
        "SendTaskHeartbeat" => send_task_heartbeat(api, members(body)?),
        "TagResource" => tag_resource(api, members(body)?).await,
        "UntagResource" => untag_resource(api, members(body)?).await,
        "ListTagsForResource" => list_tags(api, members(body)?),
        "TestState" => super::test_state::test_state(api, members(body)?).await,
        other => Err(SfnError::new(
            "UnknownOperationException",
            format!("The local Step Functions API does not offer the action {other}"),
        )),
    }
}

fn internal(err: anyhow::Error) -> SfnError {
    SfnError::internal(&err)
}

fn now() -> String {
    cafe_report_asl::format_timestamp(time::OffsetDateTime::now_utc())
}

/// `StateMachineDoesNotExist` for `arn`, as AWS words it.
fn no_machine(arn: &str) -> SfnError {
    SfnError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

/// `ExecutionDoesNotExist` for `arn`.
fn no_execution(arn: &str) -> SfnError {
    SfnError::new(
        "ExecutionDoesNotExist",
        format!("Execution Does Not Exist: '{arn}'"),
    )
}

/// The machine with this ARN.
fn machine(api: &StepFunctions, arn: &str) -> Result<Arc<Machine>, SfnError> {
    check_arn(arn, &["stateMachine"])?;
    api.get(arn).ok_or_else(|| no_machine(arn))
}

/// The state machine ARN an execution ARN belongs to
/// (`...:execution:<machine>:<name>` -> `...:stateMachine:<machine>`).
fn machine_of(execution_arn: &str) -> String {
    let parts: Vec<&str> = execution_arn.splitn(8, ':').collect();
    match parts.as_slice() {
        [arn, partition, service, region, account, _, machine, ..] => {
            format!("{arn}:{partition}:{service}:{region}:{account}:stateMachine:{machine}")
        }
        _ => String::new(),
    }
}

/// A definition as CreateStateMachine and UpdateStateMachine check it.
fn parse_definition(definition: &str) -> Result<StateMachine, SfnError> {
    StateMachine::parse(definition).map_err(|errors| {
        let listed: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        SfnError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", listed.join(", ")),
        )
    })
}

fn check_role(role_arn: &str) -> Result<(), SfnError> {
    crate::workflow::check_role_arn(role_arn).map_err(|err| {
        let why = err.to_string();
        let why = why.strip_prefix("InvalidArn: ").unwrap_or(&why).to_string();
        SfnError::new("InvalidArn", format!("Invalid Arn: '{why}'"))
    })
}

fn logging_default() -> Value {
    json!({ "level": "OFF", "includeExecutionData": false })
}

fn tracing_default() -> Value {
    json!({ "enabled": false })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateStateMachineInput {
    name: String,
    definition: String,
    role_arn: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn create_state_machine(api: &StepFunctions, input: CreateStateMachineInput) -> Answer {
    check_name(&input.name)?;
    let kind = input.kind.unwrap_or_else(|| "STANDARD".into());
    if !matches!(kind.as_str(), "STANDARD" | "EXPRESS") {
        return Err(SfnError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
            ),
        ));
    }
    parse_definition(&input.definition)?;
    check_role(&input.role_arn)?;
    let arn = api.machine_arn(&input.name);
    let record = MachineRecord {
        state_machine_arn: arn.clone(),
        name: input.name,
        definition: input.definition,
        role_arn: input.role_arn,
        kind,
        creation_date: now(),
        update_date: None,
        revision_id: None,
        logging_configuration: input.logging_configuration.unwrap_or_else(logging_default),
        tracing_configuration: input.tracing_configuration.unwrap_or_else(tracing_default),
        tags: merged_tags(Vec::new(), input.tags),
    };
    if let Some(existing) = api.get(&arn) {
        // The same request again answers as the first did; anything different is a
        // conflict (test_create_exact_duplicate_sm, test_create_duplicate_sm_name).
        let old = &existing.record;
        let same = old.definition == record.definition
            && old.role_arn == record.role_arn
            && old.kind == record.kind
            && old.logging_configuration == record.logging_configuration
            && old.tracing_configuration == record.tracing_configuration;
        if !same {
            return Err(SfnError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        return Ok(json!({
            "stateMachineArn": arn,
            "creationDate": epoch(&old.creation_date),
        }));
    }
    let machine = api.machine(&record).map_err(internal)?;
    api.machines.put(record.clone()).await.map_err(internal)?;
    api.insert(machine);
    Ok(json!({
        "stateMachineArn": arn,
        "creationDate": epoch(&record.creation_date),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MachineInput {
    state_machine_arn: String,
}

/// DescribeStateMachine's answer for a record.
fn description(record: &MachineRecord) -> Value {
    let mut answer = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut answer {
        map.remove("tags");
        map.insert("status".into(), json!("ACTIVE"));
    }
    epoch_members(&mut answer, &["creationDate", "updateDate"]);
    answer
}

fn describe_state_machine(api: &StepFunctions, input: MachineInput) -> Answer {
    Ok(description(&machine(api, &input.state_machine_arn)?.record))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateStateMachineInput {
    state_machine_arn: String,
    definition: Option<String>,
    role_arn: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
}

async fn update_state_machine(api: &StepFunctions, input: UpdateStateMachineInput) -> Answer {
    let current = machine(api, &input.state_machine_arn)?;
    if input.definition.is_none()
        && input.role_arn.is_none()
        && input.logging_configuration.is_none()
        && input.tracing_configuration.is_none()
    {
        return Err(SfnError::new(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
        ));
    }
    if let Some(definition) = &input.definition {
        parse_definition(definition)?;
    }
    if let Some(role_arn) = &input.role_arn {
        check_role(role_arn)?;
    }
    let mut record = current.record.clone();
    record.definition = input.definition.unwrap_or(record.definition);
    record.role_arn = input.role_arn.unwrap_or(record.role_arn);
    if let Some(logging) = input.logging_configuration {
        record.logging_configuration = logging;
    }
    if let Some(tracing) = input.tracing_configuration {
        record.tracing_configuration = tracing;
    }
    record.update_date = Some(now());
    record.revision_id = Some(uuid::Uuid::new_v4().to_string());
    let workflow = api.workflow(&record).map_err(internal)?;
    api.machines.put(record.clone()).await.map_err(internal)?;
    // Running executions go on with the definition they started with.
    current.executions.replace_workflow(workflow);
    api.insert(Machine {
        record: record.clone(),
        executions: current.executions.clone(),
    });
    Ok(json!({
        "updateDate": epoch(record.update_date.as_deref().unwrap_or_default()),
        "revisionId": record.revision_id,
    }))
}

async fn delete_state_machine(api: &StepFunctions, input: MachineInput) -> Answer {
    check_arn(&input.state_machine_arn, &["stateMachine"])?;
    // Deleting what is not there succeeds (test_delete_nonexistent_sm); running
    // executions finish, and stay readable.
    api.machines
        .delete(input.state_machine_arn.clone())
        .await
        .map_err(internal)?;
    api.lock_write().remove(&input.state_machine_arn);
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// ListStateMachines' tokens: `m1.<position of the last machine listed>`.
const MACHINE_TOKEN: &str = "m1.";

async fn list_state_machines(api: &StepFunctions, input: ListInput) -> Answer {
    let max = page_size(input.max_results)?;
    SfnError::check_token(input.next_token.as_deref(), 1024)?;
    let after = match &input.next_token {
        Some(token) => token
            .strip_prefix(MACHINE_TOKEN)
            .and_then(|seq| seq.parse::<i64>().ok())
            .ok_or_else(SfnError::invalid_token)?,
        None => 0,
    };
    let all = api.machines.all().await.map_err(internal)?;
    let rest: Vec<_> = all.into_iter().filter(|(seq, _)| *seq > after).collect();
    let items: Vec<Value> = rest
        .iter()
        .take(max)
        .map(|(_, record)| {
            json!({
                "stateMachineArn": record.state_machine_arn,
                "name": record.name,
                "type": record.kind,
                "creationDate": epoch(&record.creation_date),
            })
        })
        .collect();
    let mut answer = json!({ "stateMachines": items });
    if rest.len() > max {
        answer["nextToken"] = json!(format!("{MACHINE_TOKEN}{}", rest[max - 1].0));
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateInput {
    definition: String,
}

fn validate_definition(input: ValidateInput) -> Answer {
    let diagnostics: Vec<Value> = match StateMachine::parse(&input.definition) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .0
            .iter()
            .map(|error| {
                json!({
                    "severity": "ERROR",
                    "code": error.code,
                    "message": error.message,
                    "location": if error.location.is_empty() { "/" } else { &error.location },
                })
            })
            .collect(),
    };
    Ok(json!({
        "result": if diagnostics.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
        "truncated": false,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartExecutionInput {
    state_machine_arn: String,
    name: Option<String>,
    input: Option<String>,
}

async fn start_execution(api: &StepFunctions, mut request: StartExecutionInput) -> Answer {
    // `<machine ARN>#<test case>`: an execution of the machine as a mock test case.
    let (machine_arn, case_name) = match request.state_machine_arn.split_once('#') {
        Some((arn, case)) => (arn.to_string(), Some(case.to_string())),
        None => (request.state_machine_arn.clone(), None),
    };
    let machine = machine(api, &machine_arn)?;
    if let Some(name) = &request.name {
        check_name(name)?;
    }
    let case = match &case_name {
        Some(case) => Some(api.mocked_case(&machine.record.name, case).ok_or_else(|| {
            SfnError::new(
                "ValidationException",
                format!(
                    "The mock configuration has no test case {case:?} for the state machine {:?} ([sfn] mock_config)",
                    machine.record.name
                ),
            )
        })?),
        None => None,
    };
    let caller = StepFunctions::caller();
    let input = request.input.clone().unwrap_or_else(|| "{}".into());
    if let Some(case) = &case_name {
        // Named now, so the test case is kept under the execution's ARN before it runs.
        let name = request
            .name
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
        let arn = machine.executions.workflow().execution_arn(name);
        // Not over an execution of that name that exists (a repeated start).
        if stored(api, &arn).await?.is_none() {
            api.machines
                .remember_case(arn, case.clone())
                .await
                .map_err(internal)?;
        }
    }
    let started = machine
        .executions
        .start_with(
            StartExecution {
                name: request.name.clone(),
                input: Some(input.clone()),
            },
            &caller,
            case,
        )
        .await;
    match started {
        Ok(started) => Ok(json!({
            "executionArn": started.execution_arn,
            "startDate": epoch(&started.start_date),
        })),
        Err(StartFailure::Invalid(StartError::InvalidExecutionInput(why))) => Err(SfnError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{why}'"),
        )),
        Err(StartFailure::Invalid(StartError::InvalidName(_))) => Err(SfnError::new(
            "InvalidName",
            format!("Invalid Name: '{}'", request.name.unwrap_or_default()),
        )),
        Err(StartFailure::AlreadyExists(_)) => {
            // The same name and input while it runs is the same execution (AWS's
            // idempotent StartExecution); anything else is a conflict.
            let name = request.name.unwrap_or_default();
            let arn = machine.executions.workflow().execution_arn(&name);
            let existing = machine
                .executions
                .describe(&arn, &caller)
                .await
                .map_err(internal)?
                .unwrap_or_default();
            if existing["status"] == "RUNNING" && existing["input"] == input.as_str() {
                return Ok(json!({
                    "executionArn": arn,
                    "startDate": epoch(existing["startDate"].as_str().unwrap_or_default()),
                }));
            }
            Err(SfnError::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ))
        }
        Err(StartFailure::Throttled(waiting)) => Err(SfnError::new(
            "ExecutionLimitExceeded",
            format!("{waiting} executions are waiting for a slot already; try again later"),
        )),
        Err(err @ (StartFailure::Unrecorded(_) | StartFailure::Backend(_))) => Err(SfnError {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailable",
            message: err.to_string(),
        }),
    }
}

/// StartSyncExecution: an EXPRESS machine's execution, answered when it ends.
async fn start_sync_execution(api: &StepFunctions, request: StartExecutionInput) -> Answer {
    let machine_arn = request
        .state_machine_arn
        .split('#')
        .next()
        .unwrap_or_default();
    let found = machine(api, machine_arn)?;
    if found.record.kind != "EXPRESS" {
        // test_start_sync_execution, recorded on AWS.
        return Err(SfnError::new(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        ));
    }
    let started = start_execution(api, request).await?;
    let arn = started["executionArn"].as_str().unwrap_or_default();
    if let Some(execution) = found.executions.live(arn, &StepFunctions::caller()) {
        execution.ended().await;
    }
    let (description, _) = execution(api, arn).await?;
    let mut answer = sync_answer(description);
    let billed = answer["stopDate"].as_f64().unwrap_or_default()
        - answer["startDate"].as_f64().unwrap_or_default();
    answer["billingDetails"] = json!({
        "billedMemoryUsedInMB": 64,
        // Express bills in 100 ms steps, at least one.
        "billedDurationInMilliseconds": ((billed * 10.0).ceil().max(1.0) * 100.0) as i64,
    });
    Ok(answer)
}

/// StartSyncExecution's answer: DescribeExecution's, without what it has no place for.
fn sync_answer(description: Value) -> Value {
    let mut answer = execution_answer(description);
    if let Value::Object(map) = &mut answer {
        for key in ["redriveCount", "redriveStatus", "redriveStatusReason"] {
            map.remove(key);
        }
    }
    answer
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionInput {
    execution_arn: String,
}

/// An execution's description and the machine it belongs to (gone if deleted since):
/// from memory while it runs, else from its record.
async fn execution(
    api: &StepFunctions,
    arn: &str,
) -> Result<(Value, Option<Arc<Machine>>), SfnError> {
    check_arn(arn, &["execution"])?;
    let machine = api.get(&machine_of(arn));
    let found = match &machine {
        Some(machine) => machine
            .executions
            .describe(arn, &StepFunctions::caller())
            .await
            .map_err(internal)?,
        None => api
            .store
            .description(arn.to_string(), None)
            .await
            .map_err(internal)?,
    };
    match found {
        Some(description) => Ok((description, machine)),
        None => Err(no_execution(arn)),
    }
}

async fn stored(api: &StepFunctions, arn: &str) -> Result<Option<Record>, SfnError> {
    api.store.get(arn.to_string(), None).await.map_err(internal)
}

/// DescribeExecution's answer for a description: dates as epoch seconds, and the
/// redrive fields AWS adds (RedriveExecution is not offered here, so none is
/// redrivable; a running or succeeded one says what AWS says).
fn execution_answer(mut description: Value) -> Value {
    epoch_members(&mut description, &["startDate", "stopDate"]);
    let status = description["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    description["redriveCount"] = json!(0);
    description["redriveStatus"] = json!("NOT_REDRIVABLE");
    description["redriveStatusReason"] = json!(match status.as_str() {
        "RUNNING" | "SUCCEEDED" => format!("Execution is {status} and cannot be redriven"),
        _ => "The local engine does not redrive executions".to_string(),
    });
    description
}

async fn describe_execution(api: &StepFunctions, input: ExecutionInput) -> Answer {
    let (description, _) = execution(api, &input.execution_arn).await?;
    Ok(execution_answer(description))
}

async fn describe_state_machine_for_execution(
    api: &StepFunctions,
    input: ExecutionInput,
) -> Answer {
    let (description, machine) = execution(api, &input.execution_arn).await?;
    let arn = description["stateMachineArn"].as_str().unwrap_or_default();
    let machine = machine.ok_or_else(|| no_machine(arn))?;
    let record = &machine.record;
    let mut answer = json!({
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "definition": record.definition,
        "roleArn": record.role_arn,
        "updateDate": epoch(record.update_date.as_deref().unwrap_or(&record.creation_date)),
        "loggingConfiguration": record.logging_configuration,
        "tracingConfiguration": record.tracing_configuration,
    });
    if let Some(revision) = &record.revision_id {
        answer["revisionId"] = json!(revision);
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryInput {
    execution_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    reverse_order: bool,
    include_execution_data: Option<bool>,
}

/// GetExecutionHistory's tokens: `h1.<events already given>`.
const HISTORY_TOKEN: &str = "h1.";

async fn get_execution_history(api: &StepFunctions, input: HistoryInput) -> Answer {
    let max = page_size(input.max_results)?;
    SfnError::check_token(input.next_token.as_deref(), 3096)?;
    let (_, machine) = execution(api, &input.execution_arn).await?;
    let arn = input.execution_arn.as_str();
    let events = match machine {
        Some(machine) => machine
            .executions
            .history(arn, &StepFunctions::caller())
            .await
            .map_err(internal)?,
        None => stored(api, arn).await?.map(|record| record.events),
    }
    .ok_or_else(|| no_execution(arn))?;
    let skip = match &input.next_token {
        Some(token) => token
            .strip_prefix(HISTORY_TOKEN)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0 && *n < events.len())
            .ok_or_else(SfnError::invalid_token)?,
        None => 0,
    };
    let total = events.len();
    let ordered: Box<dyn Iterator<Item = Value>> = if input.reverse_order {
        Box::new(events.into_iter().rev())
    } else {
        Box::new(events.into_iter())
    };
    let include_data = input.include_execution_data.unwrap_or(true);
    let page: Vec<Value> = ordered
        .skip(skip)
        .take(max)
        .map(|event| history_event(event, include_data))
        .collect();
    let mut answer = json!({ "events": page });
    if skip + max < total {
        answer["nextToken"] = json!(format!("{HISTORY_TOKEN}{}", skip + max));
    }
    Ok(answer)
}

/// An event as the API gives it: its date in epoch seconds; without the execution's
/// data (inputs, outputs) when `include_data` is false.
fn history_event(mut event: Value, include_data: bool) -> Value {
    epoch_members(&mut event, &["timestamp"]);
    if !include_data && let Value::Object(map) = &mut event {
        for (key, details) in map.iter_mut() {
            if key.ends_with("EventDetails")
                && let Value::Object(details) = details
            {
                details.remove("input");
                details.remove("output");
            }
        }
    }
    event
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListExecutionsInput {
    state_machine_arn: Option<String>,
    status_filter: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

async fn list_executions(api: &StepFunctions, input: ListExecutionsInput) -> Answer {
    let max = page_size(input.max_results)?;
    SfnError::check_token(input.next_token.as_deref(), 3096)?;
    let arn = input
        .state_machine_arn
        .ok_or_else(|| SfnError::missing("stateMachineArn"))?;
    let machine = machine(api, &arn)?;
    let status = match input.status_filter.as_deref() {
        None => None,
        Some(filter) => Some(status_filter(filter)?),
    };
    let page = machine
        .executions
        .list(
            status,
            max,
            input.next_token.clone(),
            &StepFunctions::caller(),
        )
        .await
        .map_err(|err| {
            if crate::store::is_invalid_token(&err) {
                SfnError::invalid_token()
            } else {
                internal(err)
            }
        })?;
    let items: Vec<Value> = page
        .executions
        .into_iter()
        .map(|mut item| {
            epoch_members(&mut item, &["startDate", "stopDate"]);
            item
        })
        .collect();
    let mut answer = json!({ "executions": items });
    if let Some(token) = page.next_token {
        answer["nextToken"] = json!(token);
    }
    Ok(answer)
}

fn status_filter(filter: &str) -> Result<Status, SfnError> {
    Ok(match filter {
        "RUNNING" => Status::Running,
        "SUCCEEDED" => Status::Succeeded,
        "FAILED" => Status::Failed,
        "TIMED_OUT" => Status::TimedOut,
        "ABORTED" => Status::Aborted,
        other => {
            return Err(SfnError::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{other}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
                ),
            ));
        }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopInput {
    execution_arn: String,
    error: Option<String>,
    cause: Option<String>,
}

async fn stop_execution(api: &StepFunctions, input: StopInput) -> Answer {
    let arn = input.execution_arn.as_str();
    let (description, machine) = execution(api, arn).await?;
    let running = machine.and_then(|m| m.executions.live(arn, &StepFunctions::caller()));
    let Some(execution) = running else {
        // Already ended: nothing changes, and its stop date is the answer.
        return Ok(
            json!({ "stopDate": epoch(description["stopDate"].as_str().unwrap_or_default()) }),
        );
    };
    execution.stop(Stop {
        error: input.error,
        cause: input.cause,
    });
    // It ends at its next step: a task in flight is dropped at once, so this is short.
    // One still waiting for a slot ends when it gets one.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), execution.ended()).await;
    let stop_date = execution.describe().stop_date.unwrap_or_else(now);
    Ok(json!({ "stopDate": epoch(&stop_date) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskSuccessInput {
    task_token: String,
    output: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskFailureInput {
    task_token: String,
    error: Option<String>,
    cause: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskTokenInput {
    task_token: String,
}

/// A callback's refusal, as AWS names it.
fn token_error(err: TokenError) -> SfnError {
    let code = match err {
        TokenError::Invalid => "InvalidToken",
        TokenError::NotWaiting => "TaskTimedOut",
    };
    SfnError::new(code, err.to_string())
}

fn send_task_success(api: &StepFunctions, input: TaskSuccessInput) -> Answer {
    if let Err(err) = serde_json::from_str::<Value>(&input.output) {
        return Err(SfnError::new(
            "InvalidOutput",
            format!("Invalid State Machine Execution Output: '{err}'"),
        ));
    }
    api.tokens
        .complete(&input.task_token, Callback::Success(input.output))
        .map_err(token_error)?;
    Ok(json!({}))
}

fn send_task_failure(api: &StepFunctions, input: TaskFailureInput) -> Answer {
    let callback = Callback::Failure {
        error: input.error.unwrap_or_default(),
        cause: input.cause.unwrap_or_default(),
    };
    api.tokens
        .complete(&input.task_token, callback)
        .map_err(token_error)?;
    Ok(json!({}))
}

fn send_task_heartbeat(api: &StepFunctions, input: TaskTokenInput) -> Answer {
    api.tokens
        .heartbeat(&input.task_token)
        .map_err(token_error)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagInput {
    resource_arn: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceInput {
    resource_arn: String,
}

/// The machine a tag action names (`ResourceNotFound` if none).
fn tagged(api: &StepFunctions, arn: &str) -> Result<Arc<Machine>, SfnError> {
    check_arn(arn, &["stateMachine"])?;
    api.get(arn)
        .ok_or_else(|| SfnError::new("ResourceNotFound", format!("Resource not found: '{arn}'")))
}

/// `old` with `new` added: a key given again takes the new value in its old place.
fn merged_tags(mut old: Vec<Tag>, new: Vec<Tag>) -> Vec<Tag> {
    for tag in new {
        match old.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => old.push(tag),
        }
    }
    old
}

async fn retag(
    api: &StepFunctions,
    machine: Arc<Machine>,
    change: impl FnOnce(Vec<Tag>) -> Vec<Tag>,
) -> Answer {
    let mut record = machine.record.clone();
    record.tags = change(record.tags);
    api.machines.put(record.clone()).await.map_err(internal)?;
    api.insert(Machine {
        record,
        executions: Arc::clone(&machine.executions),
    });
    Ok(json!({}))
}

async fn tag_resource(api: &StepFunctions, input: TagInput) -> Answer {
    let machine = tagged(api, &input.resource_arn)?;
    retag(api, machine, |old| merged_tags(old, input.tags)).await
}

async fn untag_resource(api: &StepFunctions, input: UntagInput) -> Answer {
    let machine = tagged(api, &input.resource_arn)?;
    retag(api, machine, |old| {
        old.into_iter()
            .filter(|t| !input.tag_keys.contains(&t.key))
            .collect()
    })
    .await
}

fn list_tags(api: &StepFunctions, input: ResourceInput) -> Answer {
    let machine = tagged(api, &input.resource_arn)?;
    Ok(json!({ "tags": machine.record.tags }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_name_their_machine() {
        assert_eq!(
            machine_of("arn:aws:states:us-east-1:000000000000:execution:report:run-1"),
            "arn:aws:states:us-east-1:000000000000:stateMachine:report"
        );
    }

    #[test]
    fn tags_merge_in_place() {
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert_eq!(
            merged_tags(
                vec![tag("a", "1"), tag("b", "2")],
                vec![tag("b", "3"), tag("c", "4")]
            ),
            vec![tag("a", "1"), tag("b", "3"), tag("c", "4")]
        );
    }

    #[test]
    fn history_without_data_keeps_the_rest_of_each_event() {
        let event = json!({
            "timestamp": "2026-12-04T10:00:00.000Z", "type": "PassStateExited", "id": 3,
            "previousEventId": 2,
            "stateExitedEventDetails": {"name": "A", "output": "{}", "outputDetails": {"truncated": false}}
        });
        assert_eq!(
            history_event(event, false),
            json!({
                "timestamp": 1_796_378_400.0, "type": "PassStateExited", "id": 3,
                "previousEventId": 2,
                "stateExitedEventDetails": {"name": "A", "outputDetails": {"truncated": false}}
            })
        );
    }

    #[test]
    fn invalid_definitions_are_named_as_aws_names_them() {
        // test_create_delete_invalid_sm, recorded on AWS.
        let err = parse_definition(r#"{"StartAt": "A"}"#).unwrap_err();
        assert_eq!(err.code, "InvalidDefinition");
        assert!(
            err.message
                .starts_with("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "),
            "{}",
            err.message
        );
    }
}
