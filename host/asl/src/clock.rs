//! Time for the engine: timestamps of events and the sleeping of Wait, Retry back-off
//! and timeouts all go through one [`Clock`], so tests can run time forward.

use std::fmt::Debug;
use std::time::Duration;

use time::OffsetDateTime;

use crate::invoker::BoxFuture;

/// The engine's source of time.
pub trait Clock: Send + Sync + Debug {
    /// The current wall-clock time.
    fn now(&self) -> OffsetDateTime;
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Wall time derived from tokio's clock: real time normally; under a paused tokio
/// runtime (`tokio::time::pause`, `#[tokio::test(start_paused = true)]`) time stands
/// still while work is pending and jumps to the next timer when everything waits, so a
/// one-hour Wait finishes instantly and timeouts still fire in the right order.
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin_wall: OffsetDateTime,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that starts at the system's current time.
    pub fn system() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }

    /// A clock whose wall time starts at `at` (fixed times make histories repeatable).
    pub fn starting_at(at: OffsetDateTime) -> Self {
        Self {
            origin_wall: at,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.origin_wall + self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}
