//! The Step Functions API of `serve`, driven by aws-sdk-sfn (the client AWS ships)
//! against the real binary: state machines, executions, histories, stops, tags, and
//! the errors AWS answers with (names and messages from AWS's recorded answers).

use std::time::Duration;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, StateMachineType, Tag};
use serde_json::{Value, json};

use crate::server::{ADMIN, Serve};

const ROLE: &str = "arn:aws:iam::000000000000:role/sfn-test";

/// A client of `serve`'s Step Functions API, signing with made-up keys (loopback takes
/// any).
fn client(serve: &Serve) -> Client {
    let endpoint = serve.sfn.clone().expect("the Step Functions API listens");
    signed_client(&endpoint, "AKIDLOCAL", "local-secret")
}

/// A client of the API at `endpoint`, signing with this access key.
fn signed_client(endpoint: &str, access_key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key_id, secret, None, None, "test"))
        .endpoint_url(endpoint)
        .interceptor(NoHostPrefix)
        .build();
    Client::from_conf(config)
}

/// Sends StartSyncExecution to the endpoint itself rather than to `sync-<host>` (the
/// operation's host prefix, which names no loopback host), as boto3's
/// `inject_host_prefix=False` does.
#[derive(Debug)]
struct NoHostPrefix;

impl aws_sdk_sfn::config::Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    // Before signing, so the signature covers the host the request goes to.
    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_sfn::config::RuntimeComponents,
        _: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        let uri = request.uri().replacen("://sync-", "://", 1);
        request.set_uri(uri)?;
        Ok(())
    }
}

/// `n` Pass states in a row.
fn passes(n: usize) -> String {
    let states: serde_json::Map<String, Value> = (1..=n)
        .map(|i| {
            let mut state =
                json!({"Type": "Pass", "Result": {"step": i}, "ResultPath": format!("$.s{i}")});
            if i == n {
                state["End"] = json!(true);
            } else {
                state["Next"] = json!(format!("S{}", i + 1));
            }
            (format!("S{i}"), state)
        })
        .collect();
    json!({"StartAt": "S1", "States": states}).to_string()
}

const WAIT: &str = r#"{"StartAt": "State_1", "States": {"State_1": {"Type": "Wait", "Seconds": 60, "End": true}}}"#;

/// The AWS error code and message of a failed call.
fn error<E, R>(result: Result<R, aws_sdk_sfn::error::SdkError<E>>) -> (String, String)
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let err = result.expect_err("the call should fail");
    let service = err.as_service_error().unwrap_or_else(|| panic!("{err:?}"));
    (
        service.code().unwrap_or_default().to_string(),
        service.message().unwrap_or_default().to_string(),
    )
}

async fn create(client: &Client, name: &str, definition: &str) -> String {
    create_typed(client, name, definition, StateMachineType::Standard).await
}

async fn create_express(client: &Client, name: &str, definition: &str) -> String {
    create_typed(client, name, definition, StateMachineType::Express).await
}

async fn create_typed(
    client: &Client,
    name: &str,
    definition: &str,
    kind: StateMachineType,
) -> String {
    client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .r#type(kind)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

/// Waits for an execution to end; its final status.
async fn ended(client: &Client, arn: &str) -> ExecutionStatus {
    for _ in 0..500 {
        let described = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        if described.status != ExecutionStatus::Running {
            return described.status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{arn} did not end");
}

async fn history(client: &Client, arn: &str) -> Vec<HistoryEvent> {
    client
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .events
}

#[tokio::test]
async fn state_machines_are_created_described_updated_tagged_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let definition = passes(2);
    let arn = create(&sfn, "machine-a", &definition).await;
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:000000000000:stateMachine:machine-a"
    );

    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name, "machine-a");
    assert_eq!(described.definition, definition);
    assert_eq!(described.role_arn, ROLE);
    assert_eq!(described.r#type.as_str(), "STANDARD");
    assert_eq!(described.status.unwrap().as_str(), "ACTIVE");
    let logging = described.logging_configuration.unwrap();
    assert_eq!(logging.level.unwrap().as_str(), "OFF");
    assert!(!logging.include_execution_data);

    // The same request again is the same machine; a different one is a conflict.
    let again = sfn
        .create_state_machine()
        .name("machine-a")
        .definition(&definition)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(again.creation_date, described.creation_date);
    assert_eq!(
        error(
            sfn.create_state_machine()
                .name("machine-a")
                .definition(passes(3))
                .role_arn(ROLE)
                .send()
                .await
        ),
        (
            "StateMachineAlreadyExists".into(),
            format!("State Machine Already Exists: '{arn}'")
        )
    );
    // A definition AWS refuses, with its code and AWS's message shape.
    let (code, message) = error(
        sfn.create_state_machine()
            .name("broken")
            .definition(r#"{"StartAt": "A"}"#)
            .role_arn(ROLE)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidDefinition");
    assert!(
        message.starts_with("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "),
        "{message}"
    );
    let (code, message) = error(
        sfn.create_state_machine()
            .name("bad name")
            .definition(&definition)
            .role_arn(ROLE)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("InvalidName", "Invalid Name: 'bad name'")
    );

    // Validate answers without creating.
    let checked = sfn
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "Missing", "States": {"A": {"Type": "Succeed"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(checked.result.as_str(), "FAIL");
    let codes: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert!(codes.contains(&"MISSING_TRANSITION_TARGET"), "{codes:?}");
    let ok = sfn
        .validate_state_machine_definition()
        .definition(&definition)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.result.as_str(), "OK");
    assert!(ok.diagnostics.is_empty());

    // Update: a new revision; nothing to update is AWS's MissingRequiredParameter.
    let updated = sfn
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(passes(3))
        .send()
        .await
        .unwrap();
    assert!(updated.revision_id.is_some());
    assert_eq!(
        error(
            sfn.update_state_machine()
                .state_machine_arn(&arn)
                .send()
                .await
        ),
        (
            "MissingRequiredParameter".into(),
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified".into()
        )
    );

    // Tags: added, replaced in place, removed.
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    sfn.tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "cafe"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    sfn.tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "bar"))
        .send()
        .await
        .unwrap();
    sfn.untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = sfn
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags, [("team", "bar")]);

    // Listing in pages.
    create(&sfn, "machine-b", &definition).await;
    create(&sfn, "machine-c", &definition).await;
    let first = sfn
        .list_state_machines()
        .max_results(2)
        .send()
        .await
        .unwrap();
    let names = |page: &[aws_sdk_sfn::types::StateMachineListItem]| -> Vec<String> {
        page.iter().map(|m| m.name.clone()).collect()
    };
    assert_eq!(names(&first.state_machines), ["machine-a", "machine-b"]);
    let second = sfn
        .list_state_machines()
        .max_results(2)
        .set_next_token(first.next_token)
        .send()
        .await
        .unwrap();
    assert_eq!(names(&second.state_machines), ["machine-c"]);
    assert_eq!(second.next_token, None);
    let (code, message) = error(sfn.list_state_machines().max_results(1001).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("less than or equal to 1000"), "{message}");
    let (code, _) = error(sfn.list_state_machines().next_token("forged").send().await);
    assert_eq!(code, "InvalidToken");

    // Machines outlive the process.
    serve.kill();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let kept = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.definition, passes(3));
    assert_eq!(kept.revision_id, updated.revision_id);

    // Delete; deleting again succeeds; the machine is gone.
    for _ in 0..2 {
        sfn.delete_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        error(
            sfn.describe_state_machine()
                .state_machine_arn(&arn)
                .send()
                .await
        ),
        (
            "StateMachineDoesNotExist".into(),
            format!("State Machine Does Not Exist: '{arn}'")
        )
    );
    assert_eq!(
        error(
            sfn.describe_state_machine()
                .state_machine_arn("not_a_valid_arn")
                .send()
                .await
        ),
        (
            "InvalidArn".into(),
            "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'".into()
        )
    );
}

#[tokio::test]
async fn executions_run_and_are_described_listed_and_paged_as_aws_does() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let machine = create(&sfn, "ten-passes", &passes(10)).await;
    let started = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name("run-1")
        .input(r#"{"order": 7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.execution_arn,
        "arn:aws:states:us-east-1:000000000000:execution:ten-passes:run-1"
    );
    assert_eq!(
        ended(&sfn, &started.execution_arn).await,
        ExecutionStatus::Succeeded
    );
    let described = sfn
        .describe_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    let output: Value = serde_json::from_str(described.output().unwrap()).unwrap();
    assert_eq!(output["order"], 7);
    assert_eq!(output["s10"], json!({"step": 10}));
    assert_eq!(described.input(), Some(r#"{"order": 7}"#));
    // The redrive fields AWS adds (test_describe_execution, recorded on AWS).
    assert_eq!(described.redrive_count, Some(0));
    assert_eq!(
        described.redrive_status.as_ref().map(|s| s.as_str()),
        Some("NOT_REDRIVABLE")
    );
    assert_eq!(
        described.redrive_status_reason(),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );
    assert!(described.stop_date.unwrap() >= described.start_date);

    // The whole history: ExecutionStarted, an entry and exit per state, the end.
    let events = history(&sfn, &started.execution_arn).await;
    assert_eq!(events.len(), 22);
    assert_eq!(events[0].r#type.as_str(), "ExecutionStarted");
    assert_eq!(events[21].r#type.as_str(), "ExecutionSucceeded");
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.id, i as i64 + 1);
    }
    // Pages of 5, forwards and backwards, with and without the data.
    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .get_execution_history()
            .execution_arn(&started.execution_arn)
            .max_results(5)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        paged.extend(page.events.iter().map(|e| e.id));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, (1..=22).collect::<Vec<i64>>());
    let reversed = sfn
        .get_execution_history()
        .execution_arn(&started.execution_arn)
        .reverse_order(true)
        .max_results(3)
        .include_execution_data(false)
        .send()
        .await
        .unwrap();
    let ids: Vec<i64> = reversed.events.iter().map(|e| e.id).collect();
    assert_eq!(ids, [22, 21, 20]);
    let succeeded = reversed.events[0]
        .execution_succeeded_event_details
        .as_ref()
        .unwrap();
    assert_eq!(succeeded.output, None);

    // A machine's executions, filtered by status, in pages.
    for name in ["run-2", "run-3"] {
        let arn = sfn
            .start_execution()
            .state_machine_arn(&machine)
            .name(name)
            .send()
            .await
            .unwrap()
            .execution_arn;
        ended(&sfn, &arn).await;
    }
    let listed = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Succeeded)
        .max_results(2)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.executions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["run-3", "run-2"]);
    let rest = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Succeeded)
        .set_next_token(listed.next_token)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = rest.executions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["run-1"]);
    let running = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await
        .unwrap();
    assert!(running.executions.is_empty());

    // The definition an execution ran.
    let for_execution = sfn
        .describe_state_machine_for_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(for_execution.definition, passes(10));
    assert_eq!(for_execution.name, "ten-passes");

    // Errors, as AWS names and words them.
    assert_eq!(
        error(
            sfn.start_execution()
                .state_machine_arn(&machine)
                .name("run-1")
                .send()
                .await
        ),
        (
            "ExecutionAlreadyExists".into(),
            format!("Execution Already Exists: '{}'", started.execution_arn)
        )
    );
    let (code, message) = error(
        sfn.start_execution()
            .state_machine_arn(&machine)
            .input("not json")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidExecutionInput");
    assert!(
        message.starts_with("Invalid State Machine Execution Input: '"),
        "{message}"
    );
    let missing = format!("{machine}-gone");
    assert_eq!(
        error(
            sfn.start_execution()
                .state_machine_arn(&missing)
                .send()
                .await
        ),
        (
            "StateMachineDoesNotExist".into(),
            format!("State Machine Does Not Exist: '{missing}'")
        )
    );
    let unknown = format!("{}-gone", started.execution_arn);
    assert_eq!(
        error(
            sfn.describe_execution()
                .execution_arn(&unknown)
                .send()
                .await
        ),
        (
            "ExecutionDoesNotExist".into(),
            format!("Execution Does Not Exist: '{unknown}'")
        )
    );
    assert_eq!(
        error(
            sfn.get_execution_history()
                .execution_arn("invalid_state_machine_arn")
                .send()
                .await
        ),
        (
            "InvalidArn".into(),
            "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'".into()
        )
    );
    assert_eq!(
        error(
            sfn.list_executions()
                .state_machine_arn("invalid_state_machine_arn")
                .send()
                .await
        )
        .0,
        "InvalidArn"
    );
}

#[tokio::test]
async fn an_express_machine_answers_start_sync_execution_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let express = create_express(&sfn, "express", &passes(3)).await;
    let done = sfn
        .start_sync_execution()
        .state_machine_arn(&express)
        .input(r#"{"a": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status.as_str(), "SUCCEEDED");
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"a": 1, "s1": {"step": 1}, "s2": {"step": 2}, "s3": {"step": 3}})
    );
    assert_eq!(done.state_machine_arn(), Some(express.as_str()));
    assert!(
        done.billing_details
            .unwrap()
            .billed_duration_in_milliseconds
            >= 100
    );
    // A failing one answers FAILED with its error, not an API error.
    let failing = create_express(&sfn, "express-fails", r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "on purpose"}}}"#).await;
    let failed = sfn
        .start_sync_execution()
        .state_machine_arn(&failing)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.error(), failed.cause()),
        ("FAILED", Some("Oops"), Some("on purpose"))
    );
    // A STANDARD machine does not take it (test_start_sync_execution, recorded on AWS).
    let standard = create(&sfn, "standard", &passes(1)).await;
    assert_eq!(
        error(
            sfn.start_sync_execution()
                .state_machine_arn(&standard)
                .send()
                .await
        ),
        (
            "StateMachineTypeNotSupported".into(),
            "This operation is not supported by this type of state machine".into()
        )
    );
}

#[tokio::test]
async fn a_stopped_execution_ends_aborted_and_a_running_one_starts_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let machine = create(&sfn, "waits", WAIT).await;
    let start = || {
        sfn.start_execution()
            .state_machine_arn(&machine)
            .name("long")
            .input("{}")
            .send()
    };
    let started = start().await.unwrap();
    // The same name and input while it runs: the same execution.
    let again = start().await.unwrap();
    assert_eq!(again.execution_arn, started.execution_arn);
    assert_eq!(again.start_date, started.start_date);
    // Another input: a conflict.
    let (code, _) = error(
        sfn.start_execution()
            .state_machine_arn(&machine)
            .name("long")
            .input(r#"{"other": true}"#)
            .send()
            .await,
    );
    assert_eq!(code, "ExecutionAlreadyExists");

    let stopped = sfn
        .stop_execution()
        .execution_arn(&started.execution_arn)
        .error("Manual")
        .cause("probe")
        .send()
        .await
        .unwrap();
    let described = sfn
        .describe_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status, ExecutionStatus::Aborted);
    assert_eq!(described.error(), Some("Manual"));
    assert_eq!(described.cause(), Some("probe"));
    assert_eq!(described.stop_date, Some(stopped.stop_date));
    let events = history(&sfn, &started.execution_arn).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        kinds,
        ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    );
    let aborted = events[2].execution_aborted_event_details.as_ref().unwrap();
    assert_eq!(
        (aborted.error(), aborted.cause()),
        (Some("Manual"), Some("probe"))
    );
    // Stopping an ended execution changes nothing.
    let again = sfn
        .stop_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(again.stop_date, stopped.stop_date);
    // Ended, the same name is taken for good.
    assert_eq!(error(start().await).0, "ExecutionAlreadyExists");

    // The abort is kept: after a restart it is still there, still ABORTED.
    serve.kill();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let described = sfn
        .describe_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status, ExecutionStatus::Aborted);
    assert_eq!(history(&sfn, &started.execution_arn).await.len(), 3);
}

#[tokio::test]
async fn a_waiting_execution_resumes_after_a_kill_and_tasks_run_components() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let definition = json!({
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Query"},
            "Query": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:query",
                    "Payload": {}
                },
                "ResultSelector": {"suppliers.$": "$.Payload.totals.suppliers"},
                "End": true
            }
        }
    });
    let machine = create(&sfn, "paced-query", &definition.to_string()).await;
    let arn = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    tokio::time::sleep(Duration::from_millis(500)).await;
    serve.kill();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    assert_eq!(ended(&sfn, &arn).await, ExecutionStatus::Succeeded);
    let described = sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let output: Value = serde_json::from_str(described.output().unwrap()).unwrap();
    assert!(output["suppliers"].as_u64().unwrap() > 0, "{output}");
    let events = history(&sfn, &arn).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            event.id,
            i as i64 + 1,
            "ids run unbroken across the restart"
        );
    }
}

#[tokio::test]
async fn requests_without_a_signature_or_from_another_host_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let url = serve.sfn.clone().unwrap();
    let post = |host: Option<&str>, signed: bool, target: &str| {
        let mut request = serve
            .http
            .post(&url)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .body("{}");
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if signed {
            request = request.header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261204/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00",
            );
        }
        request.send()
    };
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/x-amz-json-1.0"
        );
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        (
            status,
            body["__type"].as_str().unwrap_or_default().to_string(),
        )
    };
    let list = "AWSStepFunctions.ListStateMachines";
    assert_eq!(
        answer(post(None, false, list).await.unwrap()).await,
        (403, "MissingAuthenticationTokenException".into())
    );
    assert_eq!(
        answer(post(Some("attacker.example"), true, list).await.unwrap()).await,
        (403, "AccessDeniedException".into())
    );
    assert_eq!(
        answer(
            post(None, true, "AWSStepFunctions.CreateActivityX")
                .await
                .unwrap()
        )
        .await,
        (400, "UnknownOperationException".into())
    );
    assert_eq!(
        answer(post(None, true, list).await.unwrap()).await,
        (200, String::new())
    );
    // Missing members are AWS's ValidationException.
    assert_eq!(
        answer(
            post(None, true, "AWSStepFunctions.DescribeStateMachine")
                .await
                .unwrap()
        )
        .await,
        (400, "ValidationException".into())
    );
}

/// `serve` over `dir/data` with these variables, run until it exits; its stderr.
fn serve_refused(dir: &std::path::Path, env: &[(&str, &str)], sfn_listen: &str) -> String {
    let output = crate::common::cafe_report()
        .current_dir(dir)
        .env("CAFE_REPORT_DATA_DIR", dir.join("data"))
        .env("CAFE_REPORT_AUTH_MODE", "none")
        .env(
            "CAFE_REPORT_COMPONENTS_DIR",
            crate::server::components_dir(),
        )
        .envs(env.iter().copied())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sfn-listen",
            sfn_listen,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The access key `cafe-report users access-key NAME` printed, as (id, secret).
fn access_key(dir: &std::path::Path, name: &str) -> (String, String) {
    let profile = crate::server::users(dir, &["access-key", name]);
    let value = |key: &str| {
        profile
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key} in {profile:?}"))
            .trim()
            .to_string()
    };
    assert!(profile.starts_with("[cafe-report]\n"), "{profile}");
    (value("aws_access_key_id"), value("aws_secret_access_key"))
}

#[test]
fn off_loopback_the_api_does_not_start_before_a_user_has_an_access_key() {
    let dir = tempfile::tempdir().unwrap();
    let expected = "verifies SigV4 signatures against users' access keys, and no user has one: give one with `cafe-report users access-key NAME`";
    let stderr = serve_refused(dir.path(), &[], "0.0.0.0:0");
    assert!(stderr.contains(expected), "{stderr}");
    // Nor on loopback when told to verify.
    let stderr = serve_refused(
        dir.path(),
        &[("CAFE_REPORT_SFN_VERIFY_SIGNATURES", "true")],
        "127.0.0.1:0",
    );
    assert!(stderr.contains(expected), "{stderr}");
    // A user without a key is not enough.
    crate::server::users(dir.path(), &["add", "ana", "--email", "ana@example.com"]);
    let stderr = serve_refused(dir.path(), &[], "0.0.0.0:0");
    assert!(stderr.contains(expected), "{stderr}");
}

#[tokio::test]
async fn off_loopback_only_a_user_s_access_key_signs() {
    let dir = tempfile::tempdir().unwrap();
    crate::server::users(dir.path(), &["add", ADMIN.0, "--email", ADMIN.1, "--admin"]);
    crate::server::users(dir.path(), &["add", "ana", "--email", "ana@example.com"]);
    let (root_id, root_secret) = access_key(dir.path(), ADMIN.0);
    let (ana_id, ana_secret) = access_key(dir.path(), "ana");
    let listed = crate::server::users(dir.path(), &["list"]);
    assert!(
        listed.contains(&root_id) && listed.contains(&ana_id),
        "{listed}"
    );
    assert!(!listed.contains(&root_secret) && !listed.contains(&ana_secret));
    let serve = Serve::start(dir.path(), &[("CAFE_REPORT_SFN_LISTEN", "0.0.0.0:0")]);
    let listening = serve.sfn.clone().unwrap();
    assert!(listening.starts_with("http://0.0.0.0:"), "{listening}");
    let endpoint = listening.replace("0.0.0.0", "127.0.0.1");

    // The holders of a key run machines.
    let root = signed_client(&endpoint, &root_id, &root_secret);
    let arn = create(&root, "signed", &passes(3)).await;
    let ana = signed_client(&endpoint, &ana_id, &ana_secret);
    let execution = ana
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(ended(&root, &execution).await, ExecutionStatus::Succeeded);

    // Anyone else is refused with AWS's words, and learns nothing.
    let invalid = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
    let wrong_secret = signed_client(&endpoint, &ana_id, &root_secret);
    assert_eq!(
        error(wrong_secret.list_state_machines().send().await),
        ("InvalidSignatureException".into(), invalid.into())
    );
    let unknown = "The security token included in the request is invalid.";
    for (id, secret) in [
        ("AKIDLOCAL", "local-secret"),
        ("AKCR0000000000000000", &*ana_secret),
    ] {
        let stranger = signed_client(&endpoint, id, secret);
        assert_eq!(
            error(
                stranger
                    .describe_state_machine()
                    .state_machine_arn(&arn)
                    .send()
                    .await
            ),
            ("UnrecognizedClientException".into(), unknown.into())
        );
    }
    // A new key retires the old one at once, without a restart.
    let (new_id, new_secret) = access_key(dir.path(), "ana");
    assert_eq!(
        error(ana.list_state_machines().send().await),
        ("UnrecognizedClientException".into(), unknown.into())
    );
    let renewed = signed_client(&endpoint, &new_id, &new_secret);
    let listed = renewed.list_state_machines().send().await.unwrap();
    assert_eq!(listed.state_machines.len(), 1);
    // The sync- host prefix is signed like any host.
    let express = create_express(&root, "signed-express", &passes(2)).await;
    let sync = renewed
        .start_sync_execution()
        .state_machine_arn(&express)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sync.status,
        aws_sdk_sfn::types::SyncExecutionStatus::Succeeded
    );

    // No secret reaches the log.
    let log = serve.log();
    for secret in [&root_secret, &ana_secret, &new_secret] {
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
    }
}

#[test]
fn boto3_drives_the_api_as_it_drives_aws_signing_with_an_access_key() {
    let dir = tempfile::tempdir().unwrap();
    crate::server::users(dir.path(), &["add", ADMIN.0, "--email", ADMIN.1, "--admin"]);
    let (id, secret) = access_key(dir.path(), ADMIN.0);
    // Verified on loopback too, so botocore's signatures are checked on every action.
    let serve = Serve::start(dir.path(), &[("CAFE_REPORT_SFN_VERIFY_SIGNATURES", "true")]);
    let python = crate::mail::test_python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve/sfn_boto3.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(serve.sfn.clone().unwrap())
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        serve.log()
    );
}

/// The token a `.waitForTaskToken` task handed out, read from its TaskScheduled
/// parameters once it is submitted.
async fn handed_out_token(client: &Client, arn: &str) -> String {
    for _ in 0..500 {
        let events = history(client, arn).await;
        if events.iter().any(|e| e.r#type.as_str() == "TaskSubmitted") {
            let scheduled = events
                .iter()
                .find_map(|e| e.task_scheduled_event_details.as_ref())
                .unwrap();
            let parameters: Value = serde_json::from_str(&scheduled.parameters).unwrap();
            return parameters["Message"]["token"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{arn} was not submitted");
}

#[tokio::test]
async fn wait_for_task_token_tasks_end_by_callback_also_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let definition = json!({
        "StartAt": "Approve",
        "States": {
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {
                    "TopicArn": "arn:aws:sns:us-east-1:000000000000:cafe-report",
                    "Message": {"token.$": "$$.Task.Token", "order.$": "$.order"}
                },
                "HeartbeatSeconds": 60,
                "End": true
            }
        }
    });
    let machine = create(&sfn, "approval", &definition.to_string()).await;
    let start = |name: &str| {
        sfn.start_execution()
            .state_machine_arn(&machine)
            .name(name)
            .input(r#"{"order": 7}"#)
            .send()
    };
    let first = start("first").await.unwrap().execution_arn;
    let token = handed_out_token(&sfn, &first).await;
    sfn.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    let (code, _) = error(
        sfn.send_task_success()
            .task_token(&token)
            .output("not json")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidOutput");
    sfn.send_task_success()
        .task_token(&token)
        .output(r#"{"approved": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ended(&sfn, &first).await, ExecutionStatus::Succeeded);
    let described = sfn
        .describe_execution()
        .execution_arn(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(described.output(), Some(r#"{"approved":true}"#));
    // The task is over; AWS's answers for a late callback and for a forged token.
    assert_eq!(
        error(
            sfn.send_task_success()
                .task_token(&token)
                .output("{}")
                .send()
                .await
        ),
        (
            "TaskTimedOut".into(),
            "Task Timed Out: 'Provided task does not exist anymore'".into()
        )
    );
    assert_eq!(
        error(sfn.send_task_heartbeat().task_token("forged").send().await),
        (
            "InvalidToken".into(),
            "Invalid Token: 'Invalid token'".into()
        )
    );

    // Killed while a task waits: after the restart the same token ends it, and the
    // message was not published again.
    let second = start("second").await.unwrap().execution_arn;
    let token = handed_out_token(&sfn, &second).await;
    serve.kill();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let mut delivered = false;
    for _ in 0..250 {
        // Until the resumed execution waits on its token again.
        match sfn
            .send_task_failure()
            .task_token(&token)
            .error("Rejected")
            .cause("no beans")
            .send()
            .await
        {
            Ok(_) => {
                delivered = true;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(delivered, "{}", serve.log());
    assert_eq!(ended(&sfn, &second).await, ExecutionStatus::Failed);
    // One message per execution in the outbox: the resumed task did not publish again.
    let messages = std::fs::read_dir(serve.data.join("outbox"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".eml")
        })
        .count();
    assert_eq!(messages, 2);
    let described = sfn
        .describe_execution()
        .execution_arn(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (described.error(), described.cause()),
        (Some("Rejected"), Some("no beans"))
    );
    let kinds: Vec<String> = history(&sfn, &second)
        .await
        .iter()
        .map(|e| e.r#type.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskFailed",
            "ExecutionFailed"
        ]
    );
}

/// The mock file of AWS's guide to Step Functions Local's mocked service integrations
/// (its structure, names and values).
const GUIDE_MOCKS: &str = r#"{
  "StateMachines": {
    "LambdaSQSIntegration": {
      "TestCases": {
        "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
        "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
        "HybridPath": {"LambdaState": "MockedLambdaSuccess"}
      }
    }
  },
  "MockedResponses": {
    "MockedLambdaSuccess": {
      "0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
    },
    "LambdaMockedResourceNotReady": {
      "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}
    },
    "MockedSQSSuccess": {
      "0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}
    },
    "MockedLambdaRetry": {
      "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
      "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
    }
  }
}"#;

/// The guide's machine: a Lambda call, retried, then an SQS message; a short Wait first
/// so an execution can be caught mid-way.
fn guide_machine() -> String {
    json!({
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "LambdaState"},
            "LambdaState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:HelloFunction",
                    "Payload.$": "$"
                },
                "Retry": [{
                    "ErrorEquals": ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException"],
                    "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1
                }],
                "ResultSelector": {"body.$": "$.Payload.body"},
                "ResultPath": "$.lambda",
                "Next": "SQSState"
            },
            "SQSState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q", "MessageBody.$": "$.lambda.body"},
                "ResultSelector": {"id.$": "$.MessageId"},
                "ResultPath": "$.sqs",
                "End": true
            }
        }
    })
    .to_string()
}

#[tokio::test]
async fn the_aws_guide_s_mock_file_runs_its_test_cases() {
    let dir = tempfile::tempdir().unwrap();
    let mocks = dir.path().join("MockConfigFile.json");
    std::fs::write(&mocks, GUIDE_MOCKS).unwrap();
    let env = [("SFN_MOCK_CONFIG", mocks.to_str().unwrap())];
    let serve = Serve::start(dir.path(), &env);
    let sfn = client(&serve);
    let machine = create(&sfn, "LambdaSQSIntegration", &guide_machine()).await;
    let start = |case: &str, name: &str| {
        sfn.start_execution()
            .state_machine_arn(format!("{machine}#{case}"))
            .name(name)
            .send()
    };
    let happy = start("HappyPath", "happy").await.unwrap().execution_arn;
    assert_eq!(
        happy,
        "arn:aws:states:us-east-1:000000000000:execution:LambdaSQSIntegration:happy"
    );
    let retry = start("RetryPath", "retry").await.unwrap().execution_arn;
    let hybrid = start("HybridPath", "hybrid").await.unwrap().execution_arn;

    // Killed while they wait: they resume as their test cases (HelloFunction is no
    // component: an unmocked call would fail with Lambda.ResourceNotFoundException).
    serve.kill();
    let serve = Serve::start(dir.path(), &env);
    let sfn = client(&serve);

    assert_eq!(ended(&sfn, &happy).await, ExecutionStatus::Succeeded);
    let output = |arn: String| {
        let sfn = sfn.clone();
        async move {
            let described = sfn
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .unwrap();
            serde_json::from_str::<Value>(described.output().unwrap()).unwrap()
        }
    };
    let happy_output = output(happy.clone()).await;
    assert_eq!(
        happy_output["lambda"],
        json!({"body": "Hello from Lambda!"})
    );
    assert_eq!(
        happy_output["sqs"],
        json!({"id": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"})
    );

    // The retried state got a different answer per attempt: 0, then 1-2, then 3.
    assert_eq!(ended(&sfn, &retry).await, ExecutionStatus::Succeeded);
    let failures: Vec<String> = history(&sfn, &retry)
        .await
        .iter()
        .filter_map(|e| e.task_failed_event_details.as_ref())
        .map(|d| d.error().unwrap().to_string())
        .collect();
    assert_eq!(
        failures,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );
    assert_eq!(
        output(retry).await["lambda"],
        json!({"body": "Hello from Lambda!"})
    );

    // HybridPath mocks the Lambda call only: the SQS call is made for real, and SQS is
    // not reachable from here.
    assert_eq!(ended(&sfn, &hybrid).await, ExecutionStatus::Failed);
    let described = sfn
        .describe_execution()
        .execution_arn(&hybrid)
        .send()
        .await
        .unwrap();
    assert_eq!(described.error(), Some("States.TaskFailed"));
    assert!(
        described
            .cause()
            .unwrap()
            .contains("cannot reach the integration arn:aws:states:::sqs:sendMessage"),
        "{:?}",
        described.cause()
    );

    // A test case the file does not have.
    let (code, message) = error(
        sfn.start_execution()
            .state_machine_arn(format!("{machine}#NoSuchCase"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("no test case \"NoSuchCase\""), "{message}");
}

#[test]
fn a_mock_file_with_a_mistake_stops_serve_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mocks = dir.path().join("mocks.json");
    std::fs::write(
        &mocks,
        r#"{"StateMachines": {"M": {"TestCases": {"C": {"S": "Missing"}}}}}"#,
    )
    .unwrap();
    let output = crate::common::cafe_report()
        .current_dir(dir.path())
        .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
        .env("CAFE_REPORT_AUTH_MODE", "none")
        .env(
            "CAFE_REPORT_COMPONENTS_DIR",
            crate::server::components_dir(),
        )
        .env("SFN_MOCK_CONFIG", &mocks)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sfn-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the mock configuration {}: StateMachines.M.TestCases.C.S: no MockedResponses entry named \"Missing\"",
            mocks.display()
        )),
        "{stderr}"
    );
}

/// An event as its type, state name (if any) and place in the chain.
fn shape(event: &Value) -> (String, String, u64, u64) {
    let name = event
        .as_object()
        .and_then(|e| e.values().find_map(|v| v.get("name")?.as_str()))
        .unwrap_or_default();
    (
        event["type"].as_str().unwrap().to_string(),
        name.to_string(),
        event["id"].as_u64().unwrap(),
        event["previousEventId"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn report_asl_created_through_the_api_runs_as_cafe_report_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);
    let config = cafe_report_server::Config::default();
    let definition = cafe_report_server::workflow::substitute(
        cafe_report_server::workflow::REPORT_DEFINITION,
        &cafe_report_server::workflow::substitutions(&config, &[]),
    )
    .unwrap();
    let machine = create(&sfn, "cafe-report", &definition).await;
    let input = r#"{"expires_in": 300, "recipient": "ana@example.com"}"#;
    let arn = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name("side-by-side")
        .input(input)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(ended(&sfn, &arn).await, ExecutionStatus::Succeeded);
    let through_api: Vec<_> = history(&sfn, &arn)
        .await
        .iter()
        .map(|e| {
            let mut shape = (
                e.r#type.as_str().to_string(),
                String::new(),
                e.id as u64,
                e.previous_event_id as u64,
            );
            shape.1 = e
                .state_entered_event_details
                .as_ref()
                .map(|d| d.name.clone())
                .or_else(|| {
                    e.state_exited_event_details
                        .as_ref()
                        .map(|d| d.name.clone())
                })
                .unwrap_or_default();
            shape
        })
        .collect();

    // The same definition, run once by the CLI on its own data directory.
    let cli_dir = tempfile::tempdir().unwrap();
    let file = cli_dir.path().join("report.asl.json");
    std::fs::write(&file, cafe_report_server::workflow::REPORT_DEFINITION).unwrap();
    let output = crate::common::cafe_report()
        .current_dir(cli_dir.path())
        .env("CAFE_REPORT_DATA_DIR", cli_dir.path().join("data"))
        .env(
            "CAFE_REPORT_COMPONENTS_DIR",
            crate::server::components_dir(),
        )
        .args([
            "execute",
            file.to_str().unwrap(),
            "--name",
            "side-by-side",
            "--history",
        ])
        .args(["--input", input])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let described: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(described["status"], "SUCCEEDED");
    let by_cli: Vec<_> = described["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (kind, name, id, previous) = shape(e);
            // Only state entries and exits name a state in the API's typed events.
            let named = kind.ends_with("StateEntered") || kind.ends_with("StateExited");
            (kind, if named { name } else { String::new() }, id, previous)
        })
        .collect();
    assert_eq!(parallel_free(&through_api), parallel_free(&by_cli));
    assert!(through_api.len() > 20, "{through_api:?}");
}

type Shape = (String, String, u64, u64);

/// A history for comparison: exact outside the Parallel; inside it, where the branches'
/// events interleave as their tasks happen to finish, the events as a sorted list of
/// type and state (the conformance suite's "Parallel branch order free").
fn parallel_free(events: &[Shape]) -> (Vec<Shape>, Vec<(String, String)>) {
    let started = events
        .iter()
        .position(|e| e.0 == "ParallelStateStarted")
        .expect("a Parallel");
    let ended = events
        .iter()
        .position(|e| e.0 == "ParallelStateSucceeded")
        .expect("its end");
    let mut outside = events[..=started].to_vec();
    outside.extend_from_slice(&events[ended..]);
    let mut inside: Vec<(String, String)> = events[started + 1..ended]
        .iter()
        .map(|(kind, name, _, _)| (kind.clone(), name.clone()))
        .collect();
    inside.sort();
    (outside, inside)
}

/// TestState's answer as JSON: the SDK's typed answer, read back member by member.
async fn test_state(sfn: &Client, state: Value, input: Value, level: &str) -> Value {
    let answer = sfn
        .test_state()
        .definition(state.to_string())
        .role_arn(ROLE)
        .input(input.to_string())
        .inspection_level(level.into())
        .send()
        .await
        .unwrap();
    let parsed = |text: Option<&str>| text.map(|t| serde_json::from_str::<Value>(t).unwrap());
    let mut out = json!({ "status": answer.status.as_ref().map(|s| s.as_str()) });
    for (key, value) in [
        ("output", parsed(answer.output())),
        ("error", answer.error().map(|e| json!(e))),
        ("cause", answer.cause().map(|c| json!(c))),
        ("nextState", answer.next_state().map(|n| json!(n))),
    ] {
        if let Some(value) = value {
            out[key] = value;
        }
    }
    if let Some(data) = answer.inspection_data() {
        let mut steps = serde_json::Map::new();
        for (key, value) in [
            ("input", data.input()),
            ("afterInputPath", data.after_input_path()),
            ("afterParameters", data.after_parameters()),
            ("result", data.result()),
            ("afterResultSelector", data.after_result_selector()),
            ("afterResultPath", data.after_result_path()),
        ] {
            if let Some(value) = parsed(value) {
                steps.insert(key.into(), value);
            }
        }
        out["inspectionData"] = Value::Object(steps);
    }
    out
}

#[tokio::test]
async fn test_state_answers_as_aws_recorded_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let sfn = client(&serve);

    // test_test_state_scenarios.py, recorded on AWS: IO_RESULT_PASS_STATE.
    let io_result_pass = json!({
        "Type": "Pass",
        "InputPath": "$.initialData",
        "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
        "Result": {"resultKey": "result value"},
        "ResultPath": "$.modifiedData",
        "End": true
    });
    let input = json!({
        "initialData": {"fieldFromInput": "value from input", "otherField": "other"},
        "unrelatedData": {"someOtherField": 1234}
    });
    let mut output = input.clone();
    output["modifiedData"] = json!({"resultKey": "result value"});
    assert_eq!(
        test_state(&sfn, io_result_pass.clone(), input.clone(), "INFO").await,
        json!({"status": "SUCCEEDED", "output": output})
    );
    assert_eq!(
        test_state(&sfn, io_result_pass, input.clone(), "DEBUG").await,
        json!({
            "status": "SUCCEEDED",
            "output": output,
            "inspectionData": {
                "input": input,
                "result": {"resultKey": "result value"},
                "afterResultSelector": {"resultKey": "result value"},
                "afterResultPath": output
            }
        })
    );
    // BASE_PASS_STATE at DEBUG: every step, no result.
    let hello = json!({"Value": "HelloWorld"});
    assert_eq!(
        test_state(
            &sfn,
            json!({"Type": "Pass", "End": true}),
            hello.clone(),
            "DEBUG"
        )
        .await,
        json!({
            "status": "SUCCEEDED",
            "output": hello,
            "inspectionData": {
                "input": hello, "afterInputPath": hello, "afterParameters": hello,
                "afterResultSelector": hello, "afterResultPath": hello
            }
        })
    );
    // BASE_CHOICE_STATE: the next state, and the input after InputPath.
    let choice = json!({
        "Type": "Choice",
        "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {"And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30}
            ], "Next": "ValueInTwenties"}
        ],
        "Default": "DefaultState"
    });
    let private = json!({"type": "Private", "value": 22});
    assert_eq!(
        test_state(&sfn, choice, private.clone(), "DEBUG").await,
        json!({
            "status": "SUCCEEDED",
            "output": private,
            "nextState": "ValueInTwenties",
            "inspectionData": {"input": private, "afterInputPath": private}
        })
    );
    // BASE_FAIL_STATE.
    assert_eq!(
        test_state(
            &sfn,
            json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}),
            hello.clone(),
            "DEBUG"
        )
        .await,
        json!({
            "status": "FAILED",
            "error": "SomeFailure",
            "cause": "This state machines raises a 'SomeFailure' failure.",
            "inspectionData": {"input": hello, "afterInputPath": hello}
        })
    );

    // A Task: a component runs; a failure a retrier matches is RETRIABLE, one a catcher
    // takes is CAUGHT_ERROR with the catcher's next state and output.
    let query = json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:000000000000:function:query",
        "ResultSelector": {"suppliers.$": "$.totals.suppliers"},
        "Next": "Render"
    });
    let ran = test_state(&sfn, query, json!({}), "INFO").await;
    assert_eq!(ran["status"], "SUCCEEDED");
    assert_eq!(ran["nextState"], "Render");
    assert!(ran["output"]["suppliers"].as_u64().unwrap() > 0, "{ran}");
    let missing = |extra: Value| {
        let mut state = json!({
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:no-such-component",
            "End": true
        });
        state
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        state
    };
    let retriable = test_state(
        &sfn,
        missing(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}]})),
        json!({}),
        "INFO",
    )
    .await;
    assert_eq!(retriable["status"], "RETRIABLE");
    assert_eq!(retriable["error"], "Lambda.ResourceNotFoundException");
    let caught = test_state(
        &sfn,
        missing(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.why", "Next": "Apologize"}]})),
        json!({"order": 1}),
        "INFO",
    )
    .await;
    assert_eq!(caught["status"], "CAUGHT_ERROR");
    assert_eq!(caught["nextState"], "Apologize");
    assert_eq!(caught["error"], "Lambda.ResourceNotFoundException");
    assert_eq!(caught["output"]["order"], 1);
    assert_eq!(
        caught["output"]["why"]["Error"],
        "Lambda.ResourceNotFoundException"
    );

    // A state AWS refuses.
    let (code, _) = error(
        sfn.test_state()
            .definition(r#"{"Type": "Pass", "Next": 5}"#)
            .role_arn(ROLE)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidDefinition");
}
