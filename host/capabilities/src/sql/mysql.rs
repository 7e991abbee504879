//! MySQL, MariaDB and RDS through mysql_async. Every query runs in a READ ONLY transaction
//! that is rolled back, so the server itself refuses writes, and under a per-statement
//! time limit the server enforces, so a runaway statement stops there even when the task
//! that asked for it is gone. With `[sql] secret`, the login comes from Secrets Manager
//! and is read again when the server refuses it, so a rotated password is picked up
//! without a restart.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, TxOpts, Value as My};
use tokio::sync::OnceCell;

use super::secret::{DatabaseSecret, Login};
use super::{
    ResultBudget, RowSet, SCHEMA_SQL, SEED_SQL, SqlBackend, SqlError, SqlValue, statements,
};

/// The statement time limit unless configured (`[sql] statement_timeout_ms`): the default
/// task time limit.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The two servers spell a statement time limit differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `SET STATEMENT max_statement_time = <seconds> FOR <statement>`.
    MariaDb,
    /// `SET SESSION max_execution_time = <milliseconds>` (SELECT only, which is all we run).
    MySql,
}

/// A connection pool to one MySQL database.
#[derive(Debug, Clone)]
pub struct MysqlBackend {
    /// Replaced by one with the new login when the secret's login is refused.
    pool: Arc<RwLock<Pool>>,
    /// Where the login comes from, when not from the URL.
    secret: Option<SecretLogin>,
    statement_timeout: Duration,
    /// Learnt from the first connection.
    flavor: Arc<OnceCell<Flavor>>,
}

/// The URL's options without a login, and the secret that completes them.
#[derive(Debug, Clone)]
struct SecretLogin {
    opts: Opts,
    secret: DatabaseSecret,
}

impl SecretLogin {
    fn pool(&self, login: Login) -> Pool {
        Pool::new(
            OptsBuilder::from_opts(self.opts.clone())
                .user(Some(login.username))
                .pass(Some(login.password)),
        )
    }
}

/// MySQL's "Access denied for user": the login was refused.
const ER_ACCESS_DENIED_ERROR: u16 = 1045;
/// How long the check of a secret's login at start waits for the server.
const LOGIN_CHECK: Duration = Duration::from_secs(5);

impl MysqlBackend {
    /// Creates the pool; connections are opened on first use.
    pub fn new(url: &str) -> anyhow::Result<MysqlBackend> {
        let opts = super::mysql_url::options(url)?;
        Ok(MysqlBackend {
            pool: Arc::new(RwLock::new(Pool::new(opts))),
            secret: None,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            flavor: Arc::new(OnceCell::new()),
        })
    }

    /// Creates the pool for the database at `url` (which names no user) with the login in
    /// `secret`, read now: a missing or malformed secret is an error here, not at the
    /// first query.
    pub async fn with_secret(url: &str, secret: DatabaseSecret) -> anyhow::Result<MysqlBackend> {
        let opts = super::mysql_url::options(url)?;
        anyhow::ensure!(
            opts.user().is_none() && opts.pass().is_none(),
            "[sql] url names a user and [sql] secret is set: the login comes from the secret \
             alone, so the URL must not hold one (mysql://HOST:PORT/DB)"
        );
        let login = secret.read().await?;
        tracing::info!(secret = secret.arn(), user = %login.username, "database login read from Secrets Manager");
        let secret = SecretLogin { opts, secret };
        let backend = MysqlBackend {
            pool: Arc::new(RwLock::new(secret.pool(login))),
            secret: Some(secret),
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            flavor: Arc::new(OnceCell::new()),
        };
        backend.check_login().await?;
        Ok(backend)
    }

    /// At start, whether the server takes the secret's login: a refused one (after the
    /// secret is read again) is an error now, so a wrong secret fails the start with its
    /// reason. A server that cannot be reached is not: queries say `Sql.Unavailable`
    /// then, which the workflow retries. The connection stays in the pool.
    async fn check_login(&self) -> anyhow::Result<()> {
        let first = tokio::time::timeout(LOGIN_CHECK, self.current_pool().get_conn()).await;
        let unreachable = match first {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(mysql_async::Error::Server(err))) if err.code == ER_ACCESS_DENIED_ERROR => {
                return match self.conn().await {
                    Ok(_) => Ok(()),
                    Err(err) => Err(anyhow::anyhow!(
                        "the database secret {} holds a login the database refuses: {err}",
                        self.secret.as_ref().map_or("", |s| s.secret.arn())
                    )),
                };
            }
            Ok(Err(err)) => crate::error_text(&err),
            Err(_) => format!("no answer in {} s", LOGIN_CHECK.as_secs()),
        };
        tracing::warn!(reason = %unreachable, "the database could not be reached to check the secret's login; each query tries again");
        Ok(())
    }

    fn current_pool(&self) -> Pool {
        self.pool.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A connection. A login from the secret that the server refuses is read again once
    /// (the secret may have been rotated) and the pool replaced with the new one.
    async fn conn(&self) -> Result<Conn, SqlError> {
        let refused = match self.current_pool().get_conn().await {
            Err(mysql_async::Error::Server(err)) if err.code == ER_ACCESS_DENIED_ERROR => {
                mysql_async::Error::Server(err)
            }
            other => return other.map_err(classify),
        };
        let Some(secret) = &self.secret else {
            return Err(classify(refused));
        };
        let login = secret.secret.read().await.map_err(|err| {
            SqlError::Unavailable(format!(
                "the database refused the login and reading it again failed: {err:#}"
            ))
        })?;
        tracing::info!(secret = secret.secret.arn(), user = %login.username, "the database refused the login; read the secret again");
        let fresh = secret.pool(login);
        let old = std::mem::replace(
            &mut *self.pool.write().unwrap_or_else(|e| e.into_inner()),
            fresh.clone(),
        );
        // Connections in use finish on the old pool; it closes when they are back.
        tokio::spawn(async move {
            let _ = old.disconnect().await;
        });
        fresh.get_conn().await.map_err(classify)
    }

    /// The same backend with another per-statement time limit.
    pub fn with_statement_timeout(mut self, timeout: Duration) -> MysqlBackend {
        self.statement_timeout = timeout;
        self
    }

    /// `statement` under the time limit; on MySQL the limit is set on the connection.
    async fn limited<'s>(
        &self,
        conn: &mut impl Queryable,
        statement: &'s str,
    ) -> Result<Cow<'s, str>, SqlError> {
        let flavor = self
            .flavor
            .get_or_try_init(|| async {
                let version: Option<String> = conn
                    .query_first("SELECT @@version")
                    .await
                    .map_err(classify)?;
                Ok::<_, SqlError>(match version {
                    Some(v) if v.contains("MariaDB") => Flavor::MariaDb,
                    _ => Flavor::MySql,
                })
            })
            .await?;
        let millis = self.statement_timeout.as_millis().max(1);
        Ok(match flavor {
            Flavor::MariaDb => Cow::Owned(format!(
                "SET STATEMENT max_statement_time = {}.{:03} FOR {statement}",
                millis / 1000,
                millis % 1000
            )),
            Flavor::MySql => {
                conn.query_drop(format!("SET SESSION max_execution_time = {millis}"))
                    .await
                    .map_err(classify)?;
                Cow::Borrowed(statement)
            }
        })
    }

    /// Creates the URL's database if it does not exist (utf8mb4), connecting without it.
    pub async fn create_database(url: &str) -> anyhow::Result<()> {
        let opts = super::mysql_url::options(url)?;
        let name = opts
            .db_name()
            .ok_or_else(|| anyhow::anyhow!("the MySQL URL names no database"))?
            .to_string();
        anyhow::ensure!(
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "database name {name:?} must be letters, digits and underscores"
        );
        let server = mysql_async::OptsBuilder::from_opts(opts).db_name(None::<String>);
        let mut conn = mysql_async::Conn::new(server).await?;
        conn.query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .await?;
        conn.disconnect().await?;
        Ok(())
    }

    /// Drops and recreates the café tables with the sample data (for `db seed` and tests).
    pub async fn reset_and_seed(&self) -> anyhow::Result<()> {
        let mut conn = self.current_pool().get_conn().await?;
        conn.query_drop("DROP TABLE IF EXISTS beans").await?;
        conn.query_drop("DROP TABLE IF EXISTS suppliers").await?;
        for statement in statements(SCHEMA_SQL).chain(statements(SEED_SQL)) {
            conn.query_drop(statement).await?;
        }
        Ok(())
    }

    /// Closes the pool's connections.
    pub async fn close(self) -> anyhow::Result<()> {
        self.current_pool().disconnect().await?;
        Ok(())
    }
}

fn to_mysql(value: &SqlValue) -> My {
    match value {
        SqlValue::Null => My::NULL,
        SqlValue::Integer(n) => My::Int(*n),
        SqlValue::Real(x) => My::Double(*x),
        SqlValue::Text(s) => My::Bytes(s.clone().into_bytes()),
    }
}

fn from_mysql(value: My) -> SqlValue {
    match value {
        My::NULL => SqlValue::Null,
        My::Int(n) => SqlValue::Integer(n),
        My::UInt(n) => i64::try_from(n)
            .map(SqlValue::Integer)
            .unwrap_or_else(|_| SqlValue::Text(n.to_string())),
        My::Float(x) => SqlValue::Real(f64::from(x)),
        My::Double(x) => SqlValue::Real(x),
        My::Bytes(bytes) => SqlValue::Text(String::from_utf8_lossy(&bytes).into_owned()),
        other @ (My::Date(..) | My::Time(..)) => {
            SqlValue::Text(other.as_sql(true).trim_matches('\'').to_string())
        }
    }
}

/// DDL commits implicitly even inside a READ ONLY transaction, so statements must also
/// start as queries. (Deployments should still connect as a user with SELECT rights only.)
fn ensure_query(statement: &str) -> Result<(), SqlError> {
    let first = statement
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if matches!(first.as_str(), "SELECT" | "WITH") {
        Ok(())
    } else {
        Err(SqlError::InvalidStatement(
            "only read-only statements are allowed (SELECT or WITH)".into(),
        ))
    }
}

/// Server errors are the statement's fault; I/O and driver errors mean the database is down.
/// MySQL's codes for a database that is not there or not ours to use: configuration,
/// not the statement (ER_BAD_DB_ERROR, ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR).
const NOT_CONFIGURED: [u16; 3] = [1049, 1044, ER_ACCESS_DENIED_ERROR];

fn classify(err: mysql_async::Error) -> SqlError {
    match err {
        mysql_async::Error::Server(server) if NOT_CONFIGURED.contains(&server.code) => {
            SqlError::Unavailable(format!(
                "the database refused the connection: {}",
                server.message
            ))
        }
        mysql_async::Error::Server(server) => SqlError::InvalidStatement(server.to_string()),
        other => SqlError::Unavailable(crate::error_text(&other)),
    }
}

#[async_trait]
impl SqlBackend for MysqlBackend {
    async fn query(&self, statement: &str, params: &[SqlValue]) -> Result<RowSet, SqlError> {
        ensure_query(statement)?;
        let mut conn = self.conn().await?;
        let mut opts = TxOpts::default();
        opts.with_readonly(Some(true));
        let mut tx = conn.start_transaction(opts).await.map_err(classify)?;
        let statement = self.limited(&mut tx, statement).await?;
        let params: Vec<My> = params.iter().map(to_mysql).collect();
        let result = tx
            .exec_iter(statement.as_ref(), mysql_async::Params::Positional(params))
            .await
            .map_err(classify);
        let rowset = match result {
            Ok(mut result) => {
                let columns: Vec<String> = result
                    .columns_ref()
                    .iter()
                    .map(|c| c.name_str().into_owned())
                    .collect();
                // Row by row against the caps, so a runaway result never sits in memory;
                // past a cap, the rest is read and dropped.
                let mut rows = Vec::new();
                let mut budget = ResultBudget::default();
                let mut over = None;
                while let Some(row) = result.next().await.map_err(classify)? {
                    let cells: Vec<SqlValue> = row.unwrap().into_iter().map(from_mysql).collect();
                    if let Err(err) = budget.take(&cells) {
                        over = Some(err);
                        break;
                    }
                    rows.push(cells);
                }
                match over {
                    Some(err) => {
                        result.drop_result().await.map_err(classify)?;
                        Err(err)
                    }
                    None => Ok(RowSet { columns, rows }),
                }
            }
            Err(err) => Err(err),
        };
        tx.rollback().await.map_err(classify)?;
        rowset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_pass() {
        assert!(ensure_query("  select 1").is_ok());
        assert!(ensure_query("(SELECT 1) UNION (SELECT 2)").is_ok());
        assert!(ensure_query("WITH x AS (SELECT 1) SELECT * FROM x").is_ok());
        for statement in ["DROP TABLE beans", "UPDATE beans SET quantity = 0"] {
            assert_eq!(
                ensure_query(statement),
                Err(SqlError::InvalidStatement(
                    "only read-only statements are allowed (SELECT or WITH)".into()
                )),
                "{statement}"
            );
        }
    }
}
