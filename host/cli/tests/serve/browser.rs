//! The report as a person sees it: the emailed link opened in headless Chromium
//! (Debian's package, which `scripts/test-tools.sh` installs), its DOM and a screenshot.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::server::{Serve, supplier_names, unescape_html};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;

/// Runs headless Chromium on `url` with `mode` (`--dump-dom` or `--screenshot=...`).
fn chromium(profile: &Path, mode: &str, url: &str) -> Output {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--hide-scrollbars",
            &format!("--window-size={WIDTH},{HEIGHT}"),
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(url)
        .output()
        .expect(
            "running chromium: install it with scripts/test-tools.sh (apt-get install chromium)",
        );
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_renders_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let arn = serve
        .start_report("browsed", json!({ "expires_in": 300 }))
        .await;
    let url = serve.output_of(&arn).await["link"]["url"]
        .as_str()
        .unwrap()
        .to_string();

    // The DOM the browser built from the page holds every supplier.
    let dom = chromium(&dir.path().join("profile-dom"), "--dump-dom", &url);
    let dom = unescape_html(&String::from_utf8(dom.stdout).unwrap());
    assert!(dom.contains("<table"), "{dom}");
    for supplier in supplier_names(&serve.data) {
        assert!(
            dom.contains(&supplier),
            "{supplier:?} is not in the rendered DOM"
        );
    }

    // The screenshot is the page, drawn: full size, with text and colour on it.
    let shot = dir.path().join("report.png");
    chromium(
        &dir.path().join("profile-shot"),
        &format!("--screenshot={}", shot.display()),
        &url,
    );
    assert_drawn(&shot, WIDTH, HEIGHT);
    if let Ok(keep) = std::env::var("CAFE_REPORT_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// Asserts that the PNG at `shot` is a page drawn at `width` x `height`: many colours,
/// and more than a sliver of it differs from the background.
pub fn assert_drawn(shot: &Path, width: u32, height: u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (frame.width, frame.height),
        (width, height),
        "{}",
        shot.display()
    );
    let channels = frame.color_type.samples();
    let pixels = &pixels[..frame.buffer_size()];
    let colours: HashSet<&[u8]> = pixels.chunks(channels).collect();
    let background = pixels.chunks(channels).next().unwrap();
    let drawn = pixels.chunks(channels).filter(|p| *p != background).count();
    let share = drawn as f64 / (width * height) as f64;
    assert!(
        colours.len() > 50,
        "{}: only {} colours: a blank page?",
        shot.display(),
        colours.len()
    );
    assert!(
        share > 0.02,
        "{}: only {:.1}% of the page is drawn",
        shot.display(),
        share * 100.0
    );
}
