//! The runtime's own configuration: where components are (`[components]`), and what it
//! is built from (its sections, the capabilities', the data directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// (`Runtime::watch`) swaps to what is written. Default: found, see
    /// [`ComponentsConfig::places`].
    pub dir: Option<PathBuf>,
    /// Task -> input (JSON text) of the smoke run a new version must pass before it
    /// serves; a task not named here runs on its default input (see `smoke.rs`). A smoke
    /// run reads the sample database and stores and sends nothing.
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
            dir: None,
            smoke: BTreeMap::new(),
            s3: None,
            poll_seconds: 30,
            cache_dir: None,
        }
    }
}

/// Where the build puts components, relative to the repository (and the working directory).
const BUILT: &str = "target/components";

impl ComponentsConfig {
    /// Where components are looked for, in order: the configured `dir` alone; else
    /// `./target/components` (the repository), `<executable's dir>/components` (an
    /// installed layout) and `<executable's dir>/../components` (`target/release/..`), so
    /// the binary finds the components it was built with from any directory.
    pub fn places(&self) -> Vec<PathBuf> {
        if let Some(dir) = &self.dir {
            return vec![dir.clone()];
        }
        let mut places = vec![PathBuf::from(BUILT)];
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok())
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        if let Some(exe_dir) = exe_dir {
            places.push(exe_dir.join("components"));
            if let Some(parent) = exe_dir.parent() {
                places.push(parent.join("components"));
            }
        }
        places
    }

    /// The components directory: the first of [`places`](Self::places) that holds a
    /// `.wasm` file, else the first place (where `components publish` creates it).
    pub fn dir(&self) -> PathBuf {
        let places = self.places();
        places
            .iter()
            .find(|place| holds_components(place))
            .unwrap_or(&places[0])
            .clone()
    }

    /// What to say when a component is not found: where it was looked for, and how to
    /// build or point at one.
    pub fn hint(&self) -> String {
        let places: Vec<String> = self
            .places()
            .iter()
            .map(|place| place.display().to_string())
            .collect();
        format!(
            "looked in {}; build the components with `scripts/build-components.sh` (or `cargo xtask components`) in the repository, or set CAFE_REPORT_COMPONENTS_DIR",
            places.join(", ")
        )
    }
}

fn holds_components(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.path().extension().is_some_and(|ext| ext == "wasm"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_dir_is_the_only_place() {
        let config = ComponentsConfig {
            dir: Some(PathBuf::from("/somewhere")),
            ..Default::default()
        };
        assert_eq!(config.places(), vec![PathBuf::from("/somewhere")]);
        assert_eq!(config.dir(), PathBuf::from("/somewhere"));
        assert!(
            config.hint().starts_with("looked in /somewhere; "),
            "{}",
            config.hint()
        );
    }

    #[test]
    fn without_one_the_repository_then_beside_the_executable() {
        let places = ComponentsConfig::default().places();
        assert_eq!(places[0], PathBuf::from("target/components"));
        let exe_dir = std::env::current_exe().unwrap().canonicalize().unwrap();
        let exe_dir = exe_dir.parent().unwrap();
        assert_eq!(places[1], exe_dir.join("components"));
        assert_eq!(places[2], exe_dir.parent().unwrap().join("components"));
    }
}
