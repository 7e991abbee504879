//! Task latency through the real host: compile vs. cached load, and per-task run time.
//!
//! `cargo bench -p cafe-report-tests --bench tasks` (after `cargo xtask components`).
//! Each measurement runs N times after a warm-up and prints median, p95 and mean.
//! Method and results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use cafe_report_engine::{Limits, World};
use cafe_report_tests::{Harness, Options, components_dir, fixture};
use serde_json::json;

fn summarize(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len();
    let median = samples[n / 2];
    let p95 = samples[(n * 95 / 100).min(n - 1)];
    let mean = samples.iter().sum::<Duration>() / n as u32;
    println!("{name:<44} n={n:<5} median={median:>10.1?} p95={p95:>10.1?} mean={mean:>10.1?}");
}

async fn time_async<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n.div_ceil(10) {
        f().await;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        f().await;
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
    let runtime = h.runtime.clone();
    let echo = time_async(5000, || {
        let runtime = runtime.clone();
        async move {
            runtime.run("misbehave", "\"x\"").await.unwrap();
        }
    })
    .await;
    summarize("run echo: new store + instantiate + call", echo);

    let inventory = h.run("query", &json!({})).await.unwrap();
    let runtime = h.runtime.clone();
    let query = time_async(1000, || {
        let runtime = runtime.clone();
        async move {
            runtime.run("query", "{}").await.unwrap();
        }
    })
    .await;
    summarize("run query (SQLite, 7 suppliers, 18 beans)", query);

    let branch = json!({"inventory": inventory, "report_id": "bench"}).to_string();
    let runtime = h.runtime.clone();
    let render_runs = time_async(500, || {
        let runtime = runtime.clone();
        let branch = branch.clone();
        async move {
            runtime.run("render", &branch).await.unwrap();
        }
    })
    .await;
    summarize("run render (HTML + PUT to embedded S3)", render_runs);

    let presign_input = json!({"inventory": inventory, "report_id": "bench", "bucket": h.bucket(),
                               "endpoint": h.endpoint()})
    .to_string();
    let runtime = h.runtime.clone();
    let presign = time_async(500, || {
        let runtime = runtime.clone();
        let input = presign_input.clone();
        async move {
            runtime.run("presign", &input).await.unwrap();
        }
    })
    .await;
    summarize("run presign (SigV4 + outbox .eml/.json)", presign);
}
