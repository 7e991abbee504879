//! A Lambda Runtime API on loopback, as Lambda serves it to a custom runtime: invocations
//! are queued by the test, handed out by `GET .../invocation/next` and answered through
//! `POST .../invocation/{id}/response|error`; init failures arrive at `.../init/error`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// What the runtime answered for an invocation (or for init).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST .../invocation/{id}/response`.
    Response { id: String, body: Value },
    /// `POST .../invocation/{id}/error`.
    Error { id: String, body: Value },
    /// `POST .../init/error`.
    InitError { body: Value },
}

struct Shared {
    invocations: Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    answers: mpsc::UnboundedSender<(Instant, Answer)>,
    first_next: std::sync::Mutex<Option<Instant>>,
}

/// The Runtime API server; stops when dropped.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    queue: mpsc::UnboundedSender<(String, Value)>,
    answers: mpsc::UnboundedReceiver<(Instant, Answer)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let (queue, invocations) = mpsc::unbounded_channel();
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            invocations: Mutex::new(invocations),
            answers: answer_tx,
            first_next: std::sync::Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        RuntimeApi {
            addr,
            queue,
            answers,
            shared,
            server,
            next_id: AtomicU64::new(1),
        }
    }

    /// Queues an invocation with `event`; returns its request id.
    pub fn invoke(&self, event: Value) -> String {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.queue.send((id.clone(), event)).unwrap();
        id
    }

    /// The next answer the runtime sent, with when it arrived.
    pub async fn answer(&mut self, limit: Duration) -> (Instant, Answer) {
        tokio::time::timeout(limit, self.answers.recv())
            .await
            .expect("the runtime did not answer in time")
            .expect("the Runtime API stopped")
    }

    /// When the runtime first asked for an invocation (its init is over then).
    pub fn first_next(&self) -> Option<Instant> {
        *self.shared.first_next.lock().unwrap()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared
        .first_next
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    // Long poll, as Lambda does: the runtime waits here until there is work.
    let (id, event) = shared
        .invocations
        .lock()
        .await
        .recv()
        .await
        .expect("the test dropped the queue");
    let deadline = SystemTime::now() + Duration::from_secs(60);
    let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
    let mut headers = HeaderMap::new();
    headers.insert("Lambda-Runtime-Aws-Request-Id", id.parse().unwrap());
    headers.insert(
        "Lambda-Runtime-Deadline-Ms",
        deadline_ms.to_string().parse().unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:000000000000:function:test"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Trace-Id",
        "Root=1-00000000-000000000000000000000000".parse().unwrap(),
    );
    (headers, event.to_string())
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = shared.answers.send((
        Instant::now(),
        Answer::Response {
            id,
            body: json(&body),
        },
    ));
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = shared.answers.send((
        Instant::now(),
        Answer::Error {
            id,
            body: json(&body),
        },
    ));
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = shared
        .answers
        .send((Instant::now(), Answer::InitError { body: json(&body) }));
    StatusCode::ACCEPTED
}
