//! The report email over a real SMTP conversation: aiosmtpd (from PyPI, in the venv
//! `scripts/test-tools.sh` prepares) receives it into a Maildir, and the test parses it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::free_port;
use crate::server::Serve;

/// aiosmtpd listening on a loopback port, storing what it receives in a Maildir.
pub(crate) struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

/// The test venv's Python (aiosmtpd, boto3), which scripts/test-tools.sh prepares.
pub(crate) fn test_python() -> PathBuf {
    let python =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-tools.sh (scripts/test.sh does) to install aiosmtpd and boto3",
        python.display()
    );
    python
}

impl SmtpServer {
    pub(crate) fn start(dir: &Path) -> SmtpServer {
        let python = test_python();
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received so far.
    pub(crate) fn messages(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The outbox's JSON records.
fn outbox_entries(data: &Path) -> Vec<Value> {
    std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_email_arrives_over_smtp_readable_by_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path());
    let serve = Serve::start(dir.path(), &[("SMTP_URL", &smtp.url())]);
    // Ana asks; the link goes to her alone, not to the configured team.
    let ana = serve.add_user("ana", "ana@example.com");
    let (status, started) = serve
        .create_report_as(
            &ana,
            "?name=mailed",
            json!({ "expires_in": 300 }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let output = serve.output_of("mailed").await;

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one email per report");
    let mail = mailparse::parse_mail(&messages[0]).unwrap();
    let header = |name: &str| {
        mailparse::MailHeaderMap::get_first_value(mail.headers.as_slice(), name)
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    assert_eq!(header("Subject"), "Your coffee inventory report is ready");
    assert!(
        header("From").contains("reports@cafe-report.local"),
        "{}",
        header("From")
    );
    assert_eq!(header("To"), "ana@example.com");
    assert!(header("Message-ID").contains(output["link"]["message_id"].as_str().unwrap()));
    let body = mail.get_body().unwrap();
    let url = output["link"]["url"].as_str().unwrap();
    assert!(body.contains(url), "the link is not in the body:\n{body}");
    assert!(body.contains("The link works for 5 minutes"), "{body}");
    assert!(body.contains("7 suppliers and 18 beans"), "{body}");
    assert!(
        body.contains("Smørrebrød Blend from Øresund Coffee Traders: 0 left"),
        "{body}"
    );

    // The link in the email opens the report.
    let page = serve.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let entries = outbox_entries(&serve.data);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["delivered"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_down_fails_the_task_after_its_retries_and_keeps_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = format!("smtp://127.0.0.1:{}", free_port());
    let serve = Serve::start(dir.path(), &[("SMTP_URL", &nobody)]);
    let arn = serve.start_report("unsent", json!({})).await;
    let description = serve.wait_for_end(&arn).await;
    assert_eq!(description["status"], "FAILED", "{description:#}");

    let (_, history) = serve.get(&format!("/executions/{arn}/history")).await;
    let presign_failures: Vec<&Value> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["taskFailedEventDetails"])
        .filter(|details| details["error"] == "Notify.PublishFailed")
        .collect();
    // The first attempt and the state's two retries.
    assert_eq!(presign_failures.len(), 3, "{history:#}");
    let cause = presign_failures[0]["cause"].as_str().unwrap();
    assert!(
        cause.contains("SMTP") && cause.contains("stays in the outbox"),
        "{cause}"
    );

    // Every attempt's message, and the failure notice, are in the outbox, unsent.
    let entries = outbox_entries(&serve.data);
    let reports = entries
        .iter()
        .filter(|e| e["subject"] == "Your coffee inventory report is ready")
        .count();
    assert_eq!(reports, 3);
    assert!(
        entries
            .iter()
            .any(|e| e["subject"] == "Cafe inventory report failed")
    );
    assert!(entries.iter().all(|e| e["delivered"] == false));
}
