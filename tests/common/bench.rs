//! Timing helpers the benchmarks share.

use std::time::{Duration, Instant};

use cafe_report_runtime::Runtime;

/// Prints one benchmark line: percentiles and mean of the samples.
pub fn summarize(name: &str, mut samples: Vec<std::time::Duration>) {
    samples.sort();
    let n = samples.len();
    let at = |p: usize| samples[(n * p / 100).min(n - 1)];
    let mean = samples.iter().sum::<std::time::Duration>() / n as u32;
    println!(
        "{name:<44} n={n:<5} p50={:>10.1?} p95={:>10.1?} p99={:>10.1?} mean={mean:>10.1?}",
        at(50),
        at(95),
        at(99)
    );
}

/// The median of the samples.
pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// `n` timed runs of `task` on `input`, one after another, after `warmup` untimed ones.
pub async fn time_task(
    runtime: &Runtime,
    task: &str,
    input: &str,
    warmup: usize,
    n: usize,
) -> Vec<Duration> {
    for _ in 0..warmup {
        runtime.run(task, input).await.unwrap();
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        runtime.run(task, input).await.unwrap();
        samples.push(start.elapsed());
    }
    samples
}
