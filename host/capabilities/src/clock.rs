//! The `clock` capability: time is the host's (the one [`Clock`] the engine uses too), so
//! runs can be fixed (`--now`) and tests can move time instead of sleeping.

pub use cafe_report_base::clock::{Clock, FixedClock, TokioClock};

use crate::TaskCtx;

impl cafe_report_world::clock::Host for TaskCtx {
    async fn now(&mut self) -> u64 {
        self.capabilities.clock.now_millis()
    }
}
