//! The S3 source of component versions: `s3://<bucket>/<prefix>/<task>.wasm`, polled.
//! An unchanged object costs one HEAD (conditional on the last ETag where the server
//! supports it); a changed one is fetched and published like a file in the watched
//! directory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_s3::error::SdkError;

use crate::World;
use crate::runtime::Runtime;

/// `s3://bucket/prefix`: where versions are published, as `<prefix>/<task>.wasm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The prefix, without leading or trailing `/`.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket/prefix`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("s3://")
            .with_context(|| format!("{url:?} is not an s3://bucket/prefix URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "{url:?} names no bucket");
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object key of a task's current version.
    pub fn key(&self, task: &str) -> String {
        if self.prefix.is_empty() {
            format!("{task}.wasm")
        } else {
            format!("{}/{task}.wasm", self.prefix)
        }
    }
}

/// An [`S3Location`] and the client that reads it.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: aws_sdk_s3::Client,
    location: S3Location,
}

/// What one poll found for one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// The object's ETag has not changed since the last poll.
    Unchanged,
    /// There is no object for the task.
    Missing,
    /// The object is the version already serving.
    Current,
    /// A new version, now current (its sha256).
    Published(String),
    /// A new version, refused (why); the current one keeps serving.
    Refused(String),
}

impl S3Source {
    /// A source at `s3://bucket/prefix` read with `client`.
    pub fn new(client: aws_sdk_s3::Client, url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client,
            location: S3Location::parse(url)?,
        })
    }

    /// The object key of a task's current version.
    pub fn key(&self, task: &str) -> String {
        self.location.key(task)
    }

    /// The object's ETag, `None` if it does not exist or did not change from `known`.
    async fn changed_etag(
        &self,
        key: &str,
        known: Option<&String>,
    ) -> anyhow::Result<Result<String, Polled>> {
        let head = self
            .client
            .head_object()
            .bucket(&self.location.bucket)
            .key(key)
            .set_if_none_match(known.cloned())
            .send()
            .await;
        match head {
            Ok(output) => {
                let etag = output.e_tag().unwrap_or_default().to_string();
                Ok(if known == Some(&etag) {
                    Err(Polled::Unchanged)
                } else {
                    Ok(etag)
                })
            }
            Err(SdkError::ServiceError(err)) if err.raw().status().as_u16() == 304 => {
                Ok(Err(Polled::Unchanged))
            }
            Err(SdkError::ServiceError(err)) if err.raw().status().as_u16() == 404 => {
                Ok(Err(Polled::Missing))
            }
            Err(err) => Err(anyhow::anyhow!(
                "HEAD s3://{}/{key}: {}",
                self.location.bucket,
                cafe_report_capabilities::error_text(&err)
            )),
        }
    }

    /// The object's bytes.
    pub async fn fetch(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let object = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "GET s3://{}/{key}: {}",
                    self.location.bucket,
                    cafe_report_capabilities::error_text(&err)
                )
            })?;
        Ok(object
            .body
            .collect()
            .await
            .context("reading the component's body")?
            .to_vec())
    }
}

/// Keeps polling while it lives.
#[derive(Debug)]
pub struct S3Poller {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for S3Poller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Runtime {
    /// The component source at `url` (`[components] s3`), read with the object store's
    /// S3 client.
    pub fn s3_source(&self, url: &str) -> anyhow::Result<S3Source> {
        let client = self
            .capabilities()
            .objects
            .s3_client()
            .context("components.s3 needs an S3 object store")?;
        S3Source::new(client, url).context("components.s3")
    }

    /// Polls `source` once for every task; `etags` carries what the last poll saw.
    pub async fn poll_s3_once(
        &self,
        source: &S3Source,
        etags: &mut HashMap<String, String>,
        smoke: &BTreeMap<String, String>,
    ) -> anyhow::Result<BTreeMap<String, Polled>> {
        let mut found = BTreeMap::new();
        for task in World::ALL.map(World::name) {
            let smoke = smoke.get(task).map(String::as_str);
            let polled = self.poll_s3_task(source, task, etags, smoke).await?;
            found.insert(task.to_string(), polled);
        }
        Ok(found)
    }

    /// Polls `source` once for `task`: an unchanged object costs one conditional HEAD; a
    /// changed one is fetched and published (validated, smoke-run on `smoke`, swapped in)
    /// unless it is the version already serving.
    pub async fn poll_s3_task(
        &self,
        source: &S3Source,
        task: &str,
        etags: &mut HashMap<String, String>,
        smoke: Option<&str>,
    ) -> anyhow::Result<Polled> {
        let key = source.key(task);
        let etag = match source.changed_etag(&key, etags.get(task)).await? {
            Ok(etag) => etag,
            Err(polled) => return Ok(polled),
        };
        let bytes = source.fetch(&key).await?;
        etags.insert(task.to_string(), etag);
        let origin = format!("s3://{}/{key}", source.location.bucket);
        Ok(
            match self.publish_if_new(task, &bytes, &origin, smoke).await {
                Ok(None) => Polled::Current,
                Ok(Some(component)) => Polled::Published(component.sha256.clone()),
                Err(err) => Polled::Refused(format!("{err:#}")),
            },
        )
    }

    /// Polls `source` every `every` until the poller is dropped. Needs a tokio runtime.
    pub fn poll_s3(
        self: &Arc<Self>,
        source: S3Source,
        every: Duration,
        smoke: BTreeMap<String, String>,
    ) -> S3Poller {
        let runtime = self.clone();
        let task = tokio::spawn(async move {
            let mut etags = HashMap::new();
            loop {
                if let Err(err) = runtime.poll_s3_once(&source, &mut etags, &smoke).await {
                    tracing::warn!(error = %format!("{err:#}"), "polling the S3 component source failed; trying again");
                }
                tokio::time::sleep(every).await;
            }
        });
        S3Poller { task }
    }
}
