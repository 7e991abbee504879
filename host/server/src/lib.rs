//! The application around the two engines (the ASL engine, `cafe-report-asl`, and the
//! wasm runtime, `cafe-report-runtime`):
//!
//! - [`config`]: the configuration file and environment, every section.
//! - [`workflow`]: a state machine on the local engine whose tasks run as components.
//!
//! and `cafe-report serve`, the café's REST API over the local engine or AWS Step
//! Functions, with the S3-compatible endpoint the emailed links point at:
//!
//! - [`api`]: routes and JSON answers (axum).
//! - [`auth`]: who is calling (bearer tokens), and the users of `mode = "local"`.
//! - [`guard`]: the checks before any route: Host, bearer token, JSON bodies.
//! - [`service`]: what the API needs from an execution backend.
//! - [`executions`]: the local engine: starting executions at once, running a bounded
//!   number at a time.
//! - [`aws`]: `engine = "aws"`: AWS Step Functions through aws-sdk-sfn.
//! - [`store`]: execution records in SQLite, so they outlive the process.
//! - [`lock`]: one process per data directory.
//! - [`sfn`]: the Step Functions API (AWS JSON 1.0) over the local engine.

pub mod api;
pub mod auth;
pub mod aws;
pub mod config;
pub mod executions;
pub mod guard;
mod keyfile;
pub mod lock;
pub mod service;
pub mod sfn;
mod sqlite;
pub mod store;
pub mod viewer;
pub mod workflow;

pub use config::{Config, EngineKind};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cafe_report_capabilities::signer;
use cafe_report_runtime::{DirectoryWatcher, Runtime, S3Poller, VersionStore};
use tokio::net::TcpListener;

use auth::Authenticator;
use aws::AwsExecutions;
use executions::Executions;
use guard::AllowedHosts;
use service::ExecutionService;
use store::ExecutionStore;

use crate::workflow::Workflow;

/// Where executions run.
#[derive(Debug)]
enum Backend {
    /// This process: the engine, the components, the embedded object store, and the
    /// hot-swap sources kept alive while serving.
    Local {
        executions: Arc<Executions>,
        runtime: Arc<Runtime>,
        /// The Step Functions API and its listener, unless `[sfn] listen = "off"`.
        sfn: Option<(TcpListener, Arc<sfn::StepFunctions>)>,
        _watcher: Option<DirectoryWatcher>,
        _poller: Option<S3Poller>,
    },
    /// AWS Step Functions.
    Aws(Arc<AwsExecutions>),
}

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    /// Held while serving: no other process opens this data directory.
    _lock: lock::DataDirLock,
    listener: TcpListener,
    backend: Backend,
    grace: Duration,
    auth: Authenticator,
    hosts: AllowedHosts,
    max_expires_seconds: u64,
    request_timeout: Duration,
    cors_origins: Vec<axum::http::HeaderValue>,
}

impl Server {
    /// Builds everything `config` describes and binds the API's address. On the local
    /// engine, executions the previous process left unfinished are recorded as failed
    /// first.
    pub async fn bind(config: &Config) -> anyhow::Result<Server> {
        // Before anything in the data directory is opened.
        let lock = lock::DataDirLock::acquire(&config.data_dir, "serve")?;
        // Then `[auth]`, so a refused one starts nothing.
        let auth = Authenticator::from_config(config).await?;
        let backend = match config.serve.engine {
            EngineKind::Local => local_backend(config).await?,
            EngineKind::Aws => Backend::Aws(Arc::new(aws_backend(config)?)),
        };
        let listener = TcpListener::bind(&config.serve.listen)
            .await
            .with_context(|| format!("the API cannot listen on {}", config.serve.listen))?;
        let hosts = AllowedHosts::new(listener.local_addr().ok(), &config.serve.allowed_hosts);
        Ok(Server {
            _lock: lock,
            listener,
            backend,
            grace: Duration::from_secs(config.serve.shutdown_grace_seconds),
            auth,
            hosts,
            max_expires_seconds: config.links.max_expires_seconds,
            request_timeout: Duration::from_secs(config.serve.request_timeout_seconds.max(1)),
            cors_origins: config
                .serve
                .cors_origins
                .iter()
                .map(|origin| {
                    origin.parse().with_context(|| {
                        format!("[serve] cors_origins: {origin:?} is not an origin")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// The API's address.
    pub fn api_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The Step Functions API's address, when it listens.
    pub fn sfn_addr(&self) -> Option<SocketAddr> {
        match &self.backend {
            Backend::Local {
                sfn: Some((listener, _)),
                ..
            } => listener.local_addr().ok(),
            _ => None,
        }
    }

    /// The S3 endpoint the links point at, when this process knows it (the embedded
    /// one, or the configured one); `None` with `engine = "aws"`.
    pub fn objects_endpoint(&self) -> Option<String> {
        match &self.backend {
            Backend::Local { runtime, .. } => runtime.capabilities().objects_endpoint(),
            Backend::Aws(_) => None,
        }
    }

    /// Serves until `shutdown` completes, then stops accepting; on the local engine,
    /// lets executions finish for the grace period and records those that did not as
    /// failed.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let sfn = match &mut self.backend {
            Backend::Local { sfn, .. } => sfn.take(),
            Backend::Aws(_) => None,
        };
        let (executions, runtime, local): (Arc<dyn ExecutionService>, _, _) = match &self.backend {
            Backend::Local {
                executions,
                runtime,
                ..
            } => (
                executions.clone(),
                Some(runtime.clone()),
                Some(executions.clone()),
            ),
            Backend::Aws(aws) => (aws.clone(), None, None),
        };
        // One shutdown for both listeners.
        let stopping = tokio_util::sync::CancellationToken::new();
        let sfn_served = sfn.map(|(listener, api)| {
            let app = sfn::router(api.clone());
            let stopped = stopping.clone().cancelled_owned();
            let timeout = self.request_timeout;
            (
                tokio::spawn(serve_api(listener, app, stopped, timeout)),
                api,
            )
        });
        let stop_all = stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stop_all.cancel();
        };
        let app = api::router(api::AppState {
            executions,
            runtime,
            auth: self.auth,
            hosts: self.hosts,
            max_expires_seconds: self.max_expires_seconds,
            request_timeout: self.request_timeout,
            cors_origins: self.cors_origins,
        });
        serve_api(self.listener, app, shutdown, self.request_timeout).await;
        if let Some(local) = &local {
            let load = local.load_now();
            tracing::info!(
                running = load.running,
                queued = load.queued,
                "stopping: letting executions finish"
            );
            let grace = self.grace;
            let sfn_drained = async move {
                match sfn_served {
                    Some((served, api)) => {
                        let _ = served.await;
                        api.drain(grace).await
                    }
                    None => 0,
                }
            };
            // The same grace period for both APIs' executions, at once.
            let (report, sfn) = tokio::join!(local.drain(grace), sfn_drained);
            let unfinished = report + sfn;
            if unfinished > 0 {
                tracing::warn!(
                    unfinished,
                    "executions still running at the end of the grace period resume at the next start"
                );
            }
        }
        Ok(())
    }
}

/// Serves the API until `shutdown` completes, then stops accepting and waits for the
/// connections in flight. Each request gets `timeout` for its headers, so a client that
/// trickles them cannot hold a connection, nor this wait.
async fn serve_api(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
    timeout: Duration,
) {
    let connections = cafe_report_capabilities::http::connections(timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(err) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%err, "the API could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = connections
            .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(socket), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "an API connection ended");
            }
        });
    }
    drop(listener);
    // Idle connections close now; one mid-request has its timeouts to finish.
    if tokio::time::timeout(timeout * 2, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("API connections still open after the request timeout are dropped");
    }
}

/// The local engine over the configured components and backends.
async fn local_backend(config: &Config) -> anyhow::Result<Backend> {
    let runtime = Arc::new(Runtime::from_config(&config.runtime()).await?);
    let store = ExecutionStore::open(&config.data_dir.join("executions.db"))?;
    let limits = &config.limits;
    let slots = config.serve.max_concurrent_executions;
    // The report runs two tasks at once (Parallel); beyond the pool, instantiation fails.
    if limits.pooling && slots.saturating_mul(2) > limits.pool_instances as usize {
        tracing::warn!(
            slots,
            pool_instances = limits.pool_instances,
            "max_concurrent_executions may need more wasm instances than limits.pool_instances; tasks beyond it fail with States.TaskFailed"
        );
    }
    let workflow = Workflow::from_config(config, runtime.clone(), &[])?;
    let executions = Arc::new(Executions::new(
        workflow,
        store,
        slots,
        config.serve.max_queued_executions,
    ));
    let resumed = executions.resume_unfinished().await?;
    if resumed > 0 {
        tracing::warn!(
            resumed,
            "executions the last process left running are resumed"
        );
    }
    let sfn = match config.sfn.address() {
        Some(listen) => {
            let listener = sfn::bind(listen).await?;
            let api = sfn::StepFunctions::open(config, runtime.clone(), listener.local_addr().ok())
                .await?;
            Some((listener, Arc::new(api)))
        }
        None => None,
    };
    let (watcher, poller) = hot_swap_sources(config, &runtime)?;
    Ok(Backend::Local {
        executions,
        runtime,
        sfn,
        _watcher: watcher,
        _poller: poller,
    })
}

/// Step Functions, with the configured credentials and endpoint.
fn aws_backend(config: &Config) -> anyhow::Result<AwsExecutions> {
    let arn = config.serve.state_machine_arn.as_deref().context(
        "engine = \"aws\" needs [serve] state_machine_arn (CAFE_REPORT_SERVE_STATE_MACHINE_ARN)",
    )?;
    let configured = config.signer.configured();
    let credentials = signer::required(configured.as_ref(), "engine = \"aws\"")?;
    let endpoint = config
        .serve
        .sfn_endpoint
        .as_deref()
        .or(config.objects.endpoint.as_deref());
    AwsExecutions::new(arn, endpoint, credentials)
}

/// The watched components directory (when it exists) and the S3 source poller (when
/// `[components] s3` is set), which hot-swap new versions while serving.
fn hot_swap_sources(
    config: &Config,
    runtime: &Arc<Runtime>,
) -> anyhow::Result<(Option<DirectoryWatcher>, Option<S3Poller>)> {
    let smoke = &config.components.smoke;
    let dir = config.components.dir();
    let watcher = if dir.is_dir() {
        let versions = VersionStore::new(&dir, &config.data_dir);
        Some(runtime.watch(&dir, smoke.clone(), Some(versions))?)
    } else {
        None
    };
    let poller = match &config.components.s3 {
        Some(url) => {
            let source = runtime.s3_source(url)?;
            let every = Duration::from_secs(config.components.poll_seconds.max(1));
            Some(runtime.poll_s3(source, every, smoke.clone()))
        }
        None => None,
    };
    Ok((watcher, poller))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
