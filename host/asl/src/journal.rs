//! Where an execution's history is made durable: the engine hands its new events to a
//! [`Journal`] and waits until they are kept before it acts on them (invokes a task,
//! sleeps in a Wait or a retry's backoff, ends), so a crash never loses a step that had
//! an effect. The events between two such points go as one batch, which is what a
//! journal writes in one transaction.

use std::time::Duration;

use crate::execution::ExecutionDescription;
use crate::history::HistoryEvent;
use crate::invoker::BoxFuture;

/// Keeps executions' events. Implemented by the server over its SQLite records; an
/// engine without one keeps histories in memory only.
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// Makes `events` of execution `execution_arn` durable, appended after the ones
    /// given before; returns once they are. An error is retried by the engine, which
    /// does not go on until the events are kept.
    fn append<'a>(
        &'a self,
        execution_arn: &'a str,
        events: Vec<HistoryEvent>,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// The last batch: [`Journal::append`], with how the execution ended, kept in the same
    /// write, so that once the end shows it is also what the journal holds. A journal
    /// that keeps no descriptions appends.
    fn end<'a>(
        &'a self,
        execution_arn: &'a str,
        events: Vec<HistoryEvent>,
        ended: &'a ExecutionDescription,
    ) -> BoxFuture<'a, Result<(), String>> {
        let _ = ended;
        self.append(execution_arn, events)
    }
}

/// How long the engine waits before it offers a batch the journal refused again, at
/// first and at most.
pub(crate) const RETRY_FIRST: Duration = Duration::from_millis(100);
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(10);
