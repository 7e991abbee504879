//! A 100k-bean report through the components: query (MySQL) then render (HTML + PUT to the
//! embedded S3 endpoint), timed, with the process's peak memory.
//!
//! `cargo bench -p cafe-report --bench big` (after `cargo xtask components`; needs the
//! local MariaDB). The state machine cannot carry this inventory: Step Functions passes at
//! most 256 KiB between states, so the workflow fails it with `States.DataLimitExceeded`
//! (tests/hostile.rs). This measures what the components themselves cost at that size, with
//! the task limits raised for it (64 MiB payloads, 1 GiB memory). Method and results:
//! BENCHMARKS.md.

use std::time::Instant;

use cafe_report_runtime::Limits;
use cafe_report_tests::{Harness, Options, many_beans_sql, seeded_mysql};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

const BEANS: u64 = 100_000;

/// A /proc/self/status field in MiB (`VmHWM`: peak resident set; `VmRSS`: now).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

async fn database() -> String {
    let url = seeded_mysql("cafe_report_bench_big").await;
    let pool = mysql_async::Pool::new(url.as_str());
    let mut conn = pool.get_conn().await.unwrap();
    for statement in many_beans_sql(BEANS) {
        conn.query_drop(statement).await.unwrap();
    }
    drop(conn);
    pool.disconnect().await.unwrap();
    url
}

#[tokio::main]
async fn main() {
    let url = database().await;
    let h = Harness::with(Options {
        sql_url: Some(url),
        limits: Some(Limits {
            timeout_ms: 60_000,
            memory_bytes: 1 << 30,
            payload_bytes: 64 << 20,
            ..Limits::default()
        }),
        ..Options::default()
    })
    .await;
    let before = status_mib("VmRSS");
    for round in 1..=3 {
        let start = Instant::now();
        let inventory: Value = h.run("query", &json!({})).await.unwrap();
        let queried = start.elapsed();
        assert_eq!(inventory["totals"]["beans"], BEANS);
        let input = json!({"inventory": inventory, "report_id": format!("big-{round}")});
        let input_bytes = input.to_string().len();
        let rendered = Instant::now();
        let stored = h.run("render", &input).await.unwrap();
        let render = rendered.elapsed();
        println!(
            "round {round}: query {queried:.1?} ({:.1} MiB of inventory JSON), render + store {render:.1?} ({:.1} MiB of HTML), total {:.1?}",
            input_bytes as f64 / (1 << 20) as f64,
            stored["size"].as_u64().unwrap() as f64 / (1 << 20) as f64,
            start.elapsed()
        );
    }
    println!(
        "resident memory: {before:.0} MiB before, peak {:.0} MiB (VmHWM), {:.0} MiB after",
        status_mib("VmHWM"),
        status_mib("VmRSS")
    );
}
