//! Each task component through the real host: real wasmtime, embedded SQLite, embedded S3
//! endpoint, outbox.

use cafe_report_runtime::TaskError;
use cafe_report_tests::{FIXED_NOW, Harness, Options};
use serde_json::{Value, json};

async fn fixed_harness() -> Harness {
    Harness::with(Options {
        now: Some(FIXED_NOW),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn query_nests_beans_under_suppliers_with_totals() {
    let h = fixed_harness().await;
    let inventory = h.run("query", &json!({})).await.unwrap();
    assert_eq!(inventory["generated_at"], "2026-11-24T09:31:00Z");
    let suppliers = inventory["suppliers"].as_array().unwrap();
    assert_eq!(suppliers.len(), 7);
    assert_eq!(suppliers[0]["name"], "Café Altura & Söhne");
    assert_eq!(suppliers[1]["name"], "Joe's \"Best\" Beans");
    let beans: usize = suppliers
        .iter()
        .map(|s| s["beans"].as_array().unwrap().len())
        .sum();
    assert_eq!(beans, 18);
    let totals = &inventory["totals"];
    assert_eq!(totals["suppliers"], 7);
    assert_eq!(totals["beans"], 18);
    assert_eq!(totals["quantity"], 431);
    assert_eq!(totals["low_stock"], 7);
    // "ask us" is no price: one bean left out of the value.
    assert_eq!(totals["unpriced_beans"], 1);
    assert_eq!(totals["inventory_value"], "5659.15");
    let geisha = &suppliers[2]["beans"][1];
    assert_eq!(geisha["product_name"], "Geisha Natural");
    assert_eq!(geisha["low_stock"], true);
    assert_eq!(
        suppliers[2]["totals"],
        json!({"beans": 3, "quantity": 38, "low_stock": 1})
    );
}

#[tokio::test]
async fn query_filters_with_parameters() {
    let h = fixed_harness().await;
    let inventory = h
        .run(
            "query",
            &json!({"supplier_ids": [2, 5], "low_stock_threshold": 30}),
        )
        .await
        .unwrap();
    let names: Vec<&str> = inventory["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Joe's \"Best\" Beans", "Brûlerie Étoile"]);
    assert_eq!(inventory["low_stock_threshold"], 30);
    assert_eq!(inventory["totals"]["low_stock"], 3);
    // A hostile "id" is a bound parameter, never SQL.
    let err = h
        .run("query", &json!({"supplier_ids": ["1) OR (1=1"]}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TaskError::InvalidInput(ref m) if m.contains("supplier_ids")),
        "{err}"
    );
}

#[tokio::test]
async fn render_stores_an_escaped_self_contained_page() {
    let h = fixed_harness().await;
    let mut inventory = h.run("query", &json!({})).await.unwrap();
    inventory["suppliers"][0]["name"] = json!("<script>alert('x')</script> & \"Co\"");
    inventory["suppliers"][0]["beans"][0]["product_name"] = json!("<img src=x onerror=alert(1)>");
    let stored = h
        .run(
            "render",
            &json!({"inventory": inventory, "report_id": "weekly-42"}),
        )
        .await
        .unwrap();
    assert_eq!(stored["bucket"], "cafe-reports");
    assert_eq!(stored["key"], "reports/weekly-42.html");
    assert!(
        stored["content_type"]
            .as_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(stored["etag"].as_str().unwrap().len(), 32, "{stored}");
    let html = String::from_utf8(h.stored("reports/weekly-42.html")).unwrap();
    assert_eq!(stored["size"], html.len());

    assert!(
        !html.contains("<script>alert"),
        "script tag must be escaped"
    );
    assert!(
        !html.contains("<img src=x"),
        "markup in product names must be escaped"
    );
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;Co&quot;"));
    assert!(html.contains("&lt;Tostadores&gt; del Señor"));
    assert!(html.contains("Joe's &quot;Best&quot; Beans"));
    // Structure a reader relies on: title, generation time, one section per supplier,
    // low-stock rows, totals; no external resources.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Coffee inventory report</title>"));
    assert!(html.contains(
        "Inventory as of <time datetime=\"2026-11-24T09:31:00Z\">24 November 2026, 09:31:00 UTC</time>"
    ));
    assert_eq!(html.matches("<section class=\"supplier\"").count(), 7);
    assert_eq!(html.matches("<tr class=\"low\">").count(), 7);
    assert!(html.contains("5659.15"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<link"));
}

#[tokio::test]
async fn render_honours_key_and_rejects_bad_ones() {
    let h = fixed_harness().await;
    let inventory = h.run("query", &json!({})).await.unwrap();
    let stored = h
        .run(
            "render",
            &json!({"inventory": inventory, "key": "reports/custom/today.html"}),
        )
        .await
        .unwrap();
    assert_eq!(stored["key"], "reports/custom/today.html");
    h.stored("reports/custom/today.html");
    // Outside the report prefix, the host refuses the put.
    let err = h
        .run(
            "render",
            &json!({"inventory": inventory, "key": "custom/today.html"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error(), "Objects.PutFailed", "{err}");
    let stored = h
        .run("render", &json!({"inventory": inventory}))
        .await
        .unwrap();
    assert_eq!(stored["key"], "reports/inventory-20261124T093100Z.html");
    let err = h
        .run(
            "render",
            &json!({"inventory": inventory, "report_id": "a/b"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, TaskError::InvalidInput(ref m) if m.contains("report_id")),
        "{err}"
    );
}

#[tokio::test]
async fn presign_publishes_the_link_and_returns_it() {
    let h = fixed_harness().await;
    let inventory = h.run("query", &json!({})).await.unwrap();
    let link = h
        .run(
            "presign",
            &json!({"inventory": inventory, "report_id": "weekly-42", "bucket": "cafe-reports",
                    "expires_in": 300}),
        )
        .await
        .unwrap();
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/cafe-reports/reports/weekly-42.html?",
            h.endpoint()
        )),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=300"));
    assert!(url.contains("X-Amz-Date=20261124T093100Z"));
    assert_eq!(link["expires_at"], "2026-11-24T09:36:00Z");
    assert_eq!(link["expires_in"], 300);

    let outbox = h.outbox();
    assert_eq!(outbox.len(), 1);
    let message = &outbox[0];
    assert_eq!(link["message_id"], message.message_id.as_str());
    assert!(message.body.contains(url), "{}", message.body);
    assert!(message.body.contains("5 minutes"), "{}", message.body);
    assert!(
        message.body.contains("24 November 2026, 09:36:00 UTC"),
        "{}",
        message.body
    );
    assert!(
        message.body.contains("7 suppliers and 18 beans"),
        "{}",
        message.body
    );
    assert!(
        message
            .body
            .contains("Geisha Natural from <Tostadores> del Señor: 2 left")
    );
    let eml = std::fs::read_to_string(
        h.dir
            .path()
            .join("outbox")
            .join(format!("{}.eml", message.message_id)),
    )
    .unwrap();
    assert!(
        eml.contains("Subject: Your coffee inventory report is ready"),
        "{eml}"
    );
}

#[tokio::test]
async fn presign_expiry_bounds() {
    // The component takes 1 s to seven days (SigV4's limit); the host's signer holds links
    // to [links] max_expires_seconds (3600 by default) and says so.
    let h = fixed_harness().await;
    let base = json!({"report_id": "r", "bucket": "cafe-reports"});
    for (expires_in, expected) in [
        (json!(1), Ok(())),
        (json!(3600), Ok(())),
        (
            json!(3601),
            Err((
                "Signer.Failed",
                "expires_in must be 1 to 3600 seconds, not 3601",
            )),
        ),
        (
            json!(604800),
            Err((
                "Signer.Failed",
                "expires_in must be 1 to 3600 seconds, not 604800",
            )),
        ),
        (json!(0), Err(("CafeReport.InvalidInput", "expires_in"))),
        (
            json!(604801),
            Err(("CafeReport.InvalidInput", "expires_in")),
        ),
        (json!(-5), Err(("CafeReport.InvalidInput", "expires_in"))),
        (json!(1.5), Err(("CafeReport.InvalidInput", "expires_in"))),
        (json!("120"), Err(("CafeReport.InvalidInput", "expires_in"))),
    ] {
        let mut input = base.clone();
        input["expires_in"] = expires_in.clone();
        let result = h.run("presign", &input).await;
        match (expected, result) {
            (Ok(()), Ok(link)) => assert_eq!(link["expires_in"], expires_in),
            (Err((name, says)), Err(err)) => {
                assert_eq!(err.error(), name, "expires_in {expires_in}: {err}");
                assert!(err.cause().contains(says), "expires_in {expires_in}: {err}");
            }
            (_, other) => panic!("expires_in {expires_in}: unexpected {other:?}"),
        }
    }
    let link = h.run("presign", &base).await.unwrap();
    assert_eq!(link["expires_in"], 120, "default expiry");
}

#[tokio::test]
async fn invalid_input_names_the_problem() {
    let h = fixed_harness().await;
    let cases: [(&str, &str, &str); 8] = [
        ("query", "not json", "not valid JSON"),
        (
            "query",
            "{\"low_stock_threshold\": \"ten\"}",
            "low_stock_threshold",
        ),
        ("query", "{\"unknown\": 1}", "unknown"),
        ("render", "{", "not valid JSON"),
        ("render", "{}", "inventory"),
        ("render", "{\"inventory\": {\"suppliers\": 3}}", "inventory"),
        ("presign", "[1, 2]", "input"),
        ("presign", "{\"report_id\": \"x\"}", "bucket"),
    ];
    for (task, input, expected) in cases {
        match h.run_text(task, input).await {
            Err(TaskError::InvalidInput(message)) => {
                assert!(message.contains(expected), "{task} {input}: {message}")
            }
            other => panic!("{task} {input}: expected invalid-input, got {other:?}"),
        }
    }
    let err = h.run_text("query", "nope").await.unwrap_err();
    assert_eq!(err.error(), "CafeReport.InvalidInput");
}

#[tokio::test]
async fn the_full_chain_delivers_a_report() {
    let h = Harness::new().await;
    let (inventory, stored, link) = h.report("chain-1", 60).await;
    assert_eq!(stored["key"], "reports/chain-1.html");
    assert_eq!(link["key"], stored["key"]);
    let html = String::from_utf8(h.stored("reports/chain-1.html")).unwrap();
    for supplier in inventory["suppliers"].as_array().unwrap() {
        let name: Value = supplier["name"].clone();
        let escaped = name
            .as_str()
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(html.contains(&escaped), "{escaped} missing");
    }
    assert_eq!(h.outbox().len(), 1);
}

#[tokio::test]
async fn objects_go_to_any_configured_s3_endpoint() {
    // One harness serves the embedded endpoint; another is configured to use it as an
    // external S3 endpoint, the way it would use MinIO or AWS.
    // It writes with the server's writer key, as a deployment would with its own.
    let server = Harness::new().await;
    let endpoint = server.endpoint();
    let writer = cafe_report_capabilities::objects::EmbeddedKeys::load_or_create(server.dir.path())
        .unwrap()
        .writer;
    let client = Harness::with(Options {
        configure: Some(Box::new(move |config| {
            config.objects.endpoint = Some(endpoint);
            config.signer.access_key_id = Some(writer.access_key_id);
            config.signer.secret_access_key = Some(writer.secret_access_key);
        })),
        ..Options::default()
    })
    .await;
    assert!(client.runtime.capabilities().embedded_s3.is_none());
    let inventory = client.run("query", &json!({})).await.unwrap();
    let stored = client
        .run(
            "render",
            &json!({"inventory": inventory, "report_id": "remote"}),
        )
        .await
        .unwrap();
    assert_eq!(stored["key"], "reports/remote.html");
    let html = String::from_utf8(server.stored("reports/remote.html")).unwrap();
    assert!(html.contains("Highland Roast Co."));
}
