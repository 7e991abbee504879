//! Objects in an S3 bucket through aws-sdk-s3 (AWS, the embedded endpoint, MinIO, moto).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;

use super::{ObjectInfo, ObjectStore, ObjectsError};
use crate::signer::Credentials;

/// The SDK's own retries of one request. They run inside a task's time limit (seconds),
/// so their backoff stays short: the SDK's default (up to 1 s, then up to 2 s) can use up
/// a 3 s limit and turn a store that is down into `States.Timeout` instead of
/// `Objects.PutFailed`. Longer waits belong to the state machine's `Retry`, which the
/// history shows.
fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(400))
}

/// A bucket reached with aws-sdk-s3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
    /// The embedded endpoint's directory, whose object files are fsynced after a put.
    synced_root: Option<std::path::PathBuf>,
}

impl S3Store {
    /// A client for `bucket` at `endpoint` (AWS's regional endpoint when `None`).
    pub fn new(
        endpoint: Option<String>,
        bucket: &str,
        region: &str,
        path_style: bool,
        credentials: &Credentials,
    ) -> S3Store {
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(credentials.for_sdk())
            .retry_config(retries())
            .force_path_style(path_style);
        if let Some(endpoint) = &endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        S3Store {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket: bucket.to_string(),
            endpoint,
            synced_root: None,
        }
    }

    /// The same store over the embedded endpoint serving `root`: s3s-fs renames an object
    /// into place without fsync, so after each put the host fsyncs the object's file and
    /// its directory itself; a put that returned survives a power loss.
    pub fn syncing(mut self, root: std::path::PathBuf) -> S3Store {
        self.synced_root = Some(root);
        self
    }

    /// The underlying client (for tests and tools that read objects back).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn endpoint(&self) -> Option<String> {
        self.endpoint.clone()
    }

    fn s3_client(&self) -> Option<aws_sdk_s3::Client> {
        Some(self.client.clone())
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        cache_control: &str,
    ) -> Result<ObjectInfo, ObjectsError> {
        let size = body.len() as u64;
        let output = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(cache_control)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| {
                ObjectsError::Put(format!(
                    "storing s3://{}/{key} failed: {}",
                    self.bucket,
                    crate::error_text(&err)
                ))
            })?;
        if let Some(root) = &self.synced_root {
            let file = root.join(&self.bucket).join(key);
            tokio::task::spawn_blocking(move || {
                std::fs::File::open(&file)?.sync_all()?;
                match file.parent() {
                    Some(dir) => std::fs::File::open(dir)?.sync_all(),
                    None => Ok(()),
                }
            })
            .await
            .map_err(|err| std::io::Error::other(err.to_string()))
            .and_then(|synced| synced)
            .map_err(|err| {
                ObjectsError::Put(format!(
                    "syncing s3://{}/{key} to disk failed: {err}",
                    self.bucket
                ))
            })?;
        }
        Ok(ObjectInfo {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            etag: output
                .e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_retries_fit_well_inside_a_task_time_limit() {
        let credentials = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            region: "us-east-1".into(),
        };
        let store = S3Store::new(None, "bucket", "us-east-1", true, &credentials);
        let config = store.client().config().retry_config().unwrap();
        // The longest the backoff of one request can add up to, jitter at its maximum.
        let worst: Duration = (1..config.max_attempts())
            .map(|retry| (config.initial_backoff() * 2u32.pow(retry - 1)).min(config.max_backoff()))
            .sum();
        assert!(worst <= Duration::from_millis(500), "{worst:?}");
    }
}
