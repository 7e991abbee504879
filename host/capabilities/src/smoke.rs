//! What a smoke run may touch. A new component version runs once before it may serve
//! (`Runtime::publish`); that run must show the version can do its task's job without
//! doing it for real: it reads a private copy of the sample database, and what it stores
//! or publishes is kept here for the runtime to check, never stored or sent.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::Capabilities;
use crate::notify::{Notifier, NotifyError};
use crate::objects::{ObjectInfo, ObjectStore, ObjectsError};
use crate::sql::SqliteBackend;

/// An object a smoke run stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptObject {
    /// Its key.
    pub key: String,
    /// Its content type.
    pub content_type: String,
    /// Its body.
    pub body: Vec<u8>,
}

/// A message a smoke run published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptMessage {
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
}

/// What a smoke run stored and published, in order.
#[derive(Debug, Default)]
pub struct SmokeEffects {
    objects: Mutex<Vec<KeptObject>>,
    messages: Mutex<Vec<KeptMessage>>,
}

impl SmokeEffects {
    /// The objects stored.
    pub fn objects(&self) -> Vec<KeptObject> {
        self.objects.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// The messages published.
    pub fn messages(&self) -> Vec<KeptMessage> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// The objects capability of a smoke run: the real store's bucket and endpoint (so
/// outputs and links look as they will), puts kept in memory.
#[derive(Debug)]
struct KeptObjects {
    bucket: String,
    endpoint: Option<String>,
    effects: Arc<SmokeEffects>,
}

#[async_trait]
impl ObjectStore for KeptObjects {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn endpoint(&self) -> Option<String> {
        self.endpoint.clone()
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        _cache_control: &str,
    ) -> Result<ObjectInfo, ObjectsError> {
        use sha2::Digest;
        let info = ObjectInfo {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            // Not S3's MD5 ETag: nothing reads it back, it only has to be stable.
            etag: hex::encode(&sha2::Sha256::digest(&body)[..16]),
            size: body.len() as u64,
        };
        let kept = KeptObject {
            key: key.to_string(),
            content_type: content_type.to_string(),
            body,
        };
        self.effects
            .objects
            .lock()
            .map_err(|_| ObjectsError::Put("smoke run store poisoned".into()))?
            .push(kept);
        Ok(info)
    }
}

/// The notify capability of a smoke run: messages kept in memory.
#[derive(Debug)]
struct KeptMessages(Arc<SmokeEffects>);

#[async_trait]
impl Notifier for KeptMessages {
    async fn publish(
        &self,
        _recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<String, NotifyError> {
        let mut messages =
            self.0.messages.lock().map_err(|_| {
                NotifyError::Delivery("smoke run message list poisoned".to_string())
            })?;
        messages.push(KeptMessage {
            subject: subject.to_string(),
            body: body.to_string(),
        });
        Ok(format!("smoke-run-{}", messages.len()))
    }
}

impl Capabilities {
    /// These capabilities as a smoke run sees them: the sample database in memory instead
    /// of the configured one, objects and messages kept in the returned effects; the
    /// signer and clock are the real ones (signing sends nothing).
    pub async fn for_smoke_run(&self) -> anyhow::Result<(Capabilities, Arc<SmokeEffects>)> {
        let effects = Arc::new(SmokeEffects::default());
        let capabilities = Capabilities {
            sql: Arc::new(SqliteBackend::sample_in_memory().await?),
            objects: Arc::new(KeptObjects {
                bucket: self.objects.bucket().to_string(),
                endpoint: self.objects.endpoint(),
                effects: effects.clone(),
            }),
            notifier: Arc::new(KeptMessages(effects.clone())),
            signer: self.signer.clone(),
            clock: self.clock.clone(),
            embedded_s3: None,
        };
        Ok((capabilities, effects))
    }
}
