//! The execution viewer: a page `serve` serves at `/` (and at `/executions/{name}` to a
//! browser), built into the binary, that lists the caller's executions and draws one:
//! the state machine as a graph coloured by what each state did, each state's input,
//! output, error and retries, and the event table.
//!
//! The page is static (no data in it, so anyone may load it, like `/openapi.yaml`); it
//! reads everything through the API with the bearer token the user signs in with, which
//! it keeps for the tab only (`sessionStorage`). The graph is drawn here ([`draw`]) from
//! the definition, and what each state did is read here from the history ([`graph`]):
//! the page only colours, selects and shows, so it needs no layout library and what it
//! shows is tested in Rust.

pub mod draw;
pub mod graph;

use axum::body::Body;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use cafe_report_asl::HistoryEvent;
use serde_json::{Value, json};

use crate::api::{ApiError, AppState};
use crate::service::Identity;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/viewer.js");
const STYLE: &str = include_str!("assets/viewer.css");

/// Only the page's own files, and calls to this server: no inline script, no other
/// origin, not framed.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page or one of its files, when `request` asks for one: `GET /`, `GET /assets/…`,
/// or a browser's `GET /executions/{name}` (it accepts HTML and sends no token; the
/// API's own clients send a token or accept JSON).
pub(crate) fn page(request: &Request) -> Option<Response> {
    if request.method() != Method::GET {
        return None;
    }
    let path = request.uri().path();
    let (body, content_type) = match path {
        "/" => (INDEX, "text/html; charset=utf-8"),
        "/assets/viewer.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/assets/viewer.css" => (STYLE, "text/css; charset=utf-8"),
        _ if is_browsing(request, path) => (INDEX, "text/html; charset=utf-8"),
        _ => return None,
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization"),
    );
    Some(response)
}

/// A browser opening an execution's address: one path segment after `/executions/`,
/// HTML accepted, no `Authorization`.
fn is_browsing(request: &Request, path: &str) -> bool {
    let one_execution = path
        .strip_prefix("/executions/")
        .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    let accepts_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    one_execution && accepts_html && !request.headers().contains_key(header::AUTHORIZATION)
}

/// `GET /executions/{arn or name}/graph`: the state machine drawn (`svg`), what each
/// state did (`states`, by name; a state not there was not reached) and the history's
/// `events` they were read from.
pub(crate) async fn execution_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let executions = &state.executions;
    let (definition, events) = match (
        executions.definition(&id, &caller).await,
        executions.history(&id, &caller).await,
    ) {
        (Ok(Some(definition)), Ok(Some(events))) => (definition, events),
        (Err(err), _) | (_, Err(err)) => return Err(ApiError::internal(err)),
        _ => return Err(crate::api::no_execution(&id)),
    };
    let parsed: Vec<HistoryEvent> = events
        .iter()
        .filter_map(|event| serde_json::from_value(event.clone()).ok())
        .collect();
    let graph = graph::Graph::from_definition(&definition);
    let outcomes = graph::Outcomes::from_history(&parsed);
    // The events read for the outcomes go with them, so the page's event table needs no
    // second read of the history.
    Ok(axum::Json(json!({
        "svg": draw::svg(&graph),
        "states": outcomes.states,
        "events": events,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    fn status_of(response: Option<Response>) -> StatusCode {
        response.map_or(StatusCode::NOT_FOUND, |r| r.into_response().status())
    }

    fn get(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut request = axum::http::Request::builder().uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Body::empty()).unwrap()
    }

    #[test]
    fn the_page_is_served_to_browsers_and_the_api_to_its_clients() {
        let browser = [("accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
        for path in ["/", "/assets/viewer.js", "/assets/viewer.css"] {
            assert_eq!(status_of(page(&get(path, &[]))), StatusCode::OK, "{path}");
        }
        assert_eq!(
            status_of(page(&get("/executions/x", &browser))),
            StatusCode::OK
        );
        let page_headers = page(&get("/", &[])).unwrap();
        assert_eq!(
            page_headers.headers()[header::CONTENT_SECURITY_POLICY],
            POLICY,
            "no inline script may run"
        );
        // The API's own requests are not pages: a token, JSON, other paths, other methods.
        let cases: [(&str, &[(&str, &str)]); 5] = [
            ("/executions/x", &[("accept", "application/json")]),
            ("/executions/x", &[("accept", "*/*")]),
            (
                "/executions/x",
                &[("accept", "text/html"), ("authorization", "Bearer t")],
            ),
            ("/executions/x/history", &browser),
            ("/executions", &browser),
        ];
        for (path, headers) in cases {
            assert!(page(&get(path, headers)).is_none(), "{path} {headers:?}");
        }
        let post = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/")
            .body(Body::empty())
            .unwrap();
        assert!(page(&post).is_none());
    }
}
