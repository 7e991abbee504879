//! Publishing, rejecting and rolling back component versions in a running host.

use std::io::Write;
use std::sync::{Arc, Mutex};

use cafe_report_tests::{Harness, components_dir, fixture};
use serde_json::json;

/// Log lines the host writes while `f` runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || logs.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn current(h: &Harness, task: &str) -> String {
    let versions = h.runtime.versions(Some(task));
    versions
        .iter()
        .find(|v| v.current)
        .expect("a current version")
        .sha256
        .clone()
}

#[tokio::test]
async fn rejected_versions_leave_the_current_one_serving() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let h = Harness::new().await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    let inventory = h.run("query", &json!({})).await.unwrap();
    let smoke = json!({"inventory": inventory, "key": "reports/smoke.html"}).to_string();

    let query = std::fs::read(components_dir().join("query.wasm")).unwrap();
    let cases: [(&str, Vec<u8>, Option<&str>, &str); 5] = [
        (
            "not wasm",
            b"<html>".to_vec(),
            None,
            "not a WebAssembly component",
        ),
        (
            "a core module",
            wat::parse_str("(module (func (export \"run\")))").unwrap(),
            None,
            "not a WebAssembly component",
        ),
        (
            "no task export",
            wat::parse_str("(component)").unwrap(),
            None,
            "does not export cafe:report/task",
        ),
        ("a forbidden import", query, None, "cafe:report/sql"),
        (
            "a trap in the smoke run",
            fixture("misbehave"),
            Some("\"trap\""),
            "the smoke run failed",
        ),
    ];
    for (what, bytes, smoke_input, reason) in cases {
        let err = h
            .runtime
            .publish("render", &bytes, what, smoke_input)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains(reason), "{what}: {err:#}");
        assert_eq!(current(&h, "render"), v1, "{what} must not replace v1");
        assert!(
            logs.text().contains(&format!("source=\"{what}\""))
                || logs.text().contains(&format!("source={what}")),
            "{what} not logged: {}",
            logs.text()
        );
    }
    assert!(
        logs.text()
            .contains("component version rejected; the current one stays")
    );

    // v1 still serves, and a good version passes its smoke run.
    h.run("render", &serde_json::from_str(&smoke).unwrap())
        .await
        .unwrap();
    let render = std::fs::read(components_dir().join("render.wasm")).unwrap();
    let again = h
        .runtime
        .publish("render", &render, "republish", Some(&smoke))
        .await
        .unwrap();
    assert_eq!(again.sha256, v1);
    assert_eq!(
        h.runtime.versions(Some("render")).len(),
        1,
        "the same bytes are one version"
    );
    let err = h
        .runtime
        .publish("bake", &render, "x", None)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("not a task"), "{err:#}");
}

#[tokio::test]
async fn rollback_returns_to_an_earlier_version() {
    let h = Harness::new().await;
    let v1 = h.runtime.component("render").unwrap().sha256.clone();
    // Any component of the render world can be published without a smoke run.
    let v2 = h
        .runtime
        .publish("render", &fixture("misbehave"), "test", None)
        .await
        .unwrap()
        .sha256
        .clone();
    assert_eq!(current(&h, "render"), v2);
    assert_eq!(
        h.runtime.run("render", "\"hello\"").await.unwrap(),
        "\"hello\"",
        "v2 serves"
    );

    assert_eq!(h.runtime.rollback("render", None).unwrap().sha256, v1);
    assert_eq!(current(&h, "render"), v1);
    assert!(
        h.runtime.rollback("render", None).is_err(),
        "nothing before v1"
    );

    assert_eq!(
        h.runtime
            .rollback("render", Some(&v2[..12]))
            .unwrap()
            .sha256,
        v2
    );
    assert_eq!(current(&h, "render"), v2);
    assert!(h.runtime.rollback("render", Some("ffffffffffff")).is_err());
    assert!(
        h.runtime.rollback("presign", None).is_err(),
        "nothing loaded for presign"
    );

    let listed: Vec<(String, bool)> = h
        .runtime
        .versions(None)
        .into_iter()
        .map(|v| (v.sha256, v.current))
        .collect();
    assert_eq!(listed, vec![(v1, false), (v2, true)]);
}
