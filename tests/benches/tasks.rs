//! Task latency through the real host: compile vs. cached load, and per-task run time.
//!
//! `cargo bench -p cafe-report-tests --bench tasks` (after `cargo xtask components`).
//! Each measurement runs N times after a warm-up and prints median, p95 and mean.
//! Method and results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use cafe_report_engine::{Limits, Runtime, World};
use cafe_report_tests::{Harness, Options, components_dir, fixture, summarize};
use serde_json::json;

/// `n` timed runs of `task` on `input`, after `n / 10` untimed ones.
async fn time_task(runtime: &Runtime, task: &str, input: String, n: usize) -> Vec<Duration> {
    for _ in 0..n.div_ceil(10) {
        runtime.run(task, &input).await.unwrap();
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        runtime.run(task, &input).await.unwrap();
        samples.push(start.elapsed());
    }
    samples
}

#[tokio::main]
async fn main() {
    let h = Harness::with(Options {
        limits: Some(Limits::default()),
        ..Options::default()
    })
    .await;
    let render = std::fs::read(components_dir().join("render.wasm")).unwrap();

    // Compile (Cranelift) + write the artifact: a fresh cache directory each time.
    let mut compile = Vec::new();
    for _ in 0..5 {
        let fresh = Harness::new().await;
        let start = Instant::now();
        fresh
            .runtime
            .load("render", World::Render, &render)
            .unwrap();
        compile.push(start.elapsed());
    }
    summarize("load render: compile + cache (cold)", compile);

    // Load from the precompiled artifact (warm cache) + link + InstancePre.
    h.runtime.load("render", World::Render, &render).unwrap();
    let mut warm = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        h.runtime.load("render", World::Render, &render).unwrap();
        warm.push(start.elapsed());
    }
    summarize("load render: precompiled artifact (warm)", warm);

    h.runtime
        .load("misbehave", World::Render, &fixture("misbehave"))
        .unwrap();
    let runtime = &h.runtime;
    summarize(
        "run echo: new store + instantiate + call",
        time_task(runtime, "misbehave", "\"x\"".into(), 5000).await,
    );

    let inventory = h.run("query", &json!({})).await.unwrap();
    summarize(
        "run query (SQLite, 7 suppliers, 18 beans)",
        time_task(runtime, "query", "{}".into(), 1000).await,
    );
    let branch = json!({"inventory": inventory, "report_id": "bench"});
    summarize(
        "run render (HTML + PUT to embedded S3)",
        time_task(runtime, "render", branch.to_string(), 500).await,
    );
    let mut presign = branch;
    presign["bucket"] = h.bucket().into();
    presign["endpoint"] = h.endpoint().into();
    summarize(
        "run presign (SigV4 + outbox .eml/.json)",
        time_task(runtime, "presign", presign.to_string(), 500).await,
    );
}
