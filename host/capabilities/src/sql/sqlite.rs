//! The embedded default: one SQLite file, created and seeded with sample data on first use.
//!
//! A component's SQL is confined three ways beyond the read-only open: an authorizer
//! allows only reading (no `ATTACH`, which would open any file the host can read, no
//! `PRAGMA`, no transactions, which would pin the shared connection to an old snapshot);
//! a statement stops when the task that asked for it ends (its time limit, a trap), so a
//! runaway `WITH RECURSIVE` does not hold the one connection; and results are capped
//! ([`super::MAX_ROWS`], [`super::MAX_RESULT_BYTES`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{Value as Sqlite, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{ResultBudget, RowSet, SCHEMA_SQL, SEED_SQL, SqlBackend, SqlError, SqlValue};

/// SQLite virtual-machine steps between checks that the asking task is still there.
const PROGRESS_STEPS: i32 = 10_000;

/// What a component's statement may do: read tables of the main database, call the
/// built-in functions, recurse. Everything else (attach, pragma, transactions, writes) is
/// denied, which fails the statement when it is prepared.
fn reading_only(context: AuthContext<'_>) -> Authorization {
    match context.action {
        AuthAction::Select | AuthAction::Function { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        AuthAction::Read { .. } if matches!(context.database_name, Some("main") | None) => {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

/// A read-only connection to a SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SqliteBackend {
    /// Opens `path`, first creating it with the schema and sample data if it does not exist.
    pub async fn open_or_seed(path: &Path) -> anyhow::Result<SqliteBackend> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            if !path.exists() {
                seed_new(&path)?;
            }
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|err| anyhow::anyhow!("opening {}: {err}", path.display()))?;
            conn.authorizer(Some(reading_only));
            Ok(SqliteBackend {
                path,
                conn: Arc::new(Mutex::new(conn)),
            })
        })
        .await?
    }

    /// A private in-memory copy of the sample database, for smoke runs: the same schema
    /// and data as a new embedded database, under the same read-only rules.
    pub async fn sample_in_memory() -> anyhow::Result<SqliteBackend> {
        tokio::task::spawn_blocking(|| {
            let conn = Connection::open_in_memory()?;
            seed(&conn)?;
            conn.authorizer(Some(reading_only));
            Ok(SqliteBackend {
                path: PathBuf::from(":memory:"),
                conn: Arc::new(Mutex::new(conn)),
            })
        })
        .await?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes schema and seed into a temporary file, then renames it into place, so a crash
/// never leaves a half-seeded database behind.
fn seed_new(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("seeding-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let conn = Connection::open(&tmp)?;
    seed(&conn)?;
    drop(conn);
    std::fs::rename(&tmp, path)?;
    tracing::info!(path = %path.display(), "created the sample café database");
    Ok(())
}

/// Creates the café tables with the sample data, in one transaction.
fn seed(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("BEGIN;\n{SCHEMA_SQL}\n{SEED_SQL}\nCOMMIT;"))
}

fn to_sqlite(value: &SqlValue) -> Sqlite {
    match value {
        SqlValue::Null => Sqlite::Null,
        SqlValue::Integer(n) => Sqlite::Integer(*n),
        SqlValue::Real(x) => Sqlite::Real(*x),
        SqlValue::Text(s) => Sqlite::Text(s.clone()),
    }
}

fn from_sqlite(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(n) => SqlValue::Integer(n),
        ValueRef::Real(x) => SqlValue::Real(x),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            SqlValue::Text(String::from_utf8_lossy(bytes).into_owned())
        }
    }
}

fn run(conn: &Connection, statement: &str, params: &[SqlValue]) -> Result<RowSet, SqlError> {
    let invalid = |err: rusqlite::Error| {
        match err {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            SqlError::InvalidStatement("the statement was stopped: its task ended".into())
        }
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
        {
            SqlError::InvalidStatement(
                "not authorized: a component's statement may only read (no writes, ATTACH, PRAGMA or transactions)".into(),
            )
        }
        err => SqlError::InvalidStatement(err.to_string()),
    }
    };
    let mut stmt = conn.prepare(statement).map_err(invalid)?;
    if !stmt.readonly() {
        return Err(SqlError::InvalidStatement(
            "only read-only statements are allowed".into(),
        ));
    }
    if stmt.parameter_count() != params.len() {
        return Err(SqlError::InvalidStatement(format!(
            "statement has {} placeholders but {} parameters were given",
            stmt.parameter_count(),
            params.len()
        )));
    }
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let params = rusqlite::params_from_iter(params.iter().map(to_sqlite));
    let mut rows = stmt.query(params).map_err(invalid)?;
    let mut out = Vec::new();
    let mut budget = ResultBudget::default();
    while let Some(row) = rows.next().map_err(invalid)? {
        let mut cells = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            cells.push(from_sqlite(row.get_ref(i).map_err(invalid)?));
        }
        budget.take(&cells)?;
        out.push(cells);
    }
    Ok(RowSet { columns, rows: out })
}

#[async_trait]
impl SqlBackend for SqliteBackend {
    async fn query(&self, statement: &str, params: &[SqlValue]) -> Result<RowSet, SqlError> {
        let conn = self.conn.clone();
        let statement = statement.to_string();
        let params = params.to_vec();
        // Set when this future is dropped (the task timed out or trapped), which stops
        // the statement at its next progress check and frees the connection.
        let abandoned = Abandoned::default();
        let flag = abandoned.0.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| SqlError::Unavailable("connection poisoned".into()))?;
            conn.progress_handler(PROGRESS_STEPS, Some(move || flag.load(Ordering::Relaxed)));
            let result = run(&conn, &statement, &params);
            conn.progress_handler(PROGRESS_STEPS, None::<fn() -> bool>);
            result
        })
        .await
        .map_err(|err| SqlError::Unavailable(err.to_string()))?
    }
}

/// Raises its flag when dropped.
#[derive(Debug, Default)]
struct Abandoned(Arc<AtomicBool>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_once_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteBackend::open_or_seed(&dir.path().join("coffee.db"))
            .await
            .unwrap();
        let count = db
            .query(
                "SELECT COUNT(*) FROM beans WHERE quantity <= ?",
                &[SqlValue::Integer(10)],
            )
            .await
            .unwrap();
        assert_eq!(count.rows, vec![vec![SqlValue::Integer(7)]]);
        let err = db.query("DELETE FROM beans", &[]).await.unwrap_err();
        assert!(
            matches!(err, SqlError::InvalidStatement(ref m) if m.contains("may only read (no writes")),
            "{err}"
        );
        let err = db.query("SELECT * FROM nope", &[]).await.unwrap_err();
        assert!(matches!(err, SqlError::InvalidStatement(_)));
        let err = db.query("SELECT ?", &[]).await.unwrap_err();
        assert!(err.to_string().contains("placeholders"), "{err}");
    }

    #[tokio::test]
    async fn statements_may_only_read_and_results_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteBackend::open_or_seed(&dir.path().join("coffee.db"))
            .await
            .unwrap();
        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE secrets (x); INSERT INTO secrets VALUES ('s');")
            .unwrap();
        let denied = SqlError::InvalidStatement(
            "not authorized: a component's statement may only read (no writes, ATTACH, PRAGMA or transactions)".into(),
        );
        for statement in [
            format!("ATTACH DATABASE '{}' AS other", other.display()),
            "BEGIN".to_string(),
            "SAVEPOINT s".to_string(),
            "PRAGMA table_info(beans)".to_string(),
            "PRAGMA query_only = 0".to_string(),
        ] {
            assert_eq!(
                db.query(&statement, &[]).await.unwrap_err(),
                denied,
                "{statement}"
            );
        }
        // Still reads after the refusals.
        let one = db
            .query("SELECT COUNT(*) FROM suppliers", &[])
            .await
            .unwrap();
        assert_eq!(one.rows.len(), 1);

        let many = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) SELECT i FROM n",
            super::super::MAX_ROWS + 1
        );
        assert_eq!(
            db.query(&many, &[]).await.unwrap_err(),
            SqlError::InvalidStatement(format!(
                "the result has more than {} rows, the most a query may return",
                super::super::MAX_ROWS
            ))
        );
        let wide = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) SELECT printf('%.*c', 1048576, 'x') FROM n";
        assert!(
            db.query(wide, &[])
                .await
                .unwrap_err()
                .to_string()
                .contains("bytes, the most"),
        );
    }

    #[tokio::test]
    async fn an_abandoned_statement_stops_and_frees_the_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteBackend::open_or_seed(&dir.path().join("coffee.db"))
            .await
            .unwrap();
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n";
        let timed_out = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            db.query(endless, &[]),
        )
        .await;
        assert!(timed_out.is_err(), "the endless query ended by itself");
        let started = std::time::Instant::now();
        let next = db.query("SELECT COUNT(*) FROM beans", &[]).await.unwrap();
        assert_eq!(next.rows.len(), 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "the next query waited {:?}",
            started.elapsed()
        );
    }
}
