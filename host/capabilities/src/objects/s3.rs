//! Objects in an S3 bucket through aws-sdk-s3 (AWS, the embedded endpoint, MinIO, moto).

use async_trait::async_trait;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;

use super::{ObjectInfo, ObjectStore};
use crate::signer::Credentials;

/// A bucket reached with aws-sdk-s3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
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
            .force_path_style(path_style);
        if let Some(endpoint) = &endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        S3Store {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket: bucket.to_string(),
            endpoint,
        }
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
    ) -> Result<ObjectInfo, String> {
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
                format!(
                    "storing s3://{}/{key} failed: {}",
                    self.bucket,
                    DisplayErrorContext(&err)
                )
            })?;
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
