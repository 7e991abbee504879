//! Hot-swap under `serve`: `components publish` swaps render while the server runs; the
//! next reports use the new version and `GET /components` shows it; a broken file in
//! the watched directory is refused and changes nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{Serve, components_dir, unescape_html};

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The sha256 of the version serving `task`, from `GET /components`.
async fn current(serve: &Serve, task: &str) -> String {
    let (_, components) = serve.get("/components").await;
    components["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["task"] == task && v["current"] == true)
        .and_then(|v| v["sha256"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn wait_until_current(serve: &Serve, task: &str, sha: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while current(serve, task).await != sha {
        assert!(
            Instant::now() < deadline,
            "{task} never became {sha}: {}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The report page an execution stored, through its link.
async fn report_page(serve: &Serve, name: &str) -> String {
    let arn = serve.start_report(name, json!({})).await;
    let output = serve.output_of(&arn).await;
    let url = output["link"]["url"].as_str().unwrap();
    unescape_html(
        &serve
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
}

fn publish(dir: &Path, components: &Path, file: &Path) {
    let output = crate::common::cafe_report()
        .env("CAFE_REPORT_DATA_DIR", dir.join("publisher"))
        .env("CAFE_REPORT_COMPONENTS_DIR", components)
        .args(["components", "publish", "render"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_published_render_serves_the_next_reports_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let components = dir.path().join("components");
    std::fs::create_dir(&components).unwrap();
    for task in ["query", "render", "presign"] {
        let file = format!("{task}.wasm");
        std::fs::copy(components_dir().join(&file), components.join(&file)).unwrap();
    }
    let components_env = components.to_str().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[("CAFE_REPORT_COMPONENTS_DIR", components_env)],
    );

    let v1 = report_page(&serve, "before").await;
    assert!(v1.contains(r#"data-layout="v1""#), "{v1}");
    let v1_sha = current(&serve, "render").await;
    assert_eq!(
        v1_sha,
        sha256_hex(&std::fs::read(components.join("render.wasm")).unwrap())
    );

    let v2_file = components_dir().join("testing/render-v2.wasm");
    let v2_sha = sha256_hex(&std::fs::read(&v2_file).unwrap());
    publish(dir.path(), &components, &v2_file);
    wait_until_current(&serve, "render", &v2_sha).await;
    let v2 = report_page(&serve, "after").await;
    assert!(
        v2.contains(r#"data-layout="v2""#) && v2.contains("Report layout v2"),
        "{v2}"
    );

    // Not a component: refused with its reason, v2 keeps serving.
    std::fs::write(components.join("render.wasm"), b"not wasm at all").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let rejection: Value = loop {
        let (_, listed) = serve.get("/components").await;
        if let Some(first) = listed["rejections"].as_array().unwrap().first() {
            break first.clone();
        }
        assert!(Instant::now() < deadline, "no rejection: {}", serve.log());
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(rejection["task"], "render");
    assert!(!rejection["reason"].as_str().unwrap().is_empty());
    assert_eq!(current(&serve, "render").await, v2_sha);

    // `components list` shows what serves (v2), and the refused file with its reason,
    // not the file on disk as current (issue 23).
    let list = |args: &[&str]| {
        let output = crate::common::cafe_report()
            .env("CAFE_REPORT_DATA_DIR", dir.path().join("data"))
            .env("CAFE_REPORT_COMPONENTS_DIR", &components)
            .args(["components", "list"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let listed: Value = serde_json::from_str(&list(&["--json"])).unwrap();
    let render = crate::common::listed_task(&listed, "render");
    assert_eq!(render["current"], v2_sha.as_str(), "{render}");
    assert_eq!(
        render["refused"]["sha256"],
        sha256_hex(b"not wasm at all").as_str()
    );
    assert_eq!(render["refused"]["reason"], rejection["reason"], "{render}");
    let table = list(&[]);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("render")).collect();
    assert!(
        rows.iter()
            .any(|r| r.starts_with(&format!("render   {}", &v2_sha[..12]))
                && r.ends_with("(current)")),
        "{table}"
    );
    assert!(
        rows.last().unwrap().contains("refused") && !rows.last().unwrap().contains("(current)"),
        "{table}"
    );
    assert!(
        report_page(&serve, "still")
            .await
            .contains("Report layout v2")
    );
}
