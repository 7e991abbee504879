//! The execution viewer in a real browser: `tools/browser/viewer.mjs` drives Debian's
//! Chromium through playwright-core (both installed by `scripts/test-tools.sh`) against
//! the real binary, and the screenshots it takes are checked here and kept in
//! `target/test-artifacts/viewer/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::browser::assert_drawn;
use crate::common::free_port;
use crate::server::Serve;

/// Where the screenshots are kept after the run.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts/viewer");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the browser script's `scenario` against `serve` as `token`'s user; what it saw.
fn browse(serve: &Serve, scenario: &str, token: &str, other_token: &str, shots: &Path) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/browser/viewer.mjs");
    assert!(
        script
            .with_file_name("node_modules/playwright-core")
            .exists(),
        "playwright-core is missing: run scripts/test-tools.sh (scripts/test.sh does)"
    );
    let output = Command::new("node")
        .arg(&script)
        .arg(scenario)
        .env("BASE", &serve.api)
        .env("TOKEN", token)
        .env("OTHER_TOKEN", other_token)
        .env("SHOTS", shots)
        .output()
        .expect("running node (the test tools install it with npm)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser script failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        serve.log()
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_viewer_follows_a_report_to_its_end_and_keeps_it_from_other_users() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let ana = serve.add_user("ana", "ana@example.com");
    let bob = serve.add_user("bob", "bob@example.com");
    let shots = artifacts();
    let seen = browse(&serve, "succeeded", &ana, &bob, &shots);
    assert_eq!(seen["ok"], true, "{seen}");

    // What the page showed is what the API says.
    let name = seen["name"].as_str().unwrap();
    let (status, description) = serve.get_as(&ana, &format!("/executions/{name}")).await;
    assert_eq!(
        (status, description["status"].as_str()),
        (200, Some("SUCCEEDED"))
    );
    let (status, _) = serve
        .get_as(&bob, &format!("/executions/{name}/graph"))
        .await;
    assert_eq!(status, 404, "another user's graph is not theirs to read");
    // Without a token: the page (it holds no data), never the data.
    let url = format!("{}/executions/{name}", serve.api);
    let anonymous = |path: String, accept: &'static str| {
        let http = serve.http.clone();
        async move {
            let response = http
                .get(path)
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, page) = anonymous(url.clone(), "text/html,*/*;q=0.8").await;
    assert_eq!(status, 200);
    assert!(page.contains("viewer.js") && !page.contains(name), "{page}");
    for path in [
        url.clone(),
        format!("{url}/graph"),
        format!("{url}/history"),
    ] {
        let (status, body) = anonymous(path.clone(), "application/json").await;
        assert_eq!(status, 401, "{path}: {body}");
        assert!(!body.contains("SUCCEEDED"), "{body}");
    }
    assert_drawn(&shots.join("execution.png"), 1400, 1000);
    assert_drawn(&shots.join("list.png"), 1400, 1000);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_viewer_shows_a_failed_task_its_retries_and_the_catch_path() {
    let dir = tempfile::tempdir().unwrap();
    // The database is down: nothing listens on its port.
    let down = format!("mysql://root@127.0.0.1:{}/COFFEE", free_port());
    let serve = Serve::start(dir.path(), &[("DATABASE_URL", &down)]);
    let ana = serve.add_user("ana", "ana@example.com");
    let bob = serve.add_user("bob", "bob@example.com");
    let shots = artifacts();
    let seen = browse(&serve, "failed", &ana, &bob, &shots);
    let cause = seen["cause"].as_str().unwrap();
    // Lambda's JSON cause, laid out to read.
    assert!(
        cause.contains("\n  \"errorType\": \"Sql.Unavailable\""),
        "{cause}"
    );
    assert!(cause.contains("Connection refused"), "{cause}");
    assert_drawn(&shots.join("failed.png"), 1400, 1000);
}
