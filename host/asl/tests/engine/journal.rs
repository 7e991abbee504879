//! The journal: an execution's events are kept, in order and each once, before the
//! engine acts on them (a task call, a Wait, a retry's backoff, the end); while the
//! journal refuses, the execution waits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cafe_report_asl::{BoxFuture, ExecutionDescription, HistoryEvent, Journal, Status, TaskCall};
use serde_json::{Value, json};

use crate::common::{Functions, lambda, run_on, test_engine};

/// Keeps batches in memory; refuses the first `refusals` offers.
#[derive(Debug, Default)]
struct Kept {
    batches: Mutex<Vec<Vec<String>>>,
    refusals: AtomicUsize,
    /// The event types kept when each task was called.
    at_calls: Mutex<Vec<Vec<String>>>,
    /// What `end` was given: the ended description and the last batch's types.
    ended: Mutex<Vec<(ExecutionDescription, Vec<String>)>>,
}

impl Kept {
    fn types(&self) -> Vec<String> {
        self.batches.lock().unwrap().concat()
    }
}

impl Journal for Kept {
    fn append<'a>(
        &'a self,
        _arn: &'a str,
        events: Vec<HistoryEvent>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let refuse = self
                .refusals
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if refuse {
                return Err("disk full".into());
            }
            let mut batches = self.batches.lock().unwrap();
            let next = batches.iter().map(Vec::len).sum::<usize>() as u64 + 1;
            assert_eq!(
                events[0].id, next,
                "batches arrive in order, each event once"
            );
            batches.push(events.into_iter().map(|e| e.kind).collect());
            Ok(())
        })
    }

    fn end<'a>(
        &'a self,
        arn: &'a str,
        events: Vec<HistoryEvent>,
        ended: &'a ExecutionDescription,
    ) -> BoxFuture<'a, Result<(), String>> {
        let types = events.iter().map(|e| e.kind.clone()).collect();
        Box::pin(async move {
            self.append(arn, events).await?;
            self.ended.lock().unwrap().push((ended.clone(), types));
            Ok(())
        })
    }
}

fn machine() -> Value {
    json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task", "Resource": lambda("flaky"), "Next": "Pause",
                "Retry": [{"ErrorEquals": ["CustomError"], "IntervalSeconds": 1}]
            },
            "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Both"},
            "Both": {
                "Type": "Parallel", "End": true,
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": lambda("record"), "End": true}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": lambda("record"), "End": true}}}
                ]
            }
        }
    })
}

/// [`machine`], then a Map whose two iterations each wait and call a task: siblings
/// whose events follow one event alike.
fn longer_machine() -> Value {
    let mut machine = machine();
    machine["States"]["Both"]["Next"] = json!("Each");
    machine["States"]["Both"]
        .as_object_mut()
        .unwrap()
        .remove("End");
    machine["States"]["Each"] = json!({
        "Type": "Map", "End": true,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Nap",
            "States": {
                "Nap": {"Type": "Wait", "Seconds": 5, "Next": "Rec"},
                "Rec": {"Type": "Task", "Resource": lambda("record"), "End": true}
            }
        }
    });
    machine
}

#[tokio::test(start_paused = true)]
async fn every_step_with_an_effect_is_kept_before_it_happens() {
    let kept = Arc::new(Kept::default());
    kept.refusals.store(3, Ordering::SeqCst);
    let failures = Arc::new(AtomicUsize::new(1));
    let (seen, flaky) = (kept.clone(), failures.clone());
    let record = kept.clone();
    let functions = Arc::new(
        Functions::new()
            .with("flaky", move |payload| {
                let (seen, flaky) = (seen.clone(), flaky.clone());
                async move {
                    seen.at_calls.lock().unwrap().push(seen.types());
                    if flaky
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        return Err(cafe_report_asl::InvokeError::Function {
                            error_type: "CustomError".into(),
                            error_message: "once".into(),
                        });
                    }
                    Ok(payload)
                }
            })
            .with("record", move |payload| {
                let seen = record.clone();
                async move {
                    seen.at_calls.lock().unwrap().push(seen.types());
                    Ok(payload)
                }
            }),
    );
    let engine = test_engine(functions.clone()).with_journal(kept.clone());
    let outcome = run_on(engine, machine(), json!({"n": 1})).await;
    assert_eq!(outcome.status, Status::Succeeded, "{:?}", outcome.types());

    // Everything is kept, once, in order: the history is the journal.
    let history: Vec<String> = outcome.types().iter().map(|t| t.to_string()).collect();
    assert_eq!(kept.types(), history);
    // The refused offers were made again (the execution waited, then went on).
    assert_eq!(kept.refusals.load(Ordering::SeqCst), 0);

    // Each call saw its own TaskStarted kept; the retry saw the failure kept.
    let at_calls = kept.at_calls.lock().unwrap().clone();
    assert_eq!(at_calls.len(), 4, "flaky twice, record twice");
    assert_eq!(at_calls[0].last().unwrap(), "LambdaFunctionStarted");
    assert_eq!(at_calls[1].last().unwrap(), "LambdaFunctionStarted");
    assert!(at_calls[1].contains(&"LambdaFunctionFailed".to_string()));
    // The Wait was entered and kept before it slept: the Parallel's calls see it, and
    // both branches' starts (the branches ran to their calls before either was kept).
    for call in &at_calls[2..] {
        assert!(call.contains(&"WaitStateEntered".to_string()), "{call:?}");
        let started = call
            .iter()
            .skip_while(|t| t.as_str() != "ParallelStateStarted")
            .filter(|t| t.as_str() == "LambdaFunctionStarted")
            .count();
        assert_eq!(started, 2, "{call:?}");
    }
    // The Parallel's two calls were kept in one batch: each branch ran up to its call
    // before either was kept.
    let batches = kept.batches.lock().unwrap().clone();
    let both = batches.iter().filter(|batch| {
        batch
            .iter()
            .filter(|t| t.as_str() == "LambdaFunctionStarted")
            .count()
            == 2
    });
    assert_eq!(both.count(), 1, "{batches:?}");
    // The end is kept before the execution shows as ended, in one batch with how it
    // ended: the description the execution then shows.
    assert_eq!(kept.types().last().unwrap(), "ExecutionSucceeded");
    let ended = kept.ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 1, "the end is kept once");
    let (description, last_batch) = &ended[0];
    assert_eq!(last_batch.last().unwrap(), "ExecutionSucceeded");
    assert_eq!(description.status, Status::Succeeded);
    assert_eq!(description.stop_date.as_deref(), Some(&*outcome.stop_date));
    assert_eq!(
        serde_json::from_str::<Value>(description.output.as_deref().unwrap()).unwrap(),
        outcome.output
    );
    let calls = functions.calls.lock().unwrap().len();
    assert!(matches!(
        functions.calls.lock().unwrap()[0],
        TaskCall::Lambda { .. }
    ));
    assert_eq!(calls, 4);
}

/// Keeps every batch with its events whole, to resume from.
#[derive(Debug, Default)]
struct Batches(Mutex<Vec<Vec<HistoryEvent>>>);

impl Journal for Batches {
    fn append<'a>(
        &'a self,
        _arn: &'a str,
        events: Vec<HistoryEvent>,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().push(events);
        Box::pin(async { Ok(()) })
    }
}

fn counting(calls: Arc<Mutex<Vec<String>>>) -> Arc<Functions> {
    let (a, b) = (calls.clone(), calls);
    Arc::new(
        Functions::new()
            .with("flaky", move |payload| {
                let calls = a.clone();
                async move {
                    let mut calls = calls.lock().unwrap();
                    calls.push("flaky".into());
                    // Fails on its first call of each run, like the test above.
                    if calls.iter().filter(|c| *c == "flaky").count() == 1 {
                        return Err(cafe_report_asl::InvokeError::Function {
                            error_type: "CustomError".into(),
                            error_message: "once".into(),
                        });
                    }
                    Ok(payload)
                }
            })
            .with("record", move |payload| {
                let calls = b.clone();
                async move {
                    calls.lock().unwrap().push("record".into());
                    Ok(json!({"seen": payload}))
                }
            }),
    )
}

fn parse(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// Each event's type and details with those of the event it follows, sorted: the same
/// for two histories of one execution whose concurrent branches and iterations took
/// their steps in another order (a resumed Wait that had already run out ends at once).
fn shape(events: &[HistoryEvent]) -> Vec<String> {
    let mut shape: Vec<String> = events
        .iter()
        .map(|e| {
            let before = (e.previous_event_id > 0)
                .then(|| &events[e.previous_event_id as usize - 1])
                .map(|p| json!([p.kind, p.details]));
            json!([e.kind, e.details, before]).to_string()
        })
        .collect();
    shape.sort();
    shape
}

#[tokio::test(start_paused = true)]
async fn a_resumed_execution_goes_on_from_any_kept_batch_without_repeating_ended_tasks() {
    use cafe_report_asl::{Resume, StateMachine, TokioClock};
    let machine = Arc::new(StateMachine::from_value(&longer_machine()).unwrap());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let batches = Arc::new(Batches::default());
    let engine = test_engine(counting(calls.clone())).with_journal(batches.clone());
    let request = cafe_report_asl::StartExecution {
        name: Some("resumed".into()),
        input: Some(r#"{"n": 1}"#.into()),
    };
    let whole = engine.execute(machine.clone(), "m", request).await.unwrap();
    assert_eq!(whole.status(), Status::Succeeded);
    let history = whole.history();
    let batches = batches.0.lock().unwrap().clone();
    assert!(batches.len() >= 5, "{batches:?}");

    // A crash can lose only what was not kept: resume from every kept prefix.
    for kept in 1..batches.len() {
        let recorded: Vec<HistoryEvent> = batches[..kept].concat();
        let last = recorded.last().unwrap().clone();
        // The new process starts 10 s after the last kept event.
        let restart = parse(&last.timestamp) + time::Duration::seconds(10);
        let again = Arc::new(Mutex::new(Vec::new()));
        // Past the first flaky failure, the function no longer fails.
        if recorded.iter().any(|e| e.kind == "LambdaFunctionFailed") {
            again.lock().unwrap().push("flaky".into());
        }
        let engine = cafe_report_asl::Engine::new(
            counting(again.clone()),
            Arc::new(TokioClock::starting_at(restart)),
        );
        let resume = Resume {
            name: "resumed".into(),
            input: r#"{"n": 1}"#.into(),
            start: parse(&whole.describe().start_date),
            events: recorded.clone(),
        };
        let execution = engine.resume(machine.clone(), "m", resume).unwrap();
        assert_eq!(execution.arn(), whole.arn());
        execution.clone().run().await;
        assert_eq!(execution.status(), Status::Succeeded, "after batch {kept}");
        let resumed = execution.history();
        // The same history (each event after the same one), ids unbroken; the kept
        // events as they were, timestamps too.
        assert_eq!(shape(&resumed), shape(&history), "after batch {kept}");
        for (at, event) in resumed.iter().enumerate() {
            assert_eq!(event.id, at as u64 + 1);
            assert!(event.previous_event_id < event.id);
        }
        assert_eq!(
            &resumed[..recorded.len()],
            &recorded[..],
            "after batch {kept}"
        );
        // No task whose end was kept ran again.
        let ended = |name: &str| {
            recorded
                .iter()
                .filter(|e| e.kind == "LambdaFunctionSucceeded" || e.kind == "LambdaFunctionFailed")
                .filter(|e| {
                    let by_id = |id: u64| &recorded[id as usize - 1];
                    let scheduled = by_id(by_id(e.previous_event_id).previous_event_id);
                    scheduled
                        .details()
                        .and_then(|d| d["resource"].as_str())
                        .is_some_and(|r| r.ends_with(name))
                })
                .count()
        };
        let ran = |name: &str| again.lock().unwrap().iter().filter(|c| *c == name).count();
        let seeded = usize::from(recorded.iter().any(|e| e.kind == "LambdaFunctionFailed"));
        assert_eq!(
            ran("flaky") - seeded,
            2 - ended("flaky"),
            "after batch {kept}"
        );
        assert_eq!(ran("record"), 4 - ended("record"), "after batch {kept}");
        // A sleep the history shows ended (a Wait, a retry's backoff) is not slept again:
        // unless the cut fell just before one, the first new event is at the restart.
        if !["WaitStateEntered", "LambdaFunctionFailed"].contains(&last.kind.as_str())
            && let Some(first_new) = resumed.get(recorded.len())
        {
            assert_eq!(parse(&first_new.timestamp), restart, "after batch {kept}");
        }
        // A Wait resumed midway waits only what was left: it still exits 30 s after it
        // was entered.
        if last.kind == "WaitStateEntered" {
            assert_eq!(
                resumed
                    .iter()
                    .find(|e| e.kind == "WaitStateExited")
                    .unwrap()
                    .timestamp,
                history
                    .iter()
                    .find(|e| e.kind == "WaitStateExited")
                    .unwrap()
                    .timestamp
            );
        }
    }
}
