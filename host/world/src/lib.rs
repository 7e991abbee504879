//! Host-side Rust bindings for the `cafe:report` WIT package (`wit/`), generated once here
//! so every other host crate speaks the same types.
//!
//! The `task-host` world imports every capability a component may be granted and exports
//! `task`. The engine links, per component, only the interfaces of that component's own
//! world (`query`, `render`, `presign`): see [`Grant`].

#![allow(missing_docs)] // generated code

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "task-host",
    imports: { default: async },
    exports: { default: async },
});

pub use cafe::report::{clock, log, notify, objects, signer, sql};
pub use exports::cafe::report::task::TaskError;

/// One capability interface a component can be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    Sql,
    Objects,
    Notify,
    Signer,
    Clock,
    Log,
}

impl Grant {
    /// The interface's WIT name without version, e.g. `cafe:report/sql`.
    pub fn interface(self) -> &'static str {
        match self {
            Grant::Sql => "cafe:report/sql",
            Grant::Objects => "cafe:report/objects",
            Grant::Notify => "cafe:report/notify",
            Grant::Signer => "cafe:report/signer",
            Grant::Clock => "cafe:report/clock",
            Grant::Log => "cafe:report/log",
        }
    }
}

/// The worlds of `wit/cafe-report.wit`: which capabilities each kind of task may import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    Query,
    Render,
    Presign,
}

impl World {
    /// Every world, in pipeline order.
    pub const ALL: [World; 3] = [World::Query, World::Render, World::Presign];

    /// The world's name in WIT, which is also the task's name.
    pub fn name(self) -> &'static str {
        match self {
            World::Query => "query",
            World::Render => "render",
            World::Presign => "presign",
        }
    }

    /// Looks a world up by its WIT name.
    pub fn from_name(name: &str) -> Option<World> {
        World::ALL.into_iter().find(|w| w.name() == name)
    }

    /// What the world imports: the component gets these and nothing else.
    pub fn grants(self) -> &'static [Grant] {
        match self {
            World::Query => &[Grant::Sql, Grant::Clock, Grant::Log],
            World::Render => &[Grant::Objects, Grant::Clock, Grant::Log],
            World::Presign => &[Grant::Signer, Grant::Notify, Grant::Log],
        }
    }
}
