//! notify over real SMTP (lettre as the client, a minimal SMTP sink on loopback as the
//! server): the message arrives, and when the server is down the task fails with a named
//! error while the message stays in the outbox.

use std::sync::{Arc, Mutex};

use cafe_report_tests::{Harness, Options};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts SMTP sessions and keeps each message's DATA.
async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(line.strip_prefix('.').unwrap_or(&line));
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, received)
}

async fn harness(smtp_url: String) -> Harness {
    Harness::with(Options {
        configure: Some(Box::new(move |config| {
            config.notify.smtp_url = Some(smtp_url);
            config.notify.to = vec!["Barista <barista@cafe.example>".into()];
        })),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn presign_sends_the_link_by_email() {
    let (url, received) = smtp_sink().await;
    let h = harness(url).await;
    let link = h
        .run(
            "presign",
            &json!({"report_id": "mail", "bucket": "cafe-reports", "expires_in": 90}),
        )
        .await
        .unwrap();
    let mails = received.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.contains("To: Barista <barista@cafe.example>"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: Your coffee inventory report is ready"),
        "{mail}"
    );
    assert!(mail.contains(&format!(
        "<{}@cafe-report>",
        link["message_id"].as_str().unwrap()
    )));
    let outbox = h.outbox();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].delivered, "the outbox records the delivery");
}

#[tokio::test]
async fn smtp_down_fails_the_task_and_keeps_the_message() {
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let h = harness(url).await;
    let err = h
        .run(
            "presign",
            &json!({"report_id": "mail", "bucket": "cafe-reports"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error(), "Notify.PublishFailed", "{err}");
    assert!(err.cause().contains("stays in the outbox"), "{err}");
    let outbox = h.outbox();
    assert_eq!(outbox.len(), 1);
    assert!(!outbox[0].delivered);
    assert!(outbox[0].body.contains("X-Amz-Signature="));
}

#[tokio::test]
async fn a_run_publishes_at_most_its_quota_to_its_recipient_alone() {
    use cafe_report_capabilities::{Quotas, TaskCtx};
    use cafe_report_world::notify::Host;
    let harness = Harness::new().await;
    let mut ctx = TaskCtx::new("presign", harness.runtime.capabilities().clone())
        .for_recipient(Some("ana@example.com".into()))
        .with_quotas(Quotas {
            publishes: 1,
            log_lines: 10,
        });
    let first = ctx.publish("Report".into(), "link".into()).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(
        ctx.publish("Again".into(), "link".into()).await,
        Err("this task may publish at most 1 message(s) per run ([limits] publishes)".into())
    );
    let messages = harness.outbox();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["ana@example.com"]);
}
