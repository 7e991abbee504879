//! The journal: an execution's events are kept, in order and each once, before the
//! engine acts on them (a task call, a Wait, a retry's backoff, the end); while the
//! journal refuses, the execution waits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cafe_report_asl::{BoxFuture, HistoryEvent, Journal, Status, TaskCall};
use serde_json::{Value, json};

use crate::common::{Functions, lambda, run_on, test_engine};

/// Keeps batches in memory; refuses the first `refusals` offers.
#[derive(Debug, Default)]
struct Kept {
    batches: Mutex<Vec<Vec<String>>>,
    refusals: AtomicUsize,
    /// The event types kept when each task was called.
    at_calls: Mutex<Vec<Vec<String>>>,
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
            assert_eq!(events[0].id, next, "batches arrive in order, each event once");
            batches.push(events.into_iter().map(|e| e.kind).collect());
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
    // The Wait was entered and kept before it slept: the Parallel's calls see it.
    for call in &at_calls[2..] {
        assert!(call.contains(&"WaitStateEntered".to_string()), "{call:?}");
        assert_eq!(call.last().unwrap(), "LambdaFunctionStarted", "{call:?}");
    }
    // The end is kept before the execution shows as ended.
    assert_eq!(kept.types().last().unwrap(), "ExecutionSucceeded");
    let calls = functions.calls.lock().unwrap().len();
    assert!(matches!(functions.calls.lock().unwrap()[0], TaskCall::Lambda { .. }));
    assert_eq!(calls, 4);
}
