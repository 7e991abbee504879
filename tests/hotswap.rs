//! Publishing, rejecting and rolling back component versions in a running host.

use std::sync::Arc;

use cafe_report_tests::{Harness, components_dir, fixture};
use serde_json::json;

/// Publishes a render version after its default smoke run; its sha256.
async fn publish_render(h: &Harness, bytes: &[u8]) -> String {
    let published = h.runtime.publish("render", bytes, "test", None).await;
    published.unwrap().sha256.clone()
}

fn current(h: &Harness, task: &str) -> String {
    let versions = h.runtime.versions(Some(task));
    versions
        .iter()
        .find(|v| v.current)
        .expect("a current version")
        .sha256
        .clone()
}

#[tokio::test]
async fn rejected_versions_leave_the_current_one_serving() {
    let h = Harness::new().await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let inventory = h.run("query", &json!({})).await.unwrap();
    let smoke = json!({"inventory": inventory, "key": "reports/smoke.html"}).to_string();

    let query = std::fs::read(components_dir().join("query.wasm")).unwrap();
    let cases: [(&str, Vec<u8>, Option<&str>, &str); 5] = [
        (
            "not wasm",
            b"<html>".to_vec(),
            None,
            "not a WebAssembly component",
        ),
        (
            "a core module",
            wat::parse_str("(module (func (export \"run\")))").unwrap(),
            None,
            "not a WebAssembly component",
        ),
        (
            "no task export",
            wat::parse_str("(component)").unwrap(),
            None,
            "does not export cafe:report/task",
        ),
        ("a forbidden import", query, None, "cafe:report/sql"),
        (
            "a trap in the smoke run",
            fixture("misbehave"),
            Some("\"trap\""),
            "the smoke run failed",
        ),
    ];
    for (what, bytes, smoke_input, reason) in cases {
        let err = h
            .runtime
            .publish("render", &bytes, what, smoke_input)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains(reason), "{what}: {err:#}");
        assert_eq!(current(&h, "render"), v1, "{what} must not replace v1");
        let rejection = h
            .runtime
            .rejections()
            .pop()
            .expect("the refusal is recorded");
        assert_eq!(
            (rejection.task.as_str(), rejection.source.as_str()),
            ("render", what)
        );
        assert!(
            rejection.reason.contains(reason),
            "{what}: {}",
            rejection.reason
        );
        assert_eq!(rejection.sha256, cafe_report_runtime::sha256(&bytes));
    }
    assert_eq!(h.runtime.rejections().len(), 5);

    // v1 still serves, and a good version passes its smoke run.
    h.run("render", &serde_json::from_str(&smoke).unwrap())
        .await
        .unwrap();
    let render = std::fs::read(components_dir().join("render.wasm")).unwrap();
    let again = h
        .runtime
        .publish("render", &render, "republish", Some(&smoke))
        .await
        .unwrap();
    assert_eq!(again.sha256, v1);
    assert_eq!(
        h.runtime.versions(Some("render")).len(),
        1,
        "the same bytes are one version"
    );
    let err = h
        .runtime
        .publish("bake", &render, "x", None)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("not a task"), "{err:#}");
}

#[tokio::test]
async fn every_version_passes_its_tasks_default_smoke_run() {
    // Without a configured smoke input, each task runs on the sample database's
    // inventory and must do its job; what it stores or publishes goes nowhere (issue 23:
    // misbehave published as render was accepted, and the next report stored no page).
    let h = Harness::new().await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let err = h
        .runtime
        .publish("render", &fixture("misbehave"), "misbehave", None)
        .await
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "the smoke run failed: render must store one report object, it stored 0"
    );
    assert_eq!(current(&h, "render"), v1);

    // The real versions pass, and their smoke runs store and send nothing.
    for task in ["query", "render", "presign"] {
        let bytes = std::fs::read(components_dir().join(format!("{task}.wasm"))).unwrap();
        h.runtime
            .publish(task, &bytes, "build", None)
            .await
            .unwrap();
    }
    h.runtime
        .publish("render", &fixture("render-v2"), "v2", None)
        .await
        .unwrap();
    let reports = h
        .runtime
        .capabilities()
        .embedded_s3
        .as_ref()
        .unwrap()
        .root()
        .join(h.bucket())
        .join("reports");
    assert!(
        !reports.exists() || std::fs::read_dir(&reports).unwrap().next().is_none(),
        "a smoke run stored a report"
    );
    assert!(h.outbox().is_empty(), "a smoke run sent mail");

    // A configured smoke input is checked the same way: echoing it back is not rendering.
    let err = h
        .runtime
        .publish("render", &fixture("misbehave"), "echo", Some("\"hello\""))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").ends_with("render must store one report object, it stored 0"),
        "{err:#}"
    );
}

#[tokio::test]
async fn rollback_returns_to_an_earlier_version() {
    let h = Harness::new().await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let v2 = publish_render(&h, &fixture("render-v2")).await;
    assert_eq!(current(&h, "render"), v2);
    let inventory = h.run("query", &json!({})).await.unwrap();
    let input = json!({"inventory": inventory, "key": "reports/rollback.html"});
    h.run("render", &input).await.unwrap();
    assert_eq!(
        layout_of(&String::from_utf8(h.stored("reports/rollback.html")).unwrap()),
        "v2",
        "v2 serves"
    );

    assert_eq!(h.runtime.rollback("render", None).unwrap().sha256, v1);
    assert_eq!(current(&h, "render"), v1);
    assert_eq!(
        h.runtime.rollback("render", None).unwrap_err().to_string(),
        "\"render\" has no version before the current one"
    );

    assert_eq!(
        h.runtime
            .rollback("render", Some(&v2[..12]))
            .unwrap()
            .sha256,
        v2
    );
    assert_eq!(current(&h, "render"), v2);
    assert_eq!(
        h.runtime
            .rollback("render", Some("ffffffffffff"))
            .unwrap_err()
            .to_string(),
        "no version of \"render\" has sha256 \"ffffffffffff\""
    );
    assert_eq!(
        h.runtime.rollback("presign", None).unwrap_err().to_string(),
        "no version of \"presign\" is loaded"
    );

    let listed: Vec<(String, bool)> = h
        .runtime
        .versions(Some("render"))
        .into_iter()
        .map(|v| (v.sha256, v.current))
        .collect();
    assert_eq!(listed, vec![(v1, false), (v2, true)]);
}

/// The layout a stored report was rendered with: "v1" or "v2", checked to be whole.
fn layout_of(html: &str) -> &'static str {
    let v1 = html.contains("data-layout=\"v1\"") && html.contains("Report layout v1");
    let v2 = html.contains("data-layout=\"v2\"") && html.contains("Report layout v2");
    match (v1, v2) {
        (true, false) => "v1",
        (false, true) => "v2",
        _ => panic!("a report must be wholly v1 or wholly v2"),
    }
}

/// The render version an execution's history says ran.
fn render_version(execution: &cafe_report_asl::Execution) -> String {
    execution
        .history()
        .iter()
        .filter(|e| e.kind == "TaskScheduled")
        .filter_map(|e| e.details())
        .find(|d| d["component"] == "render")
        .and_then(|d| d["componentVersion"].as_str().map(str::to_string))
        .expect("the history names render's version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_keep_succeeding_while_render_is_swapped() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let h = Arc::new(Harness::new().await);
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let workflow = h.workflow();
    let swapped = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(0));
    let after_swap_target = 12;

    // Two loops run report executions back to back, before, during and after the swap.
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let (workflow, swapped, counter) = (workflow.clone(), swapped.clone(), counter.clone());
            tokio::spawn(async move {
                let mut runs = Vec::new();
                let mut after = 0;
                while after < after_swap_target / 2 {
                    let started_after_swap = swapped.load(Ordering::SeqCst);
                    let name = format!("swap-{}", counter.fetch_add(1, Ordering::SeqCst));
                    let request = cafe_report_asl::StartExecution {
                        name: Some(name.clone()),
                        input: None,
                    };
                    let execution = workflow.execute(request).await.unwrap();
                    runs.push((name, started_after_swap, execution));
                    after += usize::from(started_after_swap);
                }
                runs
            })
        })
        .collect();

    // Let some v1 executions finish, then publish v2 with a smoke run.
    while counter.load(Ordering::SeqCst) < 6 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let inventory = h.run("query", &json!({})).await.unwrap();
    let smoke = json!({"inventory": inventory, "key": "reports/smoke-v2.html"}).to_string();
    let v2 = h
        .runtime
        .publish("render", &fixture("render-v2"), "test", Some(&smoke))
        .await
        .unwrap()
        .sha256
        .clone();
    assert_ne!(v1, v2);
    swapped.store(true, Ordering::SeqCst);

    let mut seen = std::collections::BTreeMap::new();
    for handle in loops {
        for (name, started_after_swap, execution) in handle.await.unwrap() {
            let described = execution.describe();
            assert_eq!(
                described.status,
                cafe_report_asl::Status::Succeeded,
                "{name}: {:?}",
                described.cause
            );
            let html = String::from_utf8(h.stored(&format!("reports/{name}.html"))).unwrap();
            let layout = layout_of(&html);
            let version = render_version(&execution);
            assert_eq!(
                version,
                *if layout == "v1" { &v1 } else { &v2 },
                "{name}: history and page agree"
            );
            if started_after_swap {
                assert_eq!(layout, "v2", "{name} started after the swap");
            }
            *seen.entry(layout).or_insert(0) += 1;
        }
    }
    assert!(seen.get("v1").copied().unwrap_or(0) >= 6, "{seen:?}");
    assert!(
        seen.get("v2").copied().unwrap_or(0) >= after_swap_target,
        "{seen:?}"
    );
}

#[tokio::test]
async fn an_execution_keeps_the_versions_it_started_with() {
    use cafe_report_asl::{TaskCall, TaskInvoker};
    use cafe_report_server::workflow::ComponentInvoker;

    let h = Harness::new().await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let inventory = h.run("query", &json!({})).await.unwrap();
    let call = |key: &str| TaskCall::Lambda {
        function: "arn:aws:lambda:us-east-1:000000000000:function:render".into(),
        payload: json!({"inventory": inventory, "key": key}),
    };
    // An execution's invoker pins render v1; then v2 is published.
    let started_before = ComponentInvoker::new(h.runtime.clone(), Default::default());
    let v2 = publish_render(&h, &fixture("render-v2")).await;
    let started_after = ComponentInvoker::new(h.runtime.clone(), Default::default());

    let annotated = started_before.annotate(&call("a")).unwrap();
    assert_eq!(annotated["componentVersion"], v1.as_str());
    started_before
        .invoke(call("reports/before.html"))
        .await
        .unwrap();
    assert_eq!(
        layout_of(&String::from_utf8(h.stored("reports/before.html")).unwrap()),
        "v1"
    );

    assert_eq!(
        started_after.annotate(&call("b")).unwrap()["componentVersion"],
        v2.as_str()
    );
    started_after
        .invoke(call("reports/after.html"))
        .await
        .unwrap();
    assert_eq!(
        layout_of(&String::from_utf8(h.stored("reports/after.html")).unwrap()),
        "v2"
    );
}

/// Writes a file the way `components publish` does: whole, by rename.
fn replace(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension("wasm.partial");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Waits until `task`'s current version is `sha256` (or `timeout` passes).
async fn wait_for_version(
    h: &Harness,
    task: &str,
    sha256: &str,
    timeout: std::time::Duration,
) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if h.runtime
            .versions(Some(task))
            .iter()
            .any(|v| v.current && v.sha256 == sha256)
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_directory_swaps_to_what_is_written_there() {
    let watched = cafe_report_tests::own_components_dir();
    let h = Harness::with(cafe_report_tests::Options {
        components_dir: Some(watched.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let inventory = h.run("query", &json!({})).await.unwrap();
    let input = json!({"inventory": inventory, "key": "reports/watched.html"});
    let smoke = std::collections::BTreeMap::from([("render".to_string(), input.to_string())]);
    let _watcher = h.runtime.watch(watched.path(), smoke, None).unwrap();

    let v2_bytes = fixture("render-v2");
    let v2 = cafe_report_runtime::sha256(&v2_bytes);
    replace(&watched.path().join("render.wasm"), &v2_bytes);
    assert!(
        wait_for_version(&h, "render", &v2, std::time::Duration::from_secs(10)).await,
        "v2 was not picked up"
    );
    h.run("render", &input).await.unwrap();
    assert_eq!(
        layout_of(&String::from_utf8(h.stored("reports/watched.html")).unwrap()),
        "v2"
    );

    // Broken versions written there are refused; v2 keeps serving.
    for bad in [
        b"not wasm".to_vec(),
        std::fs::read(components_dir().join("query.wasm")).unwrap(),
    ] {
        replace(&watched.path().join("render.wasm"), &bad);
        let refused = cafe_report_runtime::sha256(&bad);
        assert!(
            !wait_for_version(
                &h,
                "render",
                &refused,
                std::time::Duration::from_millis(500)
            )
            .await
        );
        assert!(wait_for_version(&h, "render", &v2, std::time::Duration::from_millis(1)).await);
        // One write, one rejection: reading the file to publish it is not a change.
        let rejections = h.runtime.rejections();
        let times = rejections.iter().filter(|r| r.sha256 == refused).count();
        assert_eq!(times, 1, "{rejections:?}");
    }
    // Writing v1 back swaps back.
    replace(
        &watched.path().join("render.wasm"),
        &std::fs::read(components_dir().join("render.wasm")).unwrap(),
    );
    assert!(wait_for_version(&h, "render", &v1, std::time::Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_prefix_is_polled_for_new_versions() {
    use cafe_report_capabilities::objects::S3Store;
    use cafe_report_runtime::{Polled, S3Source};

    let h = Harness::new().await;
    let v1_bytes = std::fs::read(components_dir().join("render.wasm")).unwrap();
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let store = S3Store::new(
        Some(h.endpoint()),
        &h.bucket(),
        "us-east-1",
        true,
        &cafe_report_capabilities::objects::EmbeddedKeys::load_or_create(h.dir.path())
            .unwrap()
            .writer
            .credentials("us-east-1"),
    );
    let client = store.client().clone();
    let put = |bytes: Vec<u8>| {
        let client = client.clone();
        let bucket = h.bucket();
        async move {
            client
                .put_object()
                .bucket(bucket)
                .key("components/live/render.wasm")
                .body(bytes.into())
                .send()
                .await
                .unwrap();
        }
    };
    let source = S3Source::new(
        client.clone(),
        &format!("s3://{}/components/live/", h.bucket()),
    )
    .unwrap();
    assert_eq!(source.key("render"), "components/live/render.wasm");
    let smoke = Default::default();
    let mut etags = std::collections::HashMap::new();
    let mut poll = async || {
        h.runtime
            .poll_s3_once(&source, &mut etags, &smoke)
            .await
            .unwrap()
    };

    let polled = poll().await;
    assert!(polled.values().all(|p| *p == Polled::Missing), "{polled:?}");

    let v2_bytes = fixture("render-v2");
    let v2 = cafe_report_runtime::sha256(&v2_bytes);
    put(v2_bytes.clone()).await;
    assert_eq!(poll().await["render"], Polled::Published(v2.clone()));
    assert_eq!(
        poll().await["render"],
        Polled::Unchanged,
        "an unchanged object is not fetched again"
    );

    put(b"not wasm".to_vec()).await;
    let Polled::Refused(reason) = poll().await["render"].clone() else {
        panic!("garbage was not refused")
    };
    assert!(reason.contains("not a WebAssembly component"), "{reason}");
    assert_eq!(current(&h, "render"), v2);

    put(v1_bytes).await;
    assert_eq!(poll().await["render"], Polled::Published(v1.clone()));

    // The background poller does the same on its own.
    let _poller = h.runtime.poll_s3(
        source.clone(),
        std::time::Duration::from_millis(20),
        Default::default(),
    );
    put(v2_bytes).await;
    assert!(wait_for_version(&h, "render", &v2, std::time::Duration::from_secs(10)).await);
}
