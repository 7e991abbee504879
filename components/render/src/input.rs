//! The render task's input, parsed and checked without touching storage (so it can be
//! unit-tested and fuzzed natively).

use cafe_guest::{Inventory, ReportTarget};
use serde::Deserialize;

const DEFAULT_TITLE: &str = "Coffee inventory report";

/// `{"inventory": <query output>, "report_id"?: "...", "key"?: "...", "title"?: "..."}`.
#[derive(Debug, Deserialize)]
pub struct RenderInput {
    pub inventory: Inventory,
    #[serde(flatten)]
    pub target: ReportTarget,
    pub title: Option<String>,
}

impl RenderInput {
    /// The object key the page is stored under (the rule presign shares).
    pub fn key(&self) -> Result<String, String> {
        self.target.key(Some(&self.inventory))
    }

    pub fn title(&self) -> &str {
        self.title.as_deref().unwrap_or(DEFAULT_TITLE)
    }
}
