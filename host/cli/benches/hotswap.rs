//! Hot-swap costs: time from publishing a version to the first task that runs it, and
//! render's latency while versions are swapped underneath it versus without.
//!
//! `cargo bench -p cafe-report --bench hotswap` (after `cargo xtask components`).
//! Method and results: BENCHMARKS.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cafe_report_runtime::Limits;
use cafe_report_tests::bench::time_task;
use cafe_report_tests::{Harness, Options, components_dir, fixture, own_components_dir, summarize};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let watched = own_components_dir();
    let h = Harness::with(Options {
        limits: Some(Limits::default()),
        components_dir: Some(watched.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    let runtime = h.runtime.clone();
    let versions = [
        std::fs::read(components_dir().join("render.wasm")).unwrap(),
        fixture("render-v2"),
    ];
    let inventory = h.run("query", &json!({})).await.unwrap();
    let input = json!({"inventory": inventory, "key": "reports/bench.html"}).to_string();
    runtime.component("render").unwrap();

    // A version this host never saw: publish() compiles it (fresh cache each time).
    let mut cold = Vec::new();
    for _ in 0..5 {
        let fresh = Harness::new().await;
        fresh.runtime.component("render").unwrap();
        let start = Instant::now();
        fresh
            .runtime
            .publish("render", &versions[1], "bench", None)
            .await
            .unwrap();
        fresh.runtime.run("render", &input).await.unwrap();
        cold.push(start.elapsed());
    }
    summarize("publish -> first task (compiles the version)", cold);

    // Versions seen before: validate, load the precompiled artifact, link, InstancePre,
    // swap, then the first render on the new version.
    runtime
        .publish("render", &versions[1], "bench", None)
        .await
        .unwrap();
    let mut warm = Vec::new();
    for i in 0..40 {
        let bytes = &versions[(i + 1) % 2];
        let start = Instant::now();
        runtime
            .publish("render", bytes, "bench", None)
            .await
            .unwrap();
        runtime.run("render", &input).await.unwrap();
        warm.push(start.elapsed());
    }
    summarize("publish -> first task (precompiled)", warm);

    // The same through the watched directory: rename a file in, poll until it serves.
    let _watcher = runtime
        .watch(watched.path(), Default::default(), None)
        .unwrap();
    let mut watched_samples = Vec::new();
    for i in 0..20 {
        let bytes = &versions[i % 2];
        let sha = cafe_report_runtime::sha256(bytes);
        let tmp = watched.path().join("render.wasm.partial");
        let start = Instant::now();
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, watched.path().join("render.wasm")).unwrap();
        while !runtime
            .versions(Some("render"))
            .iter()
            .any(|v| v.current && v.sha256 == sha)
        {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        runtime.run("render", &input).await.unwrap();
        watched_samples.push(start.elapsed());
    }
    summarize("file renamed in -> first task (watcher)", watched_samples);

    // Render latency without swaps, then with a version published every 10 ms.
    time_task(&runtime, "render", &input, 0, 50).await;
    summarize(
        "render, no swaps",
        time_task(&runtime, "render", &input, 0, 1000).await,
    );
    let swapping = Arc::new(AtomicBool::new(true));
    let publisher = {
        let (runtime, swapping, versions) = (runtime.clone(), swapping.clone(), versions.clone());
        tokio::spawn(async move {
            let mut swaps = 0usize;
            while swapping.load(Ordering::SeqCst) {
                runtime
                    .publish("render", &versions[swaps % 2], "bench", None)
                    .await
                    .unwrap();
                swaps += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            swaps
        })
    };
    let during = time_task(&runtime, "render", &input, 0, 1000).await;
    swapping.store(false, Ordering::SeqCst);
    let swaps = publisher.await.unwrap();
    summarize(&format!("render, during {swaps} swaps"), during);
}
