//! The embedded default: one SQLite file, created and seeded with sample data on first use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::types::{Value as Sqlite, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{RowSet, SCHEMA_SQL, SEED_SQL, SqlBackend, SqlError, SqlValue};

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
            Ok(SqliteBackend {
                path,
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
    conn.execute_batch(&format!("BEGIN;\n{SCHEMA_SQL}\n{SEED_SQL}\nCOMMIT;"))?;
    drop(conn);
    std::fs::rename(&tmp, path)?;
    tracing::info!(path = %path.display(), "created the sample café database");
    Ok(())
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
    let invalid = |err: rusqlite::Error| SqlError::InvalidStatement(err.to_string());
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
    while let Some(row) = rows.next().map_err(invalid)? {
        let mut cells = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            cells.push(from_sqlite(row.get_ref(i).map_err(invalid)?));
        }
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
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| SqlError::Unavailable("connection poisoned".into()))?;
            run(&conn, &statement, &params)
        })
        .await
        .map_err(|err| SqlError::Unavailable(err.to_string()))?
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
            matches!(err, SqlError::InvalidStatement(ref m) if m.contains("read-only")),
            "{err}"
        );
        let err = db.query("SELECT * FROM nope", &[]).await.unwrap_err();
        assert!(matches!(err, SqlError::InvalidStatement(_)));
        let err = db.query("SELECT ?", &[]).await.unwrap_err();
        assert!(err.to_string().contains("placeholders"), "{err}");
    }
}
