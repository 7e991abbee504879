//! Local engine overhead: Pass-state transitions per second (plain, and JSONata states
//! evaluating an expression and assigning a variable), a Map state's iterations with a
//! large variable in scope, memory over 100k executions, and
//! the whole report workflow's latency on embedded defaults (SQLite, embedded S3, outbox),
//! in JSONPath and in JSONata, and on MySQL (the local MariaDB; skipped when it is not
//! reachable).
//!
//! `cargo bench -p cafe-report --bench workflow` (after `cargo xtask components`).
//! Method and results: BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cafe_report_asl::{Engine, InvokeError, StartExecution, StateMachine, TaskCall, TokioClock};
use cafe_report_capabilities::sql::MysqlBackend;
use cafe_report_runtime::Limits;
use cafe_report_tests::{Harness, Options, mysql_url, seeded_mysql, summarize};
use serde_json::{Map, Value, json};

/// A chain of `n` Pass states, each adding nothing: pure engine overhead per transition
/// (entered/exited events, input/output processing, context object). With `jsonata`,
/// each state also evaluates an `Output` and an `Assign` expression.
fn pass_chain(n: usize, jsonata: bool) -> StateMachine {
    let mut states = Map::new();
    for i in 0..n {
        let mut state = if jsonata {
            json!({
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $states.input %}",
                "Assign": {"last": "{% $states.context.State.Name %}"}
            })
        } else {
            json!({"Type": "Pass"})
        };
        if i + 1 == n {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), state);
    }
    StateMachine::from_value(&json!({"StartAt": "S0", "States": states})).unwrap()
}

async fn pass_transitions(jsonata: bool) {
    let invoker = |_: TaskCall| async { Ok::<Value, InvokeError>(Value::Null) };
    let engine = Engine::new(Arc::new(invoker), Arc::new(TokioClock::system()));
    let states = 1000;
    let machine = Arc::new(pass_chain(states, jsonata));
    let kind = if jsonata { "JSONata Pass" } else { "Pass" };
    let input = Some(json!({"order": 42, "beans": ["kenya", "peru"]}).to_string());
    let run = || {
        engine.execute(
            machine.clone(),
            "chain",
            StartExecution {
                name: None,
                input: input.clone(),
            },
        )
    };
    for _ in 0..3 {
        run().await.unwrap();
    }
    let executions = 50;
    let mut samples = Vec::with_capacity(executions);
    let start = Instant::now();
    for _ in 0..executions {
        let begin = Instant::now();
        run().await.unwrap();
        samples.push(begin.elapsed());
    }
    let elapsed = start.elapsed();
    summarize(&format!("execution of {states} {kind} states"), samples);
    let per_second = (states * executions) as f64 / elapsed.as_secs_f64();
    println!(
        "{:<44} {per_second:>10.0} transitions/s",
        format!("{kind} transitions (1 thread)")
    );
}

/// A Map state of 1000 iterations with an outer variable of 200 KB that they do not read:
/// what the iterations' copies of the outer variables cost.
async fn map_with_a_large_variable() {
    let invoker = |_: TaskCall| async { Ok::<Value, InvokeError>(Value::Null) };
    let engine = Engine::new(Arc::new(invoker), Arc::new(TokioClock::system()));
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Keep",
        "States": {
            "Keep": {"Type": "Pass", "Assign": {"big.$": "$.big", "items.$": "$.items"}, "Next": "Each"},
            "Each": {
                "Type": "Map", "ItemsPath": "$items", "ResultPath": null, "End": true,
                "ItemProcessor": {"StartAt": "Read", "States": {
                    "Read": {"Type": "Pass", "End": true}
                }}
            }
        }
    }))
    .unwrap();
    let machine = Arc::new(machine);
    let input = json!({"big": "y".repeat(200_000), "items": vec![0; 1000]}).to_string();
    let run = || {
        engine.execute(
            machine.clone(),
            "map",
            StartExecution {
                name: None,
                input: Some(input.clone()),
            },
        )
    };
    run().await.unwrap();
    let mut samples = Vec::new();
    for _ in 0..20 {
        let begin = Instant::now();
        let execution = run().await.unwrap();
        samples.push(begin.elapsed());
        assert!(execution.describe().output.is_some());
    }
    summarize("Map of 1000 items, 200 KB variable in scope", samples);
}

/// The process's resident set size, from /proc (Linux).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// 100k executions of a 10-state Pass machine, one after another, each dropped when it
/// ends (as serve does once the record is saved): resident memory every 10k executions.
async fn memory_over_executions() {
    let invoker = |_: TaskCall| async { Ok::<Value, InvokeError>(Value::Null) };
    let engine = Engine::new(Arc::new(invoker), Arc::new(TokioClock::system()));
    let machine = Arc::new(pass_chain(10, false));
    let input = Some(json!({"order": 42, "beans": ["kenya", "peru"]}).to_string());
    let mut readings = Vec::new();
    let start = Instant::now();
    for i in 1..=100_000 {
        let request = StartExecution {
            name: Some(format!("memory-{i}")),
            input: input.clone(),
        };
        let execution = engine
            .execute(machine.clone(), "chain", request)
            .await
            .unwrap();
        assert!(execution.describe().output.is_some());
        if i % 10_000 == 0 {
            readings.push(format!("{:.1}", rss_bytes() as f64 / (1 << 20) as f64));
        }
    }
    println!(
        "{:<44} RSS MiB every 10k: {} ({:.1?} in all)",
        "100k executions of 10 Pass states",
        readings.join(" "),
        start.elapsed()
    );
}

async fn report_workflow(label: &str, options: Options) {
    let harness = Harness::with(Options {
        limits: Some(Limits::default()),
        ..options
    })
    .await;
    let workflow = harness.workflow();
    let run = |i: usize| {
        let request = StartExecution {
            name: Some(format!("bench-{i}")),
            input: None,
        };
        let workflow = workflow.clone();
        async move {
            let execution = workflow.execute(request).await.unwrap();
            assert!(
                execution.describe().output.is_some(),
                "{:?}",
                execution.describe()
            );
        }
    };
    for i in 0..20 {
        run(i).await;
    }
    let mut samples: Vec<Duration> = Vec::new();
    for i in 20..520 {
        let start = Instant::now();
        run(i).await;
        samples.push(start.elapsed());
    }
    summarize(
        &format!("report workflow ({label}, embedded S3, outbox)"),
        samples,
    );
}

#[tokio::main]
async fn main() {
    pass_transitions(false).await;
    pass_transitions(true).await;
    map_with_a_large_variable().await;
    memory_over_executions().await;
    report_workflow("SQLite", Options::default()).await;
    report_workflow("JSONata, SQLite", Options::default().in_jsonata()).await;
    let mysql = mysql_url("cafe_report_bench");
    match MysqlBackend::create_database(&mysql).await {
        Ok(()) => {
            let sql_url = Some(seeded_mysql("cafe_report_bench").await);
            report_workflow(
                "MySQL",
                Options {
                    sql_url,
                    ..Options::default()
                },
            )
            .await
        }
        Err(err) => println!("report workflow on MySQL: skipped, {mysql} unreachable: {err:#}"),
    }
}
