//! The AWS backends against moto: reports through aws-sdk-s3, messages through
//! aws-sdk-sns to an SQS subscriber, and the report workflow with both.

use cafe_report_capabilities::notify::{Notifier, SnsNotifier};
use cafe_report_capabilities::objects::{ObjectStore, S3Store};
use cafe_report_capabilities::signer::Credentials;
use cafe_report_tests::moto::{Moto, REGION};
use cafe_report_tests::{Harness, Options};
use serde_json::Value;

const BUCKET: &str = "cafe-reports-aws";

fn credentials() -> Credentials {
    Credentials {
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: Some("session-token".into()),
        region: REGION.into(),
        services: vec!["s3".into()],
    }
}

/// A topic with an SQS queue subscribed (raw delivery off, as an email-like envelope).
async fn topic_with_queue(moto: &Moto) -> (String, aws_sdk_sqs::Client, String) {
    let config = moto.sdk_config();
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic = sns.create_topic().name("cafe-report").send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();
    let queue = sqs.create_queue().queue_name("inbox").send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    (topic_arn, sqs, queue_url)
}

/// The SNS envelopes waiting in the queue.
async fn received(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let answer = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    answer
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn objects_and_messages_go_through_the_aws_sdks() {
    let moto = Moto::start();
    let store = S3Store::new(
        Some(moto.endpoint.clone()),
        BUCKET,
        REGION,
        true,
        &credentials(),
    );
    store
        .client()
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let info = store
        .put(
            "reports/x.html",
            b"<h1>hi</h1>".to_vec(),
            "text/html; charset=utf-8",
            "no-store",
        )
        .await
        .unwrap();
    assert_eq!((info.bucket.as_str(), info.size), (BUCKET, 11));
    let object = store
        .client()
        .get_object()
        .bucket(BUCKET)
        .key("reports/x.html")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(
        object.body.collect().await.unwrap().to_vec(),
        b"<h1>hi</h1>"
    );

    let (topic_arn, sqs, queue_url) = topic_with_queue(&moto).await;
    let notifier = SnsNotifier::new(&topic_arn, Some(&moto.endpoint), &credentials()).unwrap();
    let id = notifier
        .publish("Café report ready", "Open https://example/report")
        .await
        .unwrap();
    let envelopes = received(&sqs, &queue_url).await;
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["MessageId"], id.as_str());
    assert_eq!(envelopes[0]["Subject"], "Caf? report ready");
    assert_eq!(envelopes[0]["Message"], "Open https://example/report");
    assert_eq!(envelopes[0]["TopicArn"], topic_arn.as_str());

    // A topic that does not exist: a clear error, not a message id.
    let missing = SnsNotifier::new(
        "arn:aws:sns:us-east-1:123456789012:nope",
        Some(&moto.endpoint),
        &credentials(),
    )
    .unwrap();
    let err = missing.publish("s", "m").await.unwrap_err();
    assert!(
        err.contains("publishing to the SNS topic arn:aws:sns:us-east-1:123456789012:nope failed"),
        "{err}"
    );
}

#[tokio::test]
async fn the_report_workflow_runs_on_the_aws_backends() {
    let moto = Moto::start();
    let (topic_arn, sqs, queue_url) = topic_with_queue(&moto).await;
    let config = moto.sdk_config();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(BUCKET)
    .send()
    .await
    .unwrap();
    let endpoint = moto.endpoint.clone();
    let h = Harness::with(Options {
        configure: Some(Box::new(move |config| {
            config.objects.endpoint = Some(endpoint);
            config.objects.bucket = BUCKET.into();
            config.notify.sns_topic_arn = Some(topic_arn);
            config.signer.access_key_id = Some("testing".into());
            config.signer.secret_access_key = Some("testing".into());
        })),
        ..Options::default()
    })
    .await;
    let execution = h.execute_report("on-moto").await;
    let description = execution.describe();
    assert_eq!(
        description.status.to_string(),
        "SUCCEEDED",
        "{description:?}"
    );
    let output: Value = serde_json::from_str(description.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["report"]["bucket"], BUCKET);
    let url = output["link"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/{BUCKET}/reports/on-moto.html?", moto.endpoint)),
        "{url}"
    );

    // The message reached the subscriber, with the link; the link serves the report.
    let envelopes = received(&sqs, &queue_url).await;
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    assert_eq!(envelopes[0]["MessageId"], output["link"]["message_id"]);
    assert!(envelopes[0]["Message"].as_str().unwrap().contains(url));
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Coffee inventory report")
    );
}
