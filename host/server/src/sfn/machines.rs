//! The state machines CreateStateMachine made, kept in SQLite beside their executions
//! so they outlive the process (one row per machine, its description as JSON).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One state machine as DescribeStateMachine shows it (dates as RFC 3339 text; the API
/// turns them into epoch seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineRecord {
    pub state_machine_arn: String,
    pub name: String,
    /// The definition's text, as given.
    pub definition: String,
    pub role_arn: String,
    /// `STANDARD` or `EXPRESS`.
    #[serde(rename = "type")]
    pub kind: String,
    pub creation_date: String,
    /// Set by UpdateStateMachine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_date: Option<String>,
    /// A new one per UpdateStateMachine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    pub logging_configuration: Value,
    pub tracing_configuration: Value,
    /// In the order they were added; a key appears once.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// The machines of one data directory.
#[derive(Debug, Clone)]
pub struct MachineStore {
    connection: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS state_machines (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    arn    TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mocked_executions (
    arn       TEXT PRIMARY KEY,
    test_case TEXT NOT NULL
) WITHOUT ROWID;
";

impl MachineStore {
    /// Opens (creating if needed) the machines kept at `path`.
    /// `durable: false`: see `[sfn] durable`.
    pub fn open(path: &Path, durable: bool) -> anyhow::Result<MachineStore> {
        // A machine answered as created survives a power loss (unless not durable).
        let connection = crate::sqlite::open(path, durable, "the state machines")?;
        connection
            .execute_batch(SCHEMA)
            .with_context(|| format!("preparing the state machines {}", path.display()))?;
        Ok(MachineStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        crate::sqlite::blocking(&self.connection, "the state machine store", work).await
    }

    /// Every machine, oldest first, with its position (for ListStateMachines' tokens).
    pub async fn all(&self) -> anyhow::Result<Vec<(i64, MachineRecord)>> {
        self.with(|db| {
            let mut query = db.prepare("SELECT seq, record FROM state_machines ORDER BY seq")?;
            let rows = query.query_map([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })?;
            rows.map(|row| {
                let (seq, record) = row?;
                Ok((seq, serde_json::from_str(&record)?))
            })
            .collect()
        })
        .await
    }

    /// Adds a machine, or replaces the one with its ARN (keeping its position); returns
    /// its position.
    pub async fn put(&self, record: MachineRecord) -> anyhow::Result<i64> {
        self.with(move |db| {
            let text = serde_json::to_string(&record)?;
            db.execute(
                "INSERT INTO state_machines (arn, record) VALUES (?1, ?2)
                 ON CONFLICT (arn) DO UPDATE SET record = excluded.record",
                params![record.state_machine_arn, text],
            )?;
            Ok(db.query_row(
                "SELECT seq FROM state_machines WHERE arn = ?1",
                [&record.state_machine_arn],
                |row| row.get(0),
            )?)
        })
        .await
    }

    /// Removes a machine; true if there was one.
    pub async fn delete(&self, arn: String) -> anyhow::Result<bool> {
        self.with(move |db| Ok(db.execute("DELETE FROM state_machines WHERE arn = ?1", [arn])? > 0))
            .await
    }

    /// Remembers that the execution `arn` runs as the mock test case `case`, so it
    /// resumes as one after a restart.
    pub async fn remember_case(&self, arn: String, case: String) -> anyhow::Result<()> {
        self.with(move |db| {
            db.execute(
                "INSERT OR IGNORE INTO mocked_executions (arn, test_case) VALUES (?1, ?2)",
                params![arn, case],
            )?;
            Ok(())
        })
        .await
    }

    /// The mock test case an execution runs as, if any.
    pub async fn case_of(&self, arn: String) -> anyhow::Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.with(move |db| {
            Ok(db
                .query_row(
                    "SELECT test_case FROM mocked_executions WHERE arn = ?1",
                    [arn],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
    }

    /// One machine.
    #[cfg(test)]
    async fn get(&self, arn: String) -> anyhow::Result<Option<MachineRecord>> {
        use rusqlite::OptionalExtension;
        self.with(move |db| {
            let record: Option<String> = db
                .query_row(
                    "SELECT record FROM state_machines WHERE arn = ?1",
                    [arn],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(record.map(|r| serde_json::from_str(&r)).transpose()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine(name: &str) -> MachineRecord {
        MachineRecord {
            state_machine_arn: format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}"),
            name: name.into(),
            definition: "{}".into(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            kind: "STANDARD".into(),
            creation_date: "2026-12-04T10:00:00.000Z".into(),
            update_date: None,
            revision_id: None,
            logging_configuration: json!({"level": "OFF", "includeExecutionData": false}),
            tracing_configuration: json!({"enabled": false}),
            tags: vec![],
        }
    }

    #[tokio::test]
    async fn machines_are_kept_in_order_replaced_in_place_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sfn.db");
        let store = MachineStore::open(&path, true).unwrap();
        let a = store.put(machine("a")).await.unwrap();
        let b = store.put(machine("b")).await.unwrap();
        let mut changed = machine("a");
        changed.definition = "{\"changed\": true}".into();
        assert_eq!(store.put(changed.clone()).await.unwrap(), a);
        // Reopened: the same machines, in creation order, the change kept.
        drop(store);
        let store = MachineStore::open(&path, true).unwrap();
        let all = store.all().await.unwrap();
        assert_eq!(all, vec![(a, changed.clone()), (b, machine("b"))]);
        assert!(
            store
                .delete(changed.state_machine_arn.clone())
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete(changed.state_machine_arn.clone())
                .await
                .unwrap()
        );
        assert_eq!(store.get(changed.state_machine_arn).await.unwrap(), None);
        // Mocked executions keep their test case.
        store
            .remember_case("arn:e".into(), "HappyPath".into())
            .await
            .unwrap();
        assert_eq!(
            store.case_of("arn:e".into()).await.unwrap().as_deref(),
            Some("HappyPath")
        );
        assert_eq!(store.case_of("arn:f".into()).await.unwrap(), None);
    }
}
