//! Execution records on disk (SQLite), so `serve` remembers every execution across
//! restarts: its DescribeExecution JSON and its history events.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
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
    connection: Arc<Mutex<Connection>>,
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
";

/// Records made before executions had owners get the column; theirs stays empty, so only
/// administrators see them.
const ADD_OWNER: &str = "ALTER TABLE executions ADD COLUMN owner TEXT";

impl ExecutionStore {
    /// Opens (creating if needed) the records at `path`.
    pub fn open(path: &Path) -> anyhow::Result<ExecutionStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let connection = Connection::open(path)
            .with_context(|| format!("opening the execution records {}", path.display()))?;
        // WAL: readers do not wait for the writer; NORMAL: durable at each checkpoint,
        // consistent always, which is what a crash test needs.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
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
        connection.execute_batch(
            "CREATE INDEX IF NOT EXISTS executions_by_owner ON executions (owner, seq)",
        )?;
        Ok(ExecutionStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` on the connection off the async threads.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            work(&connection)
        })
        .await
        .context("the execution store's worker ended")?
    }

    /// Records a new execution of `owner`; fails with [`AlreadyExists`] when its ARN is
    /// taken.
    pub async fn insert(&self, record: Record, owner: String) -> anyhow::Result<()> {
        self.with(move |db| {
            let arn = text(&record.description, "executionArn");
            let inserted = db.execute(
                "INSERT INTO executions (arn, name, status, description, events, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (arn) DO NOTHING",
                params![
                    arn,
                    text(&record.description, "name"),
                    text(&record.description, "status"),
                    record.description.to_string(),
                    Value::from(record.events).to_string(),
                    owner,
                ],
            )?;
            if inserted == 0 {
                return Err(AlreadyExists(text(&record.description, "name")).into());
            }
            Ok(())
        })
        .await
    }

    /// Replaces an execution's record (e.g. when it ends).
    pub async fn update(&self, record: Record) -> anyhow::Result<()> {
        self.with(move |db| {
            db.execute(
                "UPDATE executions SET status = ?2, description = ?3, events = ?4 WHERE arn = ?1",
                params![
                    text(&record.description, "executionArn"),
                    text(&record.description, "status"),
                    record.description.to_string(),
                    Value::from(record.events).to_string(),
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Saves the progress of an execution that is still RUNNING; a record that has
    /// ended meanwhile is left as it is.
    pub async fn checkpoint(&self, record: Record) -> anyhow::Result<()> {
        self.with(move |db| {
            db.execute(
                "UPDATE executions SET events = ?2 WHERE arn = ?1 AND status = 'RUNNING'",
                params![
                    text(&record.description, "executionArn"),
                    Value::from(record.events).to_string(),
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The execution with this ARN, or else this name; only `owner`'s when given.
    pub async fn get(&self, id: String, owner: Option<String>) -> anyhow::Result<Option<Record>> {
        self.with(move |db| {
            let row: Option<(String, String)> = db
                .query_row(
                    "SELECT description, events FROM executions
                     WHERE (arn = ?1 OR name = ?1) AND (?2 IS NULL OR owner = ?2)
                     ORDER BY arn = ?1 DESC, seq DESC LIMIT 1",
                    params![id, owner],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            row.map(|(description, events)| {
                Ok(Record {
                    description: serde_json::from_str(&description)?,
                    events: serde_json::from_str(&events)?,
                })
            })
            .transpose()
        })
        .await
    }

    /// ListExecutions: newest first, optionally only one status and only `owner`'s,
    /// `max` per page, starting after `token` (a previous page's `next_token`).
    pub async fn list(
        &self,
        status: Option<String>,
        max: usize,
        token: Option<String>,
        owner: Option<String>,
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
                         AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR owner = ?3)",
                        params![seq, status, owner],
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
                 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = query.query_map(params![after, status, max as i64 + 1, owner], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })?;
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

    /// Marks every execution still RUNNING as FAILED with `cause` at `at` (the
    /// execution's stop date and its ExecutionFailed event), and returns their ARNs.
    pub async fn fail_unfinished(&self, at: String, cause: String) -> anyhow::Result<Vec<String>> {
        self.with(move |db| {
            let running: Vec<(String, String, String)> = db
                .prepare("SELECT arn, description, events FROM executions WHERE status = 'RUNNING'")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut failed = Vec::new();
            for (arn, description, events) in running {
                let mut record = Record {
                    description: serde_json::from_str(&description)?,
                    events: serde_json::from_str(&events)?,
                };
                fail(&mut record, &at, &cause);
                db.execute(
                    "UPDATE executions SET status = 'FAILED', description = ?2, events = ?3 WHERE arn = ?1",
                    params![arn, record.description.to_string(), Value::from(record.events).to_string()],
                )?;
                failed.push(arn);
            }
            Ok(failed)
        })
        .await
    }
}

/// What a `nextToken` this store did not give (or gave for another filter) gets.
const INVALID_TOKEN: &str = "nextToken is not one this server gave for this listing";

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
            .list(Some("SUCCEEDED".into()), 2, None, None)
            .await
            .unwrap();
        assert_eq!(names(&first), ["4", "3"]);
        assert!(first.executions[0].get("input").is_none());
        let second = store
            .list(Some("SUCCEEDED".into()), 2, first.next_token.clone(), None)
            .await
            .unwrap();
        assert_eq!(names(&second), ["1"]);
        assert_eq!(second.next_token, None);
        let all = store.list(None, 10, None, None).await.unwrap();
        assert_eq!(names(&all), ["4", "3", "2", "1"]);
        let anas = store.list(None, 2, None, Some("ana".into())).await.unwrap();
        assert_eq!(names(&anas), ["4", "2"]);
        let bobs = store
            .list(None, 10, None, Some("bob".into()))
            .await
            .unwrap();
        assert_eq!(names(&bobs), ["3"]);
        // Ana's token is not Bob's.
        let err = store
            .list(None, 10, anas.next_token.clone(), Some("bob".into()))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), INVALID_TOKEN);
        let rest = store
            .list(None, 10, anas.next_token, Some("ana".into()))
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
                .list(filter.map(String::from), 10, Some(bad.clone()), None)
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), INVALID_TOKEN, "{bad}");
        }
    }

    #[tokio::test]
    async fn unfinished_executions_fail_with_an_event() {
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
        // Progress is saved while running, and never over an ended record.
        let mut progress = record("running", "RUNNING");
        progress
            .events
            .push(json!({"id": 2, "previousEventId": 1, "type": "WaitStateEntered"}));
        store.checkpoint(progress.clone()).await.unwrap();
        let mut late = record("done", "RUNNING");
        late.events.clear();
        store.checkpoint(late).await.unwrap();
        let failed = store
            .fail_unfinished("2026-11-29T11:00:00.000Z".into(), "host stopped".into())
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        let running = store.get("running".into(), None).await.unwrap().unwrap();
        assert_eq!(running.description["status"], "FAILED");
        assert_eq!(running.description["error"], HOST_STOPPED);
        assert_eq!(running.description["cause"], "host stopped");
        assert_eq!(running.description["stopDate"], "2026-11-29T11:00:00.000Z");
        assert_eq!(running.events[1]["type"], "WaitStateEntered");
        assert_eq!(running.events[2]["type"], "ExecutionFailed");
        assert_eq!(running.events[2]["previousEventId"], 2);
        let done = store.get("done".into(), None).await.unwrap().unwrap();
        assert_eq!(done.description["status"], "SUCCEEDED");
        assert_eq!(done.events.len(), 1);
    }
}
