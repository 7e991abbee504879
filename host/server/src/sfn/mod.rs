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
//! Who may call it ([`Signatures`]): on loopback, anyone with a SigV4-signed request, as
//! every local Step Functions takes (a request must still carry an `AWS4-HMAC-SHA256`
//! Authorization header and an allowed `Host`, so neither an unsigned script nor a
//! DNS-rebinding page reaches it); anywhere else, or with `[sfn] verify_signatures`, only
//! a request signed with a user's access key ([`sigv4`]).

mod actions;
pub mod machines;
pub mod protocol;
pub mod sigv4;
mod test_state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cafe_report_asl::{MockConfig, MockedCase, StateMachine, TaskTokens};
use cafe_report_runtime::Runtime;
use serde_json::Value;

use crate::auth::Identity;
use crate::auth::users::UserStore;
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
    signatures: Signatures,
}

/// Which signatures the API takes.
#[derive(Debug)]
pub enum Signatures {
    /// Any SigV4 credentials (loopback, unless `[sfn] verify_signatures`).
    Any,
    /// Only signatures made with the access key of one of these users.
    Verified(UserStore),
}

impl Signatures {
    /// What `[sfn]` asks for on `listen`. Off loopback, signatures are always verified,
    /// and the API does not start before some user holds an access key: it would refuse
    /// every request.
    pub fn from_config(config: &Config, listen: Option<SocketAddr>) -> anyhow::Result<Signatures> {
        let loopback = listen.is_some_and(|addr| addr.ip().is_loopback());
        if loopback && !config.sfn.verify_signatures {
            return Ok(Signatures::Any);
        }
        let users = UserStore::open(&config.data_dir)?;
        anyhow::ensure!(
            users.access_keys()? > 0,
            "the Step Functions API on {} verifies SigV4 signatures against users' access keys, and no user has one: give one with `cafe-report users access-key NAME`",
            listen.map_or_else(|| config.sfn.listen.clone(), |addr| addr.to_string())
        );
        Ok(Signatures::Verified(users))
    }

    /// The caller who signed `request`, or the refusal AWS would give.
    async fn check(&self, request: sigv4::Signed<'_>) -> Result<Identity, SfnError> {
        let authorization = request
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let users = match self {
            Signatures::Any if authorization.starts_with(sigv4::ALGORITHM) => {
                return Ok(StepFunctions::caller());
            }
            Signatures::Verified(users) if !authorization.is_empty() => users,
            _ => {
                return Err(SfnError {
                    status: StatusCode::FORBIDDEN,
                    code: "MissingAuthenticationTokenException",
                    message: "Missing Authentication Token: sign requests with SigV4".into(),
                });
            }
        };
        let signed = sigv4::Authorization::parse(authorization)?;
        let found = {
            let users = users.clone();
            let key = signed.access_key.to_string();
            tokio::task::spawn_blocking(move || users.by_access_key(&key))
                .await
                .map_err(|err| SfnError::internal(&anyhow::anyhow!("the users' worker: {err}")))?
                .map_err(|err| SfnError::internal(&err))?
        };
        let Some((identity, secret)) = found else {
            return Err(SfnError {
                status: StatusCode::BAD_REQUEST,
                code: "UnrecognizedClientException",
                message: "The security token included in the request is invalid.".into(),
            });
        };
        signed.verify(request, &secret, "states", std::time::SystemTime::now())?;
        Ok(identity)
    }
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
        let tokens = Arc::new(TaskTokens::new(crate::keyfile::load_or_create(
            &config.data_dir.join(TOKEN_KEY_FILE),
        )?));
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
            signatures: Signatures::from_config(config, listen)?,
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = async {
        check_host(&api, &headers)?;
        let signed = sigv4::Signed {
            method: method.as_str(),
            uri: &uri,
            headers: &headers,
            body: &body,
        };
        let caller = api.signatures.check(signed).await?;
        let (action, members) = action(&headers, &body)?;
        tracing::debug!(user = %caller.user, action, "Step Functions API");
        actions::run(&api, &action, members).await
    };
    match answer.await {
        Ok(answer) => protocol::answer(StatusCode::OK, &answer),
        Err(err) => err.into_response(),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Refuses a `Host` this server does not answer to.
fn check_host(api: &StepFunctions, headers: &HeaderMap) -> Result<(), SfnError> {
    let host = header_text(headers, header::HOST);
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
    Ok(())
}

/// The action and its members.
fn action(headers: &HeaderMap, body: &[u8]) -> Result<(String, Value), SfnError> {
    let target = header_text(headers, header::HeaderName::from_static("x-amz-target"));
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

/// The file holding the secret task tokens are derived from, in the data directory.
const TOKEN_KEY_FILE: &str = "sfn-task-token-key";

/// Binds the API's listener.
pub async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("the Step Functions API cannot listen on {listen}"))
}
