//! The presign task's input, parsed and checked without signing or publishing (so it can
//! be unit-tested and fuzzed natively).

use cafe_guest::{Inventory, ReportTarget};
use serde::Deserialize;

use crate::sigv4::Addressing;

const DEFAULT_EXPIRES_IN: i64 = 120;
/// SigV4 presigned URLs live at most seven days.
const MAX_EXPIRES_IN: i64 = 604_800;

/// `{"bucket", "key"?, "report_id"?, "inventory"?, "expires_in"?, "endpoint"?,
/// "addressing"?, "region"?, "subject"?}`.
#[derive(Debug, Deserialize)]
pub struct PresignInput {
    pub bucket: String,
    #[serde(flatten)]
    pub target: ReportTarget,
    pub inventory: Option<Inventory>,
    pub expires_in: Option<serde_json::Number>,
    pub endpoint: Option<String>,
    pub addressing: Option<Addressing>,
    pub region: Option<String>,
    pub subject: Option<String>,
}

impl PresignInput {
    /// The object key the link points at (the rule render shares).
    pub fn key(&self) -> Result<String, String> {
        self.target.key(self.inventory.as_ref())
    }

    /// The link's lifetime in seconds: 120 unless given, at most seven days.
    pub fn expires_in(&self) -> Result<i64, String> {
        let Some(number) = &self.expires_in else {
            return Ok(DEFAULT_EXPIRES_IN);
        };
        match number.as_i64() {
            Some(seconds) if (1..=MAX_EXPIRES_IN).contains(&seconds) => Ok(seconds),
            _ => Err(format!(
                "expires_in: must be a whole number of seconds from 1 to {MAX_EXPIRES_IN}, got {number}"
            )),
        }
    }
}
