//! WIT `cafe:report/sql` for components, over the configured [`SqlBackend`](super::SqlBackend).

use cafe_report_world::sql::{self as wit, Host};

use super::{RowSet, SqlError, SqlValue};
use crate::TaskCtx;

impl From<wit::Value> for SqlValue {
    fn from(value: wit::Value) -> Self {
        match value {
            wit::Value::Null => SqlValue::Null,
            wit::Value::Integer(n) => SqlValue::Integer(n),
            wit::Value::Real(x) => SqlValue::Real(x),
            wit::Value::Text(s) => SqlValue::Text(s),
        }
    }
}

impl From<SqlValue> for wit::Value {
    fn from(value: SqlValue) -> Self {
        match value {
            SqlValue::Null => wit::Value::Null,
            SqlValue::Integer(n) => wit::Value::Integer(n),
            SqlValue::Real(x) => wit::Value::Real(x),
            SqlValue::Text(s) => wit::Value::Text(s),
        }
    }
}

impl From<RowSet> for wit::RowSet {
    fn from(set: RowSet) -> Self {
        wit::RowSet {
            columns: set.columns,
            rows: set
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(Into::into).collect())
                .collect(),
        }
    }
}

impl From<SqlError> for wit::SqlError {
    fn from(err: SqlError) -> Self {
        match err {
            SqlError::InvalidStatement(m) => wit::SqlError::InvalidStatement(m),
            SqlError::Unavailable(m) => wit::SqlError::Unavailable(m),
        }
    }
}

impl Host for TaskCtx {
    async fn query(
        &mut self,
        statement: String,
        params: Vec<wit::Value>,
    ) -> Result<wit::RowSet, wit::SqlError> {
        let params: Vec<SqlValue> = params.into_iter().map(Into::into).collect();
        let result = self.capabilities.sql.query(&statement, &params).await;
        if let Err(err) = &result {
            tracing::warn!(task = %self.task, %err, "sql query failed");
        }
        result.map(Into::into).map_err(Into::into)
    }
}
