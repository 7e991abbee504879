//! The report workflow end to end on the local engine: real components, SQLite or MySQL,
//! the embedded S3 endpoint, the outbox. Both definitions run: statemachine/report.asl.json
//! (JSONPath) and statemachine/report.jsonata.asl.json (the same workflow in JSONata).

use cafe_report_asl::{Execution, Status};
use cafe_report_tests::{Harness, Options, http_get, seeded_mysql};
use serde_json::Value;

fn output(execution: &Execution) -> Value {
    let description = execution.describe();
    assert_eq!(
        description.status,
        Status::Succeeded,
        "{:?}: {:?}",
        description.error,
        description.cause
    );
    serde_json::from_str(description.output.as_deref().unwrap()).unwrap()
}

/// Runs the report and checks everything a person would: the stored page lists every
/// supplier the database has, the emailed link serves that page, the message names it.
async fn report_delivers(harness: &Harness, name: &str) {
    let execution = harness.execute_report(name).await;
    let out = output(&execution);
    let key = format!("reports/{name}.html");
    assert_eq!(out["report"]["key"], key.as_str());
    assert_eq!(
        out["link"]["key"],
        key.as_str(),
        "both branches got the same key"
    );
    assert_eq!(out["totals"]["suppliers"], 7);

    let html = String::from_utf8(harness.stored(&key)).unwrap();
    let inventory = harness.run("query", &serde_json::json!({})).await.unwrap();
    for supplier in inventory["suppliers"].as_array().unwrap() {
        let name = supplier["name"].as_str().unwrap();
        let escaped = name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(html.contains(&escaped), "{name} missing from the report");
    }

    let url = out["link"]["url"].as_str().unwrap();
    let (status, body) = http_get(url).await;
    assert_eq!(status, 200);
    assert_eq!(body, html);

    let messages = harness.outbox();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(
        message.message_id,
        out["link"]["message_id"].as_str().unwrap()
    );
    assert!(message.body.contains(url), "the message carries the link");

    let types: Vec<String> = execution.history().into_iter().map(|e| e.kind).collect();
    for expected in [
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "ExecutionSucceeded",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} not in {types:?}"
        );
    }
    assert_eq!(types.iter().filter(|t| *t == "TaskSucceeded").count(), 3);
}

#[tokio::test]
async fn report_workflow_in_jsonata_on_sqlite() {
    let harness = Harness::with(Options::default().in_jsonata()).await;
    report_delivers(&harness, "jsonata-run").await;
}

#[tokio::test]
async fn report_workflow_in_jsonata_database_down_sends_the_failure_message() {
    let harness = Harness::with(
        Options {
            sql_url: Some("mysql://root@127.0.0.1:1/COFFEE".into()),
            ..Options::default()
        }
        .in_jsonata(),
    )
    .await;
    database_down_fails_with_a_message(&harness, "jsonata-db-down").await;
}

/// With a recipient in the input, the link and a failure notice go to that address
/// alone, not to the configured team.
async fn requested_reports_reach_the_requester_alone(options: fn() -> Options) {
    let input = serde_json::json!({ "recipient": "ana@example.com" });
    let harness = Harness::with(options()).await;
    let execution = harness.execute_report_with("for-ana", input.clone()).await;
    let out = output(&execution);
    let messages = harness.outbox();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["ana@example.com"]);
    assert!(
        messages[0]
            .body
            .contains(out["link"]["url"].as_str().unwrap())
    );

    let mut down = options();
    down.sql_url = Some("mysql://root@127.0.0.1:1/COFFEE".into());
    let harness = Harness::with(down).await;
    let execution = harness.execute_report_with("for-ana-down", input).await;
    assert_eq!(execution.describe().status, Status::Failed);
    let messages = harness.outbox();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject, "Cafe inventory report failed");
    assert_eq!(messages[0].to, ["ana@example.com"]);
}

#[tokio::test]
async fn requested_reports_reach_the_requester_alone_in_jsonpath() {
    requested_reports_reach_the_requester_alone(Options::default).await;
}

#[tokio::test]
async fn requested_reports_reach_the_requester_alone_in_jsonata() {
    requested_reports_reach_the_requester_alone(|| Options::default().in_jsonata()).await;
}

#[tokio::test]
async fn report_workflow_on_sqlite() {
    let harness = Harness::new().await;
    report_delivers(&harness, "sqlite-run").await;
}

#[tokio::test]
async fn report_workflow_on_mysql() {
    let url = seeded_mysql("cafe_report_workflow_test").await;
    let harness = Harness::with(Options {
        sql_url: Some(url),
        ..Options::default()
    })
    .await;
    report_delivers(&harness, "mysql-run").await;
}

#[tokio::test]
async fn database_down_retries_then_sends_the_failure_message() {
    // Nothing listens on port 1.
    let harness = Harness::with(Options {
        sql_url: Some("mysql://root@127.0.0.1:1/COFFEE".into()),
        ..Options::default()
    })
    .await;
    database_down_fails_with_a_message(&harness, "db-down").await;
}

/// The query retried twice, then a failure message with the function's own words, then
/// the execution failed with the function's error.
async fn database_down_fails_with_a_message(harness: &Harness, name: &str) {
    let execution = harness.execute_report(name).await;
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(description.error.as_deref(), Some("Sql.Unavailable"));

    let history = execution.history();
    let query_attempts = history
        .iter()
        .filter(|e| {
            e.kind == "TaskScheduled"
                && e.details().unwrap()["parameters"]
                    .as_str()
                    .unwrap()
                    .contains("function:query")
        })
        .count();
    assert_eq!(query_attempts, 3, "one try and two retries");
    assert!(history.iter().any(|e| e.kind == "FailStateEntered"));

    let messages = harness.outbox();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject, "Cafe inventory report failed");
    assert_eq!(
        messages[0].to, harness.config.notify.to,
        "no recipient: the team"
    );
    assert!(messages[0].body.contains(&format!(
        "The inventory report {name} could not be produced."
    )));
    assert!(messages[0].body.contains("Error: Sql.Unavailable"));
    // People read the function's message, not Lambda's JSON around it.
    assert!(
        messages[0].body.contains("Cause: Input/output error"),
        "{}",
        messages[0].body
    );
    assert!(
        !messages[0].body.contains("errorType"),
        "{}",
        messages[0].body
    );
}

#[tokio::test]
async fn a_missing_function_is_reported_with_its_plain_cause() {
    // Render's function points at a component that does not exist.
    let harness = Harness::with(Options {
        configure: Some(Box::new(|config| {
            config
                .workflow
                .functions
                .insert("render".into(), "no-such-component".into());
        })),
        ..Options::default()
    })
    .await;
    let execution = harness.execute_report("no-render").await;
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(
        description.error.as_deref(),
        Some("Lambda.ResourceNotFoundException")
    );
    let history = execution.history();
    assert!(history.iter().any(|e| e.kind == "ParallelStateFailed"));
    let messages = harness.outbox();
    let failure = messages
        .iter()
        .find(|m| m.subject == "Cafe inventory report failed")
        .expect("the failure message");
    assert!(
        failure
            .body
            .contains("Error: Lambda.ResourceNotFoundException"),
        "{}",
        failure.body
    );
    assert!(
        failure.body.contains("Cause: Function not found"),
        "{}",
        failure.body
    );
}

#[tokio::test]
async fn input_that_is_not_an_object_fails_before_any_task() {
    let harness = Harness::new().await;
    let request = cafe_report_asl::StartExecution {
        name: Some("bad-input".into()),
        input: Some("[1, 2]".into()),
    };
    let execution = harness.workflow().execute(request).await.unwrap();
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(
        description.error.as_deref(),
        Some("States.IntrinsicFailure")
    );
    assert!(harness.outbox().is_empty());
}
