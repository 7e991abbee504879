//! An S3-compatible endpoint served in-process from a directory (s3s + s3s-fs). It checks
//! SigV4 signatures, including presigned URLs and their expiry, like S3 does, and lets
//! each key do only what [`ReportAccess`] allows.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{KeyPair, ReportAccess};

/// A running embedded S3 endpoint; stops when dropped.
#[derive(Debug)]
pub struct EmbeddedS3 {
    addr: SocketAddr,
    endpoint: String,
    root: PathBuf,
    server: JoinHandle<()>,
}

impl EmbeddedS3 {
    /// Serves `root` (one subdirectory per bucket; `buckets` are created) on `listen`
    /// (`127.0.0.1:0` picks a free port), accepting requests signed with one of `keys`
    /// that `access` allows.
    pub async fn start(
        listen: &str,
        root: &Path,
        keys: &[KeyPair],
        access: ReportAccess,
        buckets: &[&str],
    ) -> anyhow::Result<EmbeddedS3> {
        for bucket in buckets {
            std::fs::create_dir_all(root.join(bucket))?;
        }
        let root = std::fs::canonicalize(root)?;
        let fs = s3s_fs::FileSystem::new(&root)
            .map_err(|err| anyhow::anyhow!("object store at {}: {err:?}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(fs);
        let mut auth = SimpleAuth::new();
        for key in keys {
            auth.register(
                key.access_key_id.clone(),
                key.secret_access_key.clone().into(),
            );
        }
        builder.set_auth(auth);
        builder.set_access(access);
        let service = builder.build();

        let listener = TcpListener::bind(listen).await.map_err(|err| {
            anyhow::anyhow!("embedded S3 endpoint cannot listen on {listen}: {err}")
        })?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let http = crate::http::connections(crate::http::HEADER_TIMEOUT);
            loop {
                let socket = match listener.accept().await {
                    Ok((socket, _)) => socket,
                    Err(err) => {
                        // E.g. out of file descriptors: back off instead of spinning.
                        tracing::warn!(%err, "embedded S3: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), logged(service.clone()))
                    .into_owned();
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(%err, "embedded S3: connection ended");
                    }
                });
            }
        });
        tracing::debug!(%addr, root = %root.display(), "embedded S3 endpoint started");
        Ok(EmbeddedS3 {
            addr,
            endpoint: format!("http://{addr}"),
            root,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory holding the buckets.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// s3s logs every refused request (an expired link, a bad signature, a missing key) at
/// ERROR, as if the server had failed; `cafe-report` turns `s3s::ops` off and logs each
/// answer here instead: a refusal at DEBUG, a server error at ERROR.
fn logged(
    service: s3s::service::S3Service,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = hyper::Response<s3s::Body>,
    Error = s3s::HttpError,
    Future = impl Future<Output = Result<hyper::Response<s3s::Body>, s3s::HttpError>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let service = service.clone();
        async move {
            let method = request.method().clone();
            let path = request.uri().path().to_string();
            let answer = hyper::service::Service::call(&service, request).await;
            match &answer {
                Ok(response) if response.status().is_server_error() => {
                    tracing::error!(%method, %path, status = %response.status(), "embedded S3: the request failed");
                }
                Ok(response) if response.status().is_client_error() => {
                    tracing::debug!(%method, %path, status = %response.status(), "embedded S3: request refused");
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(%method, %path, ?err, "embedded S3: the request failed")
                }
            }
            answer
        }
    })
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}
