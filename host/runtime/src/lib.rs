//! The wasm runtime of cafe-report: one [`Runtime`] holds the wasmtime engine, loads components
//! (compiled once, cached as precompiled artifacts keyed by content hash), links each one
//! with only the capabilities its world grants, and runs tasks in a fresh store under
//! [`Limits`]. A misbehaving component becomes a [`TaskError`] with a Step Functions error
//! name; it never takes the host down.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use cafe_report_runtime::{Runtime, RuntimeConfig};
//! let config = RuntimeConfig { data_dir: ".cafe-report".into(), ..Default::default() };
//! let runtime = Runtime::from_config(&config).await?;
//! let output = runtime.run("query", "{}").await?;
//! println!("{output}");
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod cache;
pub mod config;
mod error;
mod limits;
mod loader;
mod registry;
mod runtime;
mod s3_source;
mod smoke;
mod store;
pub mod versions;
mod watch;

pub use cafe_report_base::names;
pub use cafe_report_world::World;
pub use config::{ComponentsConfig, RuntimeConfig};
pub use error::TaskError;
pub use limits::{Limits, TaskLimits};
pub use loader::LoadedComponent;
pub use registry::{Rejection, VersionInfo};
pub use runtime::{RECIPIENT_FIELD, Runtime};
pub use s3_source::{Polled, S3Location, S3Poller, S3Source};
pub use versions::VersionStore;
pub use watch::DirectoryWatcher;

/// Hex sha256 of a component's bytes: its version everywhere (cache, registry, history).
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
