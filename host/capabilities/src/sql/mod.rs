//! The `sql` capability: read-only, parameterised queries against the café database.
//!
//! Backends: [`SqliteBackend`] (embedded default, created and seeded on first use) and
//! [`MysqlBackend`] (MySQL/MariaDB/RDS via mysql_async). Chosen by URL: `sqlite://PATH`
//! or `mysql://USER:PASS@HOST:PORT/DB[?ssl-mode=…&ssl-ca=…]` (TLS: [`mysql_url`]); on
//! MySQL, the login may come from a Secrets Manager secret instead ([`secret`]).

mod host;
mod mysql;
pub mod mysql_url;
pub mod secret;
mod sqlite;

pub use mysql::{DEFAULT_STATEMENT_TIMEOUT, MysqlBackend};
pub use secret::DatabaseSecret;
pub use sqlite::SqliteBackend;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::SqlConfig;

/// The portable schema of the café database.
pub const SCHEMA_SQL: &str = include_str!("../../../../db/schema.sql");
/// Sample café data.
pub const SEED_SQL: &str = include_str!("../../../../db/seed.sql");

/// One cell or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// Any integer column.
    Integer(i64),
    /// Floating point.
    Real(f64),
    /// Text (VARCHAR, TEXT, dates as text).
    Text(String),
}

/// A query's result: column names and rows in select order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowSet {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<SqlValue>>,
}

/// The most rows one query may return: the report reads a few hundred; more is a
/// runaway query, which must not take the host's memory.
pub const MAX_ROWS: usize = 10_000;
/// The most bytes of text one query's cells may hold together.
pub const MAX_RESULT_BYTES: usize = 16 << 20;

/// Counts a result against [`MAX_ROWS`] and [`MAX_RESULT_BYTES`] as rows arrive.
#[derive(Debug, Default)]
pub(crate) struct ResultBudget {
    rows: usize,
    bytes: usize,
}

impl ResultBudget {
    /// Takes one more row, or says which cap it passes.
    pub(crate) fn take(&mut self, row: &[SqlValue]) -> Result<(), SqlError> {
        self.rows += 1;
        self.bytes += row
            .iter()
            .map(|cell| match cell {
                SqlValue::Text(text) => text.len(),
                _ => 8,
            })
            .sum::<usize>();
        if self.rows > MAX_ROWS {
            return Err(SqlError::InvalidStatement(format!(
                "the result has more than {MAX_ROWS} rows, the most a query may return"
            )));
        }
        if self.bytes > MAX_RESULT_BYTES {
            return Err(SqlError::InvalidStatement(format!(
                "the result is over {MAX_RESULT_BYTES} bytes, the most a query may return"
            )));
        }
        Ok(())
    }
}

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SqlError {
    /// The statement was rejected (syntax, schema, writes, parameters).
    #[error("invalid statement: {0}")]
    InvalidStatement(String),
    /// The database could not be reached or failed while answering.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// A database that answers read-only queries.
#[async_trait]
pub trait SqlBackend: Send + Sync + std::fmt::Debug {
    /// Runs one statement with `?` placeholders bound to `params`; refuses statements that write.
    async fn query(&self, statement: &str, params: &[SqlValue]) -> Result<RowSet, SqlError>;
}

/// Opens the backend `[sql]` names (its URL, else the embedded default under
/// `data_dir`). SQLite files are created and seeded if new; MySQL statements get
/// `statement_timeout_ms` each, and their login from `secret` when given (`[sql] secret`,
/// which only a MySQL URL may have).
pub async fn open(
    config: &SqlConfig,
    data_dir: &Path,
    secret: Option<DatabaseSecret>,
) -> anyhow::Result<Arc<dyn SqlBackend>> {
    let url = config.url_or_default(data_dir);
    if let Some(path) = url.strip_prefix("sqlite://") {
        anyhow::ensure!(
            secret.is_none(),
            "[sql] secret is set but the database is SQLite ({}); set [sql] url \
             (DATABASE_URL) to mysql://HOST:PORT/DB",
            config.url.as_deref().unwrap_or("the embedded default")
        );
        Ok(Arc::new(
            SqliteBackend::open_or_seed(Path::new(path)).await?,
        ))
    } else if url.starts_with("mysql://") {
        let backend = match secret {
            Some(secret) => MysqlBackend::with_secret(&url, secret).await?,
            None => MysqlBackend::new(&url)?,
        };
        Ok(Arc::new(backend.with_statement_timeout(
            Duration::from_millis(config.statement_timeout_ms),
        )))
    } else {
        anyhow::bail!("database URL must start with sqlite:// or mysql://, got {url:?}")
    }
}

/// Splits a SQL script into statements (our scripts keep `;` out of string literals).
pub(crate) fn statements(script: &str) -> impl Iterator<Item = String> + '_ {
    script
        .split(";\n")
        .map(|chunk| {
            chunk
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .map(|s| s.trim().trim_end_matches(';').trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_into_statements() {
        assert_eq!(statements(SCHEMA_SQL).count(), 2);
        let seed: Vec<String> = statements(SEED_SQL).collect();
        assert_eq!(seed.len(), 2);
        assert!(seed.iter().all(|s| s.starts_with("INSERT INTO")));
    }
}
