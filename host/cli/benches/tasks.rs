//! Task latency through the real host: compile vs. cached load, and per-task run time.
//!
//! `cargo bench -p cafe-report --bench tasks` (after `cargo xtask components`).
//! Each measurement runs N times after a warm-up and prints median, p95 and mean.
//! Method and results: BENCHMARKS.md.

use std::time::Instant;

use cafe_report_runtime::{Limits, World};
use cafe_report_tests::bench::time_task;
use cafe_report_tests::{Harness, Options, components_dir, fixture, summarize};
use serde_json::json;

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

    // The sandbox's fixed cost, with and without the pooling allocator: the echo fixture
    // (one `log` host call), and "ping" (the same plus 100 `clock.now` host calls).
    let on_demand = Harness::with(Options {
        limits: Some(Limits {
            pooling: false,
            ..Limits::default()
        }),
        ..Options::default()
    })
    .await;
    for (allocator, harness) in [("pooling", &h), ("on-demand", &on_demand)] {
        let runtime = &harness.runtime;
        runtime
            .load("misbehave", World::Render, &fixture("misbehave"))
            .unwrap();
        summarize(
            &format!("run echo, {allocator}"),
            time_task(runtime, "misbehave", "\"x\"", 500, 5000).await,
        );
        summarize(
            &format!("run ping (100 host calls), {allocator}"),
            time_task(runtime, "misbehave", "\"ping\"", 500, 5000).await,
        );
    }
    let runtime = &h.runtime;

    let inventory = h.run("query", &json!({})).await.unwrap();
    summarize(
        "run query (SQLite, 7 suppliers, 18 beans)",
        time_task(runtime, "query", "{}", 100, 1000).await,
    );
    let branch = json!({"inventory": inventory, "report_id": "bench"});
    summarize(
        "run render (HTML + PUT to embedded S3)",
        time_task(runtime, "render", &branch.to_string(), 50, 500).await,
    );
    let mut presign = branch;
    presign["bucket"] = h.bucket().into();
    summarize(
        "run presign (link from the host's signer + outbox .eml/.json)",
        time_task(runtime, "presign", &presign.to_string(), 50, 500).await,
    );
}
