//! The execution history: events shaped like GetExecutionHistory's, with `id` and
//! `previousEventId`, so a local history can be compared with one from AWS.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::execution::ExecutionDescription;
use crate::invoker::BoxFuture;
use crate::journal::{Journal, RETRY_FIRST, RETRY_MAX};
use crate::timestamp;
use cafe_report_base::clock::Clock;

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub timestamp: String,
    /// AWS's event type: `ExecutionStarted`, `TaskStateEntered`, `TaskScheduled`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// 1-based position in the history.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// The type's details object, e.g. `{"taskScheduledEventDetails": {...}}`.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl HistoryEvent {
    /// The details object of this event, if it has one.
    pub fn details(&self) -> Option<&Value> {
        self.details.values().next()
    }
}

/// The events of one execution, appended from any branch.
#[derive(Debug, Default)]
pub(crate) struct History {
    events: Mutex<Vec<HistoryEvent>>,
    /// How many events the journal has kept; held while a batch is written, so batches
    /// go in order and a branch that waited finds its events kept by another's batch.
    kept: tokio::sync::Mutex<usize>,
    /// A resumed execution's recorded events that its replay has not met again yet: their
    /// ids by the event they follow (see [`History::resumed`]).
    unmet: Mutex<HashMap<u64, Vec<u64>>>,
}

impl History {
    /// The history of an execution resumed from `recorded` (its kept events, oldest
    /// first). Resuming replays the execution from its start: each event the replay
    /// records is first looked for among the recorded ones that follow the same event
    /// (`previousEventId`, which chains each branch and iteration on its own), and a
    /// match is taken as it stands, timestamp and all; only past the last recorded
    /// event of a branch are new events appended. A task whose result is recorded is
    /// not called again ([`History::recorded_after`]).
    pub(crate) fn resumed(recorded: Vec<HistoryEvent>) -> History {
        let mut unmet: HashMap<u64, Vec<u64>> = HashMap::new();
        for event in &recorded {
            unmet
                .entry(event.previous_event_id)
                .or_default()
                .push(event.id);
        }
        History {
            kept: tokio::sync::Mutex::new(recorded.len()),
            events: Mutex::new(recorded),
            unmet: Mutex::new(unmet),
        }
    }

    /// Appends an event after `*cursor` and moves the cursor to it; when replaying, the
    /// recorded event it repeats instead.
    pub(crate) fn record(
        &self,
        cursor: &mut u64,
        at: time::OffsetDateTime,
        kind: String,
        details: Option<(String, Value)>,
    ) -> u64 {
        let details: Map<String, Value> = details.into_iter().collect();
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut unmet = self.unmet.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(followers) = unmet.get_mut(cursor) {
            let event = |id: &u64| &events[(*id - 1) as usize];
            // Siblings follow one event alike (Parallel branches, Map iterations): the
            // details tell them apart.
            let met = followers
                .iter()
                .position(|id| event(id).kind == kind && event(id).details == details)
                .or_else(|| followers.iter().position(|id| event(id).kind == kind));
            if let Some(at) = met {
                let id = followers.remove(at);
                if followers.is_empty() {
                    unmet.remove(cursor);
                }
                *cursor = id;
                return id;
            }
        }
        let id = events.len() as u64 + 1;
        events.push(HistoryEvent {
            timestamp: timestamp::format(at),
            kind,
            id,
            previous_event_id: *cursor,
            details,
        });
        *cursor = id;
        id
    }

    /// During a replay, the recorded event not met yet that follows event `cursor`, if
    /// there is one: a task's recorded result, or the proof that a sleep already ended.
    pub(crate) fn recorded_after(&self, cursor: u64) -> Option<HistoryEvent> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let unmet = self.unmet.lock().unwrap_or_else(|e| e.into_inner());
        let id = *unmet.get(&cursor)?.first()?;
        events.get((id - 1) as usize).cloned()
    }

    /// The timestamp of event `id`.
    pub(crate) fn timestamp(&self, id: u64) -> Option<String> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        events.get(index).map(|event| event.timestamp.clone())
    }

    /// Hands the events not yet kept to `journal` and returns once it has kept them,
    /// offering the batch again, with backoff, for as long as it refuses: the engine
    /// does not act on a step that is not recorded.
    pub(crate) async fn keep(&self, journal: &dyn Journal, execution_arn: &str, clock: &dyn Clock) {
        self.keep_with(clock, false, |batch| journal.append(execution_arn, batch))
            .await;
    }

    /// [`History::keep`] of the last batch, with the execution's end
    /// ([`Journal::end`]); offered even when no event is new.
    pub(crate) async fn keep_end(
        &self,
        journal: &dyn Journal,
        execution_arn: &str,
        clock: &dyn Clock,
        ended: &ExecutionDescription,
    ) {
        self.keep_with(clock, true, |batch| {
            journal.end(execution_arn, batch, ended)
        })
        .await;
    }

    async fn keep_with<'j>(
        &self,
        clock: &dyn Clock,
        even_empty: bool,
        offer: impl Fn(Vec<HistoryEvent>) -> BoxFuture<'j, Result<(), String>>,
    ) {
        // Siblings first: the other branches of a Parallel (or iterations of a Map) run
        // up to their own step with an effect, so one batch, one commit, keeps them all.
        tokio::task::yield_now().await;
        let mut kept = self.kept.lock().await;
        let batch: Vec<HistoryEvent> = {
            let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            events[(*kept).min(events.len())..].to_vec()
        };
        if batch.is_empty() && !even_empty {
            return;
        }
        let mut delay = RETRY_FIRST;
        loop {
            match offer(batch.clone()).await {
                Ok(()) => break,
                // The journal logs why; the engine waits for it.
                Err(_) => {
                    clock.sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        }
        *kept += batch.len();
    }

    pub(crate) fn snapshot(&self) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `{"truncated": false}`, as AWS attaches to every payload it reports whole.
pub(crate) fn not_truncated() -> Value {
    json!({ "truncated": false })
}

/// The details key of an event type: `TaskStateEntered` -> `stateEnteredEventDetails`.
pub(crate) fn details_key(kind: &str) -> String {
    let base = if kind.ends_with("StateEntered") {
        "StateEntered"
    } else if kind.ends_with("StateExited") {
        "StateExited"
    } else {
        kind
    };
    let mut chars = base.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    format!("{first}{}EventDetails", chars.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_keys_follow_aws_names() {
        assert_eq!(details_key("TaskStateEntered"), "stateEnteredEventDetails");
        assert_eq!(details_key("PassStateExited"), "stateExitedEventDetails");
        assert_eq!(details_key("TaskScheduled"), "taskScheduledEventDetails");
        assert_eq!(
            details_key("MapIterationStarted"),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(
            details_key("LambdaFunctionFailed"),
            "lambdaFunctionFailedEventDetails"
        );
        assert_eq!(
            details_key("ExecutionStarted"),
            "executionStartedEventDetails"
        );
    }
}
