//! `cargo bench -p cafe-report --bench load`: N clients call `POST /create_report` on a
//! real `serve` (release build, loopback) for a bounded time, each waiting for its
//! execution to end before the next request. Reports throughput and create -> SUCCEEDED
//! latency, then checks nothing was lost or duplicated: every execution SUCCEEDED, once,
//! with its own report object and its own message.
//!
//! `CAFE_REPORT_LOAD_CLIENTS` (default 16) and `CAFE_REPORT_LOAD_SECONDS` (default 20).
//! With `CAFE_REPORT_LOAD_BASELINE=<another cafe-report binary>` (e.g. a release build of
//! an earlier commit), the same load runs on it and on this build, alternately, twice
//! each, so before and after are compared in one run on the same machine state.

#[path = "../tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../tests/serve/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::Serve;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn date(value: &serde_json::Value) -> time::OffsetDateTime {
    let text = value.as_str().expect("a date");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

fn files(dir: &std::path::Path, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|name| name.strip_suffix(suffix).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let clients = setting("CAFE_REPORT_LOAD_CLIENTS", 16) as usize;
    let seconds = setting("CAFE_REPORT_LOAD_SECONDS", 20);
    match std::env::var_os("CAFE_REPORT_LOAD_BASELINE") {
        None => measure("this build", None, clients, seconds).await,
        Some(baseline) => {
            let baseline = std::path::PathBuf::from(baseline);
            for _ in 0..2 {
                measure("baseline", Some(&baseline), clients, seconds).await;
                measure("this build", None, clients, seconds).await;
            }
        }
    }
}

/// One load run on a fresh `serve` of `binary` (this build's without one).
async fn measure(label: &str, binary: Option<&std::path::Path>, clients: usize, seconds: u64) {
    println!("== {label}");
    let dir = tempfile::tempdir().unwrap();
    let slots = clients.to_string();
    let env = [
        (
            "CAFE_REPORT_SERVE_MAX_CONCURRENT_EXECUTIONS",
            slots.as_str(),
        ),
        ("RUST_LOG", "warn"),
    ];
    let serve = Arc::new(match binary {
        Some(binary) => Serve::start_binary(dir.path(), &env, binary),
        None => Serve::start(dir.path(), &env),
    });
    // One warm-up execution compiles (or loads) the components.
    let warm = serve.start_report("warm-up", serde_json::json!({})).await;
    serve.output_of(&warm).await;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let serve = serve.clone();
        workers.spawn(async move {
            let mut done = Vec::new();
            while Instant::now() < deadline {
                let begun = Instant::now();
                let (status, answer) = serve.create_report("", "{}").await;
                assert_eq!(status, 200, "{answer}");
                let arn = answer["executionArn"].as_str().unwrap().to_string();
                let description = serve.wait_for_end(&arn).await;
                let seen = begun.elapsed();
                assert_eq!(description["status"], "SUCCEEDED", "{description}");
                let output: serde_json::Value =
                    serde_json::from_str(description["output"].as_str().unwrap()).unwrap();
                let ran = date(&description["stopDate"]) - date(&description["startDate"]);
                done.push((arn, seen, output, ran.unsigned_abs()));
            }
            done
        });
    }
    let results: Vec<_> = workers.join_all().await.into_iter().flatten().collect();
    let elapsed = started.elapsed();

    let mut latencies: Vec<Duration> = results.iter().map(|(_, seen, _, _)| *seen).collect();
    latencies.sort();
    let mut durations: Vec<Duration> = results.iter().map(|(_, _, _, ran)| *ran).collect();
    durations.sort();
    let arns: BTreeSet<&str> = results.iter().map(|(arn, ..)| arn.as_str()).collect();
    let keys: BTreeSet<&str> = results
        .iter()
        .map(|(_, _, o, _)| o["report"]["key"].as_str().unwrap())
        .collect();
    let messages: BTreeSet<&str> = results
        .iter()
        .map(|(_, _, o, _)| o["link"]["message_id"].as_str().unwrap())
        .collect();
    let n = results.len();
    println!(
        "{clients} clients, {:.1} s: {n} executions, {:.1} executions/s; create -> SUCCEEDED p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "execution duration (startDate -> stopDate, queueing for a slot included): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&durations, 0.5).as_secs_f64() * 1e3,
        percentile(&durations, 0.99).as_secs_f64() * 1e3,
    );

    // Nothing lost, nothing twice (the warm-up is one more of each).
    assert_eq!((arns.len(), keys.len(), messages.len()), (n, n, n));
    let stored = files(&serve.data.join("objects/cafe-reports/reports"), ".html");
    let sent = files(&serve.data.join("outbox"), ".eml");
    assert_eq!((stored.len(), sent.len()), (n + 1, n + 1));
    assert!(messages.iter().all(|id| sent.contains(*id)));
    let mut listed = 0;
    let mut token: Option<String> = None;
    loop {
        let mut page = "/executions?status=SUCCEEDED&maxResults=1000".to_string();
        if let Some(token) = &token {
            page.push_str(&format!("&nextToken={token}"));
        }
        let (_, page) = serve.get(&page).await;
        listed += page["executions"].as_array().unwrap().len();
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(listed, n + 1);
    let (_, failed) = serve.get("/executions?status=FAILED").await;
    assert_eq!(failed["executions"].as_array().unwrap().len(), 0);
    println!(
        "checked: {n} distinct executions, report objects and messages; {stored} objects and {sent} messages on disk (warm-up included); ListExecutions: {listed} SUCCEEDED (warm-up included), 0 FAILED",
        stored = stored.len(),
        sent = sent.len(),
    );
}
