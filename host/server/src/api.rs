//! The HTTP API (axum): routes, request parsing and JSON errors. Answers are shaped like
//! the Step Functions API's (StartExecution, DescribeExecution, GetExecutionHistory,
//! ListExecutions) so clients can move between this server and AWS.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Extension, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cafe_report_asl::{MAX_PAYLOAD_BYTES, StartError, StartExecution, Status};
use cafe_report_runtime::Runtime;
use serde::Deserialize;
use serde_json::{Value, json};

use super::service::{ExecutionService, Identity, StartFailure};
use crate::auth::Authenticator;
use crate::guard::{self, AllowedHosts};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The executions: the local engine's or Step Functions'.
    pub executions: Arc<dyn ExecutionService>,
    /// The component runtime (for `/components`); none when executions run on AWS.
    pub runtime: Option<Arc<Runtime>>,
    /// Who is calling.
    pub auth: Authenticator,
    /// The names `Host` may carry.
    pub hosts: AllowedHosts,
    /// The longest link lifetime a caller may ask for, in seconds.
    pub max_expires_seconds: u64,
    /// How long a client gets to send a request's body.
    pub request_timeout: std::time::Duration,
    /// Origins whose pages may call the API; empty: no CORS headers at all.
    pub cors_origins: Vec<axum::http::HeaderValue>,
}

/// How long a client asked to wait before starting again, when the queue is full.
const RETRY_AFTER_SECONDS: &str = "5";

/// The API's routes, behind the [`guard`] (and, for configured origins only, CORS, which
/// answers preflights before the guard asks for a token).
pub fn router(state: AppState) -> Router {
    let cors = (!state.cors_origins.is_empty()).then(|| {
        tower_http::cors::CorsLayer::new()
            .allow_origin(state.cors_origins.clone())
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
    });
    let routes = Router::new()
        .route("/create_report", post(create_report))
        .route("/executions", get(list_executions))
        .route("/executions/{id}", get(describe_execution))
        .route("/executions/{id}/history", get(execution_history))
        .route(
            "/executions/{id}/graph",
            get(crate::viewer::execution_graph),
        )
        .route("/components", get(components))
        .route("/health", get(health))
        .route("/openapi.yaml", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
        .with_state(state);
    match cors {
        Some(cors) => routes.layer(cors),
        None => routes,
    }
}

/// axum's `Query`, refusing a query string it cannot read with the JSON error shape,
/// like every other refusal, instead of axum's plain text.
struct ApiQuery<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) =
            Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterValue",
                        rejection.body_text(),
                    )
                })?;
        Ok(ApiQuery(params))
    }
}

/// A known path with a method it does not take (`GET /create_report`).
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{} does not take {method}", uri.path()),
    )
}

/// An error answer: `{"error": <name>, "message": <text>}`, with AWS's error names
/// where the Step Functions API has one.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
        }
    }

    pub(crate) fn internal(err: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{err:#}"), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("{err:#}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "message": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

impl From<StartFailure> for ApiError {
    fn from(failure: StartFailure) -> Self {
        match failure {
            StartFailure::Invalid(StartError::InvalidName(message)) => {
                Self::new(StatusCode::BAD_REQUEST, "InvalidName", message)
            }
            StartFailure::Invalid(StartError::InvalidExecutionInput(message)) => {
                Self::new(StatusCode::BAD_REQUEST, "InvalidExecutionInput", message)
            }
            StartFailure::AlreadyExists(exists) => Self::new(
                StatusCode::CONFLICT,
                "ExecutionAlreadyExists",
                exists.to_string(),
            ),
            throttled @ StartFailure::Throttled(_) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "ExecutionLimitExceeded",
                throttled.to_string(),
            ),
            unrecorded @ StartFailure::Unrecorded(_) => {
                tracing::error!(error = %unrecorded, "an execution could not be recorded");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    unrecorded.to_string(),
                )
            }
            StartFailure::Backend(err) => Self::internal(err),
        }
    }
}

type ApiResult = Result<axum::Json<Value>, ApiError>;

#[derive(Debug, Deserialize)]
struct CreateParams {
    /// The execution's name (default: a UUID).
    name: Option<String>,
}

/// `POST /create_report`: the body (optional) is the execution's input; the report goes
/// to the caller.
async fn create_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    ApiQuery(params): ApiQuery<CreateParams>,
    body: Body,
) -> ApiResult {
    let input = tokio::time::timeout(state.request_timeout, read_input(body))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                format!(
                    "the body did not arrive within {} s",
                    state.request_timeout.as_secs()
                ),
            )
        })??;
    let input = address_to_caller(input, &caller, state.max_expires_seconds)?;
    let started = state
        .executions
        .start(
            StartExecution {
                name: params.name,
                input,
            },
            &caller,
        )
        .await?;
    Ok(axum::Json(json!(started)))
}

/// The input with the caller as its recipient (another recipient is refused: the link
/// is for the caller alone), and its `expires_in` within the configured cap.
fn address_to_caller(
    input: Option<Input>,
    caller: &Identity,
    max_expires_seconds: u64,
) -> Result<Option<String>, ApiError> {
    check_expiry(input.as_ref().map(|i| &i.fields), max_expires_seconds)?;
    let Some(email) = &caller.email else {
        // No identity to address (`[auth] mode = "none"`): the configured recipients,
        // and the input as it came.
        return Ok(input.map(|i| i.text));
    };
    let mut fields = input.map(|i| i.fields).unwrap_or_default();
    match fields.get(cafe_report_runtime::RECIPIENT_FIELD) {
        Some(Value::String(given)) if given.eq_ignore_ascii_case(email) => {}
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidExecutionInput",
                "recipient: the report goes to the caller's own address; leave it out",
            ));
        }
    }
    fields.insert(
        cafe_report_runtime::RECIPIENT_FIELD.into(),
        Value::String(email.clone()),
    );
    Ok(Some(Value::Object(fields).to_string()))
}

/// Refuses an `expires_in` over the cap (other mistakes in it are the workflow's to
/// report, as on AWS).
fn check_expiry(
    input: Option<&serde_json::Map<String, Value>>,
    max_expires_seconds: u64,
) -> Result<(), ApiError> {
    let expires_in = input.and_then(|fields| fields.get("expires_in").and_then(Value::as_f64));
    match expires_in {
        Some(seconds) if seconds > max_expires_seconds as f64 => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!(
                "expires_in is {seconds}; links live at most {max_expires_seconds} seconds here ([links] max_expires_seconds)"
            ),
        )),
        _ => Ok(()),
    }
}

/// A request body that is an execution's input: its text, and its fields parsed once.
#[derive(Debug)]
struct Input {
    text: String,
    fields: serde_json::Map<String, Value>,
}

/// The request body as the execution's input: empty means `{}`; anything else must be a
/// JSON object of at most 256 KiB, like StartExecution's input.
async fn read_input(body: Body) -> Result<Option<Input>, ApiError> {
    let invalid =
        |message: String| ApiError::new(StatusCode::BAD_REQUEST, "InvalidExecutionInput", message);
    let bytes = to_bytes(body, MAX_PAYLOAD_BYTES).await.map_err(|_| {
        invalid(format!(
            "the body is over {MAX_PAYLOAD_BYTES} bytes, the most an execution's input may have"
        ))
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| invalid("the body is not UTF-8 text".into()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| invalid(format!("the body is not JSON: {err}")))?;
    // The report's input is an object (its fields are merged over the defaults); anything
    // else would start an execution only to fail it.
    let Value::Object(fields) = value else {
        return Err(invalid(
            "the body must be a JSON object, e.g. {\"expires_in\": 300} (the link's lifetime in seconds, 1 to 604800), or empty".into(),
        ));
    };
    Ok(Some(Input { text, fields }))
}

/// `GET /executions/{arn or name}`: DescribeExecution.
async fn describe_execution(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> ApiResult {
    let description = state
        .executions
        .describe(&id, &caller)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_execution(&id))?;
    Ok(axum::Json(description))
}

/// `GET /executions/{arn or name}/history`: GetExecutionHistory (`reverseOrder` too).
async fn execution_history(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> ApiResult {
    let mut events = state
        .executions
        .history(&id, &caller)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_execution(&id))?;
    if params.reverse_order {
        events.reverse();
    }
    Ok(axum::Json(json!({ "events": events })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryParams {
    #[serde(default)]
    reverse_order: bool,
}

pub(crate) fn no_execution(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ExecutionDoesNotExist",
        format!("no execution {id:?}"),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    status: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

/// `GET /executions?status=&maxResults=&nextToken=`: ListExecutions, newest first.
async fn list_executions(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult {
    let status = params.status.as_deref().map(parse_status).transpose()?;
    let max = match params.max_results {
        None | Some(0) => 100,
        Some(n @ 1..=1000) => n,
        Some(n) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                format!("maxResults is {n}; at most 1000"),
            ));
        }
    };
    let page = state
        .executions
        .list(status, max, params.next_token, &caller)
        .await
        .map_err(|err| {
            ApiError::new(StatusCode::BAD_REQUEST, "InvalidToken", format!("{err:#}"))
        })?;
    let mut body = json!({ "executions": page.executions });
    if let Some(token) = page.next_token {
        body["nextToken"] = token.into();
    }
    Ok(axum::Json(body))
}

fn parse_status(text: &str) -> Result<Status, ApiError> {
    [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Aborted,
    ]
    .into_iter()
    .find(|status| status.to_string() == text)
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!("status {text:?} is none of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED"),
        )
    })
}

/// `GET /components`: the versions serving each task, and refused ones.
async fn components(State(state): State<AppState>) -> ApiResult {
    let runtime = state.runtime.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "executions run on AWS Step Functions: the components are the Lambda functions'",
        )
    })?;
    Ok(axum::Json(json!({
        "versions": runtime.versions(None),
        "rejections": runtime.rejections(),
    })))
}

/// `GET /health`.
async fn health(State(state): State<AppState>) -> ApiResult {
    let mut body = json!({ "status": "ok" });
    if let Some(load) = state.executions.load() {
        body["executions"] = json!(load);
    }
    Ok(axum::Json(body))
}

/// The API's description (`host/cli/openapi.yaml`).
pub const OPENAPI: &str = include_str!("../openapi.yaml");

/// `GET /openapi.yaml`.
async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        OPENAPI,
    )
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no such route; GET /openapi.yaml lists them",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error names the API returns: every string literal right after a
    /// `StatusCode::…,` argument in this file and the guard's.
    fn names_in_code() -> std::collections::BTreeSet<String> {
        let source = [include_str!("api.rs"), include_str!("guard.rs")].concat();
        let mut names = std::collections::BTreeSet::new();
        for (at, _) in source.match_indices("StatusCode::") {
            let rest = &source[at..];
            let Some(comma) = rest.find(',') else {
                continue;
            };
            let after = rest[comma + 1..].trim_start();
            if let Some(literal) = after.strip_prefix('"')
                && let Some(end) = literal.find('"')
                && literal[..end].chars().all(|c| c.is_ascii_alphabetic())
                && !literal[..end].is_empty()
            {
                names.insert(literal[..end].to_string());
            }
        }
        names
    }

    #[test]
    fn the_documented_error_table_lists_every_error_the_api_returns() {
        let doc = include_str!("../../../docs/server.md");
        let documented: std::collections::BTreeSet<String> = doc
            .lines()
            .filter_map(|line| {
                // Rows of the error table: `| <status> | `<error>` | <when> |`.
                let mut cells = line.strip_prefix("| ")?.split(" | ");
                let status = cells.next()?;
                (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
                cells.next()?.strip_prefix('`')?.strip_suffix('`')
            })
            .map(str::to_string)
            .collect();
        let code = names_in_code();
        assert!(code.len() >= 9, "{code:?}");
        assert_eq!(
            documented, code,
            "docs/server.md's error table and api.rs differ"
        );
    }

    #[test]
    fn the_openapi_file_documents_every_route() {
        assert!(OPENAPI.starts_with("openapi: 3.1.0"));
        for path in [
            "/create_report",
            "/executions",
            "/executions/{id}",
            "/executions/{id}/history",
            "/executions/{id}/graph",
            "/components",
            "/health",
            "/openapi.yaml",
        ] {
            assert!(
                OPENAPI.contains(&format!("\n  {path}:\n")),
                "{path} is not in openapi.yaml"
            );
        }
    }
}
