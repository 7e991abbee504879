//! The runtime's own configuration: where components are (`[components]`), and what it
//! is built from (its sections, the capabilities', the data directory).

use std::collections::BTreeMap;
use std::path::PathBuf;

use cafe_report_capabilities::CapabilitiesConfig;
use serde::{Deserialize, Serialize};

use crate::limits::Limits;

/// Everything [`Runtime::from_config`](crate::Runtime::from_config) needs.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Local state: the compiled-component cache (by default) and the embedded backends.
    pub data_dir: PathBuf,
    /// `[components]`
    pub components: ComponentsConfig,
    /// `[limits]`
    pub limits: Limits,
    /// `[sql]`, `[objects]`, `[notify]`, `[signer]`
    pub capabilities: CapabilitiesConfig,
}

/// `[components]`: where the task components are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentsConfig {
    /// Directory holding `query.wasm`, `render.wasm` and `presign.wasm`: the current
    /// versions. `components publish` and `rollback` write here; a watching process
    /// (`Runtime::watch`) swaps to what is written.
    pub dir: PathBuf,
    /// Task -> input (JSON text) a new version must run successfully before it serves.
    /// The run is real: render's stores an object, presign's sends a message.
    pub smoke: BTreeMap<String, String>,
    /// `s3://<objects bucket>/<prefix>`: `components publish` also uploads new versions
    /// there (`<prefix>/<task>.wasm`), where serving hosts poll for them.
    pub s3: Option<String>,
    /// How often a serving host polls `s3`.
    pub poll_seconds: u64,
    /// Where precompiled components are kept (default `<data_dir>/cache`). A Lambda
    /// package ships them (`components precompile`), so cold starts skip Cranelift.
    pub cache_dir: Option<PathBuf>,
}

impl Default for ComponentsConfig {
    fn default() -> Self {
        ComponentsConfig {
            dir: PathBuf::from("target/components"),
            smoke: BTreeMap::new(),
            s3: None,
            poll_seconds: 30,
            cache_dir: None,
        }
    }
}
