//! Guest-side pieces shared by the task components: the inventory document that query
//! produces and render and presign read, strict input parsing, the report-key rule that
//! render and presign must agree on, and time formatting.
//!
//! Nothing here does I/O: components reach the outside world only through their WIT imports.

pub mod inventory;
pub mod report;
pub mod timefmt;

pub use inventory::{Bean, Inventory, Supplier, SupplierTotals, Totals};
pub use report::ReportTarget;

use serde::de::DeserializeOwned;

/// Parses a task's JSON input into `T`, naming the offending field on failure
/// (e.g. `expires_in: invalid type: string "x", expected u64`).
pub fn parse_input<T: DeserializeOwned>(input: &str) -> Result<T, String> {
    // Tracking the path allocates for every key, which costs more than the parse itself
    // in wasm; only a failed parse pays for it, in a second pass that finds the field.
    let fast_error = match serde_json::from_str(input) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let mut de = serde_json::Deserializer::from_str(input);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            format!("input is not valid JSON: {inner}")
        } else if path == "." {
            format!("input: {inner}")
        } else {
            format!("{path}: {inner}")
        }
    })?;
    de.end()
        .map_err(|err| format!("input is not valid JSON: {err}"))?;
    // Unreachable in practice (both passes run the same deserializer); never accept what
    // the first pass refused.
    drop(value);
    Err(format!("input: {fast_error}"))
}

/// Sends panic messages to the component's `log` import before the abort turns them into a
/// trap, so the host can say why a task trapped. Call it first thing in `run`:
/// `cafe_guest::log_panics!(cafe::report::log);`
#[macro_export]
macro_rules! log_panics {
    ($log:path) => {{
        use $log as log_import;
        ::std::panic::set_hook(::std::boxed::Box::new(|info| {
            log_import::log(log_import::Level::Error, &::std::format!("panic: {info}"));
        }));
    }};
}

/// Serialises a task's output. Output types are plain data, so failure is a bug worth a trap.
pub fn to_output<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("task output serialises")
}
