//! The query task's input, parsed and checked without touching the database (so it can be
//! unit-tested and fuzzed natively).

use serde::Deserialize;

const DEFAULT_LOW_STOCK_THRESHOLD: i64 = 10;

/// `{"low_stock_threshold"?: 10, "supplier_ids"?: [1, 2]}`; unknown fields are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryInput {
    pub low_stock_threshold: Option<i64>,
    pub supplier_ids: Option<Vec<i64>>,
}

impl QueryInput {
    /// The low-stock threshold to use, after checking the input as a whole.
    pub fn threshold(&self) -> Result<i64, String> {
        let threshold = self
            .low_stock_threshold
            .unwrap_or(DEFAULT_LOW_STOCK_THRESHOLD);
        if threshold < 0 {
            return Err("low_stock_threshold: must not be negative".into());
        }
        if self.supplier_ids.as_ref().is_some_and(Vec::is_empty) {
            return Err(
                "supplier_ids: must list at least one id (leave it out for all suppliers)".into(),
            );
        }
        Ok(threshold)
    }
}
