//! Turning component bytes into something ready to run: check it is a component whose
//! imports its world grants, compile (or load from cache), link the granted capabilities,
//! pre-instantiate.

use std::collections::BTreeSet;

use anyhow::bail;
use cafe_report_capabilities::TaskCtx;
use cafe_report_world::{Grant, TaskHostPre, World};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker};

use crate::cache::ArtifactCache;
use crate::store::StoreState;

/// A component ready to run: compiled, linked with its world's capabilities, pre-instantiated.
pub struct LoadedComponent {
    /// The task name it serves (e.g. `render`).
    pub name: String,
    /// The world it was linked against.
    pub world: World,
    /// Hex sha256 of the component bytes: the version.
    pub sha256: String,
    pub(crate) pre: TaskHostPre<StoreState>,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("name", &self.name)
            .field("world", &self.world)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// Strips `@version` from an import name: `cafe:report/sql@0.1.0` -> `cafe:report/sql`.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
}

/// Refuses a component that imports anything its world does not grant, naming it.
fn check_imports(engine: &Engine, component: &Component, world: World) -> anyhow::Result<()> {
    let granted: BTreeSet<&str> = world.grants().iter().map(|g| g.interface()).collect();
    let forbidden: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name)
        .filter(|name| !granted.contains(unversioned(name)))
        .map(String::from)
        .collect();
    if !forbidden.is_empty() {
        bail!(
            "component imports {} which the {} world does not grant (it grants {})",
            forbidden.join(", "),
            world.name(),
            granted.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let exports_task = component
        .component_type()
        .exports(engine)
        .any(|(name, item)| {
            unversioned(name) == "cafe:report/task"
                && matches!(item.ty, ComponentItem::ComponentInstance(_))
        });
    if !exports_task {
        bail!("component does not export cafe:report/task");
    }
    Ok(())
}

/// A linker holding exactly the capabilities `world` grants.
fn linker_for(engine: &Engine, world: World) -> anyhow::Result<Linker<StoreState>> {
    use cafe_report_world::{clock, log, notify, objects, signer, sql};
    type Ctx = HasSelf<TaskCtx>;
    fn ctx(state: &mut StoreState) -> &mut TaskCtx {
        &mut state.ctx
    }
    let mut linker = Linker::new(engine);
    for grant in world.grants() {
        match grant {
            Grant::Sql => sql::add_to_linker::<_, Ctx>(&mut linker, ctx)?,
            Grant::Objects => objects::add_to_linker::<_, Ctx>(&mut linker, ctx)?,
            Grant::Notify => notify::add_to_linker::<_, Ctx>(&mut linker, ctx)?,
            Grant::Signer => signer::add_to_linker::<_, Ctx>(&mut linker, ctx)?,
            Grant::Clock => clock::add_to_linker::<_, Ctx>(&mut linker, ctx)?,
            Grant::Log => log::add_to_linker::<_, Ctx>(&mut linker, ctx)?,
        }
    }
    Ok(linker)
}

/// Loads `bytes` as the component for task `name` in `world`.
pub(crate) fn load(
    engine: &Engine,
    cache: &ArtifactCache,
    name: &str,
    world: World,
    bytes: &[u8],
) -> anyhow::Result<LoadedComponent> {
    if !is_component_binary(bytes) {
        bail!("not a WebAssembly component (a core module or not wasm at all)");
    }
    let sha256 = crate::sha256(bytes);
    let component = cache.load_or_compile(engine, &sha256, bytes)?;
    check_imports(engine, &component, world)?;
    let linker = linker_for(engine, world)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|err| anyhow::Error::from(err).context("linking the component"))?;
    let pre = TaskHostPre::new(pre)
        .map_err(|err| anyhow::Error::from(err).context("the component's exports"))?;
    Ok(LoadedComponent {
        name: name.to_string(),
        world,
        sha256,
        pre,
    })
}

/// The binary header of a component: magic, then version 0x0d with layer 1.
fn is_component_binary(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [0x0d, 0x00, 0x01, 0x00]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_components_from_modules() {
        assert!(is_component_binary(b"\0asm\x0d\x00\x01\x00rest"));
        assert!(!is_component_binary(b"\0asm\x01\x00\x00\x00"));
        assert!(!is_component_binary(b"hello"));
        assert_eq!(unversioned("cafe:report/sql@0.1.0"), "cafe:report/sql");
    }
}
