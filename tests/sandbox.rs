//! A misbehaving component never takes the host down: traps, endless loops and memory
//! hogs become task errors with Step Functions names, and the next task still succeeds.
//! Components that are not what their world allows are refused at load time.

use cafe_report_runtime::{Limits, World, names};
use cafe_report_tests::{Harness, Options, fixture};
use serde_json::json;

async fn harness_with_misbehave(limits: Limits) -> Harness {
    let h = Harness::with(Options {
        limits: Some(limits),
        ..Options::default()
    })
    .await;
    h.runtime
        .load("misbehave", World::Render, &fixture("misbehave"))
        .expect("misbehave loads with the render world");
    h
}

fn limits(timeout_ms: u64, memory_bytes: u64) -> Limits {
    Limits {
        timeout_ms,
        memory_bytes,
        ..Limits::default()
    }
}

/// After each failure, the same component and a real one still work.
async fn still_healthy(h: &Harness) {
    let echoed = h.runtime.run("misbehave", "\"hello\"").await.unwrap();
    assert_eq!(echoed, "\"hello\"");
    h.run("query", &json!({}))
        .await
        .expect("query after a failure");
}

#[tokio::test]
async fn a_trap_is_a_task_failure() {
    let h = harness_with_misbehave(Limits::default()).await;
    let err = h.runtime.run("misbehave", "\"trap\"").await.unwrap_err();
    assert_eq!(err.error(), names::TASK_FAILED);
    assert!(err.cause().contains("trapped"), "{err}");
    // The guest's panic message, logged just before the abort, explains the trap.
    assert!(
        err.cause().contains("misbehave: trapping on request"),
        "{err}"
    );
    still_healthy(&h).await;
}

#[tokio::test]
async fn an_endless_loop_times_out() {
    let h = harness_with_misbehave(limits(300, 64 << 20)).await;
    let started = std::time::Instant::now();
    let err = h.runtime.run("misbehave", "\"loop\"").await.unwrap_err();
    assert_eq!(err.error(), names::TIMEOUT, "{err}");
    assert!(err.cause().contains("300 ms"), "{err}");
    assert!(started.elapsed().as_secs() < 5, "the loop was stopped");
    still_healthy(&h).await;
}

#[tokio::test]
async fn unbounded_memory_growth_hits_the_limit() {
    let h = harness_with_misbehave(limits(10_000, 16 << 20)).await;
    let err = h.runtime.run("misbehave", "\"grow\"").await.unwrap_err();
    assert_eq!(err.error(), names::TASK_FAILED);
    assert!(
        err.cause().contains("memory (bytes) limit of 16777216"),
        "{err}"
    );
    still_healthy(&h).await;
}

#[tokio::test]
async fn a_component_error_keeps_its_name() {
    let h = harness_with_misbehave(Limits::default()).await;
    let err = h.runtime.run("misbehave", "\"fail\"").await.unwrap_err();
    assert_eq!(err.error(), "Misbehave.Failed");
    assert_eq!(err.cause(), "asked to fail");
}

#[tokio::test]
async fn bad_outputs_are_task_errors() {
    let h = harness_with_misbehave(Limits::default()).await;
    let err = h.runtime.run("misbehave", "\"big\"").await.unwrap_err();
    assert_eq!(err.error(), names::DATA_LIMIT_EXCEEDED);
    assert!(err.cause().contains("output"), "{err}");
    let err = h
        .runtime
        .run("misbehave", "\"not-json\"")
        .await
        .unwrap_err();
    assert_eq!(err.error(), names::TASK_FAILED);
    assert!(err.cause().contains("invalid JSON"), "{err}");
    still_healthy(&h).await;
}

#[tokio::test]
async fn oversized_input_is_refused_before_running() {
    let h = Harness::new().await;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(300 * 1024));
    let err = h.runtime.run("query", &big).await.unwrap_err();
    assert_eq!(err.error(), names::DATA_LIMIT_EXCEEDED);
}

#[tokio::test]
async fn concurrent_tasks_each_get_a_fresh_store() {
    let h = harness_with_misbehave(limits(500, 64 << 20)).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let runtime = h.runtime.clone();
        let input = match i % 4 {
            0 => "\"trap\"".to_string(),
            1 => "\"loop\"".to_string(),
            _ => format!("\"echo-{i}\""),
        };
        tasks.push(tokio::spawn(async move {
            (i, runtime.run("misbehave", &input).await)
        }));
    }
    for task in tasks {
        let (i, result) = task.await.unwrap();
        match i % 4 {
            0 => assert_eq!(result.unwrap_err().error(), names::TASK_FAILED),
            1 => assert_eq!(result.unwrap_err().error(), names::TIMEOUT),
            _ => assert_eq!(result.unwrap(), format!("\"echo-{i}\"")),
        }
    }
}

#[tokio::test]
async fn components_outside_their_world_are_refused() {
    let h = Harness::new().await;
    let query = std::fs::read(cafe_report_tests::components_dir().join("query.wasm")).unwrap();
    // query imports sql, which the render world does not grant.
    let err = h.runtime.load("render", World::Render, &query).unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("cafe:report/sql") && message.contains("render world"),
        "{message}"
    );

    let err = h
        .runtime
        .load("render", World::Render, b"<html>")
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("not a WebAssembly component"),
        "{err:#}"
    );

    let core_module = wat::parse_str("(module (func (export \"run\")))").unwrap();
    let err = h
        .runtime
        .load("render", World::Render, &core_module)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("not a WebAssembly component"),
        "{err:#}"
    );

    let no_task = wat::parse_str("(component)").unwrap();
    let err = h
        .runtime
        .load("render", World::Render, &no_task)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("does not export cafe:report/task"),
        "{err:#}"
    );

    // The render task still runs the real render component.
    let inventory = h.run("query", &json!({})).await.unwrap();
    h.run(
        "render",
        &json!({"inventory": inventory, "report_id": "ok"}),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn precompiled_components_are_cached_by_content_hash() {
    let h = Harness::new().await;
    h.run("query", &json!({})).await.unwrap();
    let cache = h.dir.path().join("cache");
    let artifacts: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let sha = h.runtime.component("query").unwrap().sha256.clone();
    assert!(artifacts[0].starts_with(&sha) && artifacts[0].ends_with(".cwasm"));

    // A corrupt artifact is replaced, not trusted.
    std::fs::write(cache.join(&artifacts[0]), b"garbage").unwrap();
    let bytes = std::fs::read(cafe_report_tests::components_dir().join("query.wasm")).unwrap();
    h.runtime.load("query", World::Query, &bytes).unwrap();
    assert!(std::fs::metadata(cache.join(&artifacts[0])).unwrap().len() > 1000);
    h.run("query", &json!({})).await.unwrap();
}

#[tokio::test]
async fn a_full_instance_pool_is_a_task_failure_not_a_crash() {
    let h = harness_with_misbehave(Limits {
        timeout_ms: 1_000,
        pool_instances: 2,
        ..Limits::default()
    })
    .await;
    // Two loops hold both instance slots; the third task cannot get one.
    let runtime = h.runtime.clone();
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let runtime = runtime.clone();
            tokio::spawn(async move { runtime.run("misbehave", "\"loop\"").await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let err = h.runtime.run("misbehave", "\"x\"").await.unwrap_err();
    assert_eq!(err.error(), names::TASK_FAILED);
    assert!(err.cause().contains("could not be instantiated"), "{err}");
    for task in loops {
        assert_eq!(task.await.unwrap().unwrap_err().error(), names::TIMEOUT);
    }
    // Slots are free again.
    assert_eq!(h.runtime.run("misbehave", "\"x\"").await.unwrap(), "\"x\"");
}

#[tokio::test]
async fn a_tasks_own_limits_apply_to_it_alone() {
    use cafe_report_runtime::TaskLimits;
    let tight = TaskLimits {
        timeout_ms: Some(300),
        memory_bytes: Some(8 << 20),
        payload_bytes: Some(64),
        ..TaskLimits::default()
    };
    let h = harness_with_misbehave(Limits {
        tasks: [("misbehave".to_string(), tight)].into(),
        ..Limits::default()
    })
    .await;

    let err = h.runtime.run("misbehave", "\"loop\"").await.unwrap_err();
    assert_eq!(err.error(), names::TIMEOUT, "{err}");
    assert!(err.cause().contains("time limit of 300 ms"), "{err}");
    let err = h.runtime.run("misbehave", "\"grow\"").await.unwrap_err();
    assert_eq!(err.error(), names::TASK_FAILED, "{err}");
    assert!(
        err.cause().contains("memory (bytes) limit of 8388608"),
        "{err}"
    );
    let long_input = format!("\"{}\"", "x".repeat(100));
    let err = h.runtime.run("misbehave", &long_input).await.unwrap_err();
    assert_eq!(err.error(), names::DATA_LIMIT_EXCEEDED, "{err}");
    assert!(err.cause().contains("64-byte limit"), "{err}");

    // The other tasks keep the general limits: query's output is far over 64 bytes.
    let inventory = h.run("query", &json!({})).await.unwrap();
    assert!(inventory.to_string().len() > 1000);
    still_healthy(&h).await;
}

#[tokio::test]
async fn a_task_memory_limit_over_the_pool_slot_is_refused() {
    use cafe_report_runtime::TaskLimits;
    let limits = Limits {
        tasks: [(
            "render".to_string(),
            TaskLimits {
                memory_bytes: Some(1 << 30),
                ..TaskLimits::default()
            },
        )]
        .into(),
        ..Limits::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = cafe_report_server::Config {
        limits,
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let err = cafe_report_runtime::Runtime::from_config(&config.runtime())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("limits.tasks.render.memory_bytes"),
        "{err:#}"
    );
}

#[tokio::test]
async fn a_component_cannot_raise_the_services_error_names() {
    let h = harness_with_misbehave(Limits::default()).await;
    let err = h
        .runtime
        .run("misbehave", "\"raise:States.Runtime\"")
        .await
        .unwrap_err();
    assert_eq!(err.error(), names::TASK_FAILED);
    assert_eq!(
        err.cause(),
        "the component raised the error name \"States.Runtime\", which only the service may raise: raised on request"
    );
    let own = h
        .runtime
        .run("misbehave", "\"raise:Misbehave.Mine\"")
        .await
        .unwrap_err();
    assert_eq!(own.error(), "Misbehave.Mine");
    // A 10 MiB cause arrives cut to the 32,768 characters Step Functions keeps.
    let long = h
        .runtime
        .run("misbehave", "\"long-cause\"")
        .await
        .unwrap_err();
    assert_eq!(long.error(), "Misbehave.Long");
    assert_eq!(long.cause().chars().count(), 32_768);
    assert!(long.cause().ends_with("… (cut)"));
    still_healthy(&h).await;
}

#[tokio::test]
async fn a_component_writes_only_report_objects() {
    let h = harness_with_misbehave(Limits::default()).await;
    for key in [
        "components/x.wasm",
        "../x",
        "/abs",
        "reports/../components/render.wasm",
    ] {
        let err = h
            .runtime
            .run("misbehave", &json!(format!("put:{key}")).to_string())
            .await
            .unwrap_err();
        assert_eq!(err.error(), names::OBJECTS_PUT_FAILED, "{key}");
        assert!(
            err.cause()
                .starts_with(&format!("the key {key:?} is refused")),
            "{err}"
        );
    }
    // Nothing landed outside the bucket's reports, and a report key still works.
    let root = h.dir.path().join("objects");
    let written: Vec<String> = walk(&root);
    assert!(
        written.iter().all(|path| !path.contains("components")),
        "{written:?}"
    );
    assert!(!root.parent().unwrap().join("x").exists());
    let ok = h
        .runtime
        .run("misbehave", "\"put:reports/fine.html\"")
        .await
        .unwrap();
    assert_eq!(ok, "\"reports/fine.html\"");
    assert_eq!(h.stored("reports/fine.html"), b"misbehave");
}

/// Every file under `dir`, as paths relative to it.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(
                path.strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
        }
    }
    found
}

/// Through the host, a query component cannot reach another database file, hold the one
/// connection past its time limit, or pull an unbounded result into the host.
#[tokio::test]
async fn a_query_component_reads_only_its_database_within_bounds() {
    let h = Harness::with(Options {
        limits: Some(limits(500, 64 << 20)),
        ..Options::default()
    })
    .await;
    h.runtime
        .load("sql", World::Query, &fixture("misbehave-query"))
        .expect("misbehave-query loads with the query world");
    let run = async |statement: &str| {
        h.runtime
            .run("sql", &json!(format!("sql:{statement}")).to_string())
            .await
    };
    let executions = h.dir.path().join("executions.db");
    std::fs::write(&executions, b"").unwrap();
    let err = run(&format!("ATTACH DATABASE '{}' AS e", executions.display()))
        .await
        .unwrap_err();
    assert_eq!(err.error(), names::SQL_QUERY_FAILED);
    assert_eq!(
        err.cause(),
        "not authorized: a component's statement may only read (no writes, ATTACH, PRAGMA or transactions)"
    );

    let err = run(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n",
    )
    .await
    .unwrap_err();
    assert_eq!(err.error(), names::TIMEOUT, "{err}");
    let started = std::time::Instant::now();
    assert_eq!(run("SELECT id FROM suppliers").await.unwrap(), "7");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "the next query waited {:?}",
        started.elapsed()
    );

    let err = run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT i FROM n")
        .await
        .unwrap_err();
    assert_eq!(err.error(), names::SQL_QUERY_FAILED);
    assert_eq!(
        err.cause(),
        "the result has more than 10000 rows, the most a query may return"
    );
}

/// A run publishes at most `[limits] publishes` (1) messages: the second is refused, and
/// only the first is in the outbox.
#[tokio::test]
async fn a_second_publish_in_one_run_is_refused() {
    let h = Harness::new().await;
    h.runtime
        .load("notifier", World::Presign, &fixture("misbehave-presign"))
        .expect("misbehave-presign loads with the presign world");
    let err = h
        .runtime
        .run("notifier", "\"publish-twice\"")
        .await
        .unwrap_err();
    assert_eq!(err.error(), names::NOTIFY_PUBLISH_FAILED);
    assert_eq!(
        err.cause(),
        "this task may publish at most 1 message(s) per run ([limits] publishes)"
    );
    let subjects: Vec<String> = h.outbox().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["misbehave 1"]);
}
