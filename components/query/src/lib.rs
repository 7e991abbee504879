//! The query task: reads suppliers and their beans through the `sql` capability and
//! returns the inventory document (see `cafe_guest::inventory`).
//!
//! Input (all optional): `{"low_stock_threshold": 10, "supplier_ids": [1, 2]}`.

pub mod input;
#[cfg(target_arch = "wasm32")]
mod task;
