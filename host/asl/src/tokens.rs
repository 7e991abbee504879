//! Task tokens (`.waitForTaskToken`): the token a Task hands out in `$$.Task.Token`, and
//! the tasks waiting for SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat on it.
//!
//! A token is the digest of a secret and the task's place (execution, entered event,
//! retry), so it cannot be guessed, and a resumed execution hands out the same token it
//! handed out before the restart: a callback sent to the old process still lands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, watch};

/// How a waiting task ends: SendTaskSuccess's output (JSON text), or SendTaskFailure's
/// error and cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// SendTaskSuccess.
    Success(String),
    /// SendTaskFailure.
    Failure {
        /// `error` (may be empty).
        error: String,
        /// `cause` (may be empty).
        cause: String,
    },
}

/// Why a callback was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this engine hands out (`InvalidToken`).
    #[error("Invalid Token: 'Invalid token'")]
    Invalid,
    /// No task waits on it: it ended (timed out, stopped, completed) or never was
    /// (`TaskTimedOut`, as AWS answers a late callback).
    #[error("Task Timed Out: 'Provided task does not exist anymore'")]
    NotWaiting,
}

/// One waiting task's channels.
struct Waiting {
    done: Option<oneshot::Sender<Callback>>,
    heartbeats: watch::Sender<u64>,
}

/// The tokens handed out and the tasks waiting on them, shared by every execution that
/// SendTask* should reach.
pub struct TaskTokens {
    secret: [u8; 32],
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl std::fmt::Debug for TaskTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("TaskTokens").finish_non_exhaustive()
    }
}

/// Length of a token: 32 bytes of digest, base64url without padding.
const TOKEN_CHARS: usize = 43;

impl TaskTokens {
    /// Tokens derived from `secret` (keep it across restarts so resumed tasks hand out
    /// the same tokens).
    pub fn new(secret: [u8; 32]) -> Self {
        Self {
            secret,
            waiting: Mutex::default(),
        }
    }

    /// Tokens from a fresh random secret: right for a process that does not resume.
    pub fn random() -> Self {
        Self::new(rand::random())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token of the task at `place` (unique within the engine: execution ARN,
    /// entered event, retry).
    pub(crate) fn token_for(&self, place: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.secret)
            .chain_update(place.as_bytes())
            .finalize();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    }

    /// Starts waiting on `token`; the wait ends when the returned [`Wait`] is dropped.
    pub(crate) fn wait(self: &Arc<Self>, token: &str) -> Wait {
        let (done, callback) = oneshot::channel();
        let (heartbeats, beats) = watch::channel(0);
        self.lock().insert(
            token.to_string(),
            Waiting {
                done: Some(done),
                heartbeats,
            },
        );
        Wait {
            tokens: self.clone(),
            token: token.to_string(),
            callback,
            beats,
        }
    }

    fn check(token: &str) -> Result<(), TokenError> {
        let well_formed = token.len() == TOKEN_CHARS
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if well_formed {
            Ok(())
        } else {
            Err(TokenError::Invalid)
        }
    }

    /// SendTaskSuccess / SendTaskFailure: ends the task waiting on `token`.
    pub fn complete(&self, token: &str, callback: Callback) -> Result<(), TokenError> {
        Self::check(token)?;
        let done = self
            .lock()
            .get_mut(token)
            .and_then(|waiting| waiting.done.take())
            .ok_or(TokenError::NotWaiting)?;
        done.send(callback).map_err(|_| TokenError::NotWaiting)
    }

    /// SendTaskHeartbeat: the task's heartbeat timer starts again.
    pub fn heartbeat(&self, token: &str) -> Result<(), TokenError> {
        Self::check(token)?;
        let waiting = self.lock();
        let waiting = waiting
            .get(token)
            .filter(|w| w.done.is_some())
            .ok_or(TokenError::NotWaiting)?;
        waiting.heartbeats.send_modify(|beats| *beats += 1);
        Ok(())
    }
}

/// A task waiting on its token.
pub(crate) struct Wait {
    tokens: Arc<TaskTokens>,
    token: String,
    callback: oneshot::Receiver<Callback>,
    beats: watch::Receiver<u64>,
}

impl Wait {
    /// The callback when it comes (`Some`), or `None` at a heartbeat before it.
    pub(crate) async fn next(&mut self) -> Option<Callback> {
        tokio::select! {
            callback = &mut self.callback => match callback {
                Ok(callback) => Some(callback),
                // The sender lives in the map until this wait is dropped.
                Err(_) => std::future::pending().await,
            },
            beat = self.beats.changed() => match beat {
                Ok(()) => None,
                Err(_) => std::future::pending().await,
            },
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.tokens.lock().remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_callback_reaches_the_task_waiting_on_its_token_once() {
        let tokens = Arc::new(TaskTokens::new([7; 32]));
        let token = tokens.token_for("arn:x/5/0");
        assert_eq!(token.len(), TOKEN_CHARS);
        // The same place, the same token; another place, another.
        assert_eq!(token, TaskTokens::new([7; 32]).token_for("arn:x/5/0"));
        assert_ne!(token, tokens.token_for("arn:x/5/1"));
        assert_ne!(token, TaskTokens::new([8; 32]).token_for("arn:x/5/0"));

        assert_eq!(
            tokens.complete(&token, Callback::Success("1".into())),
            Err(TokenError::NotWaiting)
        );
        let mut wait = tokens.wait(&token);
        tokens.heartbeat(&token).unwrap();
        assert_eq!(wait.next().await, None);
        tokens
            .complete(&token, Callback::Success("{}".into()))
            .unwrap();
        assert_eq!(wait.next().await, Some(Callback::Success("{}".into())));
        // Completed: a second callback, or a heartbeat, finds no task.
        assert_eq!(
            tokens.complete(&token, Callback::Success("2".into())),
            Err(TokenError::NotWaiting)
        );
        assert_eq!(tokens.heartbeat(&token), Err(TokenError::NotWaiting));
        drop(wait);
        assert!(tokens.lock().is_empty());
        assert_eq!(tokens.heartbeat("short"), Err(TokenError::Invalid));
        assert_eq!(
            TokenError::NotWaiting.to_string(),
            "Task Timed Out: 'Provided task does not exist anymore'"
        );
    }
}
