//! The engine, driven through its public API with test task functions and a paused tokio
//! clock. Expected values come from the States Language spec and AWS's documentation.

mod common;

mod callbacks;
mod errors;
mod fidelity;
mod history;
mod journal;
mod jsonata;
mod mocks;
mod processing;
mod states;
mod stop;
mod validation;
mod variables;
