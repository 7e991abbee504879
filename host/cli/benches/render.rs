//! The render component in WebAssembly versus the same code compiled natively.
//!
//! `cargo bench -p cafe-report --bench render` (after `cargo xtask components`).
//! Both sides do the same work on the same input text: parse the task input, render the
//! page, hand the HTML on. The wasm side is `Runtime::run("render")` with an object store
//! that keeps nothing (so no HTTP or disk time is counted), which adds the sandbox's fixed
//! cost (store, instantiate, call, two host calls: ~25 µs, see `--bench tasks`). The native
//! side calls `cafe_render`'s modules directly. Method and results: BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cafe_guest::{Bean, Inventory, Supplier, SupplierTotals, parse_input};
use cafe_render::input::RenderInput;
use cafe_report_capabilities::objects::{ObjectInfo, ObjectStore, ObjectsError};
use cafe_report_runtime::{Limits, Runtime, World};
use cafe_report_tests::bench::{median, time_task};
use cafe_report_tests::{Harness, components_dir, summarize};
use serde_json::json;

/// Accepts every object and keeps nothing: render's page goes nowhere, at no cost.
#[derive(Debug)]
struct Discard;

#[async_trait]
impl ObjectStore for Discard {
    fn bucket(&self) -> &str {
        "discard"
    }
    fn endpoint(&self) -> Option<String> {
        None
    }
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _: &str,
        _: &str,
    ) -> Result<ObjectInfo, ObjectsError> {
        Ok(ObjectInfo {
            bucket: "discard".into(),
            key: key.into(),
            etag: String::new(),
            size: body.len() as u64,
        })
    }
}

/// `suppliers` suppliers with `beans` beans each, every field filled.
fn inventory(suppliers: i64, beans: i64) -> Inventory {
    let suppliers = (1..=suppliers)
        .map(|s| Supplier {
            id: s,
            name: format!("Supplier {s} & Sons"),
            address: Some(format!("{s} Roastery Lane")),
            city: Some("Portland".into()),
            state: Some("OR".into()),
            email: Some(format!("orders{s}@example.com")),
            phone: Some("+1 503 555 0100".into()),
            beans: (1..=beans)
                .map(|b| Bean {
                    id: s * 1000 + b,
                    bean_type: Some("Arabica".into()),
                    product_name: format!("Single origin no. {b}"),
                    price: Some(format!("{}.{:02}", 8 + b % 10, b % 100)),
                    description: Some("Notes of cocoa, citrus and <caramel>.".into()),
                    quantity: b % 40,
                    low_stock: false,
                })
                .collect(),
            totals: SupplierTotals::default(),
        })
        .collect();
    Inventory::assemble("2026-11-29T10:00:00Z".into(), 10, suppliers)
}

fn time_native(input: &str, n: usize) -> Vec<Duration> {
    let once = || {
        let input: RenderInput = parse_input(input).unwrap();
        let key = input.key().unwrap();
        let html =
            cafe_render::page::render(input.title(), "29 Nov 2026, 10:00 UTC", &input.inventory);
        std::hint::black_box((key, html.into_bytes()));
    };
    for _ in 0..n.div_ceil(10) {
        once();
    }
    (0..n)
        .map(|_| {
            let start = Instant::now();
            once();
            start.elapsed()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let harness = Harness::new().await;
    let mut capabilities = harness.runtime.capabilities().clone();
    capabilities.objects = Arc::new(Discard);
    let limits = Limits::default();
    let runtime = Runtime::new(
        limits,
        capabilities,
        harness.dir.path().join("cache"),
        components_dir(),
    )
    .unwrap();
    let render = std::fs::read(components_dir().join("render.wasm")).unwrap();
    runtime.load("render", World::Render, &render).unwrap();

    for (label, suppliers, beans, n) in [
        ("7 suppliers x 3 beans", 7, 3, 2000),
        ("40 suppliers x 20 beans", 40, 20, 200),
    ] {
        let input =
            json!({"inventory": inventory(suppliers, beans), "report_id": "bench"}).to_string();
        let native = time_native(&input, n);
        let wasm = time_task(&runtime, "render", &input, n / 10, n).await;
        let ratio = median(&wasm).as_secs_f64() / median(&native).as_secs_f64();
        println!("render {label}: input {} bytes", input.len());
        summarize(&format!("  native ({label})"), native);
        summarize(&format!("  wasm ({label})"), wasm);
        println!("  wasm / native (p50): {ratio:.2}x");
    }
}
