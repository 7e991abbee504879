//! The Step Functions API on the local engine, so the AWS CLI, the SDKs and the test
//! suites written for Step Functions run against this process:
//!
//! - [`protocol`]: AWS JSON 1.0 as Step Functions speaks it (targets, errors, dates).
//! - [`machines`]: the state machines CreateStateMachine made, kept in SQLite.
//! - `actions`: one function per action; `test_state`: TestState.
//!
//! It runs inside `serve` (`[sfn] listen`) rather than as its own command: it shares the
//! data directory's lock, the component runtime with its hot-swap sources, the notify
//! and object backends, and the durable execution records (its own `sfn.db`, resumed at
//! start like the report's). Each state machine's executions are an [`Executions`], the
//! same starting, queueing and resuming the report routes use.
//!
//! On loopback it takes any SigV4-signed request, as every local Step Functions does (a
//! request must still carry an `AWS4-HMAC-SHA256` Authorization header and a loopback
//! `Host`, so neither an unsigned script nor a DNS-rebinding page reaches it).

mod actions;
pub mod machines;
pub mod protocol;
mod test_state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cafe_report_asl::{MockConfig, MockedCase, StateMachine, TaskTokens};
use cafe_report_runtime::Runtime;
use serde_json::Value;

use crate::auth::Identity;
use crate::config::Config;
use crate::executions::{self, Executions};
use crate::guard::AllowedHosts;
use crate::store::ExecutionStore;
use crate::workflow::Workflow;
use machines::{MachineRecord, MachineStore};
use protocol::{SfnError, TARGET_PREFIX};

/// The largest request body: a definition may have 1 MiB, an input 256 KiB.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The records file, beside the report's `executions.db`.
pub const RECORDS_FILE: &str = "sfn.db";

/// The Step Functions API's state: machines and their executions.
#[derive(Debug)]
pub struct StepFunctions {
    config: Config,
    runtime: Arc<Runtime>,
    store: ExecutionStore,
    machines: MachineStore,
    live: RwLock<HashMap<String, Arc<Machine>>>,
    hosts: AllowedHosts,
    /// Every machine's task tokens, for SendTaskSuccess, SendTaskFailure and
    /// SendTaskHeartbeat.
    tokens: Arc<TaskTokens>,
    /// `[sfn] mock_config`: test cases executions may be started as.
    mocks: MockConfig,
}

/// A state machine and the executions started on it.
#[derive(Debug, Clone)]
struct Machine {
    record: MachineRecord,
    executions: Arc<Executions>,
}

impl StepFunctions {
    /// Opens the machines and records of `config`'s data directory and resumes the
    /// executions the last process left running. `listen` is the address the API
    /// answers on (for the `Host` check).
    pub async fn open(
        config: &Config,
        runtime: Arc<Runtime>,
        listen: Option<SocketAddr>,
    ) -> anyhow::Result<StepFunctions> {
        let path = config.data_dir.join(RECORDS_FILE);
        let store = ExecutionStore::open_with(&path, config.sfn.durable)?;
        let machines = MachineStore::open(&path, config.sfn.durable)?;
        let tokens = Arc::new(TaskTokens::new(token_secret(&config.data_dir)?));
        let mocks = match &config.sfn.mock_config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("reading the mock configuration {}", path.display())
                })?;
                MockConfig::parse(&text).map_err(|why| {
                    anyhow::anyhow!("the mock configuration {}: {why}", path.display())
                })?
            }
            None => MockConfig::default(),
        };
        let api = StepFunctions {
            tokens,
            mocks,
            config: config.clone(),
            runtime,
            store,
            machines,
            live: RwLock::default(),
            hosts: AllowedHosts::new(listen, &config.serve.allowed_hosts),
        };
        for (_, record) in api.machines.all().await? {
            match api.machine(&record) {
                Ok(machine) => api.insert(machine),
                // A definition this version refuses stays listed; it cannot start.
                Err(err) => {
                    tracing::error!(arn = %record.state_machine_arn, error = %format!("{err:#}"), "a state machine's definition no longer loads")
                }
            }
        }
        api.resume_unfinished().await?;
        Ok(api)
    }

    /// The running machine for a record: its definition parsed, its executions' store.
    fn machine(&self, record: &MachineRecord) -> anyhow::Result<Machine> {
        let workflow = self.workflow(record)?;
        let executions = Executions::new(
            workflow,
            self.store.clone(),
            self.config.serve.max_concurrent_executions,
            self.config.serve.max_queued_executions,
        )
        .listing_only_its_machine();
        Ok(Machine {
            record: record.clone(),
            executions: Arc::new(executions),
        })
    }

    fn workflow(&self, record: &MachineRecord) -> anyhow::Result<Workflow> {
        let machine = StateMachine::parse(&record.definition)?;
        Ok(Workflow::named(
            &self.config,
            self.runtime.clone(),
            machine,
            &record.name,
            &record.role_arn,
        )
        .with_journal(Arc::new(self.store.clone()))
        .with_task_tokens(self.tokens.clone()))
    }

    fn insert(&self, machine: Machine) {
        self.lock_write()
            .insert(machine.record.state_machine_arn.clone(), Arc::new(machine));
    }

    fn get(&self, arn: &str) -> Option<Arc<Machine>> {
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(arn)
            .cloned()
    }

    fn lock_write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Machine>>> {
        self.live.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every execution left RUNNING goes on with its machine; one whose machine is gone
    /// is recorded as FAILED.
    async fn resume_unfinished(&self) -> anyhow::Result<()> {
        let mut resumed = 0;
        for (record, owner) in self.store.unfinished().await? {
            let arn = record.description["stateMachineArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match self.get(&arn) {
                Some(machine) => {
                    let execution = record.description["executionArn"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let case = match self.machines.case_of(execution).await? {
                        Some(case) => {
                            Some(self.mocked_case(&machine.record.name, &case).with_context(
                                || format!("the mock test case {case:?} is no longer configured"),
                            )?)
                        }
                        None => None,
                    };
                    resumed += usize::from(machine.executions.resume(record, owner, case).await?);
                }
                None => {
                    let why = format!("its state machine {arn} no longer exists");
                    executions::fail_unresumable(&self.store, record, &why).await?;
                }
            }
        }
        if resumed > 0 {
            tracing::warn!(
                resumed,
                "Step Functions API executions the last process left running are resumed"
            );
        }
        Ok(())
    }

    /// Lets every machine's executions finish for up to `grace`; returns how many did
    /// not (they resume at the next start).
    pub async fn drain(&self, grace: Duration) -> usize {
        let machines: Vec<Arc<Machine>> = self
            .live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        // One grace period for all: each machine gets what is left of it.
        let deadline = tokio::time::Instant::now() + grace;
        let mut unfinished = 0;
        for machine in machines {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            unfinished += machine.executions.drain(left).await;
        }
        unfinished
    }

    /// The test case `case` of the machine named `machine` in `[sfn] mock_config`.
    fn mocked_case(&self, machine: &str, case: &str) -> Option<Arc<MockedCase>> {
        self.mocks.test_case(machine, case)
    }

    /// Who the API's callers are: it has no users of its own on loopback.
    fn caller() -> Identity {
        Identity {
            user: "stepfunctions".into(),
            email: None,
            admin: true,
        }
    }

    /// The ARN a state machine named `name` gets.
    fn machine_arn(&self, name: &str) -> String {
        cafe_report_asl::state_machine_arn(
            &self.config.signer.region,
            &self.config.workflow.account,
            name,
        )
    }
}

/// The API's one route, `POST /`, dispatching on `X-Amz-Target`.
pub fn router(api: Arc<StepFunctions>) -> Router {
    Router::new()
        .route("/", axum::routing::post(dispatch))
        .fallback(|| async {
            SfnError::new(
                "UnknownOperationException",
                "The Step Functions API answers POST / with an X-Amz-Target header",
            )
        })
        .with_state(api)
}

async fn dispatch(
    State(api): State<Arc<StepFunctions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match checked(&api, &headers, &body) {
        Ok((action, members)) => match actions::run(&api, &action, members).await {
            Ok(answer) => protocol::answer(StatusCode::OK, &answer),
            Err(err) => err.into_response(),
        },
        Err(err) => err.into_response(),
    }
}

/// The action and its members, once the request passed the checks every action needs.
fn checked(
    api: &StepFunctions,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, Value), SfnError> {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let host = text(header::HOST);
    // The SDKs send StartSyncExecution to `sync-<endpoint host>` (its host prefix).
    let named = host.strip_prefix("sync-").unwrap_or(&host);
    if !api.hosts.allows(named) {
        return Err(SfnError {
            status: StatusCode::FORBIDDEN,
            code: "AccessDeniedException",
            message: format!(
                "this server does not answer to the host {host:?}; [serve] allowed_hosts lists the names it does"
            ),
        });
    }
    if !text(header::AUTHORIZATION).starts_with("AWS4-HMAC-SHA256 ") {
        return Err(SfnError {
            status: StatusCode::FORBIDDEN,
            code: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token: sign requests with SigV4 (any credentials are accepted on loopback)".into(),
        });
    }
    let target = text(header::HeaderName::from_static("x-amz-target"));
    let Some(action) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(SfnError::new(
            "UnknownOperationException",
            format!("X-Amz-Target {target:?} is not a Step Functions action"),
        ));
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(SfnError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "SerializationException",
            message: format!("the request is larger than {MAX_BODY_BYTES} bytes"),
        });
    }
    let members = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|err| SfnError::new("SerializationException", err.to_string()))?
    };
    if !members.is_object() {
        return Err(SfnError::new(
            "SerializationException",
            "the request body is not a JSON object",
        ));
    }
    Ok((action.to_string(), members))
}

/// The file holding the secret task tokens are derived from.
const TOKEN_KEY_FILE: &str = "sfn-task-token-key";

/// The data directory's task token secret, made at first start (random, readable by its
/// owner alone) and kept, so a task waiting across a restart keeps its token.
fn token_secret(data_dir: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join(TOKEN_KEY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|err| anyhow::anyhow!("no randomness for the task token key: {err}"))?;
            std::fs::create_dir_all(data_dir)?;
            cafe_report_capabilities::objects::write_private(&path, &secret)?;
            secret.to_vec()
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))
}

/// Binds the API's listener, refusing any address but loopback: there it takes any
/// credentials, which no other address may.
pub async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("the Step Functions API cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "[sfn] listen = {listen:?} is not a loopback address: the Step Functions API accepts any SigV4 credentials, so it listens on loopback only"
    );
    Ok(listener)
}
