//! What every request passes before a route sees it: a `Host` this server answers to
//! (so a DNS-rebinding page cannot read answers), a bearer token naming a caller (all
//! but `GET /health`, `GET /openapi.yaml` and the viewer's page, which holds no data),
//! and JSON bodies on `POST` (so a
//! cross-site form or `fetch` without a preflight cannot start a report).

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::{ApiError, AppState};
use crate::auth::Authenticator;

/// The names a request's `Host` may carry (without its port), lower case.
#[derive(Debug, Clone)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// `localhost`, the loopback addresses, the address the API listens on (unless it is
    /// a wildcard) and `extra`.
    pub fn new(listen: Option<SocketAddr>, extra: &[String]) -> AllowedHosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        if let Some(addr) = listen.filter(|addr| !addr.ip().is_unspecified()) {
            names.push(addr.ip().to_string());
        }
        names.extend(extra.iter().map(|name| name.to_ascii_lowercase()));
        AllowedHosts(names)
    }

    pub(crate) fn allows(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        self.0.contains(&name)
    }
}

/// `example.com:8080` -> `example.com`, `[::1]:8080` -> `::1`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The routes anyone may call.
fn is_public(method: &Method, path: &str) -> bool {
    method == Method::GET && matches!(path, "/health" | "/openapi.yaml")
}

/// The middleware: refuses what fails a check, else passes the request on with the
/// caller's [`Identity`](crate::auth::Identity) in its extensions.
pub async fn check(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
        .to_string();
    if !state.hosts.allows(&host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "HostNotAllowed",
            format!(
                "this server does not answer to the host {host:?}; [serve] allowed_hosts lists the names it does"
            ),
        )
        .into_response();
    }
    if is_public(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    // The viewer's page holds no data: it reads through the API with the user's token.
    if let Some(page) = crate::viewer::page(&request) {
        return page;
    }
    let identity = match authenticate(&state.auth, request.headers()).await {
        Ok(identity) => identity,
        Err(refusal) => return refusal,
    };
    if request.method() == Method::POST && !is_json(request.headers()) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "POST bodies are JSON: send Content-Type: application/json (curl --json '{}')",
        )
        .into_response();
    }
    request.extensions_mut().insert(identity);
    next.run(request).await
}

/// The caller a request's bearer token names, or the 401 that says a valid one is
/// needed: the same words whether the token is missing, unknown or a removed user's.
async fn authenticate(
    auth: &Authenticator,
    headers: &HeaderMap,
) -> Result<crate::auth::Identity, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let presented = headers.contains_key(header::AUTHORIZATION);
    match auth.authenticate(token).await {
        Ok(Some(identity)) => Ok(identity),
        Ok(None) => {
            let challenge = if presented {
                r#"Bearer realm="cafe-report", error="invalid_token""#
            } else {
                r#"Bearer realm="cafe-report""#
            };
            let refusal = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "this needs a valid bearer token: Authorization: Bearer <token>",
            );
            Err(([(header::WWW_AUTHENTICATE, challenge)], refusal).into_response())
        }
        Err(err) => Err(ApiError::internal(err).into_response()),
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_matched_by_name_without_port() {
        let hosts = AllowedHosts::new(
            Some("10.0.0.5:8080".parse().unwrap()),
            &["Cafe.Example".to_string()],
        );
        for ok in [
            "localhost:8080",
            "127.0.0.1",
            "[::1]:8080",
            "10.0.0.5:8080",
            "cafe.example",
            "CAFE.example:443",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "localhost.evil.example",
            "",
            "10.0.0.6:8080",
            "[::2]",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        let wildcard = AllowedHosts::new(Some("0.0.0.0:8080".parse().unwrap()), &[]);
        assert!(!wildcard.allows("0.0.0.0"));
    }
}
