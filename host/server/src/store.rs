//! Execution records on disk (SQLite), so `serve` remembers every execution across
//! restarts: its DescribeExecution JSON and its history events. The store is also the
//! engine's [`Journal`]: events arrive in batches while an execution runs. Every write
//! (a start, a batch of events, an end) goes to one writer thread, which commits all the
//! writes waiting at that moment in one transaction (group commit, each write in its own
//! savepoint so one refused does not undo the others): many executions share one fsync.
//! Reads use their own connection, which WAL lets read while the writer commits.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use anyhow::Context;
use cafe_report_asl::{BoxFuture, ExecutionDescription, HistoryEvent, Journal};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

/// A stored execution: what DescribeExecution and GetExecutionHistory answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// DescribeExecution's JSON.
    pub description: Value,
    /// GetExecutionHistory's events, oldest first.
    pub events: Vec<Value>,
}

/// One page of ListExecutions.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// ListExecutions' items, newest first.
    pub executions: Vec<Value>,
    /// Where the next page starts, when there is one.
    pub next_token: Option<String>,
}

/// The execution records of one data directory.
#[derive(Debug, Clone)]
pub struct ExecutionStore {
    /// For reads.
    connection: Arc<Mutex<Connection>>,
    /// To the writer thread, which commits the writes waiting together.
    writes: mpsc::Sender<Write>,
}

/// What a write does inside the writer's transaction.
type Work = Box<dyn FnOnce(&Connection) -> anyhow::Result<()> + Send>;

/// One write, and who waits for it to be committed.
struct Write {
    work: Work,
    done: tokio::sync::oneshot::Sender<anyhow::Result<()>>,
}

/// Inserting an execution whose ARN is taken.
#[derive(Debug, thiserror::Error)]
#[error("an execution named {0:?} already exists")]
pub struct AlreadyExists(pub String);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS executions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    arn         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    description TEXT NOT NULL,
    events      TEXT NOT NULL,
    owner       TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_name ON executions (name);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status, seq);
CREATE TABLE IF NOT EXISTS events (
    arn   TEXT NOT NULL,
    id    INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (arn, id)
) WITHOUT ROWID;
";

/// Records made before events had their own table kept them as one JSON array in
/// `executions.events`; they move to the table once (the column stays, empty).
const MOVE_EVENTS: &str = "
INSERT OR IGNORE INTO events (arn, id, event)
    SELECT e.arn, j.key + 1, j.value FROM executions e, json_each(e.events) j
    WHERE e.events != '[]';
UPDATE executions SET events = '[]' WHERE events != '[]';
";

/// Records made before executions had owners get the column; theirs stays empty, so only
/// administrators see them.
const ADD_OWNER: &str = "ALTER TABLE executions ADD COLUMN owner TEXT";

/// The state machine an execution belongs to, read from its description (so no write
/// sets it), indexed for ListExecutions of one machine.
const ADD_MACHINE: &str = "ALTER TABLE executions ADD COLUMN machine TEXT
    GENERATED ALWAYS AS (json_extract(description, '$.stateMachineArn')) VIRTUAL";

impl ExecutionStore {
    /// Opens (creating if needed) the records at `path`.
    pub fn open(path: &Path) -> anyhow::Result<ExecutionStore> {
        Self::open_with(path, true)
    }

    /// [`ExecutionStore::open`]; `durable: false` commits without waiting for the disk
    /// (`synchronous=OFF`): records survive a killed process, not a power loss.
    pub fn open_with(path: &Path, durable: bool) -> anyhow::Result<ExecutionStore> {
        // Durable: an execution answered as started or a step that had an effect is not
        // rolled back by a power loss (group commit keeps this affordable).
        let connection = crate::sqlite::open(path, durable, "the execution records")?;
        connection
            .execute_batch(SCHEMA)
            .with_context(|| format!("preparing the execution records {}", path.display()))?;
        let has_owner: bool = connection.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('executions') WHERE name = 'owner'",
            [],
            |row| row.get(0),
        )?;
        if !has_owner {
            connection.execute_batch(ADD_OWNER)?;
        }
        let has_machine: bool = connection.query_row(
            "SELECT COUNT(*) FROM pragma_table_xinfo('executions') WHERE name = 'machine'",
            [],
            |row| row.get(0),
        )?;
        if !has_machine {
            connection.execute_batch(ADD_MACHINE)?;
        }
        connection.execute_batch(
            "CREATE INDEX IF NOT EXISTS executions_by_owner ON executions (owner, seq);
             CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (machine, seq);",
        )?;
        // Checked first: a read-only store that needs no move still opens.
        let unmoved: bool = connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM executions WHERE events != '[]')",
            [],
            |row| row.get(0),
        )?;
        if unmoved {
            connection.execute_batch(&format!("BEGIN; {MOVE_EVENTS} COMMIT;"))?;
        }
        let reader = Connection::open(path)
            .with_context(|| format!("opening the execution records {}", path.display()))?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        let (writes, waiting) = mpsc::channel();
        std::thread::Builder::new()
            .name("records-writer".into())
            .spawn(move || write_together(connection, &waiting))
            .context("starting the records' writer")?;
        Ok(ExecutionStore {
            connection: Arc::new(Mutex::new(reader)),
            writes,
        })
    }

    /// Runs `work` in the writer's next transaction; returns once it is committed.
    async fn write(
        &self,
        work: impl FnOnce(&Connection) -> anyhow::Result<()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let stopped = || anyhow::anyhow!("the records' writer has stopped");
        self.writes
            .send(Write {
                work: Box::new(work),
                done,
            })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Appends events of an execution; returns once they are committed.
    pub async fn append(&self, arn: String, events: Vec<(u64, String)>) -> anyhow::Result<()> {
        self.write(move |db| insert_rows(db, &arn, &events)).await
    }

    /// Runs `work` (a read) on the reading connection off the async threads.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        crate::sqlite::blocking(&self.connection, "the execution store", work).await
    }

    /// Records a new execution of `owner`; fails with [`AlreadyExists`] when its ARN is
    /// taken.
    pub async fn insert(&self, record: Record, owner: String) -> anyhow::Result<()> {
        self.write(move |db| {
            let arn = text(&record.description, "executionArn");
            let inserted = db.execute(
                "INSERT INTO executions (arn, name, status, description, events, owner)
                 VALUES (?1, ?2, ?3, ?4, '[]', ?5) ON CONFLICT (arn) DO NOTHING",
                params![
                    arn,
                    text(&record.description, "name"),
                    text(&record.description, "status"),
                    record.description.to_string(),
                    owner,
                ],
            )?;
            if inserted == 0 {
                return Err(AlreadyExists(text(&record.description, "name")).into());
            }
            insert_events(db, &arn, &record.events)?;
            Ok(())
        })
        .await
    }

    /// Records an execution's end: its description. Its events are kept already (the
    /// engine keeps the last ones before the execution shows as ended).
    pub async fn end(&self, description: Value) -> anyhow::Result<()> {
        self.write(move |db| set_description(db, &description))
            .await
    }

    /// Replaces an execution's description (e.g. when it ends) and adds the events the
    /// record does not have yet, in one transaction.
    pub async fn update(&self, record: Record) -> anyhow::Result<()> {
        self.write(move |db| {
            set_description(db, &record.description)?;
            insert_events(
                db,
                &text(&record.description, "executionArn"),
                &record.events,
            )
        })
        .await
    }

    /// The execution with this ARN, or else this name; only `owner`'s when given.
    pub async fn get(&self, id: String, owner: Option<String>) -> anyhow::Result<Option<Record>> {
        self.with(move |db| {
            find(db, &id, owner.as_deref())?
                .map(|(arn, description)| {
                    Ok(Record {
                        description,
                        events: read_events(db, &arn)?,
                    })
                })
                .transpose()
        })
        .await
    }

    /// [`ExecutionStore::get`]'s description alone (DescribeExecution reads no events).
    pub async fn description(
        &self,
        id: String,
        owner: Option<String>,
    ) -> anyhow::Result<Option<Value>> {
        self.with(move |db| Ok(find(db, &id, owner.as_deref())?.map(|(_, d)| d)))
            .await
    }

    /// ListExecutions: newest first, optionally only one status, only `owner`'s and
    /// only one state machine's, `max` per page, starting after `token` (a previous
    /// page's `next_token`).
    pub async fn list(
        &self,
        status: Option<String>,
        max: usize,
        token: Option<String>,
        owner: Option<String>,
        machine: Option<String>,
    ) -> anyhow::Result<Page> {
        let filter = status.clone().unwrap_or_else(|| "ALL".into());
        let after = match &token {
            Some(token) => Some(parse_token(token, &filter).context(INVALID_TOKEN)?),
            None => None,
        };
        self.with(move |db| {
            // A token names the last row of the page before, listed with the same filter
            // for the same caller: that row must still be there and match both.
            if let Some(seq) = after {
                let matches = db
                    .query_row(
                        "SELECT 1 FROM executions WHERE seq = ?1
                         AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR owner = ?3)
                         AND (?4 IS NULL OR machine = ?4)",
                        params![seq, status, owner, machine],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                anyhow::ensure!(matches, INVALID_TOKEN);
            }
            let after = after.unwrap_or(i64::MAX);
            let mut query = db.prepare(
                "SELECT seq, description FROM executions
                 WHERE seq < ?1 AND (?2 IS NULL OR status = ?2) AND (?4 IS NULL OR owner = ?4)
                 AND (?5 IS NULL OR machine = ?5)
                 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = query.query_map(
                params![after, status, max as i64 + 1, owner, machine],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )?;
            let mut executions = Vec::new();
            let mut last_seq = None;
            for row in rows {
                let (seq, description) = row?;
                if executions.len() == max {
                    return Ok(Page {
                        executions,
                        next_token: last_seq
                            .map(|seq: i64| format!("{TOKEN_PREFIX}{filter}.{seq}")),
                    });
                }
                executions.push(list_item(&serde_json::from_str(&description)?));
                last_seq = Some(seq);
            }
            Ok(Page {
                executions,
                next_token: None,
            })
        })
        .await
    }

    /// Every execution still RUNNING (the last process stopped under it), oldest first,
    /// with its owner: what `serve` resumes at start.
    pub async fn unfinished(&self) -> anyhow::Result<Vec<(Record, String)>> {
        self.with(|db| {
            let running: Vec<(String, String, Option<String>)> = db
                .prepare(
                    "SELECT arn, description, owner FROM executions
                     WHERE status = 'RUNNING' ORDER BY seq",
                )?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            running
                .into_iter()
                .map(|(arn, description, owner)| {
                    let record = Record {
                        description: serde_json::from_str(&description)?,
                        events: read_events(db, &arn)?,
                    };
                    Ok((record, owner.unwrap_or_default()))
                })
                .collect()
        })
        .await
    }
}

impl ExecutionStore {
    /// The engine's events as rows.
    fn rows(events: &[HistoryEvent]) -> Result<Vec<(u64, String)>, String> {
        events
            .iter()
            .map(|event| Ok((event.id, serde_json::to_string(event)?)))
            .collect::<Result<Vec<_>, serde_json::Error>>()
            .map_err(|err| err.to_string())
    }

    /// A journal write's outcome, logged when it failed (the engine waits and offers it
    /// again).
    fn kept(execution_arn: &str, written: anyhow::Result<()>) -> Result<(), String> {
        written.map_err(|err| {
            tracing::error!(arn = execution_arn, error = %format!("{err:#}"), "the history could not be kept; the execution waits until it can");
            format!("{err:#}")
        })
    }
}

impl Journal for ExecutionStore {
    fn append<'a>(
        &'a self,
        execution_arn: &'a str,
        events: Vec<HistoryEvent>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let rows = Self::rows(&events)?;
            let written = self.append(execution_arn.to_string(), rows).await;
            Self::kept(execution_arn, written)
        })
    }

    /// The last events and the ended description in one transaction: the record shows
    /// the end (ListExecutions by status too) as soon as the engine does.
    fn end<'a>(
        &'a self,
        execution_arn: &'a str,
        events: Vec<HistoryEvent>,
        ended: &'a ExecutionDescription,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let rows = Self::rows(&events)?;
            let description = serde_json::to_value(ended).map_err(|err| err.to_string())?;
            let arn = execution_arn.to_string();
            let written = self
                .write(move |db| {
                    insert_rows(db, &arn, &rows)?;
                    set_description(db, &description)
                })
                .await;
            Self::kept(execution_arn, written)
        })
    }
}

/// The writer thread: takes every write waiting, runs each in its own savepoint of one
/// transaction, commits, and tells each waiter; ends when the last store handle is
/// dropped.
fn write_together(mut db: Connection, waiting: &mpsc::Receiver<Write>) {
    while let Ok(first) = waiting.recv() {
        let mut writes = vec![first];
        writes.extend(waiting.try_iter());
        let mut results = Vec::with_capacity(writes.len());
        let mut done = Vec::with_capacity(writes.len());
        let committed = (|| -> anyhow::Result<()> {
            let mut tx = db.transaction()?;
            for write in writes {
                let savepoint = tx.savepoint()?;
                let result = (write.work)(&savepoint);
                if result.is_ok() {
                    savepoint.commit()?;
                }
                results.push(result);
                done.push(write.done);
            }
            tx.commit()?;
            Ok(())
        })();
        match committed {
            Ok(()) => {
                for (done, result) in done.into_iter().zip(results) {
                    let _ = done.send(result);
                }
            }
            Err(err) => {
                let failure = format!("{err:#}");
                for done in done {
                    let _ = done.send(Err(anyhow::anyhow!("{failure}")));
                }
            }
        }
    }
}

/// The ARN and description of the execution with this ARN, or else this name (the
/// newest); only `owner`'s when given.
fn find(db: &Connection, id: &str, owner: Option<&str>) -> anyhow::Result<Option<(String, Value)>> {
    let row: Option<(String, String)> = db
        .prepare_cached(
            "SELECT arn, description FROM executions
             WHERE (arn = ?1 OR name = ?1) AND (?2 IS NULL OR owner = ?2)
             ORDER BY arn = ?1 DESC, seq DESC LIMIT 1",
        )?
        .query_row(params![id, owner], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(arn, description)| Ok((arn, serde_json::from_str(&description)?)))
        .transpose()
}

/// Adds the events an execution's record does not have yet (kept ones are skipped).
fn insert_events(db: &Connection, arn: &str, events: &[Value]) -> anyhow::Result<()> {
    let rows = events
        .iter()
        .map(|event| {
            let id = event["id"].as_u64().context("an event without an id")?;
            Ok((id, event.to_string()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    insert_rows(db, arn, &rows)
}

/// Adds events given as (id, JSON text); ids the execution has already are skipped.
fn insert_rows(db: &Connection, arn: &str, rows: &[(u64, String)]) -> anyhow::Result<()> {
    let mut insert =
        db.prepare_cached("INSERT OR IGNORE INTO events (arn, id, event) VALUES (?1, ?2, ?3)")?;
    for (id, event) in rows {
        insert.execute(params![arn, *id as i64, event])?;
    }
    Ok(())
}

/// Replaces an execution's description and status.
fn set_description(db: &Connection, description: &Value) -> anyhow::Result<()> {
    db.prepare_cached("UPDATE executions SET status = ?2, description = ?3 WHERE arn = ?1")?
        .execute(params![
            text(description, "executionArn"),
            text(description, "status"),
            description.to_string(),
        ])?;
    Ok(())
}

/// An execution's events, oldest first.
fn read_events(db: &Connection, arn: &str) -> anyhow::Result<Vec<Value>> {
    let mut query = db.prepare_cached("SELECT event FROM events WHERE arn = ?1 ORDER BY id")?;
    let rows = query.query_map([arn], |row| row.get::<_, String>(0))?;
    rows.map(|row| Ok(serde_json::from_str(&row?)?)).collect()
}

/// What a `nextToken` this store did not give (or gave for another filter) gets.
const INVALID_TOKEN: &str = "nextToken is not one this server gave for this listing";

/// Whether `err` is a listing's refusal of a `nextToken` it did not give.
pub fn is_invalid_token(err: &anyhow::Error) -> bool {
    err.to_string() == INVALID_TOKEN
}

/// Tokens are `v1.<status filter or ALL>.<seq of the last row listed>`.
const TOKEN_PREFIX: &str = "v1.";

/// The row a token continues after, if it was given for `filter`.
fn parse_token(token: &str, filter: &str) -> Option<i64> {
    let (given_for, seq) = token.strip_prefix(TOKEN_PREFIX)?.rsplit_once('.')?;
    let seq = seq.parse::<i64>().ok().filter(|seq| *seq > 0)?;
    (given_for == filter).then_some(seq)
}

/// The error name an execution gets when the host stopped under it.
pub const HOST_STOPPED: &str = cafe_report_asl::names::RUNTIME;

/// Ends a RUNNING record as FAILED: status, stop date, error, cause and the
/// ExecutionFailed event, as AWS would show an execution its service gave up on.
pub fn fail(record: &mut Record, at: &str, cause: &str) {
    let description = &mut record.description;
    description["status"] = "FAILED".into();
    description["stopDate"] = at.into();
    description["error"] = HOST_STOPPED.into();
    description["cause"] = cause.into();
    let last = record
        .events
        .last()
        .and_then(|e| e["id"].as_u64())
        .unwrap_or(0);
    record.events.push(json!({
        "timestamp": at,
        "type": "ExecutionFailed",
        "id": last + 1,
        "previousEventId": last,
        "executionFailedEventDetails": { "error": HOST_STOPPED, "cause": cause },
    }));
}

/// ListExecutions' item for a description.
fn list_item(description: &Value) -> Value {
    let mut item = serde_json::Map::new();
    for key in [
        "executionArn",
        "stateMachineArn",
        "name",
        "status",
        "startDate",
        "stopDate",
    ] {
        if let Some(value) = description.get(key) {
            item.insert(key.to_string(), value.clone());
        }
    }
    Value::Object(item)
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: &str) -> Record {
        Record {
            description: json!({
                "executionArn": format!("arn:aws:states:us-east-1:0:execution:m:{name}"),
                "stateMachineArn": "arn:aws:states:us-east-1:0:stateMachine:m",
                "name": name,
                "status": status,
                "startDate": "2026-11-29T10:00:00.000Z",
                "input": "{}",
            }),
            events: vec![json!({"id": 1, "previousEventId": 0, "type": "ExecutionStarted"})],
        }
    }

    #[tokio::test]
    async fn records_survive_reopening_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("executions.db");
        let store = ExecutionStore::open(&path).unwrap();
        store
            .insert(record("a", "RUNNING"), "ana".into())
            .await
            .unwrap();
        let err = store
            .insert(record("a", "RUNNING"), "ana".into())
            .await
            .unwrap_err();
        assert!(err.is::<AlreadyExists>(), "{err:#}");
        let mut done = record("a", "SUCCEEDED");
        done.description["output"] = "{}".into();
        store.update(done.clone()).await.unwrap();
        drop(store);

        let store = ExecutionStore::open(&path).unwrap();
        assert_eq!(
            store.get("a".into(), None).await.unwrap(),
            Some(done.clone())
        );
        let arn = done.description["executionArn"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            store.get(arn.clone(), Some("ana".into())).await.unwrap(),
            Some(done)
        );
        // Another owner's execution is not there for them.
        assert_eq!(store.get(arn, Some("bob".into())).await.unwrap(), None);
        assert_eq!(store.get("b".into(), None).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_journal_keeps_the_last_events_and_the_end_in_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = ExecutionStore::open(&dir.path().join("x.db")).unwrap();
        let started = record("a", "RUNNING");
        let arn = started.description["executionArn"]
            .as_str()
            .unwrap()
            .to_string();
        store.insert(started, "ana".into()).await.unwrap();
        let ended = ExecutionDescription {
            execution_arn: arn.clone(),
            state_machine_arn: "arn:aws:states:us-east-1:0:stateMachine:m".into(),
            name: "a".into(),
            status: cafe_report_asl::Status::Succeeded,
            start_date: "2026-11-29T10:00:00.000Z".into(),
            stop_date: Some("2026-11-29T10:00:01.000Z".into()),
            input: "{}".into(),
            input_details: json!({"included": true}),
            output: Some(r#"{"x":1}"#.into()),
            output_details: Some(json!({"included": true})),
            error: None,
            cause: None,
        };
        let last: HistoryEvent = serde_json::from_value(json!({
            "id": 2, "previousEventId": 1, "type": "ExecutionSucceeded",
            "timestamp": "2026-11-29T10:00:01.000Z",
            "executionSucceededEventDetails": {"output": r#"{"x":1}"#}
        }))
        .unwrap();
        Journal::end(&store, &arn, vec![last], &ended)
            .await
            .unwrap();

        // One call: the events, the description and the status the listing filters on.
        let kept = store.get(arn, None).await.unwrap().unwrap();
        assert_eq!(kept.description, serde_json::to_value(&ended).unwrap());
        let types: Vec<&str> = kept
            .events
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["ExecutionStarted", "ExecutionSucceeded"]);
        assert!(store.unfinished().await.unwrap().is_empty());
        let listed = store
            .list(Some("SUCCEEDED".into()), 10, None, None, None)
            .await
            .unwrap();
        assert_eq!(listed.executions.len(), 1);
    }

    #[tokio::test]
    async fn lists_newest_first_by_status_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = ExecutionStore::open(&dir.path().join("x.db")).unwrap();
        for (name, status) in [
            ("1", "SUCCEEDED"),
            ("2", "FAILED"),
            ("3", "SUCCEEDED"),
            ("4", "SUCCEEDED"),
        ] {
            let owner = if name == "3" { "bob" } else { "ana" };
            store
                .insert(record(name, status), owner.into())
                .await
                .unwrap();
        }
        let names = |page: &Page| -> Vec<String> {
            page.executions
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect()
        };
        let first = store
            .list(Some("SUCCEEDED".into()), 2, None, None, None)
            .await
            .unwrap();
        assert_eq!(names(&first), ["4", "3"]);
        assert!(first.executions[0].get("input").is_none());
        let second = store
            .list(
                Some("SUCCEEDED".into()),
                2,
                first.next_token.clone(),
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(names(&second), ["1"]);
        assert_eq!(second.next_token, None);
        let all = store.list(None, 10, None, None, None).await.unwrap();
        assert_eq!(names(&all), ["4", "3", "2", "1"]);
        let anas = store
            .list(None, 2, None, Some("ana".into()), None)
            .await
            .unwrap();
        assert_eq!(names(&anas), ["4", "2"]);
        let bobs = store
            .list(None, 10, None, Some("bob".into()), None)
            .await
            .unwrap();
        assert_eq!(names(&bobs), ["3"]);
        // Ana's token is not Bob's.
        let err = store
            .list(None, 10, anas.next_token.clone(), Some("bob".into()), None)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), INVALID_TOKEN);
        let rest = store
            .list(None, 10, anas.next_token, Some("ana".into()), None)
            .await
            .unwrap();
        assert_eq!(names(&rest), ["1"]);
        // Foreign, forged and stale tokens, and a token given for another filter.
        let token = first.next_token.clone().unwrap();
        for (filter, bad) in [
            (None, "x".to_string()),
            (None, "99999".to_string()),
            (None, "v1.ALL.0".to_string()),
            (None, "v1.ALL.999".to_string()),
            (Some("FAILED"), token.clone()),
            (None, token.clone()),
        ] {
            let err = store
                .list(filter.map(String::from), 10, Some(bad.clone()), None, None)
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), INVALID_TOKEN, "{bad}");
        }
    }

    #[tokio::test]
    async fn unfinished_executions_are_found_with_their_kept_events_and_can_fail() {
        let dir = tempfile::tempdir().unwrap();
        let store = ExecutionStore::open(&dir.path().join("x.db")).unwrap();
        store
            .insert(record("running", "RUNNING"), "ana".into())
            .await
            .unwrap();
        store
            .insert(record("done", "SUCCEEDED"), "ana".into())
            .await
            .unwrap();
        // Progress arrives in batches while running; a batch given twice is kept once.
        let wait = json!({"id": 2, "previousEventId": 1, "type": "WaitStateEntered"});
        let arn = record("running", "RUNNING").description["executionArn"]
            .as_str()
            .unwrap()
            .to_string();
        for _ in 0..2 {
            store
                .append(arn.clone(), vec![(2, wait.to_string())])
                .await
                .unwrap();
        }
        let unfinished = store.unfinished().await.unwrap();
        assert_eq!(unfinished.len(), 1);
        let (mut found, owner) = unfinished.into_iter().next().unwrap();
        assert_eq!(owner, "ana");
        assert_eq!(found.events.len(), 2);
        assert_eq!(found.events[1], wait);
        // One that cannot be resumed ends with an event.
        fail(&mut found, "2026-11-29T11:00:00.000Z", "host stopped");
        store.update(found).await.unwrap();
        assert!(store.unfinished().await.unwrap().is_empty());
        let running = store.get("running".into(), None).await.unwrap().unwrap();
        assert_eq!(running.description["status"], "FAILED");
        assert_eq!(running.description["error"], HOST_STOPPED);
        assert_eq!(running.description["cause"], "host stopped");
        assert_eq!(running.description["stopDate"], "2026-11-29T11:00:00.000Z");
        assert_eq!(running.events[1]["type"], "WaitStateEntered");
        assert_eq!(running.events[2]["type"], "ExecutionFailed");
        assert_eq!(running.events[2]["previousEventId"], 2);
        assert_eq!(running.events.len(), 3);
        let done = store.get("done".into(), None).await.unwrap().unwrap();
        assert_eq!(done.description["status"], "SUCCEEDED");
        assert_eq!(done.events.len(), 1);
    }

    #[tokio::test]
    async fn histories_kept_in_the_old_column_move_to_the_events_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        {
            let db = Connection::open(&path).unwrap();
            db.execute_batch(
                "CREATE TABLE executions (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 arn TEXT NOT NULL UNIQUE, name TEXT NOT NULL, status TEXT NOT NULL,
                 description TEXT NOT NULL, events TEXT NOT NULL)",
            )
            .unwrap();
            let old = record("old", "SUCCEEDED");
            db.execute(
                "INSERT INTO executions (arn, name, status, description, events)
                 VALUES (?1, 'old', 'SUCCEEDED', ?2, ?3)",
                params![
                    old.description["executionArn"].as_str().unwrap(),
                    old.description.to_string(),
                    Value::from(old.events).to_string()
                ],
            )
            .unwrap();
        }
        let store = ExecutionStore::open(&path).unwrap();
        let old = store.get("old".into(), None).await.unwrap().unwrap();
        assert_eq!(old, record("old", "SUCCEEDED"));
        drop(store);
        // Moved once: the column is empty now, the table holds the one event.
        let db = Connection::open(&path).unwrap();
        let (column, rows): (String, i64) = db
            .query_row(
                "SELECT events, (SELECT COUNT(*) FROM events) FROM executions",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((column.as_str(), rows), ("[]", 1));
    }
}
