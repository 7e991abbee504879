//! The bottom of the house: what the host's crates and the guest components agree on
//! besides the WIT contract.
//!
//! - [`names`]: every error name that crosses the state machine, `States.*` and ours.
//! - [`limits`]: limits the engine, the runtime and the guests all enforce.
//! - with feature `host`: [`clock`] (one notion of time for the engine, the capabilities
//!   and the tests) and [`random`] (one injectable source of randomness).
//!
//! Without `host` the crate is `no_std` and has no dependencies, so guests can use it.

#![cfg_attr(not(feature = "host"), no_std)]
#![deny(missing_docs)]

pub mod limits;
pub mod names;

#[cfg(feature = "host")]
pub mod clock;
#[cfg(feature = "host")]
pub mod random;
