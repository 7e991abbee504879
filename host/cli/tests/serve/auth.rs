//! Who may call serve, and what they see: bearer tokens, owners, and the requests a
//! web page or a flood could forge.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{ADMIN, Serve, json_answer, users};

fn error_of(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or_default())
}

/// The answer to `method path` with the given `Authorization` header (none when `None`).
async fn call(serve: &Serve, method: &str, path: &str, auth: Option<&str>) -> reqwest::Response {
    let url = format!("{}{path}", serve.api);
    let mut request = match method {
        "POST" => serve
            .http
            .post(url)
            .header("content-type", "application/json")
            .body("{}"),
        _ => serve.http.get(url),
    };
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_needs_a_valid_token_and_says_nothing_about_users() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let ana = serve.add_user("ana", "ana@example.com");
    let gone = serve.add_user("gone", "gone@example.com");
    users(dir.path(), &["remove", "gone"]);
    let wrong = format!("crt_{}", "0".repeat(64));

    let routes = [
        ("POST", "/create_report"),
        ("GET", "/executions"),
        ("GET", "/executions/x"),
        ("GET", "/executions/x/history"),
        ("GET", "/executions/x/graph"),
        ("GET", "/components"),
        ("GET", "/nowhere"),
    ];
    let mut messages = std::collections::BTreeSet::new();
    for (method, path) in routes {
        for auth in [
            None,
            Some(format!("Bearer {wrong}")),
            Some(format!("Bearer {gone}")),
            Some(format!("Basic {ana}")),
            Some("Bearer".to_string()),
        ] {
            let response = call(&serve, method, path, auth.as_deref()).await;
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let answer = json_answer(response).await;
            assert_eq!(
                error_of(&answer),
                (401, "Unauthorized"),
                "{method} {path} {auth:?}"
            );
            assert!(
                challenge.starts_with("Bearer realm=\"cafe-report\""),
                "{challenge}"
            );
            messages.insert(answer.1["message"].as_str().unwrap().to_string());
        }
    }
    // One message whatever was wrong: no hint whether a user exists.
    assert_eq!(messages.len(), 1, "{messages:?}");

    // The public routes, and a valid token.
    for path in ["/health", "/openapi.yaml"] {
        assert_eq!(
            call(&serve, "GET", path, None).await.status(),
            200,
            "{path}"
        );
    }
    let answer =
        json_answer(call(&serve, "GET", "/executions", Some(&format!("Bearer {ana}"))).await).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    // Nothing the refused POSTs sent started anything.
    let (_, all) = serve.get("/executions").await;
    assert_eq!(all["executions"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_see_only_their_own_executions_and_admins_see_all() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let ana = serve.add_user("ana", "ana@example.com");
    let bob = serve.add_user("bob", "bob@example.com");
    let (status, started) = serve
        .create_report_as(&ana, "?name=anas", json!({ "expires_in": 300 }).to_string())
        .await;
    assert_eq!(status, 200, "{started}");
    let arn = started["executionArn"].as_str().unwrap().to_string();
    let output = serve.output_of(&arn).await;
    assert!(
        output["link"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&serve.objects)
    );

    // Ana sees her execution, its link and its history.
    let (status, mine) = serve.get_as(&ana, &format!("/executions/{arn}")).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        serde_json::from_str::<Value>(mine["input"].as_str().unwrap()).unwrap(),
        json!({ "expires_in": 300, "recipient": "ana@example.com" })
    );
    let (status, _) = serve.get_as(&ana, "/executions/anas/history").await;
    assert_eq!(status, 200);
    let (_, listed) = serve.get_as(&ana, "/executions").await;
    assert_eq!(listed["executions"].as_array().unwrap().len(), 1);

    // Bob gets exactly what a missing execution gets, by name and by ARN.
    for id in ["anas", arn.as_str()] {
        for path in [
            format!("/executions/{id}"),
            format!("/executions/{id}/history"),
        ] {
            let answer = serve.get_as(&bob, &path).await;
            assert_eq!(error_of(&answer), (404, "ExecutionDoesNotExist"), "{path}");
            assert_eq!(answer.1["message"], format!("no execution {id:?}"));
        }
    }
    let (_, listed) = serve.get_as(&bob, "/executions").await;
    assert_eq!(listed["executions"], json!([]));
    // Bob cannot address a report to Ana either.
    let answer = serve
        .create_report_as(
            &bob,
            "",
            json!({ "recipient": "ana@example.com" }).to_string(),
        )
        .await;
    assert_eq!(
        error_of(&answer),
        (400, "InvalidExecutionInput"),
        "{}",
        answer.1
    );

    // The administrator sees Ana's.
    let (status, _) = serve.get(&format!("/executions/{arn}")).await;
    assert_eq!(status, 200);
    let (_, listed) = serve.get("/executions").await;
    assert_eq!(listed["executions"][0]["executionArn"], arn.as_str());
    let _ = ADMIN;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_a_web_page_could_forge_are_refused_and_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let post = |content_type: Option<&'static str>, body: &'static str| {
        let mut request = serve
            .http
            .post(format!("{}/create_report", serve.api))
            .bearer_auth(&serve.token)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    for (content_type, body) in [
        (Some("text/plain"), "{}"),
        (Some("application/x-www-form-urlencoded"), "a=1"),
        (Some("multipart/form-data; boundary=x"), "--x--"),
        (None, ""),
    ] {
        let answer = json_answer(post(content_type, body).await.unwrap()).await;
        assert_eq!(
            error_of(&answer),
            (415, "UnsupportedMediaType"),
            "{content_type:?}"
        );
    }
    let charset = json_answer(
        post(Some("application/json; charset=utf-8"), "{}")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(charset.0, 200, "{}", charset.1);

    // A page on another name (DNS rebinding) gets nothing, not even /health.
    for path in ["/health", "/executions"] {
        let response = serve
            .http
            .get(format!("{}{path}", serve.api))
            .header("host", "evil.example:8080")
            .bearer_auth(&serve.token)
            .send()
            .await
            .unwrap();
        let answer = json_answer(response).await;
        assert_eq!(error_of(&answer), (403, "HostNotAllowed"), "{path}");
    }

    // Over the link lifetime cap.
    let answer = serve
        .create_report("", json!({ "expires_in": 3601 }).to_string())
        .await;
    assert_eq!(
        error_of(&answer),
        (400, "InvalidParameterValue"),
        "{}",
        answer.1
    );
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("at most 3600 seconds"),
        "{}",
        answer.1
    );
    let (_, listed) = serve.get("/executions").await;
    assert_eq!(
        listed["executions"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_429_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let serve = crate::restart::paced_server_with(
        dir.path(),
        "0",
        &[
            ("CAFE_REPORT_SERVE_MAX_CONCURRENT_EXECUTIONS", "1"),
            ("CAFE_REPORT_SERVE_MAX_QUEUED_EXECUTIONS", "1"),
        ],
    );
    serve.start_report("running", json!({ "wait": 600 })).await;
    serve.start_report("waiting", json!({ "wait": 600 })).await;
    let response = serve.post_report(&serve.token, "?name=refused", "{}").await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        Some("5".to_string())
    );
    let answer = json_answer(response).await;
    assert_eq!(
        error_of(&answer),
        (429, "ExecutionLimitExceeded"),
        "{}",
        answer.1
    );
    let (status, _) = serve.get("/executions/refused").await;
    assert_eq!(status, 404);
    let (_, health) = serve.get("/health").await;
    assert_eq!(health["executions"]["running"], 1);
    assert_eq!(health["executions"]["queued"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_trickling_headers_is_dropped_and_sigterm_still_drains() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[("CAFE_REPORT_SERVE_REQUEST_TIMEOUT_SECONDS", "2")],
    );
    let addr = serve.api.strip_prefix("http://").unwrap().to_string();
    let trickle = move || {
        let mut socket = std::net::TcpStream::connect(&addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let started = Instant::now();
        let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
        for byte in request.iter().cycle() {
            if socket.write_all(&[*byte]).is_err() {
                break;
            }
            // A closed connection shows as a read of 0 (or an error) once the server drops it.
            socket.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 512];
            let closed = matches!(socket.read(&mut buf), Ok(0));
            socket.set_nonblocking(false).unwrap();
            if closed || started.elapsed() > Duration::from_secs(20) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        started.elapsed()
    };
    let first = std::thread::spawn(trickle.clone());
    let dropped_after = first.join().unwrap();
    assert!(
        dropped_after < Duration::from_secs(6),
        "a trickling client held its connection for {dropped_after:?}"
    );

    // Another one is trickling when SIGTERM comes: the server still stops promptly.
    let second = std::thread::spawn(trickle);
    std::thread::sleep(Duration::from_millis(500));
    let stopped = Instant::now();
    let status = serve.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(
        stopped.elapsed() < Duration::from_secs(6),
        "{:?}",
        stopped.elapsed()
    );
    second.join().unwrap();
}

#[test]
fn mode_none_is_refused_off_loopback_and_warned_about_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::common::cafe_report()
        .current_dir(dir.path())
        .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
        .env("CAFE_REPORT_AUTH_MODE", "none")
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: [auth] mode = \"none\" serves without authentication, so it is refused on [serve] listen 0.0.0.0:0, which is not loopback; use mode = \"local\" (cafe-report users add) instead"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_get_cors_headers_for_configured_origins_only() {
    let preflight = async |serve: &Serve, origin: &str| {
        let response = serve
            .http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/create_report", serve.api),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let dir = tempfile::tempdir().unwrap();
    let closed = Serve::start(dir.path(), &[]);
    assert_eq!(preflight(&closed, "https://app.example").await, None);
    let response = closed
        .http
        .get(format!("{}/executions", closed.api))
        .header("origin", "https://app.example")
        .bearer_auth(&closed.token)
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    drop(closed);

    let dir = tempfile::tempdir().unwrap();
    let open = Serve::start(
        dir.path(),
        &[("CAFE_REPORT_SERVE_CORS_ORIGINS", "https://app.example")],
    );
    assert_eq!(
        preflight(&open, "https://app.example").await.as_deref(),
        Some("https://app.example")
    );
    assert_eq!(preflight(&open, "https://evil.example").await, None);
}
