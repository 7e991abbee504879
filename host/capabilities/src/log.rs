//! The `log` capability: a component's log lines join the host's `tracing` output, tagged
//! with the task, under the `component` target.

use cafe_report_world::log::{Host, Level};

use crate::TaskCtx;

/// Longest line kept; a component cannot flood the host's logs with one call.
const MAX_LINE: usize = 4096;

impl Host for TaskCtx {
    async fn log(&mut self, level: Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [truncated]");
        }
        self.logged = self.logged.saturating_add(1);
        if self.logged > self.quotas.log_lines {
            if self.logged == self.quotas.log_lines + 1 {
                tracing::warn!(task = %self.task, limit = self.quotas.log_lines, "the task's further log lines are dropped ([limits] log_lines)");
            }
            // The error a trap leaves behind still names the trap's cause.
            if level == Level::Error {
                self.last_error = Some(message);
            }
            return;
        }
        let task = self.task.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "component", task, "{message}"),
            Level::Debug => tracing::debug!(target: "component", task, "{message}"),
            Level::Info => tracing::info!(target: "component", task, "{message}"),
            Level::Warn => tracing::warn!(target: "component", task, "{message}"),
            Level::Error => tracing::error!(target: "component", task, "{message}"),
        }
        if level == Level::Error {
            self.last_error = Some(message);
        }
    }
}
