//! The API end to end: a report requested over HTTP, its link opened, bad requests and
//! many requests at once.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::{Serve, supplier_names, unescape_html};

#[tokio::test(flavor = "multi_thread")]
async fn a_requested_report_links_to_every_supplier() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let (status, health) = serve.get("/health").await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")));

    let (status, started) = serve
        .create_report("", json!({ "expires_in": 300 }).to_string())
        .await;
    assert_eq!(status, 200, "{started}");
    let arn = started["executionArn"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:states:us-east-1:000000000000:execution:cafe-report:"));
    assert!(started["startDate"].as_str().unwrap().ends_with('Z'));

    let output = serve.output_of(arn).await;
    let url = output["link"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&serve.objects),
        "{url} is not on {}",
        serve.objects
    );
    let page = serve.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = unescape_html(&page.text().await.unwrap());
    for supplier in supplier_names(&serve.data) {
        assert!(
            html.contains(&supplier),
            "{supplier:?} is missing from the report"
        );
    }

    // By name too; history names the component versions; the list has it.
    let name = arn.rsplit(':').next().unwrap();
    let (_, by_name) = serve.get(&format!("/executions/{name}")).await;
    assert_eq!(by_name["executionArn"], arn);
    let (_, history) = serve.get(&format!("/executions/{arn}/history")).await;
    let events = history["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "ExecutionStarted");
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    let components: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["taskScheduledEventDetails"]["component"].as_str())
        .collect();
    assert_eq!(components, BTreeSet::from(["presign", "query", "render"]));
    let (_, reversed) = serve
        .get(&format!("/executions/{name}/history?reverseOrder=true"))
        .await;
    assert_eq!(reversed["events"][0]["type"], "ExecutionSucceeded");
    let (_, list) = serve.get("/executions?status=SUCCEEDED").await;
    assert_eq!(list["executions"][0]["executionArn"], arn);
    assert!(list["executions"][0].get("output").is_none());
    let (_, running) = serve.get("/executions?status=RUNNING").await;
    assert_eq!(running["executions"], json!([]));

    let (_, components) = serve.get("/components").await;
    let current: BTreeSet<&str> = components["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["current"] == true)
        .map(|v| v["task"].as_str().unwrap())
        .collect();
    assert_eq!(current, BTreeSet::from(["presign", "query", "render"]));

    let openapi = serve
        .http
        .get(format!("{}/openapi.yaml", serve.api))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.headers()["content-type"], "application/yaml");
    assert!(openapi.text().await.unwrap().contains("/create_report:"));
}

/// The S3 error code in an XML error answer.
fn s3_error_code(xml: &str) -> &str {
    xml.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or_else(|| panic!("no S3 error code in {xml:?}"))
}

/// The URL with its last character (part of the signature) changed.
fn flip_last_char(url: &str) -> String {
    let (head, last) = url.split_at(url.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_tampered_links_get_s3_errors() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let long = serve
        .start_report("long", json!({ "expires_in": 300 }))
        .await;
    let short = serve
        .start_report("short", json!({ "expires_in": 1 }))
        .await;
    let long_url = serve.output_of(&long).await["link"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let short_url = serve.output_of(&short).await["link"]["url"]
        .as_str()
        .unwrap()
        .to_string();

    let get = async |url: &str| {
        let response = serve.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    };
    assert_eq!(get(&long_url).await.0, 200);

    let tampered = [
        long_url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000"),
        long_url.replace("reports/long.html", "reports/short.html"),
        flip_last_char(&long_url),
        format!("{long_url}&response-content-type=text%2Fplain"),
    ];
    for url in &tampered {
        assert_ne!(url, &long_url);
        let (status, body) = get(url).await;
        assert_eq!(status, 403, "{url}: {body}");
        assert!(body.starts_with("<?xml"), "{body}");
        assert!(
            ["SignatureDoesNotMatch", "AccessDenied"].contains(&s3_error_code(&body)),
            "{body}"
        );
    }

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = get(&short_url).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(s3_error_code(&body), "AccessDenied", "{body}");
    // A refused link is the client's mistake, not a server error: nothing at ERROR.
    let log = serve.log();
    assert!(!log.contains("ERROR"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_json_errors_and_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let error_of =
        |answer: (u16, Value)| (answer.0, answer.1["error"].as_str().unwrap().to_string());

    let huge = json!({ "padding": "x".repeat(300 * 1024) }).to_string();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: [(&str, String, u16, &str); 8] = [
        ("", "{\"expires_in\": ".into(), 400, "InvalidExecutionInput"),
        // JSON, but not an object: refused before an execution starts.
        ("", "[1,2]".into(), 400, "InvalidExecutionInput"),
        ("", "\"text\"".into(), 400, "InvalidExecutionInput"),
        ("", deep, 400, "InvalidExecutionInput"),
        ("", "not json".into(), 400, "InvalidExecutionInput"),
        ("", huge, 400, "InvalidExecutionInput"),
        ("?name=a/b", "{}".into(), 400, "InvalidName"),
        ("?name=ok", "{}".into(), 200, ""),
    ];
    for (query, body, status, error) in cases {
        let answer = serve.create_report(query, body).await;
        if status == 200 {
            assert_eq!(answer.0, 200, "{}", answer.1);
        } else {
            let (got, name) = error_of(answer.clone());
            assert_eq!((got, name.as_str()), (status, error), "{}", answer.1);
            assert!(!answer.1["message"].as_str().unwrap().is_empty());
        }
    }
    // An empty body is the empty input, addressed to the caller.
    let (status, empty) = serve.create_report("?name=empty", "").await;
    assert_eq!(status, 200, "{empty}");
    serve.wait_for_end("ok").await;
    let (_, described) = serve.get("/executions/empty").await;
    assert_eq!(
        described["input"],
        json!({ "recipient": crate::server::ADMIN.1 }).to_string()
    );

    assert_eq!(
        error_of(serve.create_report("?name=ok", "{}").await),
        (409, "ExecutionAlreadyExists".into())
    );
    assert_eq!(
        error_of(serve.get("/executions/nope").await),
        (404, "ExecutionDoesNotExist".into())
    );
    assert_eq!(
        error_of(serve.get("/executions/nope/history").await),
        (404, "ExecutionDoesNotExist".into())
    );
    assert_eq!(
        error_of(serve.get("/executions?status=DONE").await),
        (400, "InvalidParameterValue".into())
    );
    assert_eq!(
        error_of(serve.get("/executions?nextToken=zzz").await),
        (400, "InvalidToken".into())
    );
    // Every malformed request gets the JSON error shape (json_answer panics on text).
    for (path, status, error) in [
        ("/executions?nextToken=99999", 400, "InvalidToken"),
        ("/executions?maxResults=abc", 400, "InvalidParameterValue"),
        ("/executions?maxResults=-1", 400, "InvalidParameterValue"),
        (
            "/executions/nope/history?reverseOrder=yes",
            400,
            "InvalidParameterValue",
        ),
        ("/create_report", 405, "MethodNotAllowed"),
    ] {
        assert_eq!(
            error_of(serve.get(path).await),
            (status, error.into()),
            "{path}"
        );
    }
    assert_eq!(
        error_of(serve.get("/nowhere").await),
        (404, "NotFound".into())
    );

    // Only the two good requests became executions.
    assert_eq!(serve.listed_names("/executions").await, ["empty", "ok"]);

    // A token is good for the listing that gave it, not another filter's.
    let (_, page) = serve.get("/executions?maxResults=1").await;
    let token = page["nextToken"].as_str().unwrap();
    let (status, next) = serve
        .get(&format!("/executions?maxResults=1&nextToken={token}"))
        .await;
    assert_eq!(
        (status, next["executions"][0]["name"].as_str()),
        (200, Some("ok"))
    );
    assert_eq!(
        error_of(
            serve
                .get(&format!("/executions?status=FAILED&nextToken={token}"))
                .await
        ),
        (400, "InvalidToken".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_requests_make_fifty_reports_and_messages() {
    const N: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    // Fewer slots than requests: most executions wait their turn.
    let serve = std::sync::Arc::new(Serve::start(
        dir.path(),
        &[("CAFE_REPORT_SERVE_MAX_CONCURRENT_EXECUTIONS", "4")],
    ));
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..N {
        let serve = serve.clone();
        requests.spawn(async move {
            let (status, started) = serve.create_report("", "{}").await;
            assert_eq!(status, 200, "{started}");
            started["executionArn"].as_str().unwrap().to_string()
        });
    }
    let arns: BTreeSet<String> = requests.join_all().await.into_iter().collect();
    assert_eq!(arns.len(), N);

    let (mut keys, mut messages) = (BTreeSet::new(), BTreeSet::new());
    for arn in &arns {
        let output = serve.output_of(arn).await;
        keys.insert(output["report"]["key"].as_str().unwrap().to_string());
        messages.insert(output["link"]["message_id"].as_str().unwrap().to_string());
    }
    assert_eq!((keys.len(), messages.len()), (N, N));

    let stored = std::fs::read_dir(serve.data.join("objects/cafe-reports/reports"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".html")
        })
        .count();
    assert_eq!(stored, N);
    let outbox: BTreeSet<String> = std::fs::read_dir(serve.data.join("outbox"))
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .strip_suffix(".eml")
                .map(str::to_string)
        })
        .collect();
    assert_eq!(outbox.len(), N);
    assert!(messages.iter().all(|id| outbox.contains(id)));

    let (_, list) = serve
        .get("/executions?status=SUCCEEDED&maxResults=1000")
        .await;
    assert_eq!(list["executions"].as_array().unwrap().len(), N);
    let (_, health) = serve.get("/health").await;
    assert_eq!(
        health["executions"],
        json!({ "running": 0, "queued": 0, "limit": 4 })
    );
}
