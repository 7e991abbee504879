//! Time, one notion of it: event timestamps, Wait and Retry sleeps, the `clock`
//! capability the components read and the signer's date checks all go through a
//! [`Clock`], so `--now` moves them together and tests can run time forward.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// A future that completes after a sleep.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of time.
pub trait Clock: Send + Sync + Debug {
    /// The current wall-clock time (UTC).
    fn now(&self) -> OffsetDateTime;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;

    /// [`Clock::now`] in milliseconds since the Unix epoch (0 before it).
    fn now_millis(&self) -> u64 {
        u64::try_from(self.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }
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

    /// A clock whose wall time starts at `at` and runs on from there (`--now`).
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

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock whose reading stands still until moved: what one task run with `--now` sees,
/// and tests that need exact times. Sleeps still take (tokio's) time, so a timeout raced
/// against one fires when it should.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    /// A clock reading `at`.
    pub fn new(at: OffsetDateTime) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    /// A clock reading `millis` since the Unix epoch.
    pub fn from_millis(millis: u64) -> FixedClock {
        let nanos = i128::from(millis) * 1_000_000;
        FixedClock::new(
            OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        )
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_fixed_clock_moves_only_when_advanced() {
        let clock = FixedClock::from_millis(1_700_000_000_123);
        assert_eq!(clock.now_millis(), 1_700_000_000_123);
        clock.advance(Duration::from_millis(7));
        assert_eq!(clock.now_millis(), 1_700_000_000_130);
        let before = tokio::time::Instant::now();
        clock.sleep(Duration::from_secs(2)).await;
        assert_eq!(before.elapsed(), Duration::from_secs(2));
        assert_eq!(clock.now_millis(), 1_700_000_000_130);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_starting_at_a_time_runs_on_from_it() {
        let at = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let clock = TokioClock::starting_at(at);
        clock.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), at + Duration::from_secs(90));
    }
}
