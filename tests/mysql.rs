//! The sql capability against a real MySQL/MariaDB server (127.0.0.1:3306 unless
//! `CAFE_REPORT_TEST_MYSQL_URL` says otherwise). The test creates and seeds its database.

use cafe_report_capabilities::sql::{MysqlBackend, SqlBackend, SqlError, SqlValue};
use cafe_report_tests::{FIXED_NOW, Harness, Options, seeded_mysql};
use serde_json::json;

const DATABASE: &str = "cafe_report_test";

async fn harness(sql_url: Option<String>) -> Harness {
    Harness::with(Options {
        sql_url,
        now: Some(FIXED_NOW),
        ..Options::default()
    })
    .await
}

/// One test so the database is seeded once and never raced.
#[tokio::test]
async fn mysql_backend() {
    let url = seeded_mysql(DATABASE).await;

    // query answers the same document from MySQL as from the embedded SQLite database.
    let on_mysql = harness(Some(url.clone())).await;
    let on_sqlite = harness(None).await;
    for input in [
        json!({}),
        json!({"supplier_ids": [3, 7], "low_stock_threshold": 20}),
    ] {
        let from_mysql = on_mysql.run("query", &input).await.unwrap();
        let from_sqlite = on_sqlite.run("query", &input).await.unwrap();
        assert_eq!(from_mysql, from_sqlite, "input {input}");
    }
    let inventory = on_mysql.run("query", &json!({})).await.unwrap();
    assert_eq!(inventory["suppliers"][2]["name"], "<Tostadores> del Señor");
    assert_eq!(inventory["totals"]["beans"], 18);

    // The server refuses writes, whatever the statement looks like.
    let db = MysqlBackend::new(&url).unwrap();
    for statement in [
        "DELETE FROM beans",
        "DROP TABLE beans",
        "SELECT 1; DELETE FROM beans",
    ] {
        let err = db.query(statement, &[]).await.unwrap_err();
        assert!(
            matches!(err, SqlError::InvalidStatement(_)),
            "{statement}: {err}"
        );
    }
    let rows = db
        .query(
            "SELECT COUNT(*) FROM beans WHERE supplier_id = ?",
            &[SqlValue::Integer(6)],
        )
        .await
        .unwrap();
    assert_eq!(rows.rows, vec![vec![SqlValue::Integer(3)]]);
    // A runaway result is cut off at the cap, and the connection serves the next query.
    // 40,000 rows (MariaDB recurses at most 1,000 times, so a cross join).
    let many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT a.i FROM n a, n b";
    const { assert!(cafe_report_capabilities::sql::MAX_ROWS < 40_000) };
    assert_eq!(
        db.query(many, &[]).await.expect_err("capped"),
        SqlError::InvalidStatement(format!(
            "the result has more than {} rows, the most a query may return",
            cafe_report_capabilities::sql::MAX_ROWS
        ))
    );
    let again = db.query("SELECT COUNT(*) FROM beans", &[]).await.unwrap();
    assert_eq!(again.rows, vec![vec![SqlValue::Integer(18)]]);
    db.close().await.unwrap();

    // The server stops a statement at its time limit (issue 18: MySQL had none), and the
    // connection serves the next query at once.
    let limited = MysqlBackend::new(&url)
        .unwrap()
        .with_statement_timeout(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = limited.query("SELECT SLEEP(20)", &[]).await.unwrap_err();
    assert!(
        matches!(&err, SqlError::InvalidStatement(m) if m.contains("max_statement_time exceeded")),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let started = std::time::Instant::now();
    let next = limited
        .query("SELECT COUNT(*) FROM beans", &[])
        .await
        .unwrap();
    assert_eq!(next.rows, vec![vec![SqlValue::Integer(18)]]);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    limited.close().await.unwrap();

    // A database that is down is a named, retryable failure, and the host carries on.
    let down = harness(Some("mysql://root@127.0.0.1:1/COFFEE".into())).await;
    let err = down.run("query", &json!({})).await.unwrap_err();
    assert_eq!(err.error(), "Sql.Unavailable", "{err}");
    down.run(
        "render",
        &json!({"inventory": inventory, "report_id": "still-up"}),
    )
    .await
    .expect("other tasks still run");

    // A database that does not exist is a configuration problem, not a bad statement.
    let base = url.rsplit_once('/').unwrap().0;
    let missing = harness(Some(format!("{base}/cafe_report_no_such_db"))).await;
    let err = missing.run("query", &json!({})).await.unwrap_err();
    assert_eq!(err.error(), "Sql.Unavailable", "{err}");
    assert!(err.cause().contains("cafe_report_no_such_db"), "{err}");
}
