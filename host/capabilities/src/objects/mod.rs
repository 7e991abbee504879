//! The `objects` capability: storing reports. One backend, S3 through aws-sdk-s3, aimed
//! either at AWS or at any S3-compatible endpoint. Locally that endpoint is
//! [`EmbeddedS3`], served in-process from a directory, so the local path is the AWS path.

mod access;
mod embedded;
mod host;
mod keys;
pub use keys::write_private;
mod s3;

pub use access::ReportAccess;
pub use embedded::EmbeddedS3;
pub use keys::{EmbeddedKeys, KEYS_FILE, KeyPair};
pub use s3::S3Store;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use cafe_report_base::limits::{MAX_KEY_BYTES, REPORT_PREFIX};

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

/// Refuses a key a component may not write or link to: outside [`REPORT_PREFIX`] (so
/// render cannot replace `components/presign.wasm`, which hot-swap would load), with a
/// `..`, `.` or empty segment or a leading `/` (which would leave the bucket's directory
/// on the filesystem store), control characters, or over S3's 1024 bytes.
pub(crate) fn check_report_key(key: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("the key {key:?} is refused: {why}"));
    if key.len() > MAX_KEY_BYTES {
        return refuse(&format!("over {MAX_KEY_BYTES} bytes"));
    }
    if key.chars().any(char::is_control) {
        return refuse("it has control characters");
    }
    if key.starts_with('/')
        || key
            .split('/')
            .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return refuse("a segment is empty, \".\" or \"..\"");
    }
    if !key.starts_with(REPORT_PREFIX) {
        return refuse(&format!("components reach only keys under {REPORT_PREFIX}"));
    }
    Ok(())
}

/// Opens the configured store: a configured endpoint (or AWS) with `credentials`, else an
/// embedded S3 endpoint over `<data_dir>/objects`, started here and returned so the caller
/// keeps it alive, written with the data directory's writer key. Links to it are signed
/// with `signing` (the configured credentials, else the directory's signing key).
pub async fn open(
    config: &ObjectsConfig,
    credentials: Option<&Credentials>,
    region: &str,
    max_expires_seconds: u64,
    data_dir: &Path,
) -> anyhow::Result<Opened> {
    let region = config.region.as_deref().unwrap_or(region);
    if config.embedded() {
        let keys = EmbeddedKeys::load_or_create(data_dir)?;
        let signing = match credentials {
            Some(configured) => configured.clone(),
            None => keys.signing.credentials(region),
        };
        let access = ReportAccess {
            bucket: config.bucket.clone(),
            writer: keys.writer.access_key_id.clone(),
            signing: signing.access_key_id.clone(),
            max_expires_seconds,
        };
        let accepted = [
            keys.writer.clone(),
            KeyPair {
                access_key_id: signing.access_key_id.clone(),
                secret_access_key: signing.secret_access_key.clone(),
            },
        ];
        let root = data_dir.join("objects");
        let server = EmbeddedS3::start(
            &config.listen,
            &root,
            &accepted,
            access,
            &[config.bucket.as_str()],
        )
        .await?;
        let writer = keys.writer.credentials(region);
        let store = S3Store::new(
            Some(server.endpoint().to_string()),
            &config.bucket,
            region,
            true,
            &writer,
        )
        .syncing(root.clone());
        Ok(Opened {
            store: Arc::new(store),
            signing,
            region: region.to_string(),
            path_style: true,
            embedded: Some(Arc::new(server)),
        })
    } else {
        let credentials = crate::signer::required(
            credentials,
            "an objects endpoint other than the embedded one ([objects] endpoint, or AWS's)",
        )?
        .clone();
        let store = S3Store::new(
            config.endpoint.clone(),
            &config.bucket,
            region,
            config.path_style,
            &credentials,
        );
        Ok(Opened {
            store: Arc::new(store),
            signing: credentials,
            region: region.to_string(),
            path_style: config.path_style,
            embedded: None,
        })
    }
}

/// What [`open`] made.
#[derive(Debug)]
pub struct Opened {
    /// The store the host writes through.
    pub store: Arc<dyn ObjectStore>,
    /// The credentials report links are signed with.
    pub signing: Credentials,
    /// The bucket's region (`[objects] region`, else `[signer] region`), which links are
    /// signed for.
    pub region: String,
    /// Whether links are path-style on a configured endpoint.
    pub path_style: bool,
    /// The embedded endpoint, when it serves the store.
    pub embedded: Option<Arc<EmbeddedS3>>,
}
