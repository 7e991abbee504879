//! The executions `serve` runs on the local engine: started at once (as StartExecution
//! answers), run with a bounded number at a time, recorded in the [`ExecutionStore`] from
//! start to end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use anyhow::Context;
use cafe_report_asl::{
    Execution, HistoryEvent, MockedCase, Resume, StartExecution, Status, format_timestamp,
};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use super::service::{ExecutionService, Identity, Load, StartFailure, Started};
use super::store::{self, AlreadyExists, ExecutionStore, Page, Record};
use crate::workflow::Workflow;

/// An unfinished execution and its owner.
#[derive(Debug, Clone)]
struct Unfinished {
    execution: Arc<Execution>,
    owner: String,
}

type Live = HashMap<String, Unfinished>;

/// Starts, runs, tracks and describes executions of one workflow.
#[derive(Debug)]
pub struct Executions {
    /// Replaced by UpdateStateMachine; an execution keeps the one it started with.
    workflow: RwLock<Workflow>,
    store: ExecutionStore,
    /// ListExecutions shows only this machine's executions (a store shared by several
    /// machines); `None`: every execution in the store.
    listed_machine: Option<String>,
    /// Executions not yet ended, by ARN: described from memory, so their history is live.
    live: Arc<Mutex<Live>>,
    slots: Arc<Semaphore>,
    limit: usize,
    /// Started, not yet holding a slot.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    tracker: TaskTracker,
}

impl Executions {
    /// At most `limit` executions of `workflow` at once and `max_waiting` more waiting
    /// for a slot, recorded in `store`.
    pub fn new(
        workflow: Workflow,
        store: ExecutionStore,
        limit: usize,
        max_waiting: usize,
    ) -> Self {
        let limit = limit.max(1);
        Self {
            workflow: RwLock::new(workflow.with_journal(Arc::new(store.clone()))),
            store,
            listed_machine: None,
            live: Arc::default(),
            slots: Arc::new(Semaphore::new(limit)),
            limit,
            waiting: Arc::default(),
            max_waiting,
            tracker: TaskTracker::new(),
        }
    }

    /// The same, sharing its store with other machines' executions: it lists only its
    /// own.
    pub fn listing_only_its_machine(mut self) -> Self {
        self.listed_machine = Some(self.workflow().state_machine_arn());
        self
    }

    /// The workflow new executions start on.
    pub fn workflow(&self) -> Workflow {
        self.workflow
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Starts new executions on `workflow` (UpdateStateMachine); running ones go on with
    /// theirs.
    pub fn replace_workflow(&self, workflow: Workflow) {
        let workflow = workflow.with_journal(Arc::new(self.store.clone()));
        *self.workflow.write().unwrap_or_else(|e| e.into_inner()) = workflow;
    }

    /// The unfinished execution with this ARN or name, if there is one the caller sees.
    pub fn live(&self, id: &str, caller: &Identity) -> Option<Arc<Execution>> {
        let arn = if id.starts_with("arn:") {
            id.to_string()
        } else {
            self.workflow().execution_arn(id)
        };
        self.lock_live()
            .get(&arn)
            .filter(|unfinished| caller.sees(Some(&unfinished.owner)))
            .map(|unfinished| unfinished.execution.clone())
    }

    /// Takes a place in the queue, unless it is full.
    fn admit(&self) -> Result<(), StartFailure> {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < self.max_waiting || self.slots.available_permits() > 0)
                    .then_some(waiting + 1)
            })
            .map(|_| ())
            .map_err(StartFailure::Throttled)
    }

    /// Running and waiting executions.
    pub fn load_now(&self) -> Load {
        let unfinished = self.lock_live().len();
        let running = self.limit - self.slots.available_permits();
        Load {
            running,
            queued: unfinished.saturating_sub(running),
            limit: self.limit,
        }
    }

    /// Lets running and waiting executions finish for up to `grace`. Those that do not
    /// stay RUNNING in the records, their history kept to their last step, and the next
    /// start resumes them. Returns how many did not finish.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return 0;
        }
        self.lock_live().len()
    }

    /// Runs an execution once a slot is free, described from memory until it ends. It
    /// holds a place among the waiting until it has a slot.
    fn launch(&self, execution: Arc<Execution>, owner: String) {
        self.lock_live().insert(
            execution.arn().to_string(),
            Unfinished {
                execution: execution.clone(),
                owner,
            },
        );
        let slots = self.slots.clone();
        let (live, waiting) = (self.live.clone(), self.waiting.clone());
        self.tracker.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _slot = slots.acquire_owned().await;
            waiting.fetch_sub(1, Ordering::AcqRel);
            // Its end is recorded with its last events (the store is its journal), so it
            // leaves memory as soon as it ends: a restart finds it either unfinished or
            // ended, never half-recorded.
            execution.clone().run().await;
            lock(&live).remove(execution.arn());
        });
    }

    /// Resumes every execution the last process left running (killed, or stopped past
    /// its grace period): each goes on from its kept history, in the order they
    /// started. One whose record cannot be resumed is recorded as FAILED, saying why.
    /// Returns how many resumed.
    pub async fn resume_unfinished(&self) -> anyhow::Result<usize> {
        let mut resumed = 0;
        for (record, owner) in self.store.unfinished().await? {
            resumed += usize::from(self.resume(record, owner, None).await?);
        }
        Ok(resumed)
    }

    /// Resumes one execution the last process left running, from its record; one that
    /// cannot be resumed is recorded as FAILED, saying why. Returns whether it resumed.
    pub async fn resume(
        &self,
        record: Record,
        owner: String,
        mocks: Option<Arc<MockedCase>>,
    ) -> anyhow::Result<bool> {
        // Stopped, with its abort kept but not its end: it ends as it was stopped (a
        // replay would run on past the stop).
        if let Some(description) = aborted(&record) {
            self.store.end(description).await?;
            return Ok(false);
        }
        match resume_of(&record).and_then(|resume| Ok(self.workflow().resume(resume)?)) {
            Ok(execution) => {
                tracing::info!(
                    arn = execution.arn(),
                    "resuming an execution the last process left running"
                );
                if let Some(case) = mocks {
                    execution.use_mocks(case);
                }
                // Accepted before: it waits for a slot whatever the queue holds.
                self.waiting.fetch_add(1, Ordering::AcqRel);
                self.launch(execution, owner);
                Ok(true)
            }
            Err(err) => {
                fail_unresumable(&self.store, record, &format!("{err:#}")).await?;
                Ok(false)
            }
        }
    }

    /// StartExecution, as `mocks`' test case when given (the Step Functions API's
    /// `<machine ARN>#<case>`).
    pub async fn start_with(
        &self,
        request: StartExecution,
        caller: &Identity,
        mocks: Option<Arc<MockedCase>>,
    ) -> Result<Started, StartFailure> {
        self.admit()?;
        let waiting = self.waiting.clone();
        let release = move || {
            waiting.fetch_sub(1, Ordering::AcqRel);
        };
        let execution = match self.workflow().start(request) {
            Ok(execution) => execution,
            Err(err) => {
                release();
                return Err(err.into());
            }
        };
        if let Err(err) = self
            .store
            .insert(record(&execution), caller.user.clone())
            .await
        {
            release();
            return Err(match err.downcast::<AlreadyExists>() {
                Ok(exists) => StartFailure::AlreadyExists(exists),
                Err(err) => StartFailure::Unrecorded(err),
            });
        }
        if let Some(case) = mocks {
            execution.use_mocks(case);
        }
        let description = execution.describe();
        self.launch(execution, caller.user.clone());
        Ok(Started {
            execution_arn: description.execution_arn,
            start_date: description.start_date,
        })
    }

    fn lock_live(&self) -> MutexGuard<'_, Live> {
        lock(&self.live)
    }

    /// The record of an execution the caller sees.
    async fn stored(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Record>> {
        self.store.get(id.to_string(), caller.owner_filter()).await
    }
}

fn lock(live: &Mutex<Live>) -> MutexGuard<'_, Live> {
    live.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait::async_trait]
impl ExecutionService for Executions {
    /// Starts an execution: it is recorded, then runs when a slot is free. When the
    /// queue is full, nothing is recorded or started.
    async fn start(
        &self,
        request: StartExecution,
        caller: &Identity,
    ) -> Result<Started, StartFailure> {
        self.start_with(request, caller, None).await
    }

    async fn describe(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Value>> {
        // A running execution is described from memory, without its history.
        match self.live(id, caller) {
            Some(execution) => Ok(Some(description(&execution))),
            None => {
                self.store
                    .description(id.to_string(), caller.owner_filter())
                    .await
            }
        }
    }

    async fn history(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Vec<Value>>> {
        match self.live(id, caller) {
            Some(execution) => Ok(Some(events(&execution))),
            None => Ok(self.stored(id, caller).await?.map(|r| r.events)),
        }
    }

    /// The workflow's definition: every execution this service starts or resumes runs it.
    async fn definition(&self, id: &str, caller: &Identity) -> anyhow::Result<Option<Value>> {
        if self.describe(id, caller).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.workflow().definition().clone()))
    }

    async fn list(
        &self,
        status: Option<Status>,
        max: usize,
        token: Option<String>,
        caller: &Identity,
    ) -> anyhow::Result<Page> {
        self.store
            .list(
                status.map(|s| s.to_string()),
                max,
                token,
                caller.owner_filter(),
                self.listed_machine.clone(),
            )
            .await
    }

    fn load(&self) -> Option<Load> {
        Some(self.load_now())
    }
}

/// Records an execution the last process left running, and that cannot resume, as
/// FAILED, saying `why`.
pub async fn fail_unresumable(
    store: &ExecutionStore,
    mut record: Record,
    why: &str,
) -> anyhow::Result<()> {
    let at = format_timestamp(time::OffsetDateTime::now_utc());
    let cause = format!(
        "cafe-report serve stopped while this execution was running, and it could not be resumed: {why}"
    );
    tracing::error!(arn = %record.description["executionArn"], %cause, "an execution could not be resumed");
    store::fail(&mut record, &at, &cause);
    store.update(record).await
}

/// The ended description of a record whose last kept event is `ExecutionAborted`.
fn aborted(record: &Record) -> Option<Value> {
    let last = record.events.last()?;
    if last["type"] != "ExecutionAborted" {
        return None;
    }
    let mut description = record.description.clone();
    description["status"] = "ABORTED".into();
    description["stopDate"] = last["timestamp"].clone();
    let details = &last["executionAbortedEventDetails"];
    for key in ["error", "cause"] {
        if let Some(text) = details[key].as_str() {
            description[key] = text.into();
        }
    }
    Some(description)
}

/// What resuming a record needs: its name, input, start and kept events.
fn resume_of(record: &Record) -> anyhow::Result<Resume> {
    let description = &record.description;
    let text = |key: &str| {
        description[key]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("the record has no {key}"))
    };
    let start = time::OffsetDateTime::parse(
        &text("startDate")?,
        &time::format_description::well_known::Rfc3339,
    )
    .context("the record's startDate")?;
    Ok(Resume {
        name: text("name")?,
        input: text("input")?,
        start,
        events: serde_json::from_value(Value::from(record.events.clone()))
            .context("the record's events")?,
    })
}

fn description(execution: &Execution) -> Value {
    serde_json::to_value(execution.describe()).unwrap_or(Value::Null)
}

fn events(execution: &Execution) -> Vec<Value> {
    event_values(&execution.history())
}

fn event_values(history: &[HistoryEvent]) -> Vec<Value> {
    history
        .iter()
        .map(|event| serde_json::to_value(event).unwrap_or(Value::Null))
        .collect()
}

fn record(execution: &Execution) -> Record {
    Record {
        description: description(execution),
        events: events(execution),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kept(description: Value, events: Vec<Value>) -> Record {
        Record {
            description,
            events,
        }
    }

    #[test]
    fn a_record_whose_abort_was_kept_ends_aborted_instead_of_resuming() {
        let description = json!({
            "executionArn": "arn:x", "name": "r1", "input": "{}", "status": "RUNNING",
            "startDate": "2026-12-04T10:00:00.000Z"
        });
        let started = json!({"id": 1, "previousEventId": 0, "type": "ExecutionStarted",
            "timestamp": "2026-12-04T10:00:00.000Z"});
        assert_eq!(
            aborted(&kept(description.clone(), vec![started.clone()])),
            None
        );
        let abort = json!({"id": 2, "previousEventId": 0, "type": "ExecutionAborted",
            "timestamp": "2026-12-04T10:00:03.000Z",
            "executionAbortedEventDetails": {"error": "Manual"}});
        let ended = aborted(&kept(description, vec![started, abort])).unwrap();
        assert_eq!(ended["status"], "ABORTED");
        assert_eq!(ended["stopDate"], "2026-12-04T10:00:03.000Z");
        assert_eq!(ended["error"], "Manual");
        assert_eq!(ended.get("cause"), None);
    }

    #[test]
    fn a_record_resumes_from_its_name_input_start_and_events() {
        let started = json!({
            "id": 1, "previousEventId": 0, "type": "ExecutionStarted",
            "timestamp": "2026-12-04T10:00:00.000Z",
            "executionStartedEventDetails": {"input": "{}"}
        });
        let description = json!({
            "name": "r1", "input": "{\"a\":1}", "startDate": "2026-12-04T10:00:00.000Z"
        });
        let resume = resume_of(&kept(description.clone(), vec![started])).unwrap();
        assert_eq!(
            (resume.name.as_str(), resume.input.as_str()),
            ("r1", "{\"a\":1}")
        );
        assert_eq!(resume.start.unix_timestamp(), 1_796_378_400);
        assert_eq!(resume.events[0].kind, "ExecutionStarted");

        // What cannot be resumed says which part of the record is wrong.
        for (key, value, says) in [
            ("startDate", Value::Null, "the record has no startDate"),
            ("startDate", json!("yesterday"), "the record's startDate"),
            ("name", Value::Null, "the record has no name"),
            ("input", Value::Null, "the record has no input"),
        ] {
            let mut broken = description.clone();
            broken[key] = value;
            let err = resume_of(&kept(broken, vec![])).unwrap_err();
            assert!(format!("{err:#}").starts_with(says), "{err:#}");
        }
        let err = resume_of(&kept(description, vec![json!({"id": "one"})])).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("the record's events"),
            "{err:#}"
        );
    }
}
