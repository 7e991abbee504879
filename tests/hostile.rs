//! Hostile and broken data in the café database (real MariaDB), through the whole report
//! workflow: markup and script in every text column, SQL metacharacters, NULLs, an empty
//! database, bytes that are not UTF-8, and an inventory too big for a state's payload.
//! Each either renders safely or fails with a clear Step Functions error and a failure
//! message; nothing crashes.

use cafe_report_asl::{Execution, Status};
use cafe_report_tests::{Harness, Options, many_beans_sql, seeded_mysql};
use mysql_async::prelude::Queryable;
use serde_json::Value;

/// A freshly seeded database `name`, then `statements` run on it.
async fn database(name: &str, statements: &[&str]) -> String {
    let url = seeded_mysql(name).await;
    let pool = mysql_async::Pool::new(url.as_str());
    let mut conn = pool.get_conn().await.unwrap();
    for statement in statements {
        conn.query_drop(*statement)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
    drop(conn);
    pool.disconnect().await.unwrap();
    url
}

async fn report_on(url: String, name: &str) -> (Harness, std::sync::Arc<Execution>) {
    let h = Harness::with(Options {
        sql_url: Some(url),
        ..Options::default()
    })
    .await;
    let execution = h.execute_report(name).await;
    (h, execution)
}

fn succeeded(execution: &Execution) -> Value {
    let description = execution.describe();
    assert_eq!(description.status, Status::Succeeded, "{description:?}");
    serde_json::from_str(description.output.as_deref().unwrap()).unwrap()
}

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTRIBUTE: &str = "\"><img src=x onerror=alert(2)>";
const SQL: &str = "Robert'); DROP TABLE beans;--";

#[tokio::test]
async fn markup_and_sql_in_every_text_column_render_as_text() {
    // Bound as parameters: the values reach the columns exactly as written.
    let url = database("cafe_report_hostile_markup", &[]).await;
    let pool = mysql_async::Pool::new(url.as_str());
    let mut conn = pool.get_conn().await.unwrap();
    conn.exec_drop(
        "INSERT INTO suppliers (id, name, address, city, state, email, phone) VALUES (900, ?, ?, ?, ?, ?, ?)",
        (SCRIPT, ATTRIBUTE, SQL, SCRIPT, ATTRIBUTE, SQL),
    )
    .await
    .unwrap();
    conn.exec_drop(
        "INSERT INTO beans (id, supplier_id, type, product_name, price, description, quantity) VALUES (900, 900, ?, ?, ?, ?, 3)",
        (SCRIPT, ATTRIBUTE, "<b>9</b>'--", format!("{SCRIPT}{ATTRIBUTE}")),
    )
    .await
    .unwrap();
    drop(conn);
    pool.disconnect().await.unwrap();
    let (h, execution) = report_on(url, "hostile-markup").await;
    let out = succeeded(&execution);
    assert_eq!(out["totals"]["suppliers"], 8);

    let html = String::from_utf8(h.stored("reports/hostile-markup.html")).unwrap();
    for raw in ["<script>alert", "<img src=x", "onerror=alert(2)>"] {
        assert!(!html.contains(raw), "{raw:?} reached the page unescaped");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert!(
        html.contains("Robert&#39;); DROP TABLE beans;--")
            || html.contains("Robert'); DROP TABLE beans;--")
    );
    // The statement was data: the table is still there, with every bean.
    let again = h.run("query", &serde_json::json!({})).await.unwrap();
    assert_eq!(again["totals"]["beans"], 19);
}

#[tokio::test]
async fn nulls_and_an_empty_database_still_make_a_report() {
    let nulls = "INSERT INTO suppliers (id, name) VALUES (901, 'Only A Name')";
    let null_bean =
        "INSERT INTO beans (id, supplier_id, product_name) VALUES (901, 901, 'Nameless Bean')";
    let url = database("cafe_report_hostile_nulls", &[nulls, null_bean]).await;
    let (h, execution) = report_on(url, "hostile-nulls").await;
    succeeded(&execution);
    let html = String::from_utf8(h.stored("reports/hostile-nulls.html")).unwrap();
    assert!(html.contains("Only A Name") && html.contains("Nameless Bean"));
    assert!(
        !html.contains("null"),
        "NULLs show as empty, not as the word null"
    );

    let url = database(
        "cafe_report_hostile_empty",
        &["DELETE FROM beans", "DELETE FROM suppliers"],
    )
    .await;
    let (h, execution) = report_on(url, "hostile-empty").await;
    let out = succeeded(&execution);
    assert_eq!(out["totals"]["suppliers"], 0);
    assert_eq!(out["totals"]["beans"], 0);
    assert!(
        h.outbox()[0].body.contains("0 suppliers"),
        "{}",
        h.outbox()[0].body
    );
}

#[tokio::test]
async fn bytes_that_are_not_utf8_are_replaced_not_fatal() {
    let url = database(
        "cafe_report_hostile_bytes",
        &[
            "ALTER TABLE suppliers MODIFY name VARBINARY(200) NOT NULL",
            "INSERT INTO suppliers (id, name) VALUES (902, CONCAT('Caf', 0xE9, ' ', 0xFF, 0xFE, ' Latin'))",
        ],
    )
    .await;
    let (h, execution) = report_on(url, "hostile-bytes").await;
    succeeded(&execution);
    let html = String::from_utf8(h.stored("reports/hostile-bytes.html")).unwrap();
    assert!(
        html.contains("Caf\u{FFFD} \u{FFFD}\u{FFFD} Latin"),
        "replacement characters stand in for the bad bytes"
    );
}

#[tokio::test]
async fn an_inventory_over_the_payload_limit_fails_clearly_with_a_message() {
    // 5,000 beans: under the query's row cap, far over the 256 KiB a state may pass on.
    let statements = many_beans_sql(5_000);
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    let url = database("cafe_report_hostile_huge", &statements).await;
    let (h, execution) = report_on(url, "hostile-huge").await;
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(
        description.error.as_deref(),
        Some("States.DataLimitExceeded"),
        "{description:?}"
    );
    let cause = description.cause.unwrap_or_default();
    assert!(cause.contains("262144"), "{cause}");
    let messages = h.outbox();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject, "Cafe inventory report failed");
    assert!(
        messages[0].body.contains("States.DataLimitExceeded"),
        "{}",
        messages[0].body
    );
}

#[tokio::test]
async fn the_object_store_down_fails_render_after_its_retries_and_says_so() {
    // Nothing listens on port 1: every PUT fails to connect.
    let h = Harness::with(Options {
        configure: Some(Box::new(|config| {
            config.objects.endpoint = Some("http://127.0.0.1:1".into());
            config.signer.access_key_id = Some("AKIDEXAMPLE".into());
            config.signer.secret_access_key = Some("example-secret".into());
        })),
        ..Options::default()
    })
    .await;
    let execution = h.execute_report("store-down").await;
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(
        description.error.as_deref(),
        Some("Objects.PutFailed"),
        "{description:?}"
    );
    let render_failures = execution
        .history()
        .iter()
        .filter(|e| e.kind == "TaskFailed" && e.details().unwrap()["error"] == "Objects.PutFailed")
        .count();
    assert_eq!(render_failures, 3, "one try and two retries");
    // Presign ran beside render and sent its link; the failure message follows it.
    let subjects: Vec<String> = h.outbox().into_iter().map(|m| m.subject).collect();
    assert!(
        subjects.contains(&"Cafe inventory report failed".to_string()),
        "{subjects:?}"
    );
    let failure = h
        .outbox()
        .into_iter()
        .find(|m| m.subject == "Cafe inventory report failed")
        .unwrap();
    assert!(
        failure.body.contains("Error: Objects.PutFailed"),
        "{}",
        failure.body
    );
    // The cause reads as a sentence: the SDK's messages, not its Debug dumps.
    let cause = failure.body.split("Cause: ").nth(1).unwrap_or_default();
    assert!(cause.contains("storing s3://"), "{}", failure.body);
    for dump in ["DispatchFailure(", "ConnectorError {", "Os {", "kind: "] {
        assert!(!cause.contains(dump), "{dump} in: {cause}");
    }
}

#[tokio::test]
async fn deeply_nested_input_is_refused_not_a_crash() {
    let h = Harness::new().await;
    let deep = format!("{{\"x\": {}1{}}}", "[".repeat(50_000), "]".repeat(50_000));
    for task in ["query", "render", "presign"] {
        let err = h.run_text(task, &deep).await.unwrap_err();
        assert!(
            [
                cafe_report_runtime::names::TASK_FAILED,
                cafe_report_runtime::names::INVALID_INPUT
            ]
            .contains(&err.error()),
            "{task}: {err}"
        );
    }
    // Neither the guests nor the host fell over.
    let inventory = h.run("query", &serde_json::json!({})).await.unwrap();
    assert_eq!(inventory["totals"]["suppliers"], 7);

    // The engine refuses such an execution input as StartExecution would.
    let request = cafe_report_asl::StartExecution {
        name: Some("deep".into()),
        input: Some(deep),
    };
    let err = h.workflow().start(request).unwrap_err();
    assert!(err.to_string().contains("InvalidExecutionInput"), "{err}");
}
