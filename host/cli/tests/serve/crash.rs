//! Fault injection: `serve` killed with SIGKILL at seeded random moments, and at the
//! moments that matter (inside a Wait, inside the Parallel, just after a message reached
//! the SMTP server), restarted each time. Every accepted execution must end SUCCEEDED
//! with one report object, one message in the outbox and one at the SMTP server, and a
//! continuous history shaped like an uninterrupted one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::mail::SmtpServer;
use crate::server::Serve;

const EXECUTIONS: usize = 50;
const SEED: u64 = 0x5eed_cafe;

/// A small xorshift: the kill moments repeat from run to run.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// The report workflow with a one-second Wait first.
fn paced_report(dir: &Path) -> String {
    let mut definition: Value =
        serde_json::from_str(include_str!("../../../../statemachine/report.asl.json")).unwrap();
    let first = definition["StartAt"].clone();
    definition["States"]["Pace"] = json!({ "Type": "Wait", "Seconds": 1, "Next": first });
    definition["StartAt"] = json!("Pace");
    let path = dir.join("paced-report.asl.json");
    std::fs::write(&path, definition.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

fn start(dir: &Path, definition: &str, smtp: &SmtpServer) -> Serve {
    Serve::start(
        dir,
        &[
            ("CAFE_REPORT_WORKFLOW_DEFINITION", definition),
            ("SMTP_URL", &smtp.url()),
        ],
    )
}

/// Whether the history so far of any execution in `names` passes `test`.
async fn some_history(serve: &Serve, names: &[String], test: impl Fn(&[Value]) -> bool) -> bool {
    for name in names {
        let (status, history) = serve.get(&format!("/executions/{name}/history")).await;
        if status == 200 && history["events"].as_array().is_some_and(|e| test(e)) {
            return true;
        }
    }
    false
}

fn ends_with(events: &[Value], kind: &str) -> bool {
    events.last().is_some_and(|event| event["type"] == kind)
}

fn inside_the_parallel(events: &[Value]) -> bool {
    let has = |kind: &str| events.iter().any(|event| event["type"] == kind);
    has("ParallelStateStarted") && !has("ParallelStateExited")
}

/// Starts executions `range` of the test.
async fn start_wave(serve: &Serve, range: std::ops::Range<usize>) -> Vec<String> {
    let mut names = Vec::new();
    for i in range {
        let name = format!("crash-{i}");
        let (status, body) = serve.create_report(&format!("?name={name}"), "{}").await;
        assert_eq!(status, 200, "{body}");
        names.push(name);
    }
    names
}

/// Polls until `ready` holds (then kills at once), or gives up after `limit`.
async fn kill_when(serve: Serve, limit: Duration, ready: impl AsyncFn(&Serve) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    let mut hit = false;
    while Instant::now() < deadline {
        if ready(&serve).await {
            hit = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    serve.kill();
    hit
}

/// Each received message's Message-ID and the report it links to (`crash-<i>`).
fn message_ids(raw: &[Vec<u8>]) -> Vec<(String, String)> {
    raw.iter()
        .map(|message| {
            let mail = mailparse::parse_mail(message).unwrap();
            let id =
                mailparse::MailHeaderMap::get_first_value(mail.headers.as_slice(), "Message-ID")
                    .unwrap_or_default();
            (id, report_of(&mail.get_body().unwrap()))
        })
        .collect()
}

/// The report a message's text links to: `crash-<i>` of `.../reports/crash-<i>.html?...`.
fn report_of(text: &str) -> String {
    text.split("/reports/")
        .nth(1)
        .and_then(|rest| rest.split(".html").next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_any_moment_every_accepted_execution_ends_once() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path());
    let definition = paced_report(dir.path());
    let mut moments = Moments(SEED);

    let mut serve = start(dir.path(), &definition, &smtp);
    let mut hits = BTreeMap::new();
    // Random moments while the first 20 run, then the three moments that matter, each
    // over a new wave of 10.
    start_wave(&serve, 0..20).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(200 + moments.next_ms(1500))).await;
        serve.kill();
        *hits.entry("random").or_insert(0) += 1;
        serve = start(dir.path(), &definition, &smtp);
    }
    for (round, first) in [(0, 20), (1, 30), (2, 40)] {
        let wave = start_wave(&serve, first..first + 10).await;
        let limit = Duration::from_secs(30);
        let (hit, moment) = match round {
            0 => (
                kill_when(serve, limit, async |s| {
                    some_history(s, &wave, |e| ends_with(e, "WaitStateEntered")).await
                })
                .await,
                "in a Wait",
            ),
            1 => (
                kill_when(serve, limit, async |s| {
                    some_history(s, &wave, inside_the_parallel).await
                })
                .await,
                "in a Parallel",
            ),
            _ => {
                let before = smtp.messages().len();
                let sent = kill_when(serve, limit, async |_| smtp.messages().len() > before);
                (sent.await, "after a send")
            }
        };
        assert!(hit, "never killed {moment}");
        *hits.entry(moment).or_insert(0) += 1;
        serve = start(dir.path(), &definition, &smtp);
    }

    // Every accepted execution ends, once.
    let mut reference: Option<Vec<String>> = None;
    for i in 0..EXECUTIONS {
        let name = format!("crash-{i}");
        let ended = serve.wait_for_end(&name).await;
        assert_eq!(ended["status"], "SUCCEEDED", "{name}: {ended:#}");
        let (_, history) = serve.get(&format!("/executions/{name}/history")).await;
        let events = history["events"].as_array().unwrap();
        for (at, event) in events.iter().enumerate() {
            assert_eq!(event["id"], at as u64 + 1, "{name}: {history:#}");
            let previous = event["previousEventId"].as_u64().unwrap();
            assert!(previous <= at as u64, "{name}: {history:#}");
            assert!(event["timestamp"].is_string(), "{name}: {event}");
        }
        assert_eq!(events[0]["type"], "ExecutionStarted");
        assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
        // The same events as any other execution's (branches may interleave).
        let mut kinds: Vec<String> = events
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        match &reference {
            None => reference = Some(kinds),
            Some(reference) => assert_eq!(&kinds, reference, "{name}: {history:#}"),
        }
    }

    // One report object per execution.
    let reports: BTreeSet<String> =
        std::fs::read_dir(serve.data.join("objects/cafe-reports/reports"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".html"))
            .collect();
    let expected: BTreeSet<String> = (0..EXECUTIONS).map(|i| format!("crash-{i}.html")).collect();
    assert_eq!(reports, expected);

    // One message per execution in the outbox.
    let mut outboxed: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(serve.data.join("outbox")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let message: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(message["delivered"], true, "{message:#}");
            *outboxed
                .entry(report_of(message["body"].as_str().unwrap()))
                .or_insert(0) += 1;
        }
    }
    assert_eq!(outboxed.len(), EXECUTIONS, "{outboxed:?}");
    assert!(outboxed.values().all(|n| *n == 1), "{outboxed:?}");

    // One message per execution at the SMTP server. SMTP cannot be asked what it has
    // received: a kill between its acceptance and the outbox's mark sends the message
    // again, with the same Message-ID, by which mail systems drop the copy. So the
    // messages are counted by Message-ID.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = message_ids(&smtp.messages());
    let mut by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, key) in &received {
        assert!(!id.is_empty(), "a message without a Message-ID");
        by_key.entry(key.clone()).or_default().insert(id.clone());
    }
    assert_eq!(by_key.len(), EXECUTIONS, "{by_key:?}");
    assert!(by_key.values().all(|ids| ids.len() == 1), "{by_key:?}");
    eprintln!(
        "kills: {hits:?}; SMTP deliveries {} for {EXECUTIONS} messages",
        received.len()
    );
}
