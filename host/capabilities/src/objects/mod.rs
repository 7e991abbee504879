//! The `objects` capability: storing reports. One backend, S3 through aws-sdk-s3, aimed
//! either at AWS or at any S3-compatible endpoint. Locally that endpoint is
//! [`EmbeddedS3`], served in-process from a directory, so the local path is the AWS path.

mod embedded;
mod host;
mod s3;

pub use embedded::EmbeddedS3;
pub use s3::S3Store;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::ObjectsConfig;
use crate::signer::Credentials;

/// What the store says about an object it has stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The bucket (fixed by configuration).
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// Entity tag without quotes.
    pub etag: String,
    /// Bytes stored.
    pub size: u64,
}

/// A bucket that objects can be put into.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The bucket every key lives in.
    fn bucket(&self) -> &str;
    /// The endpoint URL when it is not AWS's own (what presigned URLs must point at).
    fn endpoint(&self) -> Option<String>;
    /// The S3 client behind the store, for reading other keys of its bucket (e.g. the
    /// component source that serving hosts poll).
    fn s3_client(&self) -> Option<aws_sdk_s3::Client> {
        None
    }
    /// Stores `body` under `key`.
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        cache_control: &str,
    ) -> Result<ObjectInfo, ObjectsError>;
}

/// Why an object was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectsError {
    /// The store refused the request or could not be reached; the text names the object.
    #[error("{0}")]
    Put(String),
}

/// Opens the configured store: a configured endpoint (or AWS), else an embedded S3 endpoint
/// over `<data_dir>/objects`, started here and returned so the caller keeps it alive.
pub async fn open(
    config: &ObjectsConfig,
    credentials: &Credentials,
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn ObjectStore>, Option<Arc<EmbeddedS3>>)> {
    if config.embedded() {
        let root = data_dir.join("objects");
        let server = EmbeddedS3::start(
            &config.listen,
            &root,
            credentials,
            &[config.bucket.as_str()],
        )
        .await?;
        let store = S3Store::new(
            Some(server.endpoint().to_string()),
            &config.bucket,
            config.region.as_deref().unwrap_or(&credentials.region),
            true,
            credentials,
        );
        Ok((Arc::new(store), Some(Arc::new(server))))
    } else {
        let store = S3Store::new(
            config.endpoint.clone(),
            &config.bucket,
            config.region.as_deref().unwrap_or(&credentials.region),
            config.path_style,
            credentials,
        );
        Ok((Arc::new(store), None))
    }
}
